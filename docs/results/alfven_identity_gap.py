"""How long does a run remember itself? The run-identity control of an Alfven family member
with a longer gap between the training and the scored snapshots (issue 13, item 9).

The shipped control trains a network to tell two runs of one class apart on their 2-3.5 T
snapshots and scores it on 5.5-6.5 T (2 T later); it told them apart at 0.57-0.61 over four
network seeds, the sub-Alfvenic pair at 0.71-0.81 (alfven_identity_seed_spread.txt). Recipe
``alfven_48_identity_long`` runs the same two runs per class on to 10.5 T. Here the same
control (`training.classifiers.alfven.run_identity_control`, the member's design and seed) is
run with a chosen gap on the snapshots up to a chosen time:

- ``--until 6.5 --gap 2``: the shipped control, on the extended runs' copies of its snapshots
  (the runs are extended from their checkpoints, so these are the same snapshots);
- ``--until 10.5 --gap 6``: trained on 2-3.5 T, scored on 9.5-10.5 T;
- ``--until 10.5 --gap 3``: trained on 2-3.5 and 5.5-6.5 T, scored on 9.5-10.5 T.

Run from the repository root, one variant per process::

    python docs/results/alfven_identity_gap.py ROOT --until 10.5 --gap 6 \\
        >> docs/results/alfven_identity_gap.txt

``ROOT/alfven_48_identity_long`` holds the extended runs.
"""

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

LONG_SET = "alfven_48_identity_long"


def main(argv=None):
    import torch

    from glue_turbml.evaluation import expand_class_specs
    from training.classifiers.alfven import CLASSES, FULL_CONFIG, run_identity_control
    from training.classifiers.alfven_data import load_labelled_maps
    from training.classifiers.alfven_family import FAMILY, class_spec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--model", default="alfven", choices=sorted(FAMILY))
    parser.add_argument("--until", type=float, required=True,
                        help="use the snapshots up to this time (turnovers)")
    parser.add_argument("--gap", type=float, required=True,
                        help="training snapshots end this long before the first scored one")
    parser.add_argument("--window", type=float, default=1.0,
                        help="the scored snapshots span the last this many turnovers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)

    options = FAMILY[arguments.model]
    config = replace(FULL_CONFIG, seed=arguments.seed,
                     kind=options[options.index("--kind") + 1], ffp="--ffp" in options,
                     dihedral_average=True)
    if "--slice-step" in options:
        config = replace(config, slice_step=int(options[options.index("--slice-step") + 1]))
    class_names = [label for label, _ in CLASSES]
    specs = [class_spec(arguments.root, LONG_SET, label) for label in class_names]
    data = load_labelled_maps(expand_class_specs(specs, class_names), class_names,
                              kind=config.kind, slice_step=config.slice_step,
                              directions=config.directions if config.kind == "columns" else None)
    result = run_identity_control(data, data.times <= arguments.until + 1e-9, config=config,
                                  gap_turnovers=arguments.gap, test_window=arguments.window)
    print("# python docs/results/alfven_identity_gap.py ROOT "
          + " ".join(argv if argv is not None else sys.argv[2:]))
    print(f"{arguments.model} seed {arguments.seed}, snapshots up to {arguments.until:g} T, "
          f"gap {arguments.gap:g} T: mean {result['mean_accuracy']:.3f} (target 0.50 +- 0.05); "
          + "; ".join(f"{label} {entry['accuracy']:.3f} (train {entry['train_times']}, "
                      f"scored {entry['test_times']})"
                      for label, entry in result["classes"].items()))
    print(json.dumps({key: value for key, value in result.items()}, default=float))
    return 0 if np.isfinite(result["mean_accuracy"]) else 1


if __name__ == "__main__":
    sys.exit(main())
