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


def add_common_arguments(parser):
    """The release folder, the members and the network cache, as both control scripts take
    them."""
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    parser.add_argument("--members", nargs="+", choices=sorted(REPORTS),
                        default=["alfven-column"])
    parser.add_argument("--network-cache", metavar="DIR")


def controls_for_each(root, members, trainings, *, cache_folder=None):
    """`run_setting_controls` for each member and each training of ``trainings``.

    Parameters
    ----------
    root : str
        The release folder (one subfolder per set in `SETS`).
    members : list of str
        Family members, each read and trained with its shipped command's options.
    trainings : list of (str, list of str)
        A name and the sets (folder names) trained on together.
    cache_folder : str, optional
        `training.common.network_cache.NetworkCache` folder.

    Yields
    ------
    member, name, controls, setting_of_set
        ``setting_of_set`` maps each set's folder name to its setting (`setting_of`).
    """
    from training.classifiers.alfven import (reference_setting, run_setting_controls,
                                             split_runs)
    from training.common.network_cache import NetworkCache

    cache = None if cache_folder is None else NetworkCache(cache_folder)
    for member in members:
        options = shipped_options(REPORTS[member], drop_with_value=("--network-cache",))
        arguments, config, data = column_data(root, options)
        split = split_runs(data, test_seeds=arguments.test_seeds)
        setting_of_set = {recipe: reference_setting(data, recipe) for recipe in SETS}
        for name, recipes in trainings:
            # one setting is passed as itself, as the reports' controls pass it
            reference = ([setting_of_set[recipe] for recipe in recipes] if len(recipes) > 1
                         else setting_of_set[recipes[0]])
            controls = run_setting_controls(data, split, config=config, reference=reference,
                                            networks=config.control_networks, cache=cache)
            yield member, name, controls, setting_of_set


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--left-out", nargs="+", choices=SETS, default=list(SETS),
                        help="the sets left out in turn, in this order (default all)")
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_leave_one_setting_out.py "
          f"{arguments.root} --members {' '.join(arguments.members)}"
          f" --left-out {' '.join(arguments.left_out)}"
          + (f" --network-cache {arguments.network_cache}" if arguments.network_cache else ""))
    trainings = [(left_out, [recipe for recipe in SETS if recipe != left_out])
                 for left_out in arguments.left_out]
    for member, left_out, controls, _ in controls_for_each(
            arguments.root, arguments.members, trainings,
            cache_folder=arguments.network_cache):
        print(f"\n== {member}, {left_out} left out: {controls['networks']} networks "
              f"trained on the other three sets, {controls['same_setting_accuracy']:.4f} "
              "on their held-out runs", flush=True)
        print_controls_in_detail(controls)


if __name__ == "__main__":
    main()
