"""The numerics control scored on numerics that keep the physics (issue 13, item 2).

The numerics control of the family trains on ``alfven_48_fast`` (MC limiter, HLLD) and scores
``alfven_64_minmod_hlle``, whose sub-Alfvenic runs have no field-aligned density anisotropy
(``alfven_numerics_physics.txt``): a network that reads the anisotropy must call them
super-Alfvenic, so that control cannot separate reading the solver from reading the field.
``alfven_48_minmod_hlld`` changes the limiter only (minmod, the most diffusive one) and keeps
the anisotropy. For each family member given, this script trains the setting-control network on
``alfven_48_fast``'s training runs (`training.classifiers.alfven.run_setting_controls`, via the
lever probes' ``control_of``, the network the cards' controls use) and scores every run of the
other sets, per true class. Run from the repository root::

    python docs/results/alfven_numerics_faithful.py ROOT --threads 2 \\
        > docs/results/alfven_numerics_faithful.txt

An experiment: nothing shipped changes.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_lever_probes import control_of  # noqa: E402  (a script beside this one)

SETS = ("alfven_48_fast", "alfven_48_minmod_hlld", "alfven_64_minmod_hlle", "alfven_48_drive")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=["alfven"])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--map-size", type=int, default=None,
                        help="resample every map to this size first (default: the smallest)")
    arguments = parser.parse_args(argv)
    options = () if arguments.map_size is None else ("--map-size", str(arguments.map_size))
    print(f"# written by: python docs/results/alfven_numerics_faithful.py {arguments.root} "
          f"--threads {arguments.threads} --models {' '.join(arguments.models)} "
          f"--sets {' '.join(arguments.sets)}"
          + ("" if arguments.map_size is None else f" --map-size {arguments.map_size}"))
    results = {}
    for name in arguments.models:
        controls = control_of(name, arguments.root, arguments.sets, threads=arguments.threads,
                              options=options)
        results[name] = controls
        print(f"\n== {name}: trained on {controls['reference']}\n   same setting "
              f"{controls['same_setting_accuracy']:.4f}; per class "
              f"{json.dumps(controls['same_setting_accuracy_by_class'])}")
        for setting, entry in controls["settings"].items():
            print(f"   {entry['difference']:<9} {entry['accuracy']:.4f} on {entry['n_maps']} maps "
                  f"of {entry['n_runs']} runs: {entry['points_below_same_setting']:+.1f} points "
                  f"below (target <= {controls['tolerance_points']:g}); per class "
                  f"{json.dumps(entry['accuracy_by_class'])}\n      {setting}")
    print("\n== as JSON")
    print(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
