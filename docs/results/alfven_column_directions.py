"""Which lines of sight teach the column model the physics, not the solver? Issue 13, item 2.

Trained on the main set, ``alfven-column``'s control networks lose nothing on minmod's maps
along the field (0 deg) but 21-30 points on its oblique and perpendicular ones
(``alfven_column_levers.txt``, "by angle" lines). An oblique lattice map samples the line of
sight's cross-section at ``1 / sqrt(a^2 + c^2)`` cells along one axis and one cell along the
other (`training.common.lattice_projection`): the solver's smallest scales are magnified
along one axis only, where a network could read them. This script trains the column model's
setting controls (three networks on the main set, the shipped command otherwise) with other
sets of lattice directions and prints them beside the shipped options' networks, per angle:

- the square-pixel directions only, along (0 deg) and across (90 deg) the field: if the
  oblique maps carry the solver into the network, the 90 deg maps of the other numerics are
  lost less without them;
- with ``--more-directions``, four more oblique directions (1,3), (2,3), (3,2), (3,1) (18.4,
  33.7, 56.3, 71.6 deg) beside the shipped five: more maps of the same runs, nearly twice as
  many per cube.

Run from the repository root (``ROOT`` as for ``alfven_column_levers.py``)::

    python docs/results/alfven_column_directions.py ROOT --more-directions \
        --network-cache DIR > docs/results/alfven_column_directions.txt

An experiment: nothing shipped changes.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_column_levers import COLUMN_REPORT, print_by_angle  # noqa: E402
from alfven_data_quantity import SETS, print_controls, shipped_options  # noqa: E402

SQUARE_PIXEL_ANGLES = (0.0, 90.0)
MORE_DIRECTIONS = ("1,3", "2,3", "3,2", "3,1")


def column_data(root, options):
    """The four sets' column maps under ``root`` read with ``options``: (arguments, config,
    data)."""
    from training.classifiers.alfven import parse_command
    from training.classifiers.alfven_family import class_spec

    argv = [word for recipe in SETS for label in ("sub_alfvenic", "super_alfvenic")
            for word in ("--class", class_spec(root, recipe, label))]
    _, arguments, config, data, _ = parse_command(argv + list(options))
    return arguments, config, data


def controls_on(data, arguments, config, *, cache):
    """The main set's setting controls (`run_setting_controls`) on ``data``."""
    from training.classifiers.alfven import reference_setting, run_setting_controls, split_runs
    from training.classifiers.alfven_family import MAIN_SET

    split = split_runs(data, test_seeds=arguments.test_seeds)
    return run_setting_controls(data, split, config=config,
                                reference=reference_setting(data, MAIN_SET),
                                networks=config.control_networks, cache=cache)


def main(argv=None):
    from training.common.lattice_projection import LATTICE_DIRECTIONS
    from training.common.network_cache import NetworkCache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    parser.add_argument("--more-directions", action="store_true",
                        help="also the arm with four more oblique directions")
    parser.add_argument("--network-cache", metavar="DIR")
    arguments_ = parser.parse_args(argv)
    cache = (None if arguments_.network_cache is None
             else NetworkCache(arguments_.network_cache))
    print(f"# written by: python docs/results/alfven_column_directions.py {arguments_.root}"
          + (" --more-directions" if arguments_.more_directions else "")
          + (f" --network-cache {arguments_.network_cache}" if arguments_.network_cache else ""))
    shipped = shipped_options(COLUMN_REPORT, drop_with_value=("--network-cache",))
    arguments, config, data = column_data(arguments_.root, shipped)
    arms = [("shipped options (all five angles in training)", arguments, config, data),
            ("trained and scored on the 0 and 90 deg maps only", arguments, config,
             data.select(np.isin(data.angles, SQUARE_PIXEL_ANGLES)))]
    if arguments_.more_directions:
        shipped_directions = [f"{a},{c}" for a, c in LATTICE_DIRECTIONS]
        arms.append(("nine directions (the shipped five and " + " ".join(MORE_DIRECTIONS)
                     + ")", *column_data(arguments_.root, shipped + [
                         "--directions", *shipped_directions, *MORE_DIRECTIONS])))
    for text, arm_arguments, arm_config, chosen in arms:
        controls = controls_on(chosen, arm_arguments, arm_config, cache=cache)
        print(f"\n== alfven-column, {text}: {len(chosen)} maps (all sets); "
              f"{controls['networks']} networks trained on the main set, same-setting "
              f"accuracy {controls['same_setting_accuracy']:.4f} (all its angles)", flush=True)
        print_controls(controls)
        print_by_angle(controls)


if __name__ == "__main__":
    main()
