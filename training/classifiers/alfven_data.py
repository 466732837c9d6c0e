"""Labelled maps for the Alfven classifiers: density slices perpendicular to the mean field, or
column densities along lattice directions at angles to it, from simulation snapshots or any
labelled FITS cubes.

Every map keeps the run it came from (class and seed), its time in turnovers and, for columns,
its angle to the field, so that splits hold out whole runs and scores can be broken down by
snapshot time and angle. The mean field is along z, the first numpy axis of the FITS cubes
(``training.sim`` snapshots are (z, y, x) with B0 along z).
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..common.datasets import map_slices
from ..common.lattice_projection import direction_angle_degrees, lattice_projection

__all__ = ["NUMERICS_PARAMETERS", "DRIVING_PARAMETERS", "LabelledMaps", "snapshot_record",
           "resample_periodic", "maps_of_cube", "load_labelled_maps"]

#: Run parameters that make up a run's numerics (its "setting" with the driving below).
NUMERICS_PARAMETERS = ("cells", "limiter", "riemann", "density_reconstruction",
                       "flatten_density_contrast")
#: Run parameters that make up its driving.
DRIVING_PARAMETERS = ("forcing_shape", "correlation_time_turnovers", "solenoidal_fraction",
                      "k_min", "k_max")


@dataclass
class LabelledMaps:
    """Raw 2D maps (before any preprocessing) with their class and where they came from.

    Attributes
    ----------
    maps : list of numpy.ndarray
    labels : numpy.ndarray
        ``(n,)`` class index.
    runs : numpy.ndarray
        ``(n,)`` run number: maps of one run share it (split on it, never on maps).
    times : numpy.ndarray
        ``(n,)`` snapshot time in turnovers (NaN when the file does not say).
    angles : numpy.ndarray
        ``(n,)`` angle of the line of sight to the mean field in degrees (NaN for slices).
    class_names : list of str
    records : list of dict
        One per run number: file(s), seed, class, measured M_s and M_A where recorded.
    """

    maps: list
    labels: np.ndarray
    runs: np.ndarray
    times: np.ndarray
    angles: np.ndarray
    class_names: list
    records: list = field(default_factory=list)

    def __len__(self):
        return len(self.maps)

    def select(self, keep):
        """The maps where the boolean (or index) array ``keep`` holds, in order."""
        index = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep)
        return LabelledMaps([self.maps[i] for i in index], self.labels[index], self.runs[index],
                            self.times[index], self.angles[index], list(self.class_names),
                            self.records)


def _header_number(header, key):
    value = header.get(key)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _parameter_text(header, names):
    # "?" where a file does not record a parameter: such files form one setting of their own
    return " ".join(f"{name}={header.get(f'HIERARCH PAR {name}', '?')}" for name in names)


def snapshot_record(path, header):
    """What a FITS header says of its run: seed, time, measured Mach numbers, mean field, and
    its numerics and driving as text (``NUMERICS_PARAMETERS``, ``DRIVING_PARAMETERS``).

    ``training.sim`` snapshots carry ``SEED``, ``TTURN``, ``MS``, ``MATOTAL`` and the run
    parameters; other files may carry none of them (the file is then its own run).
    """
    seed = header.get("SEED")
    return {"file": str(path), "seed": None if seed is None else int(seed),
            "time_turnovers": _header_number(header, "TTURN"),
            "mach_sonic": _header_number(header, "MS"),
            "mach_alfven_total": _header_number(header, "MATOTAL"),
            "mean_field": _header_number(header, "HIERARCH PAR mean_field"),
            # "none" for decaying runs (their forcing parameters are then unused)
            "driving_kind": header.get("HIERARCH PAR driving"),
            "numerics": _parameter_text(header, NUMERICS_PARAMETERS),
            "driving": _parameter_text(header, DRIVING_PARAMETERS)}


def resample_periodic(image, size):
    """A positive periodic map resampled to ``size`` x ``size`` pixels over the same extent.

    Fourier resampling of the logarithm: exact for the periodic band-limited part, it keeps
    the map periodic, and working on log values keeps dense peaks from ringing into negative
    densities. Downsampling drops the scales the smaller grid cannot hold (for a 64^3 run
    sampled to 48, wavenumbers above 24), which are dissipation-range numerics anyway.

    Parameters
    ----------
    image : numpy.ndarray
        ``(n, n)`` positive values.
    size : int

    Returns
    -------
    numpy.ndarray
        ``(size, size)`` float32; the same array when it already has that size.
    """
    from scipy.signal import resample

    image = np.asarray(image)
    if image.shape == (size, size):
        return image
    if np.any(~(image > 0)):
        raise ValueError("resampling works on positive finite maps (densities, columns)")
    logged = np.log(image.astype(np.float64))
    logged = resample(resample(logged, size, axis=0), size, axis=1)
    return np.exp(logged).astype(np.float32)


def maps_of_cube(cube, *, kind, slice_step=1, directions=None):
    """The maps of one density cube: slices perpendicular to z, or lattice column densities.

    Parameters
    ----------
    cube : numpy.ndarray
        ``(z, y, x)`` density, z along the mean field, periodic.
    kind : {"slices", "columns"}
    slice_step : int
        Slices: take every ``slice_step``-th plane (neighbours are strongly correlated).
    directions : list of tuple of int, optional
        Columns: lattice directions ``(a, c)`` (see `training.common.lattice_projection`), in
        the z-x plane and, for cubes with equal y and x sides, again in the z-y plane (the
        line along z once).

    Returns
    -------
    list of (numpy.ndarray, float)
        Each map and its angle to the field (NaN for slices).
    """
    if kind == "slices":
        return [(np.array(image, dtype=np.float32), math.nan)
                for image in map_slices(cube, axis=0, slice_step=slice_step)]
    if kind == "columns":
        if not directions:
            raise ValueError("column maps need lattice directions, e.g. [(0, 1), (1, 0)]")
        maps = [(lattice_projection(cube, direction).astype(np.float32),
                 direction_angle_degrees(direction)) for direction in directions]
        if cube.shape[1] == cube.shape[2]:
            # the same angles in the z-y plane: other lines of sight through the same cube (the
            # line along z itself is the same in both planes, so it is taken once)
            turned = np.swapaxes(cube, 1, 2)
            maps += [(lattice_projection(turned, direction).astype(np.float32),
                      direction_angle_degrees(direction)) for direction in directions
                     if direction_angle_degrees(direction) != 0.0]
        return maps
    raise ValueError(f"kind must be 'slices' or 'columns', got {kind!r}")


def load_labelled_maps(labelled_files, class_names, *, kind="slices", slice_step=1,
                       directions=None, map_size=None):
    """Read labelled density cubes and cut them into maps.

    Parameters
    ----------
    labelled_files : list of glue_turbml.evaluation.LabelledFile
        E.g. from `glue_turbml.evaluation.expand_class_specs` (``--class LABEL=GLOB``).
    class_names : list of str
        Class order of the labels.
    kind, slice_step, directions
        As for `maps_of_cube`.
    map_size : int, optional
        Resample every map to this size (`resample_periodic`), so cubes of several
        resolutions (48^3 and 64^3 runs) make one set over the same box.

    Returns
    -------
    LabelledMaps
        Snapshots of one class with the same ``SEED`` and setting (numerics and driving) form
        one run; a file without a seed is its own run. Each record keeps its ``numerics`` and
        ``driving``.

    Raises
    ------
    ValueError
        For a file that is not a 3D cube with equal z and x sides.
    """
    from astropy.io import fits

    maps, labels, runs, times, angles, records, run_of = [], [], [], [], [], [], {}
    for labelled in labelled_files:
        with fits.open(labelled.path) as hdul:
            header = hdul[0].header
            cube = np.asarray(hdul[0].data, dtype=np.float64)
        if cube.ndim != 3 or cube.shape[0] != cube.shape[2]:
            raise ValueError(f"{labelled.path}: need a (z, y, x) density cube with z along the "
                             f"mean field, got shape {cube.shape}")
        record = snapshot_record(labelled.path, header)
        key = (labelled.label, record["numerics"], record["driving"],
               record["seed"] if record["seed"] is not None
               else str(Path(labelled.path).resolve()))
        if key not in run_of:
            run_of[key] = len(records)
            records.append({"label": labelled.label, "seed": record["seed"],
                            "numerics": record["numerics"], "driving": record["driving"],
                            "files": []})
        run = run_of[key]
        records[run]["files"].append(record)
        for image, angle in maps_of_cube(cube, kind=kind, slice_step=slice_step,
                                         directions=directions):
            maps.append(image if map_size is None else resample_periodic(image, map_size))
            labels.append(class_names.index(labelled.label))
            runs.append(run)
            times.append(record["time_turnovers"])
            angles.append(angle)
    return LabelledMaps(maps, np.asarray(labels, dtype=np.int64),
                        np.asarray(runs, dtype=np.int64), np.asarray(times, dtype=float),
                        np.asarray(angles, dtype=float), list(class_names), records)
