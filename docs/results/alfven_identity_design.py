"""The long run-identity control of ``alfven`` for the design without the dihedral averaging, on
the identity runs as they are now: whether the averaging or the runs changed its result.

Run from the repository root::

    python docs/results/alfven_identity_design.py ROOT > docs/results/alfven_identity_design.txt

``ROOT/alfven_48_identity`` holds the extended runs. The control is
`training.classifiers.alfven_identity.identity_control` with ``dihedral_average=False``; the
averaged design's result is in ``docs/results/alfven_identity_control.json``.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv=None):
    from training.classifiers.alfven_identity import identity_control

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--model", default="alfven")
    arguments = parser.parse_args(argv)
    # the first pair of each class, as when the recorded output was made
    result = identity_control(arguments.root, arguments.model, dihedral_average=False,
                              pairs=1)
    print(json.dumps({"script": "docs/results/alfven_identity_design.py",
                      "model": arguments.model, "dihedral_average": False, "control": result},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
