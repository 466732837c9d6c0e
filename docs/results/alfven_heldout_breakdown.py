"""Where do a shipped Alfven model's held-out errors fall: which set, which run, which
snapshot time? Issue 13, item 3 (>= 98% at every snapshot time).

A member's report gives its held-out accuracy per snapshot time and per setting, never the
two together, so a weak time cannot be traced to one set or one run from it. This script
rebuilds the member's held-out inputs as the release made them (its own training command,
`training.classifiers.alfven_family.model_arguments`), checks that their labels are the
report's (same inputs, same order), and crosses the report's own held-out answers
(``test_scores``: no network is run) by set, run and time. Inputs cut from one map are also
averaged (mean class probability) to give the answer per map. Run from the repository root::

    python docs/results/alfven_heldout_breakdown.py ROOT --models alfven alfven-ffp \\
        alfven-column > docs/results/alfven_heldout_breakdown.txt

An analysis: nothing shipped changes.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.classifiers.alfven import (map_alfven_mach, map_settings, parse_command, split_runs,
                                         tile_dataset)
from training.classifiers.alfven_family import FAMILY, model_arguments
from training.classifiers.alfven_release import read_jobs


def held_out_inputs(name, root, sets):
    """The member's data, its held-out inputs and its report, as the release built them.

    The held-out seeds are the report's own (its split), not the manifests': the manifests may
    be gone with a machine while the runs are made again, and the release's default, the
    largest seed present, is then another run.

    Raises
    ------
    SystemExit
        When the rebuilt held-out runs (class and seed) are not the report's.
    """
    argv = model_arguments(name, root, sets=sets, identity_runs=False)
    report = json.loads(Path(argv[argv.index("--report") + 1]).read_text(encoding="utf-8"))
    held_out = sorted({(entry["label"], int(entry["seed"])) for entry in report["split"]["test"]})
    if "--test-seeds" in argv:
        start = argv.index("--test-seeds") + 1
        end = start
        while end < len(argv) and not argv[end].startswith("--"):
            end += 1
        argv = argv[:start - 1] + argv[end:]
    argv += ["--test-seeds", *sorted({str(seed) for _, seed in held_out}, key=int)]
    _, arguments, config, data, _ = parse_command(argv)
    split = split_runs(data, test_seeds=arguments.test_seeds)
    rebuilt = sorted({(entry["label"], int(entry["seed"])) for entry in split["runs"]["test"]})
    if rebuilt != held_out:
        raise SystemExit(f"{name}: the rebuilt held-out runs {rebuilt} are not the report's "
                         f"{held_out}; are all of them under {root}?")
    test_set = tile_dataset(data, split["test"], config=config, shifts=None)
    return data, test_set, report


def softmax(logits):
    """Class probabilities of rows of logits."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def short_setting(setting):
    """The parts of a setting string that differ between the release's sets."""
    numerics, driving = setting.split(" | ")
    parts = dict(item.split("=") for item in (numerics + " " + driving).split())
    return (f"{parts['cells']}^3 {parts['limiter']} {parts['forcing_shape']} "
            f"tau={parts['correlation_time_turnovers']}")


def table(title, groups, times, correct):
    """Print accuracy (and count) per group and snapshot time."""
    columns = sorted(set(times.tolist()))
    print(f"\n{title}")
    print(f"{'':<34}" + "".join(f"{time:>9.2f}" for time in columns) + f"{'all':>9}")
    for group in sorted(set(groups.tolist())):
        in_group = groups == group
        cells = []
        for time in columns:
            chosen = in_group & (times == time)
            cells.append(f"{np.mean(correct[chosen]):9.3f}" if chosen.any() else f"{'':>9}")
        print(f"{group:<34}" + "".join(cells) + f"{np.mean(correct[in_group]):9.3f}")
    print(f"{'all':<34}" + "".join(f"{np.mean(correct[times == time]):9.3f}"
                                   for time in columns) + f"{np.mean(correct):9.3f}")


def mach_table(data, test_runs, times, correct_inputs, rows, trained):
    """Print each held-out run's M_A per time, the training runs' M_A range per class (the
    runs ``trained``, ``(label, seed)`` pairs from the report: a member trained before seeds
    were added saw fewer than the sets now hold), and how a snapshot's accuracy ranks with
    its M_A."""
    from scipy.stats import spearmanr

    columns = sorted(set(times.tolist()))
    print("\nM_A (total field, from the snapshot headers) of each held-out run")
    pairs = []
    mach = map_alfven_mach(data)[rows]
    for run in test_runs:
        record = data.records[run]
        values = [mach[(data.runs[rows] == run) & (times == time)][0]
                  if np.any((data.runs[rows] == run) & (times == time)) else float("nan")
                  for time in columns]
        print(f"{short_setting(record['numerics'] + ' | ' + record['driving']):<22} "
              f"{record['label'][:5]} s{record['seed']:<8}"
              + "".join(f"{value:9.2f}" for value in values))
        for time, value in zip(columns, values):
            chosen = (data.runs[rows] == run) & (times == time)
            if chosen.any():
                pairs.append((record["label"], value, float(np.mean(correct_inputs[chosen]))))
    for label in data.class_names:
        training = [file["mach_alfven_total"] for record in data.records
                    if record["label"] == label and (label, record["seed"]) in trained
                    for file in record["files"] if file["mach_alfven_total"] is not None]
        # runs being made again after a lost machine are missing, or not finished
        present = {(record["label"], record["seed"]) for record in data.records
                   if record["label"] == label and (label, record["seed"]) in trained}
        expected = {pair for pair in trained if pair[0] == label}
        chosen = [(mach, accuracy) for name, mach, accuracy in pairs if name == label]
        rho, p_value = spearmanr([mach for mach, _ in chosen], [acc for _, acc in chosen])
        print(f"{label}: training snapshots' M_A {min(training):.2f}-{max(training):.2f} "
              f"(median {np.median(training):.2f}; {len(present)} of its {len(expected)} "
              "training runs found, finished or not); held-out snapshots' accuracy against "
              f"M_A: Spearman {rho:+.2f} (p = {p_value:.2g}, {len(chosen)} snapshots)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--models", nargs="+", default=["alfven"], choices=sorted(FAMILY))
    parser.add_argument("--sets", nargs="+", default=sorted({job.recipe for job in read_jobs()}))
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_heldout_breakdown.py {arguments.root} "
          f"--models {' '.join(arguments.models)}")
    for name in arguments.models:
        data, test_set, report = held_out_inputs(name, arguments.root, arguments.sets)
        scores = report["test_scores"]
        if not np.array_equal(np.asarray(scores["labels"]), test_set.labels):
            raise SystemExit(f"{name}: the rebuilt held-out inputs are not the report's "
                             f"({len(test_set.labels)} vs {len(scores['labels'])} labels, or "
                             "another order); was the report made from these runs?")
        probabilities = softmax(np.asarray(scores["logits"], dtype=float))
        correct = probabilities.argmax(axis=1) == test_set.labels
        rows = test_set.sources
        times = np.round(data.times[rows], 3)
        settings = np.array([short_setting(setting) for setting in map_settings(data)[rows]])
        runs = np.array([f"{setting} {data.class_names[label][:5]} s{data.records[run]['seed']}"
                         for setting, label, run in zip(settings, data.labels[rows],
                                                        data.runs[rows])])
        print(f"\n== {name}: {len(correct)} held-out inputs from {len(set(rows.tolist()))} maps, "
              f"accuracy {np.mean(correct):.4f} (report: "
              f"{report['metrics']['test_accuracy']:.4f}), report dated {report['date']}")
        table("inputs right, by set and snapshot time (turnovers)", settings, times, correct)
        table("inputs right, by held-out run and snapshot time", runs, times, correct)
        trained = {(entry["label"], entry["seed"]) for entry in report["split"]["train"]}
        mach_table(data, sorted(set(data.runs[rows].tolist())), times, correct, rows, trained)
        # a map's answer as the runtime gives it: the mean probability over its inputs
        maps = np.unique(rows)
        map_probability = np.array([probabilities[rows == row].mean(axis=0) for row in maps])
        map_correct = map_probability.argmax(axis=1) == data.labels[maps]
        map_settings_short = np.array([short_setting(setting)
                                       for setting in map_settings(data)[maps]])
        table("maps right (inputs of one map averaged), by set and snapshot time",
              map_settings_short, np.round(data.times[maps], 3), map_correct)
        wrong = ~correct
        print(f"\nwrong inputs: {int(wrong.sum())}; by true class "
              + json.dumps({data.class_names[label]: int((wrong & (test_set.labels == label))
                                                         .sum())
                            for label in range(len(data.class_names))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
