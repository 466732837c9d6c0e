"""Saliency maps of a classifier over a whole 2D map, tile by tile, without torch.

Three methods, all on the preprocessed tiles the classifier sees (the tiles of `classify`):

- ``"guided"``: guided backpropagation (Springenberg et al. 2014), the method of Peek &
  Burkhart (2019, Fig. 4); computed by the model's exported saliency graph;
- ``"vanilla"``: the plain gradient of the target logit (Simonyan et al. 2013), exported graph;
- ``"occlusion"``: how much the target logit drops when a square window of the tile is set to a
  baseline (Zeiler & Fergus 2014), averaged over the windows covering each pixel; forward passes
  only, so it works for any ONNX classifier, with or without saliency graphs.

Per-tile maps are blended into a full-resolution map with the same smooth window as the
per-pixel probabilities of `classify`. For overlays, `SaliencyResult.overlay` gives a smoothed
map and one contour level (the paper's convention: a single red contour of positive saliency
over the grey image).

The module is named ``saliency_maps`` because ``glue_turbml.saliency`` is the public function.
"""

from dataclasses import dataclass, field

import numpy as np

from .classification import softmax
from .core import stitch_tiles
from .tiled_input import prepare_tiled_input, tile_progress

__all__ = ["SALIENCY_METHODS", "DEFAULT_CONTOUR_QUANTILE", "DEFAULT_SMOOTHING_SIGMA_PX",
           "SaliencyResult", "occlusion_saliency", "saliency_image", "resolve_target"]

SALIENCY_METHODS = ("guided", "vanilla", "occlusion")
#: The overlay contour encloses the top 2% of the smoothed positive saliency by default.
DEFAULT_CONTOUR_QUANTILE = 0.98
#: Gaussian smoothing (pixels) of the map before contouring: one contour of a raw gradient map
#: is a speckle of single pixels.
DEFAULT_SMOOTHING_SIGMA_PX = 3.0
#: Occluded copies sent to onnxruntime per call at most (bounds memory).
_OCCLUSION_COPIES = 512


def _occlusion_starts(size, window, stride):
    """Window origins along one axis, as Captum lays them: every ``stride`` from 0 until the
    window reaches the far edge; the last window may run past it and is cut at the edge."""
    count = int(np.ceil((size - window) / stride)) + 1
    return range(0, count * stride, stride)


def occlusion_saliency(forward, tiles, targets, *, window, stride, baseline="mean",
                       batch_size=64, on_pass=None):
    """Occlusion saliency of preprocessed tiles (Captum ``Occlusion`` semantics).

    For every window position (``window`` x ``window`` squares every ``stride`` pixels from the
    top-left corner until the far edges are reached, cut at the edges, as Captum lays them out;
    so every pixel is covered) the tile is copied with the window set to the
    baseline; the pixel's saliency is the mean, over the windows covering it, of
    ``score(tile) - score(occluded copy)``, with ``score = logits . target``.

    Parameters
    ----------
    forward : callable
        ``forward(batch (n, C, T, T) float32, batch_size=...) -> (n, n_classes)`` logits, e.g.
        ``ModelRunner.run``.
    tiles : numpy.ndarray
        ``(n, C, T, T)`` preprocessed tiles.
    targets : numpy.ndarray
        ``(n, n_classes)`` class weights (one-hot for one class).
    window, stride : int
        Occluding square side and step in pixels.
    baseline : float or "mean"
        Value of occluded pixels; ``"mean"`` uses each tile's mean (a neutral grey for
        histogram-equalized tiles).
    batch_size : int
    on_pass : callable, optional
        Called with the number of forward passes done after each call.

    Returns
    -------
    numpy.ndarray
        ``(n, C, T, T)`` float64.
    """
    tiles = np.ascontiguousarray(tiles, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.float64)
    count, channels, height, width = tiles.shape
    if not (0 < window <= min(height, width) and 0 < stride <= window):
        raise ValueError(f"occlusion window {window} and stride {stride} must be positive, the "
                         f"stride at most the window and the window at most the tile size "
                         f"{min(height, width)}")
    if isinstance(baseline, str):
        if baseline != "mean":
            raise ValueError(f"baseline must be a number or 'mean', got {baseline!r}")
        fill = tiles.mean(axis=(1, 2, 3), dtype=np.float64).astype(np.float32)
    else:
        fill = np.full(count, float(baseline), dtype=np.float32)
    positions = [(y0, x0) for y0 in _occlusion_starts(height, window, stride)
                 for x0 in _occlusion_starts(width, window, stride)]
    base_score = (forward(tiles, batch_size=batch_size).astype(np.float64) * targets).sum(axis=1)
    if on_pass is not None:
        on_pass(count)
    total = np.zeros(tiles.shape, dtype=np.float64)
    coverage = np.zeros((height, width), dtype=np.float64)
    for y0, x0 in positions:
        coverage[y0:y0 + window, x0:x0 + window] += 1
    group = max(1, _OCCLUSION_COPIES // max(count, 1))
    for first in range(0, len(positions), group):
        chosen = positions[first:first + group]
        copies = np.repeat(tiles[np.newaxis], len(chosen), axis=0)  # (positions, n, C, T, T)
        for number, (y0, x0) in enumerate(chosen):
            copies[number, :, :, y0:y0 + window, x0:x0 + window] = fill[:, None, None, None]
        logits = forward(copies.reshape((-1,) + tiles.shape[1:]), batch_size=batch_size)
        scores = (logits.reshape(len(chosen), count, -1).astype(np.float64)
                  * targets[np.newaxis]).sum(axis=2)
        drops = base_score[np.newaxis] - scores  # (positions, n)
        for number, (y0, x0) in enumerate(chosen):
            total[:, :, y0:y0 + window, x0:x0 + window] += drops[number][:, None, None, None]
        if on_pass is not None:
            on_pass(len(chosen) * count)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = total / coverage
    result[:, :, coverage == 0] = 0.0
    return result


def resolve_target(target, class_names, probability):
    """Index of the explained class: ``None`` is the most probable class of the whole map.

    Raises
    ------
    ValueError
        For an unknown class name or an index out of range.
    """
    if target is None:
        return int(np.argmax(probability))
    if isinstance(target, str) and not target.isdigit():
        if target not in class_names:
            raise ValueError(f"unknown target class {target!r}; the model's classes are "
                             f"{class_names}")
        return class_names.index(target)
    index = int(target)
    if not 0 <= index < len(class_names):
        raise ValueError(f"target index {index} is out of range for classes {class_names}")
    return index


@dataclass
class SaliencyResult:
    """Saliency of one 2D map for one class.

    Attributes
    ----------
    saliency_map : numpy.ndarray
        ``(ny, nx)`` float32 blended from the per-tile maps; NaN where the input is NaN or no
        tile was analysed. Units: target logit per unit of the preprocessed input.
    method : str
        ``"guided"``, ``"vanilla"`` or ``"occlusion"``.
    target_index : int
    class_names : list of str
    probability : numpy.ndarray
        ``(n_classes,)`` whole-map class probabilities (mean over analysed tiles).
    tile_origins : numpy.ndarray
    tile_used : numpy.ndarray of bool
    tile_size : int
    filled_mask : numpy.ndarray of bool
    wcs : astropy.wcs.WCS or None
    model_card : dict
    session_info : glue_turbml.models.SessionInfo
    preprocessing : str
    input_name : str
    parameters : dict
        Method parameters (occlusion window, stride, baseline), JSON-friendly.
    """

    saliency_map: np.ndarray
    method: str
    target_index: int
    class_names: list
    probability: np.ndarray
    tile_origins: np.ndarray
    tile_used: np.ndarray
    tile_size: int
    filled_mask: np.ndarray
    wcs: object
    model_card: dict = field(repr=False)
    session_info: object = None
    preprocessing: str = ""
    input_name: str = "image"
    parameters: dict = field(default_factory=dict)

    @property
    def target_class(self):
        """Name of the explained class."""
        return self.class_names[self.target_index]

    def overlay(self, *, quantile=None, sigma_px=None):
        """The smoothed map and the contour level for a one-contour overlay.

        Parameters
        ----------
        quantile : float, optional
            The level is this quantile of the smoothed map's finite positive values; the card's
            ``saliency.overlay.contour_quantile``, else `DEFAULT_CONTOUR_QUANTILE`.
        sigma_px : float, optional
            Gaussian smoothing in pixels (0: none); the card's
            ``saliency.overlay.smoothing_sigma_px``, else `DEFAULT_SMOOTHING_SIGMA_PX`.

        Returns
        -------
        smoothed : numpy.ndarray
            ``(ny, nx)`` float64, NaN where the saliency map is NaN.
        level : float
            Contour level in the map's units (NaN if the map has no positive value).
        """
        from scipy.ndimage import gaussian_filter

        settings = self.model_card.get("saliency", {}).get("overlay", {})
        quantile = settings.get("contour_quantile", DEFAULT_CONTOUR_QUANTILE) \
            if quantile is None else float(quantile)
        sigma_px = settings.get("smoothing_sigma_px", DEFAULT_SMOOTHING_SIGMA_PX) \
            if sigma_px is None else float(sigma_px)
        values = np.asarray(self.saliency_map, dtype=np.float64)
        finite = np.isfinite(values)
        smoothed = np.where(finite, values, 0.0)
        if sigma_px > 0:
            # Normalised convolution: NaN pixels neither contribute nor dilute their neighbours.
            weight = gaussian_filter(finite.astype(np.float64), sigma_px, mode="nearest")
            smoothed = gaussian_filter(smoothed, sigma_px, mode="nearest")
            with np.errstate(invalid="ignore", divide="ignore"):
                smoothed = smoothed / weight
        smoothed[~finite] = np.nan
        positive = smoothed[np.isfinite(smoothed) & (smoothed > 0)]
        level = float(np.quantile(positive, quantile)) if positive.size else float("nan")
        return smoothed, level

    def summary(self):
        """JSON-friendly description of the result and its provenance."""
        _, level = self.overlay()
        return {
            "input": self.input_name, "model": self.model_card["name"],
            "model_version": self.model_card["version"],
            "weights_sha256": self.model_card["weights_sha256"],
            "provider": self.session_info.provider if self.session_info else None,
            "method": self.method, "target_class": self.target_class,
            "probability": {name: float(p) for name, p in zip(self.class_names, self.probability)},
            "n_tiles_used": int(self.tile_used.sum()), "tile_size": int(self.tile_size),
            "contour_level": level, "parameters": dict(self.parameters),
            "preprocessing": self.preprocessing,
        }

    def __str__(self):
        return (f"{self.input_name}: {self.method} saliency of class {self.target_class!r} "
                f"(P = {self.probability[self.target_index]:.3f}) from "
                f"{int(self.tile_used.sum())} tiles, model {self.model_card['name']} "
                f"{self.model_card['version']}, {self.session_info.provider}")

    def to_hdulist(self):
        """FITS form: provenance primary header, ``SALIENCY`` (with the input's celestial WCS,
        the method, the target class and the overlay contour level) and ``FILLED``.

        Returns
        -------
        astropy.io.fits.HDUList
        """
        from astropy.io import fits

        from .results import provenance_header

        primary = fits.PrimaryHDU(header=provenance_header(
            self.model_card, self.session_info, preprocessing=self.preprocessing,
            input_name=self.input_name))
        _, level = self.overlay()
        settings = self.model_card.get("saliency", {}).get("overlay", {})
        wcs_header = self.wcs.to_header() if self.wcs is not None else None
        image = fits.ImageHDU(self.saliency_map.astype(np.float32), name="SALIENCY")
        if wcs_header is not None:
            image.header.update(wcs_header)
        image.header["BUNIT"] = ("", "target logit per unit of preprocessed input")
        image.header["TM_METH"] = (self.method, "saliency method")
        image.header["TM_TARG"] = (self.target_class, "explained class")
        image.header["TM_TIDX"] = (self.target_index, "explained class index")
        image.header["TM_PTARG"] = (float(self.probability[self.target_index]),
                                    "whole-map probability of the explained class")
        image.header["TM_CLEV"] = (level if np.isfinite(level) else "nan",
                                   "overlay contour level (smoothed map)")
        image.header["TM_CQUAN"] = (settings.get("contour_quantile", DEFAULT_CONTOUR_QUANTILE),
                                    "contour level quantile of positive saliency")
        image.header["TM_SMOO"] = (settings.get("smoothing_sigma_px", DEFAULT_SMOOTHING_SIGMA_PX),
                                   "overlay Gaussian smoothing sigma, pixels")
        for key, value in sorted(self.parameters.items()):
            image.header["HISTORY"] = f"saliency parameter {key} = {value}"
        primary.header["TM_METH"] = (self.method, "saliency method")
        primary.header["TM_TARG"] = (self.target_class, "explained class")
        filled = fits.ImageHDU(self.filled_mask.astype(np.uint8), name="FILLED")
        if wcs_header is not None:
            filled.header.update(wcs_header)
        return fits.HDUList([primary, image, filled])

    def write(self, path, *, overwrite=False):
        """Write `to_hdulist` to ``path``."""
        self.to_hdulist().writeto(path, overwrite=overwrite)


def saliency_image(image, runner, *, method="guided", target=None, wcs=None, input_name="image",
                   stride=None, boundary=None, batch_size=32, progress=False,
                   occlusion_window=None, occlusion_stride=None, occlusion_baseline="mean"):
    """Saliency of one 2D map with an opened classifier (see `glue_turbml.saliency`).

    Parameters
    ----------
    image : numpy.ndarray
        2D map; NaN allowed. Not modified.
    runner : glue_turbml.models.ModelRunner
    method : {"guided", "vanilla", "occlusion"}
    target : int, str or None
        Class index or name; the whole-map most probable class by default.
    wcs, input_name, stride, boundary, batch_size, progress
        As for `glue_turbml.classification.classify_image`.
    occlusion_window, occlusion_stride : int, optional
        Occlusion square and step; ``tile_size // 8`` and half the window by default.
    occlusion_baseline : float or "mean"

    Returns
    -------
    SaliencyResult

    Raises
    ------
    ValueError
        For an unknown method or target, or a model that is not a classifier.
    glue_turbml.models.ModelLoadError
        If the model ships no graph for a gradient method (use ``"occlusion"``).
    glue_turbml.core.TilingError
        As for `classify_image`.
    """
    from .models.saliency_graphs import open_saliency_graph

    card = runner.card
    if method not in SALIENCY_METHODS:
        raise ValueError(f"method must be one of {SALIENCY_METHODS}, got {method!r}")
    if card["task"] != "classification":
        raise ValueError(f"model {card['name']!r} is a {card['task']} model; saliency explains "
                         "classifiers")
    graph_runner = None
    if method != "occlusion":
        graph_runner = open_saliency_graph(runner.loaded, method, device=runner.info.requested)
    tiled = prepare_tiled_input(image, card, stride=stride, boundary=boundary,
                                input_name=input_name, purpose="explain")
    grid, used = tiled.grid, tiled.used
    class_names = [entry["name"] for entry in card["classes"]]
    n_classes = len(class_names)
    softmax_output = card["outputs"][0].get("activation", "none") == "softmax"

    # Pass 1: class probabilities of every analysed tile, to choose the explained class.
    tile_logits = np.full((grid.n_tiles, n_classes), np.nan)
    for chunk, tiles in tiled.chunks():
        tile_logits[chunk] = runner.run(tiles, batch_size=batch_size)
    analysed = tile_logits[used].astype(np.float64)
    probability = (softmax(analysed) if softmax_output else analysed).mean(axis=0)
    target_index = resolve_target(target, class_names, probability)
    one_hot = np.zeros(n_classes, dtype=np.float32)
    one_hot[target_index] = 1.0

    # Pass 2: per-tile saliency maps.
    size = grid.tile_size
    parameters = {}
    if method == "occlusion":
        window = int(occlusion_window or max(2, size // 8))
        step = int(occlusion_stride or max(1, window // 2))
        parameters = {"window_px": window, "stride_px": step, "baseline": occlusion_baseline}
        n_positions = len(_occlusion_starts(size, window, step)) ** 2
        total, unit = int(used.size) * (n_positions + 1), "pass"
    else:
        total, unit = int(used.size), "tile"
    tile_maps = np.full((grid.n_tiles, 1, size, size), np.nan, dtype=np.float32)
    advance, close = tile_progress(progress, total, unit=unit)
    try:
        for chunk, tiles in tiled.chunks():
            targets = np.repeat(one_hot[np.newaxis], len(chunk), axis=0)
            if method == "occlusion":
                maps = occlusion_saliency(runner.run, tiles, targets, window=window, stride=step,
                                          baseline=occlusion_baseline, batch_size=batch_size,
                                          on_pass=advance)
            else:
                _, maps = graph_runner.run(tiles, targets, batch_size=batch_size,
                                           on_batch=advance)
            tile_maps[chunk] = maps[:, :1]
    finally:
        close()
    saliency_map = stitch_tiles(tile_maps, grid)[0].astype(np.float32)
    saliency_map[~tiled.finite] = np.nan
    tile_used = np.zeros(grid.n_tiles, dtype=bool)
    tile_used[used] = True
    return SaliencyResult(
        saliency_map=saliency_map, method=method, target_index=target_index,
        class_names=class_names, probability=probability, tile_origins=grid.origins,
        tile_used=tile_used, tile_size=size, filled_mask=tiled.filled_mask, wcs=wcs,
        model_card=card, session_info=(graph_runner or runner).info,
        preprocessing=tiled.pipeline.description, input_name=input_name,
        parameters=parameters)
