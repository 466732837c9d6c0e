"""The run-identity control of the Alfven family on the longer runs of recipe
``alfven_48_identity``: for each family member's inputs, a network of the member's design is
trained to tell two runs of one class apart on their 2-3.5 T snapshots and scored on 5.5-6.5 T,
for every disjoint pair of the recipe's runs of each class (seeds 0 and 1, 2 and 3), and the
control's value is the mean over the pairs.

Run as::

    python -m training.classifiers.alfven_identity ROOT \\
        --report docs/results/alfven_identity_pairs.json [--update-cards]

``ROOT/alfven_48_identity`` holds the extended runs (see the recipe). With ``--update-cards``
the result joins each shipped member's training report and card
(``metrics.run_identity_control_long``, beside the one-turnover control) and its card's
caveats (weights untouched). After a retrain of
the family, ``--from-report --update-cards`` puts the recorded results into the new cards
without measuring again: the control trains its own network on the identity runs only, so the
family's training data do not enter it (the result keeps the command that measured it).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["GAP_TURNOVERS", "WINDOW_TURNOVERS", "identity_control", "main"]

#: Training snapshots end this long before the first scored one ...
GAP_TURNOVERS = 2.0
#: ... and the scored ones span the last this many turnovers.
WINDOW_TURNOVERS = 1.0


def identity_control(root, name, *, seed=0, pairs=None, progress=False, dihedral_average=True):
    """The control for one family member on ``root/alfven_48_identity``.

    ``pairs`` limits the pairs per class (None: every disjoint pair of the runs there).
    ``dihedral_average=False`` measures the design without the averaging over the 8 rotations
    and reflections (`training.classifiers.alfven.AlfvenConfig.dihedral_average`).

    Returns
    -------
    dict
        As `training.classifiers.alfven.run_identity_control`.
    """
    from glue_turbml.evaluation import expand_class_specs

    from .alfven import CLASSES, run_identity_control
    from .alfven_data import load_labelled_maps
    from .alfven_family import IDENTITY_SET, class_spec, member_config

    config = member_config(name, seed=seed, dihedral_average=bool(dihedral_average))
    class_names = [label for label, _ in CLASSES]
    specs = [class_spec(root, IDENTITY_SET, label) for label in class_names]
    data = load_labelled_maps(expand_class_specs(specs, class_names), class_names,
                              kind=config.kind, slice_step=config.slice_step,
                              directions=config.directions if config.kind == "columns" else None)
    result = run_identity_control(data, np.ones(len(data), dtype=bool), config=config,
                                  gap_turnovers=GAP_TURNOVERS, test_window=WINDOW_TURNOVERS,
                                  pairs=pairs, progress=progress)
    run_seeds = sorted({run_seed for entry in result["classes"].values()
                        for run_seed in entry["seeds"]})
    result["data"] = (f"{IDENTITY_SET} (alfven_48_fast's seeds "
                      f"{', '.join(str(run_seed) for run_seed in run_seeds)} run on to 6.5 T)")
    return result


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    from .alfven import add_caveats_to_card
    from .alfven_family import FAMILY

    parser = argparse.ArgumentParser(prog="python -m training.classifiers.alfven_identity",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("root", help="folder holding alfven_48_identity")
    parser.add_argument("--models", nargs="+", choices=sorted(FAMILY), default=list(FAMILY))
    parser.add_argument("--report", required=True, help="JSON file to write")
    parser.add_argument("--update-cards", action="store_true",
                        help="state the result in each shipped member's card")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=None,
                        help="pairs of runs per class at most (default: every disjoint pair)")
    parser.add_argument("--from-report", action="store_true",
                        help="take each member's result from --report as measured before "
                             "instead of measuring it again (with --update-cards, after a "
                             "retrain: the control never sees the family's training data, only "
                             "ROOT/alfven_48_identity and the member's design)")
    arguments = parser.parse_args(argv)
    command = "python -m training.classifiers.alfven_identity " + " ".join(
        argv if argv is not None else sys.argv[1:])
    report_path = Path(arguments.report)
    # members measured by earlier calls stay in the report (one call per member is allowed)
    report = (json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists()
              else {"gap_turnovers": GAP_TURNOVERS, "window_turnovers": WINDOW_TURNOVERS,
                    "models": {}})
    if arguments.from_report:
        missing = [name for name in arguments.models if name not in report["models"]]
        if missing:
            parser.error(f"{report_path} has no result for {', '.join(missing)}: measure it "
                         "(without --from-report)")
    status, measured = 0, False
    for name in arguments.models:
        if arguments.from_report:
            # as recorded, with the command that measured it
            result = dict(report["models"][name], carried_over_by=command)
        else:
            result = identity_control(arguments.root, name, seed=arguments.seed,
                                      pairs=arguments.pairs)
        if result["mean_accuracy"] is None:
            # nothing measured (e.g. the identity runs are missing or too short): say why and
            # leave the report and the cards as they are
            print(f"{name}: run-identity control not measured: skipped {result['skipped']}",
                  file=sys.stderr, flush=True)
            status = 1
            continue
        if not arguments.from_report:
            report["command"] = command
            measured = True
            report["models"][name] = dict(result, command=command)
        print(f"{name}: run-identity control {result['mean_accuracy']:.3f} over "
              f"{result.get('n_pairs', len(result['classes']))} pairs (chance 0.5 +- "
              f"{result['tolerance']}); per class "
              + ", ".join(f"{label} {entry['accuracy']:.3f} ("
                          + ", ".join(f"seeds {pair['seeds'][0]}/{pair['seeds'][1]} "
                                      f"{pair['accuracy']:.3f}"
                                      for pair in entry.get("pairs", [entry])) + ")"
                          for label, entry in result["classes"].items()), flush=True)
        if arguments.update_cards:
            training_report = Path("docs/results") / f"{name.replace('-', '_')}.json"
            recorded = json.loads(training_report.read_text(encoding="utf-8"))
            recorded["metrics"]["run_identity_control_long"] = (
                result if arguments.from_report else dict(result, command=command))
            training_report.write_text(json.dumps(recorded, indent=1), encoding="utf-8")
            add_caveats_to_card(f"onnx_models/{name}.onnx", recorded)
    if measured:
        report_path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
