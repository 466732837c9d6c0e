"""Do the slice model's controls fail like the column model's when it sees as few maps? Issue 13, 2.

Trained on the main set, ``alfven-column``'s control networks lose 7.0 / 13.5 / 23.5 points on
the other driving, minmod and 64^3 (``alfven-column_report.md``), ``alfven``'s 0.6 / 1.8 / 5.4
(``alfven_report.md``). A cube gives the column model 9 maps (five angles, two planes) where
the slice model takes every second of its 48 slices. This script trains ``alfven``'s setting
controls (`run_setting_controls`: three networks on the main set's training runs, the family's
options and held-out seeds) with every ``K``-th slice for each ``K`` given, so that ``K = 5``
gives the slice model about as many maps per cube as the column model has (10 against 9).
With ``--network-cache`` networks trained before with the same data and options are loaded
(the release's cache holds those of ``K = 2``, the shipped setting). Run from the repository
root::

    python docs/results/alfven_data_quantity.py ROOT --slice-steps 2 5 \\
        --network-cache ROOT/release/networks > docs/results/alfven_data_quantity.txt

An experiment: nothing shipped changes.
"""

import argparse
import json
import shlex
from pathlib import Path

from training.classifiers.alfven import (parse_command, reference_setting, run_setting_controls,
                                         split_runs)
from training.classifiers.alfven_family import MAIN_SET, class_spec

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED_REPORT = REPOSITORY / "docs" / "results" / "alfven.json"
SETS = ("alfven_48_fast", "alfven_48_drive", "alfven_48_minmod_hlld", "alfven_64_minmod_hlld")


def shipped_options(report=SHIPPED_REPORT, *, drop=(), drop_with_value=()):
    """A shipped member's training options (its report's command without the data, without
    the flags in ``drop`` and without those in ``drop_with_value`` and the value after each),
    so that every other setting is the release's and its cached networks are found."""
    words = shlex.split(json.loads(Path(report).read_text())["command"])
    words = words[words.index("training.classifiers.alfven") + 1:]
    options, index = [], 0
    while index < len(words):
        if words[index] == "--class" or words[index] in drop_with_value:
            index += 2
            continue
        if words[index] not in drop:
            options.append(words[index])
        index += 1
    return options


def main_set_controls(root, options, *, cache):
    """`run_setting_controls` from the main set on the four sets' runs under ``root`` read with
    a member's command line ``options``, and the number of training maps."""
    argv = [word for recipe in SETS for label in ("sub_alfvenic", "super_alfvenic")
            for word in ("--class", class_spec(root, recipe, label))]
    _, arguments, config, data, _ = parse_command(argv + list(options))
    split = split_runs(data, test_seeds=arguments.test_seeds)
    controls = run_setting_controls(data, split, config=config,
                                    reference=reference_setting(data, MAIN_SET),
                                    networks=config.control_networks, cache=cache)
    return controls, int(split["train"].sum())


def print_controls(controls):
    """One line per other setting: accuracy, points below the same setting, per network."""
    for setting, result in controls["settings"].items():
        spread = result["points_below_spread"]
        by_network = ", ".join(f"{points:+.1f}" for points in result["points_below_by_network"])
        print(f"{result['difference']:9s} {result['accuracy']:.4f}  "
              f"{result['points_below_same_setting']:+5.1f} points"
              + (f" +- {spread:.1f}" if spread is not None else "")
              + f"  (networks: {by_network})  {setting}")


def read_command_line(script, description, argv, *, option, default):
    """``(root, values of option, cache)`` of an experiment script over the release folder,
    its "written by" line printed."""
    from training.common.network_cache import NetworkCache

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    parser.add_argument(option, type=int, nargs="+", default=default)
    parser.add_argument("--network-cache", metavar="DIR")
    arguments = parser.parse_args(argv)
    values = getattr(arguments, option.lstrip("-").replace("-", "_"))
    cache = None if arguments.network_cache is None else NetworkCache(arguments.network_cache)
    print(f"# written by: python docs/results/{script} {arguments.root} "
          f"{option} {' '.join(map(str, values))}"
          + (f" --network-cache {arguments.network_cache}" if arguments.network_cache else ""))
    return arguments.root, values, cache


def main(argv=None):
    root, slice_steps, cache = read_command_line(
        "alfven_data_quantity.py", __doc__.splitlines()[0], argv, option="--slice-steps",
        default=[2, 5])
    for slice_step in slice_steps:
        controls, n_train = main_set_controls(
            root, shipped_options() + ["--slice-step", str(slice_step)], cache=cache)
        print(f"\n== alfven, slice step {slice_step}: {n_train} training maps (all sets); "
              f"{controls['networks']} networks trained on the main set, same-setting "
              f"accuracy {controls['same_setting_accuracy']:.4f}")
        print_controls(controls)


if __name__ == "__main__":
    main()
