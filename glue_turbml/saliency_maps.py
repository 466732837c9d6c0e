"""Saliency maps of a model over a whole 2D map, tile by tile, without torch.

Three methods, all on the preprocessed tiles the model sees (for classifiers and regressors
the tiles of `classify`; for image-to-image models those of `glue_turbml.mapping`, see
`glue_turbml.saliency_regions`):

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
from .results import provenance_summary
from .tiled_input import prepare_tiled_input, tile_progress

__all__ = ["SALIENCY_METHODS", "DEFAULT_CONTOUR_QUANTILE", "DEFAULT_SMOOTHING_SIGMA_PX",
           "SaliencyResult", "occlusion_saliency", "saliency_image", "resolve_target",
           "output_names"]

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


def _saliency_passes(method, tile_size, n_tiles, *, occlusion_window, occlusion_stride,
                     occlusion_baseline):
    """Occlusion window and stride, the parameters a result records, and the progress total.

    Shared by the tile models' saliency and the U-Net's (`glue_turbml.saliency_regions`), so
    both default the occlusion window the same way and count progress in the same units.

    Parameters
    ----------
    method : str
        ``"occlusion"`` or a gradient method.
    tile_size : int
    n_tiles : int
        Tiles explained.
    occlusion_window, occlusion_stride : int or None
        Pixels; ``None`` for an eighth of the tile (at least 2) and half the window.
    occlusion_baseline : str or float

    Returns
    -------
    window, stride : int or None
        Occlusion window and stride in pixels (``None`` for a gradient method).
    parameters : dict
        Method parameters for `SaliencyResult.parameters`.
    total : int
        Progress steps: every occluded pass plus the unoccluded one per tile, or one per tile.
    unit : str
        ``"pass"`` or ``"tile"``.
    """
    if method != "occlusion":
        return None, None, {}, int(n_tiles), "tile"
    window = int(occlusion_window or max(2, tile_size // 8))
    stride = int(occlusion_stride or max(1, window // 2))
    parameters = {"window_px": window, "stride_px": stride, "baseline": occlusion_baseline}
    n_positions = len(_occlusion_starts(tile_size, window, stride)) ** 2
    return window, stride, parameters, int(n_tiles) * (n_positions + 1), "pass"


def occlusion_saliency(forward, tiles, targets, *, window, stride, baseline="mean",
                       batch_size=64, on_pass=None):
    """Occlusion saliency of preprocessed tiles (Captum ``Occlusion`` semantics).

    For every window position (``window`` x ``window`` squares every ``stride`` pixels from the
    top-left corner until the far edges are reached, cut at the edges, as Captum lays them out;
    so every pixel is covered) the tile is copied with the window set to the
    baseline; the pixel's saliency is the mean, over the windows covering it, of
    ``score(tile) - score(occluded copy)``, with ``score = sum(output * target)``.

    Parameters
    ----------
    forward : callable
        ``forward(batch (n, C, T, T) float32, batch_size=...) -> output``, e.g.
        ``ModelRunner.run``: ``(n, n_classes)`` logits, ``(n, n_outputs)``, or ``(n, C_out, T,
        T)`` maps of an image-to-image model.
    tiles : numpy.ndarray
        ``(n, C, T, T)`` preprocessed tiles.
    targets : numpy.ndarray
        Weights of the output, of its shape (one-hot rows for one class).
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
    targets = targets.reshape(count, -1)
    base_score = (forward(tiles, batch_size=batch_size).astype(np.float64).reshape(count, -1)
                  * targets).sum(axis=1)
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
        scores = (np.asarray(logits, dtype=np.float64).reshape(len(chosen), count, -1)
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


def resolve_target(target, class_names, probability, *, default=None):
    """Index of the explained class (or output, or output channel).

    Parameters
    ----------
    target : int, str or None
        Index or name; ``None`` picks ``default``.
    class_names : list of str
        Names of the classes (or outputs, or output channels).
    probability : numpy.ndarray
        Whole-map class probabilities (used when ``target`` and ``default`` are ``None``).
    default : int, optional
        Index used for ``target=None``; the most probable class when not given.

    Raises
    ------
    ValueError
        For an unknown name or an index out of range.
    """
    if target is None:
        return int(np.argmax(probability)) if default is None else int(default)
    if isinstance(target, str) and not target.isdigit():
        if target not in class_names:
            kind = "class" if default is None else "output"
            raise ValueError(f"unknown target {kind} {target!r}; the model's {kind}s are "
                             f"{class_names}")
        return class_names.index(target)
    index = int(target)
    if not 0 <= index < len(class_names):
        raise ValueError(f"target index {index} is out of range for {class_names}")
    return index


def output_names(card, count):
    """Names of a model's ``count`` output components (regression) or channels (image-to-image).

    The card's ``outputs[0].channels`` names when it lists ``count`` of them; otherwise the
    output's name, indexed when there are several.
    """
    output = card["outputs"][0]
    channels = [entry["name"] for entry in output.get("channels", [])]
    if len(channels) == count:
        return channels
    if count == 1:
        return [output["name"]]
    return [f"{output['name']}[{index}]" for index in range(count)]


@dataclass
class SaliencyResult:
    """Saliency of one 2D map for one class (or model output, or output channel).

    Attributes
    ----------
    saliency_map : numpy.ndarray
        ``(ny, nx)`` float32; NaN where the input is NaN or no tile was analysed. Classifiers
        and regressors: per-tile maps blended as `classify` blends probabilities; units:
        target logit (output) per unit of the preprocessed input. Image-to-image models: the
        gradient of the sum of the blended output channel over the region, summed over the
        tiles that read each pixel (see `glue_turbml.saliency_regions`).
    method : str
        ``"guided"``, ``"vanilla"`` or ``"occlusion"``.
    target_index : int
    class_names : list of str
        Class names; for other tasks the names of the outputs or output channels.
    probability : numpy.ndarray
        Classifiers: ``(n_classes,)`` whole-map class probabilities (mean over analysed
        tiles). Regressors: the mean of each output over analysed tiles. Image-to-image
        models: the mean of each blended output channel over the region. Not probabilities
        for those tasks; see `task`.
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
    task : str
        The card's task: ``"classification"``, ``"regression"`` or ``"image_to_image"``.
    region : numpy.ndarray of bool or None
        ``(ny, nx)`` region of interest of an image-to-image explanation (None: whole map).
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
    task: str = "classification"
    region: object = field(default=None, repr=False)

    @property
    def target_class(self):
        """Name of the explained class (or output, or output channel)."""
        return self.class_names[self.target_index]

    def describe_target(self):
        """``class 'x' (whole-map P = 0.93)``, ``output 'y' (mean 1.2)`` and the like."""
        value = float(self.probability[self.target_index])
        if self.task == "classification":
            return f"class {self.target_class!r} (whole-map P = {value:.2f})"
        if self.task == "regression":
            return f"output {self.target_class!r} (mean over tiles {value:.3g})"
        where = "the whole map" if self.region is None else \
            f"a {int(np.count_nonzero(self.region))}-pixel region"
        return f"channel {self.target_class!r} summed over {where} (mean {value:.3g})"

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
            **provenance_summary(self.model_card, self.session_info, input_name=self.input_name),
            "method": self.method, "task": self.task, "target_class": self.target_class,
            ("probability" if self.task == "classification" else "mean_output"):
                {name: float(p) for name, p in zip(self.class_names, self.probability)},
            "region_pixels": None if self.region is None else int(np.count_nonzero(self.region)),
            "n_tiles_used": int(self.tile_used.sum()), "tile_size": int(self.tile_size),
            "contour_level": level, "parameters": dict(self.parameters),
            "preprocessing": self.preprocessing,
        }

    def __str__(self):
        if self.task == "classification":
            what = (f"class {self.target_class!r} "
                    f"(P = {self.probability[self.target_index]:.3f})")
        else:
            what = self.describe_target()
        return (f"{self.input_name}: {self.method} saliency of {what} from "
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
        classifier = self.task == "classification"
        image.header["BUNIT"] = ("", f"target {'logit' if classifier else 'output'} per unit of "
                                     "preprocessed input")
        image.header["TM_METH"] = (self.method, "saliency method")
        image.header["TM_TASK"] = (self.task, "model task")
        image.header["TM_TARG"] = (self.target_class,
                                   "explained class" if classifier else "explained output")
        image.header["TM_TIDX"] = (self.target_index, "explained class or output index")
        image.header["TM_PTARG"] = (float(self.probability[self.target_index]),
                                    "whole-map probability of the explained class" if classifier
                                    else "mean of the explained output")
        if self.region is not None:
            image.header["TM_REGN"] = (int(np.count_nonzero(self.region)),
                                       "pixels in the explained region")
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


def saliency_image(image, runner, *, method="guided", target=None, region=None, wcs=None,
                   input_name="image", stride=None, boundary=None, batch_size=32,
                   progress=False, occlusion_window=None, occlusion_stride=None,
                   occlusion_baseline="mean"):
    """Saliency of one 2D map with an opened model (see `glue_turbml.saliency`).

    Parameters
    ----------
    image : numpy.ndarray
        2D map; NaN allowed. Not modified.
    runner : glue_turbml.models.ModelRunner
        A classifier, regressor or image-to-image model (the card's ``task``).
    method : {"guided", "vanilla", "occlusion"}
    target : int, str or None
        Classifiers: class index or name, the whole-map most probable class by default.
        Regressors: output index or name, the first by default. Image-to-image models: output
        channel index or name, the first (the predicted mean) by default.
    region : array_like of bool, optional
        Image-to-image models only: ``(ny, nx)`` mask of the output pixels whose summed
        ``target`` channel is explained (a region of interest); the whole map by default.
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
        For an unknown method or target, a region for a model that is not image-to-image, or
        a region that does not fit the map.
    glue_turbml.models.ModelLoadError
        If the model ships no graph for a gradient method (use ``"occlusion"``).
    glue_turbml.core.TilingError
        As for `classify_image`.
    """
    card = runner.card
    if method not in SALIENCY_METHODS:
        raise ValueError(f"method must be one of {SALIENCY_METHODS}, got {method!r}")
    task = card["task"]
    if task not in ("classification", "regression", "image_to_image"):
        raise ValueError(f"model {card['name']!r} has task {task!r}; saliency explains "
                         "classifiers, regressors and image-to-image models")
    if card["input"].get("layout", "NCHW") != "NCHW":
        raise ValueError(f"model {card['name']!r} takes {card['input']['layout']} inputs (not "
                         "images); saliency maps explain image models")
    options = dict(method=method, target=target, wcs=wcs, input_name=input_name, stride=stride,
                   batch_size=batch_size, progress=progress, occlusion_window=occlusion_window,
                   occlusion_stride=occlusion_stride, occlusion_baseline=occlusion_baseline)
    if task == "image_to_image":
        from .saliency_regions import image_to_image_saliency

        return image_to_image_saliency(image, runner, region=region, **options)
    if region is not None:
        raise ValueError(f"region applies to image_to_image models; model {card['name']!r} is "
                         f"a {task} model (use target= to pick the explained output)")
    return _tile_model_saliency(image, runner, boundary=boundary, **options)


def _tile_model_saliency(image, runner, *, method, target, wcs, input_name, stride, boundary,
                         batch_size, progress, occlusion_window, occlusion_stride,
                         occlusion_baseline):
    """Saliency of a classifier or regressor: one output vector per tile, as `classify`."""
    from .models.saliency_graphs import open_saliency_graph

    card = runner.card
    classifier = card["task"] == "classification"
    graph_runner = None
    if method != "occlusion":
        graph_runner = open_saliency_graph(runner.loaded, method, device=runner.info.requested)
    tiled = prepare_tiled_input(image, card, stride=stride, boundary=boundary,
                                input_name=input_name, purpose="explain")
    grid, used = tiled.grid, tiled.used

    # Pass 1: outputs of every analysed tile: class probabilities choose the explained class.
    tile_logits = None
    for chunk, tiles in tiled.chunks():
        outputs = np.asarray(runner.run(tiles, batch_size=batch_size), dtype=np.float64)
        if tile_logits is None:
            tile_logits = np.full((grid.n_tiles, outputs.reshape(len(chunk), -1).shape[1]),
                                  np.nan)
        tile_logits[chunk] = outputs.reshape(len(chunk), -1)
    analysed = tile_logits[used]
    if classifier:
        class_names = [entry["name"] for entry in card["classes"]]
        softmax_output = card["outputs"][0].get("activation", "none") == "softmax"
        probability = (softmax(analysed) if softmax_output else analysed).mean(axis=0)
        target_index = resolve_target(target, class_names, probability)
    else:
        class_names = output_names(card, analysed.shape[1])
        probability = analysed.mean(axis=0)
        target_index = resolve_target(target, class_names, probability, default=0)
    n_classes = len(class_names)
    one_hot = np.zeros(n_classes, dtype=np.float32)
    one_hot[target_index] = 1.0

    # Pass 2: per-tile saliency maps.
    size = grid.tile_size
    window, step, parameters, total, unit = _saliency_passes(
        method, size, used.size, occlusion_window=occlusion_window,
        occlusion_stride=occlusion_stride, occlusion_baseline=occlusion_baseline)
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
        parameters=parameters, task=card["task"])
