"""Held-out evaluation of a U-Net trained on simulator maps: per class of run, against the
baselines, with calibrated intervals, and as the maps are degraded (robustness curves).

Simulator maps are periodic, so the network sees each whole map padded periodically by its
receptive field (``margin``) and the padding is cut off again: every pixel is predicted as in a
larger map of the same turbulence, with no edge effects that a user's larger map would not have.
"""

import numpy as np

from .calibration import interval_coverage
from .evaluate import regression_metrics

__all__ = ["ROBUSTNESS_CURVES", "periodic_map_statistics", "periodic_predict",
           "metrics_by_group", "evaluate_sim_maps", "robustness_curves"]

#: The issue's ranges: sigma 0-8 px, zoom 0.5-2x, SNR 100 down to 3 (inf: no noise).
ROBUSTNESS_CURVES = {
    "smoothing_sigma_px": (0.0, 1.0, 2.0, 4.0, 8.0),
    "zoom_factor": (0.5, 0.75, 1.0, 1.5, 2.0),
    "noise_snr": (float("inf"), 100.0, 30.0, 10.0, 3.0),
}


def periodic_map_statistics(inputs, names):
    """`glue_turbml.core.map_statistics` of each whole periodic map, ``(n, len(names))``."""
    from glue_turbml.core import map_statistics

    return np.stack([map_statistics(image, names)
                     for image in np.asarray(inputs)[:, 0]]).astype(np.float32)


def periodic_predict(predict, inputs, *, margin, multiple, map_statistics=()):
    """Mean and log-variance maps of periodic maps, each padded periodically by ``margin``.

    Parameters
    ----------
    predict : callable
        ``(n, 1, H, W) float32 -> (n, 2, H, W)``, e.g. `training.unet.evaluate.onnx_predictor`;
        with ``map_statistics``, ``predict(images, statistics)``.
    inputs : numpy.ndarray
        ``(n, 1, H, W)`` preprocessed periodic maps.
    margin : int
        Padding on each side (at least the receptive-field radius).
    multiple : int
        The net's spatial multiple; the padded size is rounded up to it.
    map_statistics : sequence of str, optional
        Statistics of each whole map (`periodic_map_statistics`, before padding) the model
        reads beside its image.

    Returns
    -------
    numpy.ndarray
        ``(n, 2, H, W)`` float32.
    """
    inputs = np.asarray(inputs, dtype=np.float32)
    height, width = inputs.shape[-2:]
    extra_y = (-(height + 2 * margin)) % multiple
    extra_x = (-(width + 2 * margin)) % multiple
    padded = np.pad(inputs, ((0, 0), (0, 0), (margin, margin + extra_y),
                             (margin, margin + extra_x)), mode="wrap")
    output = predict(padded, periodic_map_statistics(inputs, map_statistics)) \
        if map_statistics else predict(padded)
    return np.ascontiguousarray(output[:, :, margin:margin + height, margin:margin + width])


def _scores(mean, truth, sigma=None):
    # per pixel: every map's pixels count alike, whatever its size
    return regression_metrics(np.ravel(mean)[:, np.newaxis], np.ravel(truth)[:, np.newaxis],
                              sigma=None if sigma is None else np.ravel(sigma)[:, np.newaxis])


def metrics_by_group(mean, sigma, truth, groups, baselines):
    """MSE(log10), bias and (for the network) interval coverage overall and per group.

    Parameters
    ----------
    mean, sigma, truth : numpy.ndarray
        ``(n_pixels,)`` network mean and standard deviation, and the targets.
    groups : numpy.ndarray
        ``(n_pixels,)`` group of each pixel (e.g. its map's class of run).
    baselines : dict
        ``{name: (n_pixels,) predicted mean}``.

    Returns
    -------
    dict
        ``{"all": {...}, group: {...}}``; each holds ``unet`` and each baseline's scores.
    """
    result = {}
    for group in ["all"] + sorted(set(np.asarray(groups).tolist())):
        keep = np.ones(len(truth), bool) if group == "all" else np.asarray(groups) == group
        entry = {"n_pixels": int(keep.sum()),
                 "unet": _scores(mean[keep], truth[keep], sigma[keep])}
        for name, predicted in baselines.items():
            entry[name] = _scores(predicted[keep], truth[keep])
        result[group] = entry
    return result


def _per_pixel(pairs, values):
    """Per-map values repeated over each map's pixels."""
    return np.repeat(np.asarray(values), pairs.targets[0].size)


def evaluate_sim_maps(pair_sets, predictions, baseline_predictions, *,
                      group_names=("run_classes",)):
    """`metrics_by_group` over all pixels of maps of any sizes, for each grouping.

    Parameters
    ----------
    pair_sets : list of training.unet.sim_runs.MapPairs
        Held-out maps, one entry per map size.
    predictions : list of numpy.ndarray
        ``(n, 2, H, W)`` network mean and log-variance of each entry.
    baseline_predictions : list of dict
        ``{name: (n, 1, H, W)}`` of each entry.
    group_names : sequence of str
        Attributes of the pairs to group by (class of run, depth fraction, time).

    Returns
    -------
    dict
        ``{"by_<name>": metrics_by_group(...)}`` plus the headline ``all`` entry and
        ``n_maps``.
    """
    mean = np.concatenate([prediction[:, 0].ravel() for prediction in predictions])
    sigma = np.concatenate([np.exp(0.5 * prediction[:, 1].astype(np.float64)).ravel()
                            for prediction in predictions])
    truth = np.concatenate([pairs.targets.ravel() for pairs in pair_sets])
    baselines = {name: np.concatenate([entry[name].ravel() for entry in baseline_predictions])
                 for name in baseline_predictions[0]}
    result = {"n_maps": int(sum(len(pairs) for pairs in pair_sets))}
    for name in group_names:
        values = []
        for pairs in pair_sets:
            group = getattr(pairs, name)
            if group.dtype.kind == "f":
                group = np.asarray([f"{value:g}" for value in group])
            values.append(_per_pixel(pairs, group))
        result[f"by_{name}"] = metrics_by_group(mean, sigma, truth, np.concatenate(values),
                                                baselines)
    result["all"] = result[f"by_{group_names[0]}"]["all"]
    return result


def _degrade(raw, target, name, value, rng):
    from ..evaluation.robustness import noisy, smoothed, zoomed

    if name == "smoothing_sigma_px":
        return smoothed(raw, value, boundary="periodic"), target
    if name == "noise_snr":
        return noisy(raw, value, rng=rng), target
    # a rescaled map: the target is rescaled with it (same physics at another pixel scale)
    return zoomed(raw, value, boundary="periodic"), zoomed(target, value, boundary="periodic")


def robustness_curves(predict, pair_sets, *, margin, multiple, seed=0, curves=None,
                      map_statistics=()):
    """MSE(log10), bias and 68% coverage of the network as held-out maps are degraded.

    The raw input maps (divided by their mean) are smoothed, rescaled or given white noise of
    standard deviation ``mean / SNR``, then preprocessed as the runtime does
    (`training.unet.data.normalized_input`: log10 with the image's own positive floor).
    Rescaled maps (and their targets) are cropped to the net's spatial multiple.

    Parameters
    ----------
    predict : callable
        As for `periodic_predict`.
    pair_sets : list of training.unet.sim_runs.MapPairs
        One entry per map size.
    margin, multiple : int
    seed : int
        Seeds the noise.
    curves : dict, optional
        ``{name: values}``; `ROBUSTNESS_CURVES` by default.
    map_statistics : sequence of str, optional
        As for `periodic_predict` (of each degraded map, as the runtime would compute them).

    Returns
    -------
    dict
        ``{curve: [{"value", "mse_log10", "mean_error_log10", "fraction_inside_68_interval",
        "n_maps"}, ...], "seed": seed}``.
    """
    from .data import normalized_input

    curves = ROBUSTNESS_CURVES if curves is None else curves
    results = {"seed": int(seed)}
    for name, values in curves.items():
        rows = []
        for value in values:
            rng = np.random.default_rng([seed, len(rows), 17])
            errors, sigmas, n_maps = [], [], 0
            for pairs in pair_sets:
                inputs, targets = [], []
                for raw, target in zip(pairs.raw[:, 0], pairs.targets[:, 0]):
                    degraded, degraded_target = _degrade(raw.astype(np.float64),
                                                         target.astype(np.float64), name,
                                                         value, rng)
                    size = [side - side % multiple for side in degraded.shape]
                    inputs.append(normalized_input(degraded[:size[0], :size[1]]))
                    targets.append(degraded_target[:size[0], :size[1]])
                inputs = np.stack(inputs)[:, np.newaxis].astype(np.float32)
                prediction = periodic_predict(predict, inputs, margin=margin, multiple=multiple,
                                              map_statistics=map_statistics)
                errors.append((prediction[:, :1].astype(np.float64)
                               - np.stack(targets)[:, np.newaxis]).ravel())
                sigmas.append(np.exp(0.5 * prediction[:, 1:].astype(np.float64)).ravel())
                n_maps += len(inputs)
            errors, sigmas = np.concatenate(errors), np.concatenate(sigmas)
            rows.append({"value": float(value), "mse_log10": float(np.mean(errors ** 2)),
                         "mean_error_log10": float(np.mean(errors)),
                         "fraction_inside_68_interval": interval_coverage(errors, sigmas)[0],
                         "n_maps": n_maps})
        results[name] = rows
    return results
