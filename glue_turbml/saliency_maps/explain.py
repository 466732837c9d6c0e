"""Saliency maps of a model over a whole 2D map, tile by tile, without torch.

Three methods, all on the preprocessed tiles the model sees (for classifiers and regressors
the tiles of `classify`; for image-to-image models those of `glue_turbml.mapping`, see
`glue_turbml.saliency_maps.region_saliency`):

- ``"guided"``: guided backpropagation (Springenberg et al. 2014), the method of Peek &
  Burkhart (2019, Fig. 4); computed by the model's exported saliency graph;
- ``"vanilla"``: the plain gradient of the target logit (Simonyan et al. 2013), exported graph;
- ``"occlusion"``: how much the target logit drops when a square window of the tile is set to a
  baseline (Zeiler & Fergus 2014), averaged over the windows covering each pixel; forward passes
  only, so it works for any ONNX classifier, with or without saliency graphs.

Per-tile maps are blended into a full-resolution map with the same smooth window as the
per-pixel probabilities of `classify`. For overlays, `SaliencyResult.overlay` gives a smoothed
map and one contour level (the paper's convention: a single red contour of positive saliency
over the grey image)."""

from .options import SALIENCY_METHODS
from .region_saliency import image_to_image_saliency
from .sanity import warn_if_insane
from .tile_saliency import tile_model_saliency

__all__ = ["saliency_image"]


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

    Warns
    -----
    glue_turbml.saliency_maps.sanity.SaliencySanityWarning
        Before any work, when ``method`` fails the sanity check recorded in the card.

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
    # before the work: a failing method's map must not be read as the network's reasons
    warn_if_insane(card, method, stacklevel=4)
    options = dict(method=method, target=target, wcs=wcs, input_name=input_name, stride=stride,
                   batch_size=batch_size, progress=progress, occlusion_window=occlusion_window,
                   occlusion_stride=occlusion_stride, occlusion_baseline=occlusion_baseline)
    if task == "image_to_image":
        return image_to_image_saliency(image, runner, region=region, **options)
    if region is not None:
        raise ValueError(f"region applies to image_to_image models (--region-box, --region-mask; "
                         f"region= in Python); model {card['name']!r} is a {task} model (use "
                         "--target, target= in Python, to pick the explained output)")
    return tile_model_saliency(image, runner, boundary=boundary, **options)
