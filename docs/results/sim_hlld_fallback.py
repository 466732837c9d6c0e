"""How often our HLLD falls back to HLLE in the Alfven runs, and where (issue 13, item 2).

``training.sim.riemann.hlld_flux`` takes the HLLE flux where its Alfven speeds leave the outer
fan (S*_L < S_L or S*_R > S_R); the isothermal HLLD of Athena++ keeps its own flux there. HLLE
is the lever that erases the sub-Alfvenic density anisotropy (``alfven_numerics_physics.txt``),
so how much of an "HLLD" run is HLLE matters. Two measures per run:

- ``run``: the solver's own counter over the whole run (``CNT hlle_fallback_faces`` of the last
  snapshot) over steps x 3 face sets x cells; VL2 calls the solver twice a step (a first-order
  predictor and the second-order corrector), so this can reach 2;
- ``x / y / z``: the fraction of faces normal to each axis (z along the mean field) where the
  check would fall back, for the cell-centred states of the last snapshot on each side of the
  face (first order; the face field is the mean of the two cells').

Run from the repository root::

    python docs/results/sim_hlld_fallback.py ROOT > docs/results/sim_hlld_fallback.txt
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from astropy.io import fits

from training.sim.riemann import hlld_flux

CLASSES = ("sub_alfvenic", "super_alfvenic")


def axis_fractions(path):
    """Fraction of faces normal to x, y and z where the wave-order check falls back; None for a
    snapshot without velocity and field (the GPU sets' runs keep density only)."""
    with fits.open(path) as hdul:
        if not all(name in hdul for name in ("VX", "VY", "VZ", "BX", "BY", "BZ")):
            return None
        header = hdul[0].header
        density = hdul[0].data.astype(np.float64)
        velocity = [hdul[name].data.astype(np.float64) for name in ("VX", "VY", "VZ")]
        field = [hdul[name].data.astype(np.float64) for name in ("BX", "BY", "BZ")]
    sound_speed = float(header["HIERARCH PAR sound_speed"])
    fractions = []
    for normal in range(3):
        first, second = (normal + 1) % 3, (normal + 2) % 3
        array_axis = 2 - normal  # FITS cubes are (z, y, x)
        frame = np.stack([density, velocity[normal], velocity[first], velocity[second],
                          field[first], field[second]])
        left = torch.from_numpy(frame.reshape(6, -1))
        right = torch.from_numpy(np.roll(frame, -1, axis=1 + array_axis).reshape(6, -1))
        normal_field = torch.from_numpy(
            (0.5 * (field[normal] + np.roll(field[normal], -1, axis=array_axis))).ravel())
        checked = hlld_flux(left, right, normal_field, sound_speed, return_fallback=True)[1]
        unchecked = hlld_flux(left, right, normal_field, sound_speed, return_fallback=True,
                              check_wave_order=False)[1]
        # the floor and non-finite fallbacks stay without the check: count the check's own
        fractions.append(float((checked & ~unchecked).double().mean()))
    return fractions


def run_fraction(path):
    """The solver's fallback count over the run, per step, face set and cell."""
    header = fits.getheader(path)
    faces = header.get("HIERARCH CNT hlle_fallback_faces")
    steps = header.get("HIERARCH CNT steps")
    cells = int(header["NAXIS1"]) ** 3
    if faces is None or not steps:
        return None
    return faces / (steps * 3 * cells)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="folder with one folder per recipe run")
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/sim_hlld_fallback.py {arguments.root}")
    print("# per class: mean over runs with velocity and field kept (last snapshot of each); "
          "run = solver counter per step, face set and cell; x/y/z = faces normal to each "
          "axis (z along B0) where the wave-order check falls back")
    for folder in sorted(Path(arguments.root).iterdir()):
        runs = {label: sorted(folder.glob(f"{label}/seed_*")) for label in CLASSES}
        if not folder.is_dir() or not any(runs.values()):
            continue
        lines = []
        for label, seeds in runs.items():
            last = [sorted(seed.glob("snapshot_*.fits"))[-1] for seed in seeds
                    if list(seed.glob("snapshot_*.fits"))]
            fractions = {path: axis_fractions(path) for path in last}
            last = [path for path in last if fractions[path] is not None]
            if not last:
                continue
            riemann = fits.getheader(last[0]).get("HIERARCH PAR riemann")
            counters = [value for value in map(run_fraction, last) if value is not None]
            axes = np.mean([fractions[path] for path in last], axis=0)
            counter = f"{np.mean(counters):.3f}" if counters else "n/a"
            lines.append(f"   {label:15s} {len(last)} runs, riemann {riemann}: run {counter}; "
                         f"x {axes[0]:.3f} y {axes[1]:.3f} z {axes[2]:.3f}")
        if lines:
            print(f"\n== {folder.name}")
            print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
