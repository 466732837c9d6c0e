"""Is the column model's control gap in its smallest scales? Issue 13, item 2.

Trained on the main set, ``alfven-column``'s control networks lose 7.0 / 13.5 / 23.5 points
on the other driving, minmod and 64^3 (``alfven-column_report.md``). Minmod moves the share
of the maps' variance at |k| >= 12 cycles per box by 3-5 run-to-run spreads in columns as in
slices (``alfven_map_scales.txt``). This script trains the column model's setting controls
(three networks on the main set, the shipped command otherwise) on maps resampled to ``N`` px
over the box (``--map-size N`` in place of ``--native-pixels``: wavenumbers up to N / 2,
the same physical scales at 48^3 and 64^3) for each ``N`` given, beside the shipped
setting's (from the release's network cache). Run from the repository root::

    python docs/results/alfven_column_map_size.py ROOT --map-sizes 24 \\
        --network-cache ROOT/release/networks > docs/results/alfven_column_map_size.txt

An experiment: nothing shipped changes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_data_quantity import (main_set_controls, print_controls,  # noqa: E402
                                  read_command_line, shipped_options)

COLUMN_REPORT = Path(__file__).resolve().parent / "alfven_column.json"


def main(argv=None):
    root, map_sizes, cache = read_command_line(
        "alfven_column_map_size.py", __doc__.splitlines()[0], argv, option="--map-sizes",
        default=[24])
    arms = [("shipped: every map at its own pixel scale", shipped_options(COLUMN_REPORT))]
    arms += [(f"every map resampled to {size} px over the box",
              shipped_options(COLUMN_REPORT, drop=("--native-pixels",))
              + ["--map-size", str(size)]) for size in map_sizes]
    for text, options in arms:
        controls, n_train = main_set_controls(root, options, cache=cache)
        print(f"\n== alfven-column, {text}: {n_train} training maps (all sets); "
              f"{controls['networks']} networks trained on the main set, same-setting "
              f"accuracy {controls['same_setting_accuracy']:.4f}")
        print_controls(controls)


if __name__ == "__main__":
    main()
