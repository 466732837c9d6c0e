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
"""

import sys
from pathlib import Path

import numpy as np
import torch

from training.unet.calibration import fit_sigma_scale, interval_coverage
from training.unet.export import torch_unet_from_onnx
from training.unet.sim_runs import find_runs, split_by_run
from training.unet.variance_refit import class_weights, fit_variance_head

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mwd_variance_context_experiment import SETS, pixels  # noqa: E402  (a script beside this)


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


def fit_and_score(label, columns, objectives, calibration, test, fitted):
    """Fit a head on the calibration pixels, scale sigma, print each test class's coverage."""
    inputs = columns(calibration)
    centre, spread = inputs[fitted].mean(0), inputs[fitted].std(0) + 1e-9
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Conv2d(inputs.shape[1], 16, 1), torch.nn.ReLU(),
                               torch.nn.Conv2d(16, 1, 1))
    for objective in objectives:
        fit_variance_head(head, (inputs[fitted] - centre) / spread,
                          calibration["error"][fitted],
                          class_weights(calibration["group"][fitted]), objective=objective)

    def sigma(data):
        with torch.no_grad():
            scaled = ((columns(data) - centre) / spread)[:, :, None, None]
            log_variance = head(torch.as_tensor(scaled, dtype=torch.float32))
        return np.exp(0.5 * log_variance.numpy().ravel())

    scale = fit_sigma_scale(calibration["error"], sigma(calibration),
                            weights=class_weights(calibration["group"]))["scale"]
    test_sigma = sigma(test) * scale
    within = 0
    for group in np.unique(test["group"]):
        rows = test["group"] == group
        inside_68, inside_95 = interval_coverage(test["error"][rows], test_sigma[rows])
        ok = abs(inside_68 - 0.68) <= 0.05 and abs(inside_95 - 0.95) <= 0.03
        within += ok
        print(f"{label:<28} {group:<37} 68% {inside_68:.3f} 95% {inside_95:.3f} "
              f"{'within' if ok else 'MISSES'}")
    print(f"{label}: {within} of {len(np.unique(test['group']))} classes within target",
          flush=True)


def main():
    torch.set_num_threads(1)
    runs = find_runs(SETS)
    split = split_by_run(runs)
    by_key = {run.key: run for run in runs}
    net = torch_unet_from_onnx("onnx_models/mass-weighted-density.onnx")
    calibration = pixels(net, [by_key[key] for key in split["validation"]])
    test = pixels(net, [by_key[key] for key in split["test"]])
    fitted = np.random.default_rng(0).random(len(calibration["error"])) < 0.3
    groups = sorted(np.unique(calibration["group"]).tolist())
    variants = [
        ("(a) features", lambda data: data["features"], ["likelihood"]),
        ("(b) features+map means", with_map_means, ["likelihood"]),
        ("(c) features+map means, edges", with_map_means, ["likelihood", "coverage"]),
        ("(d) features+class (oracle)", with_class(groups), ["likelihood", "coverage"]),
    ]
    for label, columns, objectives in variants:
        fit_and_score(label, columns, objectives, calibration, test, fitted)


if __name__ == "__main__":
    main()
