"""Mean M_s and M_A (total field) of the identity runs over the control's training (2-3.5 T) and
scored (5.5-6.5 T) windows, from the snapshots' FITS headers: what a network telling the two runs
of one class apart could key on besides the run itself.

Run from the repository root::

    python docs/results/alfven_identity_mach.py ROOT > docs/results/alfven_identity_mach.txt

``ROOT/alfven_48_identity`` holds the extended runs.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

WINDOWS_TURNOVERS = {"training 2-3.5 T": (2.0, 3.5), "scored 5.5-6.5 T": (5.5, 6.5)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    arguments = parser.parse_args(argv)
    folder = Path(arguments.root) / "alfven_48_identity"
    print(f"# written by: python docs/results/alfven_identity_mach.py {arguments.root}")
    for label in ("sub_alfvenic", "super_alfvenic"):
        for seed_folder in sorted((folder / label).glob("seed_*")):
            headers = [fits.getheader(path) for path in sorted(seed_folder.glob("snapshot_*.fits"))]
            parts = []
            for window, (start, end) in WINDOWS_TURNOVERS.items():
                inside = [header for header in headers
                          if start - 1e-6 <= header["TTURN"] <= end + 1e-6]
                parts.append(f"{window}: M_s {np.mean([h['MS'] for h in inside]):.2f}, "
                             f"M_A {np.mean([h['MATOTAL'] for h in inside]):.2f} "
                             f"({len(inside)} snapshots)")
            print(f"{label} {seed_folder.name}: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
