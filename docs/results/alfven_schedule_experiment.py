"""Learning-rate schedule as a lever (issue 13, items 3-4): a family member's main network
trained on the release's four sets as the release trains it, except for the schedule, and
scored on the same held-out runs.

The release's ``alfven`` stopped at epoch 11 with its best validation epoch at 5: at Adam's
constant rate the validation score of the large, degraded and augmented training set jumped
by 1-3 points between epochs (``history`` in ``docs/results/alfven.json``), so which epoch is
kept is partly chance. A cosine schedule lowers the rate to zero over ``--max-epochs`` and runs
them all (`training.common.train.TrainingConfig.schedule`).

Run from the repository root (one network, no controls, nothing shipped changes)::

    python docs/results/alfven_schedule_experiment.py ROOT --model alfven --threads 1 \\
        > docs/results/alfven_schedule_experiment.txt

``ROOT`` holds the recipe folders of the release's four sets (``--sets``). The release's own
result, at the constant rate, is read from the member's report and printed beside it.
"""

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from training.classifiers.alfven import (FULL_CONFIG, _train_cnn, map_settings, parse_command,
                                         split_runs, tile_dataset)
from training.classifiers.alfven_family import FAMILY, model_arguments
from training.classifiers.alfven_release import read_jobs
from training.common.script_options import configure_torch_threads
from training.evaluation.classifier_metrics import evaluate_classifier


def member_data(name, root, sets):
    """The member's config, labelled maps, report path and test seeds, read from the release's
    own training command (its controls are not run here)."""
    _, arguments, config, data, _ = parse_command(
        model_arguments(name, root, sets=sets, identity_runs=False))
    return config, data, arguments.report, arguments.test_seeds


def by_group(values, correct):
    """Accuracy per distinct value (keys as strings)."""
    return {str(value): round(float(np.mean(correct[values == value])), 4)
            for value in sorted(set(values.tolist()))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--model", default="alfven", choices=sorted(FAMILY))
    # the release's sets, as alfven_release orders them
    parser.add_argument("--sets", nargs="+", default=sorted({job.recipe for job in read_jobs()}))
    parser.add_argument("--schedule", choices=("constant", "cosine"), default="cosine",
                        help="constant: the first release's rate, epochs and early stopping")
    parser.add_argument("--max-epochs", type=int, default=20,
                        help="epochs of the cosine schedule (constant: the release's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args(argv)
    configure_torch_threads(arguments.threads)

    config, data, report_path, test_seeds = member_data(arguments.model, arguments.root,
                                                        arguments.sets)
    # the family's options may hold a schedule of their own: each arm sets its epochs here
    if arguments.schedule == "cosine":
        epochs = {"max_epochs": arguments.max_epochs}
    else:
        epochs = {"max_epochs": FULL_CONFIG.max_epochs, "patience": FULL_CONFIG.patience}
    config = replace(config, schedule=arguments.schedule, seed=arguments.seed, **epochs)
    split = split_runs(data, test_seeds=test_seeds)
    train_set = tile_dataset(data, split["train"], config=config, shifts=config.shift,
                             degrade=True)
    validation_set = tile_dataset(data, split["validation"], config=config, shifts=None)
    test_set = tile_dataset(data, split["test"], config=config, shifts=None)
    start = time.perf_counter()
    model, result = _train_cnn(train_set, validation_set, config, name=arguments.model,
                               progress=False)
    evaluation = evaluate_classifier(model, test_set.images, test_set.labels)
    correct = evaluation["predictions"] == test_set.labels
    rows = test_set.sources
    settings = map_settings(data)[rows]

    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    print(f"# written by: python docs/results/alfven_schedule_experiment.py "
          f"{' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"# model {arguments.model}, sets {' '.join(arguments.sets)}, "
          f"{len(train_set)} training inputs, {len(test_set)} held-out inputs")
    by_time = report["metrics"]["test_accuracy_by_time_turnovers"]
    print(f"# release (constant rate, {report['config'].get('max_epochs')} epochs max, patience "
          f"{report['config'].get('patience')}): stopped after {len(report['history'])} epochs, "
          f"held-out accuracy {report['metrics']['test_accuracy']:.4f}; by snapshot time "
          f"{json.dumps({key: round(value, 4) for key, value in by_time.items()})}")
    if config.schedule == "cosine":
        print(f"# cosine over {config.max_epochs} epochs, seed {config.seed}: best epoch "
              f"{result.best_epoch}, {time.perf_counter() - start:.0f} s")
    else:
        print(f"# constant rate, {config.max_epochs} epochs max, patience {config.patience}, "
              f"seed {config.seed}: stopped after {len(result.history)} epochs, best epoch "
              f"{result.best_epoch}, {time.perf_counter() - start:.0f} s")
    for record in result.history:
        print(f"epoch {record['epoch']:3d}  train acc {record['train_accuracy']:.4f}  "
              f"validation acc {record['validation_accuracy']:.4f} "
              f"loss {record['validation_loss']:.4f}")
    print(f"held-out accuracy {evaluation['accuracy']:.4f}")
    print(f"by snapshot time {json.dumps(by_group(data.times[rows], correct))}")
    for setting, accuracy in by_group(settings, correct).items():
        print(f"setting {setting}: {accuracy}")
    print(f"by true class {json.dumps(by_group(test_set.labels, correct))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
