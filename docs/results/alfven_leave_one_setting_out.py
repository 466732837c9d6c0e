"""Does training on several numerics carry over to one never seen? Issue 13, item 2.

The reports' controls train on the main set alone (one numerics setting) and, pooled, on the
three 48^3 sets, scored on the 64^3 runs. Item 2 asks for a training set that spans several
numerics and driving details; this script asks, for each set in turn, what a network trained
on the other three together (three networks, the member's shipped command otherwise) scores
on that set's runs, against the held-out runs of the sets it was trained on: a
leave-one-setting-out control, one row per set left out.

Run from the repository root on the release folder (all four sets' runs)::

    python docs/results/alfven_leave_one_setting_out.py /work/simdata/alfven \\
        --members alfven-column [--left-out SET ...] --network-cache DIR \\
        > docs/results/alfven_leave_one_setting_out.txt

(``--left-out`` the sets to leave out, in that order; each set's row is printed as soon as
its networks are trained, and the cache keeps every finished network for the next call).

An experiment: nothing shipped changes.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_column_directions import column_data  # noqa: E402
from alfven_column_levers import print_by_angle  # noqa: E402
from alfven_data_quantity import SETS, print_controls, shipped_options  # noqa: E402

REPORTS = {name: Path(__file__).resolve().parent / report
           for name, report in (("alfven", "alfven.json"), ("alfven-ffp", "alfven_ffp.json"),
                                ("alfven-column", "alfven_column.json"))}


def print_controls_in_detail(controls):
    """`print_controls`, then each other setting's accuracy by true class and, where the maps
    have several angles to the field, by angle."""
    print_controls(controls)
    for setting, result in controls["settings"].items():
        by_class = ", ".join(f"{label} {accuracy:.3f}" for label, accuracy
                             in sorted(result["accuracy_by_class"].items()))
        print(f"  by true class: {by_class}  ({setting.split(' | ')[0]})")
    if controls["same_setting_accuracy_by_angle"]:
        print_by_angle(controls)


def main(argv=None):
    from training.classifiers.alfven import (reference_setting, run_setting_controls,
                                             split_runs)
    from training.common.network_cache import NetworkCache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    parser.add_argument("--members", nargs="+", choices=sorted(REPORTS),
                        default=["alfven-column"])
    parser.add_argument("--left-out", nargs="+", choices=SETS, default=list(SETS),
                        help="the sets left out in turn, in this order (default all)")
    parser.add_argument("--network-cache", metavar="DIR")
    arguments_ = parser.parse_args(argv)
    cache = (None if arguments_.network_cache is None
             else NetworkCache(arguments_.network_cache))
    print(f"# written by: python docs/results/alfven_leave_one_setting_out.py "
          f"{arguments_.root} --members {' '.join(arguments_.members)}"
          f" --left-out {' '.join(arguments_.left_out)}"
          + (f" --network-cache {arguments_.network_cache}" if arguments_.network_cache else ""))
    for member in arguments_.members:
        options = shipped_options(REPORTS[member], drop_with_value=("--network-cache",))
        arguments, config, data = column_data(arguments_.root, options)
        split = split_runs(data, test_seeds=arguments.test_seeds)
        for left_out in arguments_.left_out:
            trained_on = [reference_setting(data, recipe) for recipe in SETS
                          if recipe != left_out]
            controls = run_setting_controls(data, split, config=config, reference=trained_on,
                                            networks=config.control_networks, cache=cache)
            print(f"\n== {member}, {left_out} left out: {controls['networks']} networks "
                  f"trained on the other three sets, {controls['same_setting_accuracy']:.4f} "
                  "on their held-out runs", flush=True)
            print_controls_in_detail(controls)


if __name__ == "__main__":
    main()
