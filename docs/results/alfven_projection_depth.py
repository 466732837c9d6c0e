"""How much of the class signal survives projection, against how much the numerics move it?
Issue 13, item 2.

The slice networks carry over to other numerics within a few points; the column networks lose
17-27 (``alfven-column_report.md``), and a baseline reading only the column maps' anisotropy
loses 8-17 (``alfven_baseline_controls.txt``). This script measures, without any network, the
statistic the physics says separates the classes, SF2_par / SF2_perp of ln(column) at 1/16 of
the box (the field's direction against across it), on maps summed over slabs of growing depth
along a line of sight perpendicular to the field: from one cell (a slice that holds the
field) to the whole box (the column maps' 90 deg direction). Depths are fractions of the box
(1, 3, 12 and 48 cells at 48^3), every non-overlapping slab of a snapshot is used, and per
set, class and depth it prints the mean over the runs and the spread of the runs' means; then,
per depth, the main set's class gap (super minus sub), in units of its runs' spread, and how
far each other set's sub-Alfvenic mean sits from the main set's, in units of that gap. Run
from the repository root::

    python docs/results/alfven_projection_depth.py ROOT > docs/results/alfven_projection_depth.txt

An analysis: nothing shipped changes.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_column_anisotropy import (anisotropy, finished_runs,  # noqa: E402
                                      read_root_and_snapshots, run_statistics)

SETS = ("alfven_48_fast", "alfven_48_drive", "alfven_48_minmod_hlld", "alfven_64_minmod_hlld")
MAIN_SET = SETS[0]
DEPTH_FRACTIONS = (1 / 48, 3 / 48, 12 / 48, 1.0)
LAG_FRACTION = 1 / 16


def slab_anisotropy(cube, depth, lag):
    """Mean anisotropy over the non-overlapping slabs of ``depth`` cells along x of a
    ``(z, y, x)`` cube, each summed along x into a ``(y, z)`` map (z, the field, second)."""
    side = cube.shape[2]
    values = [anisotropy(cube[:, :, start:start + depth].sum(axis=2).T, [lag])[0]
              for start in range(0, side - depth + 1, depth)]
    return float(np.mean(values))


def depth_statistics(cube):
    """`slab_anisotropy` at each of `DEPTH_FRACTIONS`, the lag `LAG_FRACTION` of the box."""
    side = cube.shape[2]
    lag = max(1, round(LAG_FRACTION * side))
    return [slab_anisotropy(cube, max(1, round(fraction * side)), lag)
            for fraction in DEPTH_FRACTIONS]


def main(argv=None):
    arguments = read_root_and_snapshots(__doc__.splitlines()[0], argv)
    print(f"# written by: python docs/results/alfven_projection_depth.py {arguments.root}")
    print("# SF2_par / SF2_perp of ln(column) at 1/16 of the box, maps summed over slabs "
          "perpendicular to the field: mean over the runs +- the spread of the runs' means")
    means = {}
    for name in SETS:
        folder = Path(arguments.root) / name
        for label in ("sub_alfvenic", "super_alfvenic"):
            runs = finished_runs(folder, label, arguments.snapshots) if folder.is_dir() else []
            if not runs:
                continue
            per_run, spread = run_statistics(runs, depth_statistics)
            means[name, label] = (per_run.mean(axis=0), spread, len(per_run))
            cells = "  ".join(f"{mean:.3f} +- {sd:.3f}"
                              for mean, sd in zip(per_run.mean(axis=0), spread))
            print(f"{name:<22} {label:<15} {cells}  ({len(per_run)} runs)", flush=True)
    depths = "  ".join(f"{fraction:.3f}" for fraction in DEPTH_FRACTIONS)
    print(f"\ndepth (fraction of the box):  {depths}")
    if (MAIN_SET, "sub_alfvenic") not in means or (MAIN_SET, "super_alfvenic") not in means:
        return
    sub, sub_spread, _ = means[MAIN_SET, "sub_alfvenic"]
    super_, super_spread, _ = means[MAIN_SET, "super_alfvenic"]
    gap = super_ - sub
    spread = np.sqrt(0.5 * (sub_spread ** 2 + super_spread ** 2))
    print("main set's class gap (super - sub):  " + "  ".join(f"{value:+.3f}" for value in gap))
    in_spreads = "  ".join(f"{value:+.1f}" for value in gap / spread)
    print(f"  in units of its runs' spread:       {in_spreads}")
    for name in SETS[1:]:
        if (name, "sub_alfvenic") in means:
            shift = (means[name, "sub_alfvenic"][0] - sub) / gap
            print(f"{name} sub-Alfvenic mean - main set's, in class gaps:  "
                  + "  ".join(f"{value:+.2f}" for value in shift))


if __name__ == "__main__":
    main()
