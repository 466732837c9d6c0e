"""Which way the other numerics push ``alfven``'s maps: the numerics control per true class
(issue 13, item 2).

Trained on ``alfven_48_fast`` alone, the shipped design (with the dihedral averaging) scores
0.970 on that set's held-out runs and 0.771 on ``alfven_64_minmod_hlle``
(``docs/results/alfven.json``). This script trains the same setting-control network
(`training.classifiers.alfven.run_setting_controls`, via the lever probes' ``control_of``) and
prints its accuracy on each true class, so one can see whether the more diffusive solver's
sub-Alfvenic maps read as super-Alfvenic or the other way round. Run from the repository root::

    python docs/results/alfven_numerics_by_class.py ROOT --threads 2 \\
        > docs/results/alfven_numerics_by_class.txt

An experiment: nothing shipped changes.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_lever_probes import control_of  # noqa: E402  (a script beside this one)

SETS = ("alfven_48_fast", "alfven_48_drive", "alfven_64_minmod_hlle")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_numerics_by_class.py {arguments.root} "
          f"--threads {arguments.threads}")
    controls = control_of("alfven", arguments.root, SETS, threads=arguments.threads)
    print(f"trained on {controls['reference']}\nsame setting "
          f"{controls['same_setting_accuracy']:.4f}; per class "
          f"{json.dumps(controls['same_setting_accuracy_by_class'])}")
    for entry in controls["settings"].values():
        print(f"{entry['difference']:<9} {entry['accuracy']:.4f} on {entry['n_maps']} maps; "
              f"per class {json.dumps(entry['accuracy_by_class'])}")
    print("\n== as JSON")
    print(json.dumps(controls, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
