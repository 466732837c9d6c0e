"""Does the zoom augmentation bring the slice model's resolution control within the target?
Issue 13, item 2.

Trained on the main set (48^3), ``alfven``'s control networks lose 3.1 +- 0.7 points on the
64^3 runs (``alfven_report.md``), just outside the 3-point target. The runtime cuts a 64^3
slice into 48 px tiles, three quarters of the box at a finer pixel scale than any main-set
map: pixel scale is a lever (``alfven_pixel_scale.txt``), and for the column model training
copies magnified by a random factor of 1-1.5 (``--zoom 1.5``) took about 9 points of its
64^3 gap (``alfven_column_levers.txt``). This script trains ``alfven``'s setting controls
(three networks on the main set, the shipped command otherwise) with the shipped options and
with ``--zoom 1.5`` on the same runs, and prints both, by true class.

Run from the repository root (``ROOT`` as for ``alfven_column_levers.py``)::

    python docs/results/alfven_zoom_lever.py ROOT --network-cache DIR \\
        > docs/results/alfven_zoom_lever.txt

An experiment: nothing shipped changes.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_data_quantity import (SHIPPED_REPORT, main_set_controls,  # noqa: E402
                                  print_controls, shipped_options)


def main(argv=None):
    from training.common.network_cache import NetworkCache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    parser.add_argument("--zoom", type=float, default=1.5)
    parser.add_argument("--network-cache", metavar="DIR")
    arguments = parser.parse_args(argv)
    cache = None if arguments.network_cache is None else NetworkCache(arguments.network_cache)
    print(f"# written by: python docs/results/alfven_zoom_lever.py {arguments.root}"
          + (f" --zoom {arguments.zoom}" if arguments.zoom != 1.5 else "")
          + (f" --network-cache {arguments.network_cache}" if arguments.network_cache else ""))
    shipped = shipped_options(SHIPPED_REPORT, drop_with_value=("--network-cache",))
    for text, options in (("shipped options", shipped),
                          (f"zoom uniform in 1..{arguments.zoom}",
                           shipped + ["--zoom", str(arguments.zoom)])):
        controls, n_train = main_set_controls(arguments.root, options, cache=cache)
        print(f"\n== alfven, {text}: {n_train} training maps (all sets); "
              f"{controls['networks']} networks trained on the main set, same-setting "
              f"accuracy {controls['same_setting_accuracy']:.4f}", flush=True)
        print_controls(controls)
        for setting, by_class in [("same setting", controls["same_setting_accuracy_by_class"]),
                                  *((name, result["accuracy_by_class"])
                                    for name, result in controls["settings"].items())]:
            cells = ", ".join(f"{label} {accuracy:.3f}" for label, accuracy in by_class.items())
            print(f"  by true class: {cells}  ({setting.split(' | ')[0]})", flush=True)


if __name__ == "__main__":
    main()
