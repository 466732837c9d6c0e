"""How precise is the run-identity control over several pairs of runs? (issue 13, item 9)

Reads the control's report (``training.classifiers.alfven_identity --report``) and prints, per
family member, each pair's score, their mean (the control's value), the standard deviation
between pairs and the standard error of the mean: one pair's score also carries what differed
between its two runs for a while only, so the pairs scatter, and the error of the mean says how
well a handful of pairs pins the value against the tolerance of 0.05. Run from the repository
root::

    python docs/results/alfven_identity_pairs_summary.py docs/results/alfven_identity_pairs.json \\
        > docs/results/alfven_identity_pairs_summary.txt
"""

import argparse
import json
import sys

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    arguments = parser.parse_args(argv)
    with open(arguments.report, encoding="utf-8") as stream:
        report = json.load(stream)
    print(f"# written by: python docs/results/alfven_identity_pairs_summary.py {arguments.report}")
    for name, result in report["models"].items():
        pairs = [(label, pair) for label, entry in result["classes"].items()
                 for pair in entry.get("pairs", [entry])]
        scores = np.array([pair["accuracy"] for _, pair in pairs])
        spread = float(scores.std(ddof=1)) if len(scores) > 1 else float("nan")
        print(f"{name}: mean {scores.mean():.3f} over {len(scores)} pairs (at chance: "
              f"{result['at_chance']}, 0.5 +- {result['tolerance']}); between pairs sd "
              f"{spread:.3f}, standard error of the mean {spread / np.sqrt(len(scores)):.3f}; "
              f"pairs above chance {int(np.sum(scores > 0.5))}, below {int(np.sum(scores < 0.5))}")
        for label, pair in pairs:
            print(f"   {label:15s} seeds {pair['seeds'][0]}/{pair['seeds'][1]}: "
                  f"{pair['accuracy']:.3f} on {pair['n_test_maps']} maps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
