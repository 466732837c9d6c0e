"""Held-out evaluation of a mass-weighted-density U-Net: MSE(log10), Acc(sigma), calibration.

Run ``python -m training.unet.evaluate --model onnx_models/mass-weighted-density.onnx`` to rebuild
the test cubes named in the card's provenance and print the metrics the card stores.
"""

import argparse
import json
import os
import sys

import numpy as np

__all__ = [
    "ACCURACY_SIGMAS",
    "SEED_MSE_LOG10",
    "accuracy_curve",
    "fit_power_law",
    "regression_metrics",
    "evaluate_predictions",
    "onnx_predictor",
    "evaluate_model_file",
    "main",
]

#: Error thresholds (dex) of the Acc(sigma) curve, as in Ribeiro & Hily-Blant's figure.
ACCURACY_SIGMAS = (0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
#: The seed's U-Net MSE(log10) on its RAMSES validation regions (not the same data as ours).
SEED_MSE_LOG10 = 0.20


def accuracy_curve(errors, sigmas=ACCURACY_SIGMAS):
    """Acc(sigma): mean over maps of the fraction of pixels with ``|error| < sigma``.

    Parameters
    ----------
    errors : numpy.ndarray
        ``(n_maps, ...)`` prediction minus truth, in dex.
    sigmas : sequence of float

    Returns
    -------
    dict
        ``{"0.1": accuracy, ...}`` keyed by the threshold as text (JSON-friendly).
    """
    per_map = np.abs(errors).reshape(len(errors), -1)
    return {f"{sigma:g}": float(np.mean(np.mean(per_map < sigma, axis=1))) for sigma in sigmas}


def fit_power_law(log_column_ratio, log_target):
    """Least-squares ``log_target = a + b log_column_ratio`` over all pixels.

    Returns
    -------
    tuple of float
        ``(a, b)``.
    """
    # Closed form in float64: numpy.polyfit on millions of float32 pixels sets its rank cutoff
    # from float32 precision and silently drops the slope.
    x = np.ravel(log_column_ratio).astype(np.float64)
    y = np.ravel(log_target).astype(np.float64)
    x_mean, y_mean = x.mean(), y.mean()
    slope = np.mean((x - x_mean) * (y - y_mean)) / np.mean((x - x_mean) ** 2)
    return float(y_mean - slope * x_mean), float(slope)


def regression_metrics(predicted, truth, *, sigma=None):
    """MSE(log10), Acc(sigma), error at 80% accuracy and, with ``sigma``, calibration.

    Parameters
    ----------
    predicted, truth : numpy.ndarray
        ``(n_maps, ...)`` log10 values.
    sigma : numpy.ndarray, optional
        Predicted standard deviation of ``predicted`` (dex), same shape.

    Returns
    -------
    dict
    """
    errors = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    metrics = {
        "mse_log10": float(np.mean(errors ** 2)),
        "mean_error_log10": float(np.mean(errors)),
        "accuracy_curve": accuracy_curve(errors),
        # Smallest threshold that 80% of pixels meet: the seed's "error at 80% accuracy".
        "error_at_80_percent_accuracy": float(np.quantile(np.abs(errors), 0.8)),
    }
    if sigma is not None:
        normalized = np.abs(errors) / np.asarray(sigma, dtype=np.float64)
        metrics.update({
            "fraction_inside_68_interval": float(np.mean(normalized < 1.0)),
            "fraction_inside_95_interval": float(np.mean(normalized < 1.959964)),
            "median_sigma_log10": float(np.median(sigma)),
        })
    return metrics


def evaluate_predictions(prediction, test_set, *, power_law):
    """All card metrics of predicted (mean, log-variance) maps on a held-out set.

    Parameters
    ----------
    prediction : numpy.ndarray
        ``(n, 2, H, W)`` mean of log10 <n>_m/<n> and natural-log variance.
    test_set : training.unet.data.MapPairDataset
    power_law : tuple of float
        ``(a, b)`` of the power-law baseline fitted on the training set.

    Returns
    -------
    dict
    """
    truth = test_set.targets[:, 0]
    mean = prediction[:, 0]
    sigma = np.exp(0.5 * prediction[:, 1].astype(np.float64))
    log_ratio = test_set.inputs[:, 0]
    intercept, slope = power_law
    return {
        "unet": regression_metrics(mean, truth, sigma=sigma),
        # <n>_m ~ N / L: with both sides divided by their means, log10 <n>_m/<n> = log10 N/<N>.
        "baseline_constant_depth": regression_metrics(log_ratio, truth),
        "baseline_power_law": dict(regression_metrics(intercept + slope * log_ratio, truth),
                                   intercept=intercept, slope=slope),
        "n_test_maps": int(len(truth)),
        "n_test_pixels": int(truth.size),
        "seed_unet_mse_log10": SEED_MSE_LOG10,
    }


def onnx_predictor(path, *, batch_size=8):
    """A function ``inputs (n, 1, H, W) -> (n, 2, H, W)`` running an ONNX file on the CPU
    (``predict(inputs, map_statistics)`` for a file whose graph reads them too)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    input_names = [argument.name for argument in session.get_inputs()]

    def predict(inputs, map_statistics=None):
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        if (map_statistics is None) != (len(input_names) == 1):
            raise ValueError(f"{path}: the graph reads {input_names}; give exactly those")
        batches = []
        for start in range(0, len(inputs), batch_size):
            feeds = {input_names[0]: inputs[start:start + batch_size]}
            if map_statistics is not None:
                feeds[input_names[1]] = np.ascontiguousarray(
                    map_statistics[start:start + batch_size], dtype=np.float32)
            batches.append(session.run(None, feeds)[0])
        return np.concatenate(batches)
    return predict


def evaluate_model_file(path, *, progress=None):
    """Rebuild the held-out test maps a card names and evaluate its ONNX file on them.

    Parameters
    ----------
    path : str or os.PathLike
        A model written by `training.unet.mass_weighted_density`.
    progress : callable, optional
        Wrapper of the iteration over cubes.

    Returns
    -------
    dict
        As `evaluate_predictions`.
    """
    import onnx

    from glue_turbml.models import read_card

    from .data import build_map_pair_dataset

    card = read_card(onnx.load(os.fspath(path)), source=os.fspath(path))
    data = card["provenance"]["training_data"]
    test_ids = set(card["provenance"]["split"]["realization_ids"]["test"])
    cubes = [cube for cube in data["cubes"] if cube["id"] in test_ids]
    size = data["cube_size_cells"]
    test_set = build_map_pair_dataset(cubes, cube_size=size, crop_size=size, crop_step=size,
                                      axes=data["projection_axes"], progress=progress)
    baseline = card["metrics"]["baseline_power_law"]
    return evaluate_predictions(onnx_predictor(path)(test_set.inputs), test_set,
                                power_law=(baseline["intercept"], baseline["slope"]))


def format_metrics(metrics):
    """Human-readable lines of `evaluate_predictions` output."""
    lines = [f"held-out test: {metrics['n_test_maps']} maps, {metrics['n_test_pixels']} pixels"]
    for name in ("unet", "baseline_power_law", "baseline_constant_depth"):
        scores = metrics[name]
        lines.append(f"{name:<24} MSE(log10) {scores['mse_log10']:.4f}  "
                     f"error at 80% {scores['error_at_80_percent_accuracy']:.3f} dex  "
                     f"bias {scores['mean_error_log10']:+.4f}")
    unet = metrics["unet"]
    lines.append(f"seed U-Net MSE(log10) {metrics['seed_unet_mse_log10']} (RAMSES regions, not "
                 f"this data): ratio ours/seed {unet['mse_log10'] / SEED_MSE_LOG10:.3f}")
    lines.append("Acc(sigma)   sigma: " + " ".join(f"{key:>6}" for key in unet["accuracy_curve"]))
    for name in ("unet", "baseline_power_law", "baseline_constant_depth"):
        curve = metrics[name]["accuracy_curve"].values()
        lines.append(f"  {name:<24}" + " ".join(f"{value:6.3f}" for value in curve))
    lines.append(f"calibration: {unet['fraction_inside_68_interval']:.3f} of pixels inside the "
                 f"68% interval, {unet['fraction_inside_95_interval']:.3f} inside the 95% "
                 f"interval (median sigma {unet['median_sigma_log10']:.3f} dex)")
    return lines


def main(argv=None):
    """``python -m training.unet.evaluate --model FILE [--json OUT]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m training.unet.evaluate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="ONNX file to evaluate")
    parser.add_argument("--json", help="also write the metrics to this JSON file")
    arguments = parser.parse_args(argv)
    metrics = evaluate_model_file(arguments.model)
    print("\n".join(format_metrics(metrics)))
    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump(metrics, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
