"""FITS snapshots (density, velocity, B with the run's parameters) and restartable checkpoints."""

import json
import os
from pathlib import Path

import numpy as np
import torch

__all__ = ["DENSITY_ONLY_KEY", "write_snapshot", "read_snapshot", "read_snapshot_density",
           "save_checkpoint", "load_checkpoint"]

#: Header key of a density-only copy of a snapshot (`training.sim.density_only`).
DENSITY_ONLY_KEY = "DENSONLY"


def _fits_array(tensor):
    # solver axes are (x, y, z); FITS/numpy order is (z, y, x)
    return np.ascontiguousarray(tensor.detach().cpu().numpy().transpose(2, 1, 0))


def _finite_or_text(value):
    # FITS headers hold no inf or nan (M_A of a hydro run is infinite): write those as text
    value = float(value)
    return value if np.isfinite(value) else str(value)


def _header_value(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return "none" if value is None else value
    return json.dumps(value)


def write_snapshot(path, state, *, parameters, diagnostics, time, step, turnover_time,
                   code_version, counters, injection_rate=None):
    """Write a snapshot as FITS: density primary HDU, then VX, VY, VZ, BX, BY, BZ images.

    Every header carries the run parameters (``HIERARCH PAR <name>``), the time, the step, the
    code version, the measured Mach numbers, the safety-net counters and the energy injection
    rate in use when the snapshot was taken (``EPSINJ``; set by the Mach control when
    ``mach_control`` is on or ``energy_injection_rate`` is unset).
    """
    from astropy.io import fits

    header = fits.Header()
    header["BUNIT"] = ("rho0", "density in units of the mean density")
    header["SIMCODE"] = "training.sim"
    header["CODEVER"] = code_version
    header["SEED"] = parameters["seed"]
    header["TIME"] = (time, "code time")
    header["TTURN"] = (time / turnover_time, "time in turnover times L/(M_s c_s)")
    header["STEP"] = step
    header["MS"] = (_finite_or_text(diagnostics["mach_sonic"]),
                    "measured sonic Mach number v_rms/c_s")
    header["MAMEAN"] = (_finite_or_text(diagnostics["mach_alfven_mean"]),
                        "v_rms / v_A(mean field)")
    header["MATOTAL"] = (_finite_or_text(diagnostics["mach_alfven_total"]),
                         "v_rms / v_A(total field)")
    if injection_rate is not None:
        header["EPSINJ"] = (float(injection_rate), "energy injection rate in use (per volume)")
    header["DIVB"] = (diagnostics["divergence"], "max |div B| dx / max |B|")
    for name, value in counters.items():
        header[f"HIERARCH CNT {name}"] = value
    for name, value in parameters.items():
        header[f"HIERARCH PAR {name}"] = _header_value(value)
    hdus = [fits.PrimaryHDU(_fits_array(state.density), header=header)]
    velocity, cell_field = state.velocity, state.cell_field
    for label, tensor in (("VX", velocity[0]), ("VY", velocity[1]), ("VZ", velocity[2]),
                          ("BX", cell_field[0]), ("BY", cell_field[1]), ("BZ", cell_field[2])):
        hdus.append(fits.ImageHDU(_fits_array(tensor), header=header.copy(), name=label))
    path = Path(path)
    temporary = path.with_suffix(".tmp")
    fits.HDUList(hdus).writeto(temporary, overwrite=True)
    os.replace(temporary, path)
    return path


def read_snapshot(path):
    """Density, velocity (3, ...) and B (3, ...) as numpy (z, y, x) arrays, and the header."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        header = hdul[0].header.copy()
        if header.get(DENSITY_ONLY_KEY):
            raise ValueError(f"{path} holds the density only (a copy made by "
                             "training.sim.density_only); read its primary HDU, or the full "
                             "snapshot where the run was made")
        density = hdul[0].data.astype(np.float64)
        velocity = np.stack([hdul[name].data.astype(np.float64) for name in ("VX", "VY", "VZ")])
        field = np.stack([hdul[name].data.astype(np.float64) for name in ("BX", "BY", "BZ")])
    return density, velocity, field, header


def read_snapshot_density(path):
    """Density as a numpy (z, y, x) float64 array and the header: the primary HDU only, so a
    density-only copy (`training.sim.density_only`) reads as the whole snapshot does."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        return hdul[0].data.astype(np.float64), hdul[0].header.copy()


def save_checkpoint(path, payload):
    """Write ``payload`` (tensors moved to the CPU) atomically: a crash never leaves half a file."""
    path = Path(path)
    temporary = path.with_suffix(".tmp")
    torch.save(payload, temporary)
    os.replace(temporary, path)
    return path


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint`."""
    return torch.load(path, map_location="cpu", weights_only=False)
