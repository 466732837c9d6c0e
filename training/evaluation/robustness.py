"""Robustness curves of an exported classifier: accuracy against smoothing, zoom, noise, tile
size and any per-map grouping (e.g. snapshot time), measured through onnxruntime on the maps
a user would give it.

The transformations act on the raw maps, before the model's own preprocessing, as an
observation would: Gaussian smoothing (a beam), rescaling (another pixel scale), additive
Gaussian noise of standard deviation ``mean(map) / SNR`` (negative pixels then go through the
card's log floor, as observed noise does).
"""

import copy

import numpy as np

from glue_turbml.classification import classify_image
from glue_turbml.core import TilingError

__all__ = ["DEFAULT_CURVES", "robustness_curves", "smoothed", "zoomed", "noisy",
           "plot_robustness"]

#: The issue's ranges: sigma 0-8 px, zoom 0.5-2x, SNR 100 down to 3 (inf: no noise).
DEFAULT_CURVES = {
    "smoothing_sigma_px": (0.0, 1.0, 2.0, 4.0, 8.0),
    "zoom_factor": (0.5, 0.71, 1.0, 1.41, 2.0),
    "noise_snr": (float("inf"), 100.0, 30.0, 10.0, 3.0),
}


def smoothed(image, sigma_px, *, boundary):
    """The map convolved with a Gaussian of ``sigma_px`` pixels (periodic or reflected edges)."""
    from scipy.ndimage import gaussian_filter

    if sigma_px == 0:
        return np.asarray(image, dtype=np.float64)
    mode = "wrap" if boundary == "periodic" else "reflect"
    return gaussian_filter(np.asarray(image, dtype=np.float64), sigma_px, mode=mode)


def zoomed(image, factor, *, boundary):
    """The map resampled by ``factor`` (linear interpolation; 2 doubles the pixels per side)."""
    from scipy.ndimage import zoom

    if factor == 1:
        return np.asarray(image, dtype=np.float64)
    mode = "grid-wrap" if boundary == "periodic" else "reflect"
    return zoom(np.asarray(image, dtype=np.float64), factor, order=1, mode=mode,
                grid_mode=True)


def noisy(image, snr, *, rng):
    """The map plus white Gaussian noise of standard deviation ``mean(map) / snr``."""
    image = np.asarray(image, dtype=np.float64)
    if not np.isfinite(snr):
        return image
    return image + rng.normal(0.0, abs(np.nanmean(image)) / snr, size=image.shape)


class _TileSizeRunner:
    """A model runner whose card asks for another tile size (the nets are size-agnostic)."""

    def __init__(self, runner, tile_size):
        self._runner = runner
        self.card = copy.deepcopy(runner.card)
        overlap = self.card["tiling"]["stride"] / self.card["input"]["tile_size"]
        self.card["input"]["tile_size"] = int(tile_size)
        self.card["tiling"]["stride"] = max(1, round(overlap * tile_size))

    def __getattr__(self, name):
        return getattr(self._runner, name)


def _scores(runner, maps, labels, *, boundary, stride):
    """Tile and map accuracy of maps (maps smaller than a tile are left out and counted)."""
    correct_tiles = tiles = correct_maps = used_maps = 0
    for image, label in zip(maps, labels):
        try:
            result = classify_image(image, runner, boundary=boundary, stride=stride)
        except TilingError:
            continue
        finite = np.all(np.isfinite(result.tile_probabilities), axis=1)
        predictions = result.tile_probabilities[finite].argmax(axis=1)
        correct_tiles += int(np.sum(predictions == label))
        tiles += int(finite.sum())
        correct_maps += int(np.argmax(result.probability) == label)
        used_maps += 1
    return {"tile_accuracy": correct_tiles / tiles if tiles else None,
            "map_accuracy": correct_maps / used_maps if used_maps else None,
            "n_tiles": tiles, "n_maps": used_maps, "n_maps_too_small": len(maps) - used_maps}


def robustness_curves(runner, maps, labels, *, boundary="periodic", stride=None, seed=0,
                      curves=None, tile_sizes=None, groups=None):
    """Accuracy of an exported classifier as the held-out maps are degraded.

    Parameters
    ----------
    runner : glue_turbml.models.ModelRunner
        The opened classifier (onnxruntime, as users run it).
    maps : list of numpy.ndarray
        Held-out raw 2D maps (before preprocessing).
    labels : array_like of int
        Class index of each map.
    boundary : {"periodic", "reflect"}
        Edges of the maps (periodic for simulation slices).
    stride : int, optional
        Tile stride; the card's by default.
    seed : int
        Seeds the noise.
    curves : dict, optional
        ``{name: values}`` among `DEFAULT_CURVES`' names; `DEFAULT_CURVES` by default.
    tile_sizes : list of int, optional
        Tile sizes to run the network at (it is size-agnostic); none by default.
    groups : dict, optional
        ``{name: per-map values}``: accuracy for each distinct value (e.g. snapshot time).

    Returns
    -------
    dict
        ``{curve name: [{"value": v, "tile_accuracy", "map_accuracy", "n_tiles", "n_maps",
        "n_maps_too_small"}, ...]}`` plus ``"seed"`` and ``"boundary"``.
    """
    labels = np.asarray(labels, dtype=int)
    curves = DEFAULT_CURVES if curves is None else curves
    transforms = {
        "smoothing_sigma_px": lambda image, value, rng: smoothed(image, value,
                                                                 boundary=boundary),
        "zoom_factor": lambda image, value, rng: zoomed(image, value, boundary=boundary),
        "noise_snr": lambda image, value, rng: noisy(image, value, rng=rng),
    }
    results = {"seed": int(seed), "boundary": boundary}
    for name, values in curves.items():
        if name not in transforms:
            raise ValueError(f"unknown robustness curve {name!r}; known: {sorted(transforms)}")
        rows = []
        for value in values:
            rng = np.random.default_rng([seed, len(rows)])
            degraded = [transforms[name](image, value, rng) for image in maps]
            rows.append({"value": float(value),
                         **_scores(runner, degraded, labels, boundary=boundary, stride=stride)})
        results[name] = rows
    if tile_sizes:
        results["tile_size_px"] = [
            {"value": int(size), **_scores(_TileSizeRunner(runner, size), maps, labels,
                                           boundary=boundary, stride=None)}
            for size in tile_sizes]
    for name, values in (groups or {}).items():
        values = np.asarray(values)
        results[name] = [
            {"value": value.item() if hasattr(value, "item") else value,
             **_scores(runner, [image for image, keep in zip(maps, values == value) if keep],
                       labels[values == value], boundary=boundary, stride=stride)}
            for value in np.unique(values)]
    return results


def plot_robustness(curves, path, *, title=""):
    """Save one panel per curve (tile and map accuracy against the curve's value) as PNG.

    Parameters
    ----------
    curves : dict
        As returned by `robustness_curves`.
    path : str or path
    title : str

    Returns
    -------
    path
    """
    from matplotlib.figure import Figure

    names = [name for name, rows in curves.items() if isinstance(rows, list)]
    figure = Figure(figsize=(4 * max(1, len(names)), 3.6), layout="constrained")
    panels = np.atleast_1d(figure.subplots(1, max(1, len(names))))
    for axes, name in zip(panels, names):
        rows = curves[name]
        shown = [("inf" if not np.isfinite(row["value"]) else f"{row['value']:g}")
                 if isinstance(row["value"], float) else str(row["value"]) for row in rows]
        for key, style in (("tile_accuracy", "o-"), ("map_accuracy", "s--")):
            axes.plot(range(len(rows)), [np.nan if row[key] is None else row[key]
                                         for row in rows], style, label=key.replace("_", " "))
        axes.set_xticks(range(len(rows)), shown)
        axes.set_xlabel(name.replace("_", " "))
        axes.set_ylim(0, 1.02)
        axes.axhline(0.5, color="grey", lw=0.5)
    panels[0].set_ylabel("accuracy")
    panels[0].legend(loc="lower left", fontsize="small")
    figure.suptitle(title)
    figure.savefig(path, format="png", dpi=100)
    return path
