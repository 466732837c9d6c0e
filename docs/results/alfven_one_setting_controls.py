"""Does the one-setting control depend on which setting it is trained on? Issue 13, item 2.

The reports' numerics and driving controls train on the main set (MC limiter at 48^3) alone
and score the other sets; ``alfven-column``'s lose 4.7 / 16.8 / 27.3 points on the other
driving, minmod at 48^3 and minmod at 64^3 (``alfven-column_report.md``). This script trains
the same control (`run_setting_controls`: three networks of a member's shipped command,
its held-out seeds) on each set given in turn, alone, and scores every other set: is the
resolution gap the same trained from the finer runs as from the coarser ones?

Run from the repository root on the release folder (all four sets' runs)::

    python docs/results/alfven_one_setting_controls.py /work/simdata/alfven \\
        --members alfven-column --trained-on alfven_64_minmod_hlld --network-cache DIR \\
        > docs/results/alfven_one_setting_controls.txt

(each set's row is printed as soon as its networks are trained, and the cache keeps every
finished network for the next call). An experiment: nothing shipped changes.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_column_directions import column_data  # noqa: E402
from alfven_data_quantity import SETS, shipped_options  # noqa: E402
from alfven_leave_one_setting_out import REPORTS, print_controls_in_detail  # noqa: E402


def main(argv=None):
    from training.classifiers.alfven import (reference_setting, run_setting_controls,
                                             split_runs)
    from training.common.network_cache import NetworkCache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    parser.add_argument("--members", nargs="+", choices=sorted(REPORTS),
                        default=["alfven-column"])
    parser.add_argument("--trained-on", nargs="+", choices=SETS, default=list(SETS),
                        help="the sets trained on alone in turn, in this order (default all)")
    parser.add_argument("--network-cache", metavar="DIR")
    arguments_ = parser.parse_args(argv)
    cache = (None if arguments_.network_cache is None
             else NetworkCache(arguments_.network_cache))
    print(f"# written by: python docs/results/alfven_one_setting_controls.py "
          f"{arguments_.root} --members {' '.join(arguments_.members)}"
          f" --trained-on {' '.join(arguments_.trained_on)}"
          + (f" --network-cache {arguments_.network_cache}" if arguments_.network_cache else ""))
    for member in arguments_.members:
        options = shipped_options(REPORTS[member], drop_with_value=("--network-cache",))
        arguments, config, data = column_data(arguments_.root, options)
        split = split_runs(data, test_seeds=arguments.test_seeds)
        for trained_on in arguments_.trained_on:
            controls = run_setting_controls(data, split, config=config,
                                            reference=reference_setting(data, trained_on),
                                            networks=config.control_networks, cache=cache)
            print(f"\n== {member}, trained on {trained_on} alone: {controls['networks']} "
                  f"networks, {controls['same_setting_accuracy']:.4f} on its held-out runs",
                  flush=True)
            print_controls_in_detail(controls)


if __name__ == "__main__":
    main()
