"""Does the one-setting control depend on which setting it is trained on? Issue 13, item 2.

The reports' numerics and driving controls train on the main set (MC limiter at 48^3) alone
and score the other sets; ``alfven-column``'s lose 4.7 / 16.8 / 27.3 points on the other
driving, minmod at 48^3 and minmod at 64^3 (``alfven-column_report.md``). This script trains
the same control (`run_setting_controls`: three networks of a member's shipped command,
its held-out seeds) on each set given in turn, alone, and scores every other set: is the
resolution gap the same trained from the finer runs as from the coarser ones?

Run from the repository root on the release folder (all four sets' runs)::

    python docs/results/alfven_one_setting_controls.py /work/simdata/alfven \\
        --members alfven-column --network-cache DIR \\
        --json docs/results/alfven_one_setting_controls.json \\
        --figure docs/images/alfven_column_transfer.png \\
        > docs/results/alfven_one_setting_controls.txt

(each set's row is printed as soon as its networks are trained, and the cache keeps every
finished network for the next call). ``--json`` keeps every row's `run_setting_controls`
result, ``--figure`` draws the points lost from each training set (rows) to each other set
(columns), one panel per member, once every set has been trained on. An experiment: nothing
shipped changes.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_data_quantity import SETS  # noqa: E402
from alfven_leave_one_setting_out import (add_common_arguments, controls_for_each,  # noqa: E402
                                          print_controls_in_detail)


#: What each set is, for the figure's axes (limiter, resolution, driving).
SET_LABELS = {"alfven_48_fast": "MC 48^3", "alfven_48_drive": "MC 48^3, other driving",
              "alfven_48_minmod_hlld": "minmod 48^3", "alfven_64_minmod_hlld": "minmod 64^3"}


def transfer_points(controls_by_set):
    """``(len(SETS), len(SETS))`` array: points below the same-setting accuracy of the
    networks trained on each set (row) on every other set (column); NaN on the diagonal and
    where a set was not trained on."""
    points = np.full((len(SETS), len(SETS)), np.nan)
    for row, trained_on in enumerate(SETS):
        controls = controls_by_set.get(trained_on)
        if controls is None:
            continue
        for column, scored in enumerate(SETS):
            setting = controls["setting_of_set"][scored]
            if setting in controls["settings"]:
                points[row, column] = controls["settings"][setting][
                    "points_below_same_setting"]
    return points


def draw_transfer(results, path):
    """One heat map per member of `transfer_points`, numbers written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    members = [member for member in results if set(results[member]) == set(SETS)]
    if not members:
        raise SystemExit("--figure needs every set trained on (--trained-on all four)")
    figure, axes = plt.subplots(1, len(members), figsize=(5.2 * len(members), 4.6),
                                squeeze=False)
    labels = [SET_LABELS[recipe] for recipe in SETS]
    for axis, member in zip(axes[0], members):
        points = transfer_points(results[member])
        image = axis.imshow(points, cmap="viridis_r", vmin=0.0, vmax=max(
            10.0, float(np.nanmax(points))))
        for (row, column), value in np.ndenumerate(points):
            if np.isfinite(value):
                axis.text(column, row, f"{value:.1f}", ha="center", va="center",
                          color="white" if value > 15 else "black")
        axis.set_xticks(range(len(SETS)), labels, rotation=30, ha="right")
        axis.set_yticks(range(len(SETS)), labels)
        axis.set_xlabel("scored on (every run)")
        axis.set_ylabel("trained on alone")
        axis.set_title(f"{member}: points below the same-setting accuracy\n"
                       f"(mean of {results[member][SETS[0]]['networks']} networks; "
                       f"target <= 3)", fontsize=10)
        figure.colorbar(image, ax=axis, shrink=0.8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--trained-on", nargs="+", choices=SETS, default=list(SETS),
                        help="the sets trained on alone in turn, in this order (default all)")
    parser.add_argument("--json", metavar="FILE", help="every row's result, as JSON")
    parser.add_argument("--figure", metavar="PNG",
                        help="the points lost, training set by scored set (all sets)")
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_one_setting_controls.py "
          f"{arguments.root} --members {' '.join(arguments.members)}"
          f" --trained-on {' '.join(arguments.trained_on)}"
          + (f" --network-cache {arguments.network_cache}" if arguments.network_cache else "")
          + (f" --json {arguments.json}" if arguments.json else "")
          + (f" --figure {arguments.figure}" if arguments.figure else ""))
    results = {}
    for member, trained_on, controls, setting_of_set in controls_for_each(
            arguments.root, arguments.members,
            [(recipe, [recipe]) for recipe in arguments.trained_on],
            cache_folder=arguments.network_cache):
        print(f"\n== {member}, trained on {trained_on} alone: {controls['networks']} "
              f"networks, {controls['same_setting_accuracy']:.4f} on its held-out runs",
              flush=True)
        print_controls_in_detail(controls)
        results.setdefault(member, {})[trained_on] = dict(controls,
                                                          setting_of_set=setting_of_set)
        if arguments.json:
            Path(arguments.json).write_text(json.dumps(results, indent=1) + "\n")
    if arguments.figure:
        draw_transfer(results, arguments.figure)


if __name__ == "__main__":
    main()
