"""Would map-scale context let the mass-weighted-density U-Net's sigma meet the target on every
class of run? (issue 16, item 1)

Refitting the shipped log-variance head to the likelihood or to the interval edges leaves the
same 5 of 11 held-out classes outside 68 +- 5% / 95 +- 3%, with the slope trend of the hydro
runs in the calibration runs too (docs/results/mass_weighted_density_sims_coverage_refit.log),
and local input context does not help (mwd_variance_context_experiment.txt). Here the head's
inputs gain map-scale context instead. From the shipped file's head features on the
calibration (validation) and test runs (`mwd_variance_context_experiment.pixels`), a
separate head (16 hidden channels, as shipped) is fitted on the calibration runs, every class
of run alike, then the class-weighted sigma scale, and each held-out class's coverage is
counted, for:

(a) the features alone, likelihood (the shipped refit);
(b) the features and their mean over the whole map, likelihood;
(c) the same, then refitted to the interval edges (the coverage objective);
(d) the features and the class of run itself (one-hot), likelihood then interval edges: an
    oracle no runtime has, the most any map-scale context could give.

Run from the repository root with the sets in /work/simdata::

    python docs/results/mwd_variance_map_context_experiment.py \\
        > docs/results/mwd_variance_map_context_experiment.txt

(That file is of the model with one calibration and one test run per class; the one with
three of each, ``--held-out-fraction 0.25``, wrote ``..._experiment_three_runs.txt``.)
"""

import sys
from pathlib import Path

import numpy as np
import torch


sys.path.insert(0, str(Path(__file__).resolve().parent))
from mwd_variance_context_experiment import (fit_and_score,  # noqa: E402  (beside this one)
                                             print_shipped_file, shipped_pixels)


def with_map_means(data):
    """The features and, for every pixel, the mean of each feature channel over its map."""
    features = data["features"].astype(np.float64)
    counts = np.bincount(data["map"])
    means = np.stack([np.bincount(data["map"], weights=channel) / counts
                      for channel in features.T], axis=1)
    return np.hstack([features, means[data["map"]]])


def with_class(groups):
    """Columns builder: the features and the one-hot class of run (the oracle)."""
    def columns(data):
        one_hot = (data["group"][:, None] == np.asarray(groups)[None, :]).astype(np.float64)
        return np.hstack([data["features"], one_hot])
    return columns


def main():
    torch.set_num_threads(1)
    print_shipped_file()
    calibration, test, fitted = shipped_pixels()
    groups = sorted(np.unique(calibration["group"]).tolist())
    variants = [
        ("(a) features", lambda data: data["features"], ["likelihood"]),
        ("(b) features+map means", with_map_means, ["likelihood"]),
        ("(c) features+map means, edges", with_map_means, ["likelihood", "coverage"]),
        ("(d) features+class (oracle)", with_class(groups), ["likelihood", "coverage"]),
    ]
    for label, columns, objectives in variants:
        within, classes, _ = fit_and_score(label, columns, objectives, calibration, test,
                                           fitted, label_width=28)
        print(f"{label}: {within} of {classes} classes within target", flush=True)


if __name__ == "__main__":
    main()
