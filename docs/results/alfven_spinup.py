"""Is the flow steady at the family's first snapshot time? (issue 13, item 3)

The family's networks score worst on the 2 T snapshots (``test_accuracy_by_time_turnovers`` in
``docs/results/alfven.json``). This reads each training set's manifest (no simulation, no
network) and prints, per set and class, the runs' mean sonic Mach number at every snapshot time
and its ratio to the mean over the last three snapshot times: a ratio well below 1 at 2 T means
the runs were still spinning up there.

Run from the repository root::

    python docs/results/alfven_spinup.py ROOT > docs/results/alfven_spinup.txt
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SETS = ("alfven_48_fast", "alfven_48_drive", "alfven_48_minmod_hlld", "alfven_64_minmod_hlld")


def mach_by_time(manifest, label):
    """(times, M_s of every run at every time) of one class of a manifest."""
    runs = manifest["classes"][label]["runs"]
    times = np.round(np.asarray(runs[0]["snapshot_turnovers"], float), 4)
    mach = np.array([run["snapshot_mach"] for run in runs], float)
    return times, mach


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_spinup.py "
          f"{' '.join(sys.argv[1:] if argv is None else argv)}")
    print("# per set and class: mean M_s over the runs at each snapshot time (turnovers), and "
          "its ratio to the mean over the last three times")
    for recipe in arguments.sets:
        manifest = json.loads((Path(arguments.root) / recipe / "manifest.json").read_text())
        for label in ("sub_alfvenic", "super_alfvenic"):
            times, mach = mach_by_time(manifest, label)
            mean = mach.mean(axis=0)
            steady = mean[-3:].mean()
            cells = "  ".join(f"{time:g} T {value:.2f} ({value / steady:.2f})"
                              for time, value in zip(times, mean))
            print(f"{recipe:24s} {label:15s} {len(mach)} runs: {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
