"""Does the column-density signal of the Alfven classes change with resolution? Issue 13 item 2.

``alfven-column``'s networks lose 11-23 points on 56^3 and 64^3 runs they never saw, whether
the maps are resampled to 48 px or kept at their own pixel scale
(``alfven_resolution_bracket*_column*.txt``), while the slice networks carry over. This script
measures, without any network, the statistic that tells the classes apart in projection: the
anisotropy SF2_par / SF2_perp of ln(column density) on the column maps perpendicular to the
mean field (line of sight along x, lattice direction (1, 0)), at lags that are the same
fractions of the box (1/16, 1/8, 1/4) whatever the resolution, and at 63 degrees (lattice
direction (2, 1)), where the map's axis along the field's projection is its second axis too.
Per set and class: the mean over every snapshot of every finished run and the spread of the
runs' means. Run from the repository root::

    python docs/results/alfven_column_anisotropy.py ROOT > docs/results/alfven_column_anisotropy.txt

An analysis: nothing shipped changes.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

SETS = ("alfven_48_fast", "alfven_48_drive", "alfven_48_minmod_hlld", "alfven_56_minmod_hlld",
        "alfven_64_minmod_hlld")
LAG_FRACTIONS = (1 / 16, 1 / 8, 1 / 4)
DIRECTIONS = {"90 deg (1, 0)": (1, 0), "63 deg (2, 1)": (2, 1)}


def anisotropy(column, lags):
    """SF2 along the map's second axis (the field's projection) over SF2 along its first."""
    logged = np.log(column)
    ratios = []
    for lag in lags:
        along = np.mean((np.roll(logged, lag, axis=1) - logged) ** 2)
        across = np.mean((np.roll(logged, lag, axis=0) - logged) ** 2)
        ratios.append(along / across)
    return ratios


def finished_runs(folder, label, snapshots):
    """Run folders of one class holding all ``snapshots`` snapshots."""
    return [run for run in sorted((folder / label).glob("seed_*"))
            if len(list(run.glob("snapshot_*.fits"))) >= snapshots]


def run_statistics(runs, statistic):
    """Per run, the mean over its snapshots of ``statistic(cube)`` (a list of numbers), and the
    spread of the runs' means (NaN for one run): ``(per_run, spread)`` arrays."""
    from astropy.io import fits

    per_run = np.array([np.mean([statistic(fits.getdata(path).astype(np.float64))
                                 for path in sorted(run.glob("snapshot_*.fits"))], axis=0)
                        for run in runs])
    spread = (per_run.std(axis=0, ddof=1) if len(per_run) > 1
              else np.full(per_run.shape[1], np.nan))
    return per_run, spread


def read_root_and_snapshots(description, argv):
    """The runs' folder and how many snapshots make a run finished, from ``argv``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("root")
    parser.add_argument("--snapshots", type=int, default=7,
                        help="a run counts once it has this many snapshots (default 7)")
    return parser.parse_args(argv)


def main(argv=None):
    from training.common.lattice_projection import lattice_projection

    arguments = read_root_and_snapshots(__doc__.splitlines()[0], argv)
    print(f"# written by: python docs/results/alfven_column_anisotropy.py {arguments.root}")
    print("# SF2_par / SF2_perp of ln(column) at lags 1/16, 1/8, 1/4 of the box: mean over "
          "every snapshot of every finished run (+- the spread of the runs' means)")
    for name in SETS:
        folder = Path(arguments.root) / name
        if not folder.is_dir():
            continue
        for label in ("sub_alfvenic", "super_alfvenic"):
            runs = finished_runs(folder, label, arguments.snapshots)
            if not runs:
                continue
            for text, direction in DIRECTIONS.items():
                per_run, spread = run_statistics(runs, lambda cube: anisotropy(
                    lattice_projection(cube, direction),
                    [max(1, round(fraction * cube.shape[0])) for fraction in LAG_FRACTIONS]))
                print(f"{name:<24} {label:<15} {text}: "
                      + " / ".join(f"{mean:.3f} +- {error:.3f}"
                                   for mean, error in zip(per_run.mean(axis=0), spread))
                      + f"  ({len(runs)} runs: {', '.join(run.name for run in runs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
