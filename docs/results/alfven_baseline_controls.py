"""Do the classical baselines carry over to other numerics where the networks do not? Issue 13,
item 2.

Trained on the main set, ``alfven-column``'s control networks lose 5.8 / 19.6 / 32.3 points
on the other driving, minmod and 64^3 (``alfven_column_levers.txt``, the same runs). This
script puts the same question to the classical baselines (`training.evaluation.baselines`,
fitted on the networks' own degraded training inputs of the main set,
`training.classifiers.alfven_baseline_controls`), for the slice and the column model's
inputs: the three of the reports and ``anisotropy_logistic``, the maps' anisotropy alone (the
statistic that separates the classes in the physics). A baseline whose score holds on another
setting reads something that carries over; one that loses as much as the networks shows the
class signal itself moving with the solver.

Run from the repository root (``ROOT`` as for ``alfven_column_levers.py``)::

    python docs/results/alfven_baseline_controls.py ROOT \\
        > docs/results/alfven_baseline_controls.txt

An experiment: nothing shipped changes.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_column_directions import column_data  # noqa: E402
from alfven_data_quantity import SHIPPED_REPORT, shipped_options  # noqa: E402

COLUMN_REPORT = Path(__file__).resolve().parent / "alfven_column.json"
MEMBERS = (("alfven (slices)", SHIPPED_REPORT), ("alfven-column", COLUMN_REPORT))


def main(argv=None):
    from training.classifiers.alfven import reference_setting, split_runs
    from training.classifiers.alfven import run_baseline_setting_controls
    from training.classifiers.alfven_baseline_controls import BASELINE_CONTROL_NAMES
    from training.classifiers.alfven_family import MAIN_SET

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    parser.add_argument("--max-train-inputs", type=int, default=4000)
    arguments_ = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_baseline_controls.py {arguments_.root}"
          + (f" --max-train-inputs {arguments_.max_train_inputs}"
             if arguments_.max_train_inputs != 4000 else ""))
    for member, report in MEMBERS:
        options = shipped_options(report, drop_with_value=("--network-cache",))
        arguments, config, data = column_data(arguments_.root, options)
        split = split_runs(data, test_seeds=arguments.test_seeds)
        controls = run_baseline_setting_controls(
            data, split, config=config, reference=reference_setting(data, MAIN_SET),
            names=BASELINE_CONTROL_NAMES, max_train_inputs=arguments_.max_train_inputs)
        print(f"\n== {member}: baselines fitted on {controls['n_train']} degraded training "
              f"inputs of the main set ({controls['reference'].split(' | ')[0]})", flush=True)
        for name, result in controls["baselines"].items():
            print(f"{name:20s} same setting {result['same_setting_accuracy']:.3f}")
            for setting, entry in result["settings"].items():
                by_class = ", ".join(f"{label} {accuracy:.3f}"
                                     for label, accuracy in entry["accuracy_by_class"].items())
                print(f"  {entry['difference']:9s} {entry['accuracy']:.3f}  "
                      f"{entry['points_below_same_setting']:+5.1f} points  ({by_class})  "
                      f"{setting.split(' | ')[0]}", flush=True)


if __name__ == "__main__":
    main()
