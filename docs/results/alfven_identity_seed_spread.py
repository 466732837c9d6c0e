"""How much the long run-identity control of an Alfven family member moves with the training
seed alone: the same runs, the same design, only the network's seed changed.

The control (`training.classifiers.alfven_identity.identity_control`) trains a network to tell
two runs of one class apart on 2-3.5 T and scores it on 5.5-6.5 T; 240 scored maps per class,
but 48 slices of one snapshot and 5 snapshots within one turnover are far from independent, so
one seed's result is a noisy measurement. This prints each seed's per-class and mean accuracy,
then the mean and standard deviation over seeds.

Run from the repository root::

    python docs/results/alfven_identity_seed_spread.py ROOT --seeds 0 1 2 3 \\
        > docs/results/alfven_identity_seed_spread.txt

``ROOT/alfven_48_identity`` holds the extended runs.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv=None):
    import torch

    from training.classifiers.alfven_identity import identity_control

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--model", default="alfven")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)
    print("# written by: python docs/results/alfven_identity_seed_spread.py "
          + " ".join(argv if argv is not None else sys.argv[1:]), flush=True)
    results = {}
    for seed in arguments.seeds:
        # the first pair of each class, as when the recorded output was made
        result = identity_control(arguments.root, arguments.model, seed=seed, pairs=1)
        results[seed] = result
        print(f"seed {seed}: mean {result['mean_accuracy']:.3f}; "
              + ", ".join(f"{label} {entry['accuracy']:.3f}"
                          for label, entry in result["classes"].items()), flush=True)
    means = np.array([result["mean_accuracy"] for result in results.values()])
    labels = list(next(iter(results.values()))["classes"])
    by_class = {label: np.array([result["classes"][label]["accuracy"]
                                 for result in results.values()]) for label in labels}
    print(f"{arguments.model}: over {len(means)} seeds mean {means.mean():.3f} "
          f"+- {means.std(ddof=1):.3f} (standard deviation), range "
          f"{means.min():.3f}-{means.max():.3f}; target 0.50 +- 0.05")
    for label, values in by_class.items():
        print(f"   {label}: {values.mean():.3f} +- {values.std(ddof=1):.3f}, range "
              f"{values.min():.3f}-{values.max():.3f}")
    print("\n== as JSON")
    print(json.dumps({"model": arguments.model, "seeds": arguments.seeds,
                      "mean_accuracy_by_seed": means.tolist(),
                      "mean": float(means.mean()), "standard_deviation": float(means.std(ddof=1)),
                      "by_class": {label: values.tolist() for label, values in by_class.items()},
                      "controls": {str(seed): result for seed, result in results.items()}},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
