"""How much does a shipped Alfven model's accuracy scatter from run to run of one set? Issue 13.

The resolution controls score one or two runs per class of an unseen resolution
(``alfven_resolution_bracket*.txt``); if the runs of one set and class already differ by many
points, one run per class measures the run as much as the resolution. This script scores every
finished run (all ``--snapshots`` snapshots written) of the given sets, one run at a time, with
the shipped models through the runtime (each map at its own pixel scale, a map's answer the
mean over its tiles, as ``turbml evaluate`` gives it), and prints per run the fraction of maps
right, then per set and class the mean and spread over the runs. Run from the repository root
(runtime only, no training)::

    python docs/results/alfven_run_scatter.py ROOT > docs/results/alfven_run_scatter.txt

An analysis: nothing shipped changes.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from glue_turbml.classification import classify_image
from glue_turbml.models import open_model
from training.classifiers.alfven_data import maps_of_cube
from training.classifiers.alfven_family import FAMILY, member_config

CLASSES = ("sub_alfvenic", "super_alfvenic")
DEFAULT_SETS = ("alfven_48_drive", "alfven_48_minmod_hlld", "alfven_56_minmod_hlld",
                "alfven_64_minmod_hlld")


def member_maps(name, cube):
    """A family member's maps of one cube (its kind and slice step)."""
    config = member_config(name)
    return [image for image, _ in maps_of_cube(
        cube, kind=config.kind, slice_step=config.slice_step,
        directions=config.directions if config.kind == "columns" else None)]


def run_accuracy(runner, name, run, label):
    """Fraction of the run's maps the model gives to ``label``, and their number."""
    from astropy.io import fits

    right = []
    for path in sorted(run.glob("snapshot_*.fits")):
        cube = fits.getdata(path).astype(np.float64)
        for image in member_maps(name, cube):
            right.append(classify_image(image, runner, boundary="periodic").predicted_class
                         == label)
    return float(np.mean(right)), len(right)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--models", nargs="+", default=list(FAMILY), choices=list(FAMILY))
    parser.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    parser.add_argument("--snapshots", type=int, default=7)
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_run_scatter.py {arguments.root} --models "
          f"{' '.join(arguments.models)} --sets {' '.join(arguments.sets)}")
    results = {}
    for name in arguments.models:
        runner = open_model(name, device="cpu")
        print(f"\n== {name} (held-out accuracy {runner.card['metrics']['test_accuracy']:.4f})")
        results[name] = {}
        for recipe in arguments.sets:
            for label in CLASSES:
                runs = [run for run in sorted((Path(arguments.root) / recipe / label)
                                              .glob("seed_*"))
                        if len(list(run.glob("snapshot_*.fits"))) >= arguments.snapshots]
                if not runs:
                    continue
                scores = {run.name: run_accuracy(runner, name, run, label) for run in runs}
                values = [accuracy for accuracy, _ in scores.values()]
                spread = np.std(values, ddof=1) if len(values) > 1 else float("nan")
                print(f"   {recipe:<24} {label:<15} mean {np.mean(values):.3f} +- "
                      f"{spread:.3f} over {len(values)} runs: " + ", ".join(
                          f"{run} {accuracy:.3f} ({count})"
                          for run, (accuracy, count) in scores.items()))
                results[name][f"{recipe} {label}"] = scores
    print("\n== as JSON")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
