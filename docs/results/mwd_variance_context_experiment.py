"""Would local context help the mass-weighted-density U-Net's log-variance? (issue 16, item 1)

Loads the shipped file back into torch, takes its head features on the calibration (validation)
and test runs of the three sets it was trained on, and refits a separate log-variance head
(16 hidden channels, as shipped) on the calibration runs, every class of run alike, from
(a) the features alone and (b) the features plus the log of the input's local standard
deviation over 9, 17 and 33 px windows; then the class-weighted sigma scale, and the coverage
per class of run on the held-out test runs. Run from the repository root with the sets in
/work/simdata::

    python docs/results/mwd_variance_context_experiment.py \\
        > docs/results/mwd_variance_context_experiment.txt
"""

import numpy as np
import torch
from scipy.ndimage import uniform_filter

from training.unet.calibration import fit_sigma_scale, interval_coverage
from training.unet.export import torch_unet_from_onnx
from training.unet.mass_weighted_density_sims import pairs_by_size
from training.unet.sim_evaluation import periodic_predict
from training.unet.sim_runs import find_runs
from training.unet.train import predict_maps
from training.unet.variance_refit import class_weights, fit_variance_head, head_features

SETS = ["/work/simdata/hydro/kolmogorov_burgers_64_cpu",
        "/work/simdata/hydro/spectral_index_64_cpu", "/work/simdata/alfven/alfven_48_fast"]
WINDOWS_PX = (9, 17, 33)
SHIPPED = "onnx_models/mass-weighted-density.onnx"


def pixels(net, runs):
    """Errors, head features, local input spreads, class of run and map number of every
    pixel."""
    parts = []
    maps_before = 0
    for pairs in pairs_by_size(runs):
        prediction = periodic_predict(lambda x: predict_maps(net, x), pairs.inputs,
                                      margin=32, multiple=4)
        features = periodic_predict(lambda x: head_features(net, x), pairs.inputs,
                                    margin=32, multiple=4)
        image = pairs.inputs[:, 0].astype(np.float64)
        spreads = []
        for window in WINDOWS_PX:
            mean = uniform_filter(image, size=(1, window, window), mode="wrap")
            square = uniform_filter(image ** 2, size=(1, window, window), mode="wrap")
            spreads.append(np.sqrt(np.maximum(square - mean ** 2, 0.0)))
        count, channels, height, width = features.shape
        parts.append({
            "error": (prediction[:, 0] - pairs.targets[:, 0]).ravel(),
            "features": np.moveaxis(features, 1, -1).reshape(-1, channels),
            "context": np.log(np.moveaxis(np.stack(spreads, 1), 1, -1).reshape(-1, 3) + 1e-3),
            "group": np.repeat(pairs.run_classes, height * width),
            "map": np.repeat(np.arange(maps_before, maps_before + count), height * width)})
        maps_before += count
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def fit_and_score(label, columns, objectives, calibration, test, fitted, *, label_width=17):
    """Fit a separate head (16 hidden) on the calibration pixels, each class of run alike,
    with each objective in turn; scale sigma; print each test class's coverage.

    Returns
    -------
    tuple
        ``(classes within target, classes, the last fit's record)``.
    """
    inputs = columns(calibration)
    centre, spread = inputs[fitted].mean(0), inputs[fitted].std(0) + 1e-9
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Conv2d(inputs.shape[1], 16, 1), torch.nn.ReLU(),
                               torch.nn.Conv2d(16, 1, 1))
    for objective in objectives:
        fit = fit_variance_head(head, (inputs[fitted] - centre) / spread,
                                calibration["error"][fitted],
                                class_weights(calibration["group"][fitted]),
                                objective=objective)

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
        print(f"{label:<{label_width}} {group:<37} 68% {inside_68:.3f} 95% {inside_95:.3f} "
              f"{'within' if ok else 'MISSES'}")
    return within, len(np.unique(test["group"])), fit


def print_shipped_file():
    """Say which file the experiment read (its digest), before its results."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256(Path(SHIPPED).read_bytes()).hexdigest()[:16]
    print(f"# {SHIPPED} (sha256 {digest}...), its own calibration and test runs", flush=True)


def shipped_pixels():
    """`pixels` of the shipped file on its calibration and test runs, and the seeded 30% of
    the calibration pixels the heads are fitted on."""
    import onnx

    from glue_turbml.models import read_card

    runs = find_runs(SETS)
    # the file's own split (its card), so calibration and test runs are the ones it never
    # trained on, whatever held-out fraction made it
    split = read_card(onnx.load(SHIPPED), source=SHIPPED)["provenance"]["split"]["runs"]
    by_key = {run.key: run for run in runs}
    net = torch_unet_from_onnx(SHIPPED)
    calibration = pixels(net, [by_key[key] for key in split["validation"]])
    test = pixels(net, [by_key[key] for key in split["test"]])
    return calibration, test, np.random.default_rng(0).random(len(calibration["error"])) < 0.3


def main():
    torch.set_num_threads(2)
    calibration, test, fitted = shipped_pixels()
    choices = {"features": lambda data: data["features"],
               "features+context": lambda data: np.hstack([data["features"],
                                                           data["context"]])}
    for label, columns in choices.items():
        within, classes, fit = fit_and_score(label, columns, ["likelihood"], calibration, test,
                                             fitted)
        print(f"{label}: {within} of {classes} classes within target; "
              f"weighted calibration NLL {fit['weighted_nll_fitted']:.4f}", flush=True)


if __name__ == "__main__":
    main()
