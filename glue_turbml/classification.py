"""Classifying a 2D map tile by tile with a classification model."""

import numpy as np

from .core import (build_pipeline, extract_tiles, fill_nan_nearest, make_tile_grid, stitch_tiles)
from .core.tiling import TilingError
from .results import ClassificationResult

__all__ = ["classify_image", "softmax"]

#: Tiles preprocessed and held in memory at once: bounds memory on survey-size maps.
_CHUNK_TILES = 256
_BAR_MIN_TILES = 64


def softmax(logits):
    """Numerically stable softmax over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def _tile_progress(progress, total):
    """Return ``(advance(n), close())`` for a bool (tqdm bar) or a callable ``(done, total)``."""
    if callable(progress):
        done = [0]

        def advance(count):
            done[0] += count
            progress(done[0], total)
        return advance, lambda: None
    from tqdm.auto import tqdm

    # A bar for a handful of tiles is only noise.
    bar = tqdm(total=total, unit="tile", disable=not progress or total < _BAR_MIN_TILES, leave=False)
    return bar.update, bar.close


def classify_image(image, runner, *, wcs=None, input_name="image", stride=None, boundary=None,
                   batch_size=64, progress=False):
    """Classify one 2D map with an opened classification model.

    Parameters
    ----------
    image : numpy.ndarray
        2D map; NaN allowed. Not modified.
    runner : glue_turbml.models.ModelRunner
        An opened model whose card's task is ``classification``.
    wcs : astropy.wcs.WCS, optional
        Celestial WCS of the map, kept in the result.
    input_name : str
    stride : int, optional
        Tile stride; the card's by default.
    boundary : {"reflect", "periodic"}, optional
        Edge handling; the card's by default (use ``"periodic"`` for simulation slices).
    batch_size : int
    progress : bool or callable
        ``True`` for a progress bar, or ``callable(done, total)`` called after each batch.

    Returns
    -------
    ClassificationResult

    Raises
    ------
    glue_turbml.core.TilingError
        If the map is smaller than a tile, all NaN, or every tile is mostly NaN.
    """
    card = runner.card
    if card["task"] != "classification":
        raise ValueError(f"model {card['name']!r} is a {card['task']} model, not a classifier; "
                         "use map_image for image-to-image models")
    image = np.asarray(image)
    if image.ndim != 2:
        raise TilingError(f"classify_image needs a 2D map, got shape {image.shape}")
    tiling = card["tiling"]
    tile_size = card["input"]["tile_size"]
    grid = make_tile_grid(image.shape, tile_size, stride=stride or tiling["stride"],
                          boundary=boundary or tiling["boundary"])
    finite = np.isfinite(image)
    if not finite.any():
        raise TilingError(f"{input_name}: the map is entirely NaN (no data to classify)")
    valid_fraction = extract_tiles(finite.astype(np.float32), grid).mean(axis=(1, 2))
    used = np.flatnonzero(valid_fraction >= tiling["min_valid_fraction"])
    if used.size == 0:
        raise TilingError(
            f"{input_name}: every {tile_size}x{tile_size} tile is more than "
            f"{1 - tiling['min_valid_fraction']:.0%} NaN; nothing left to classify"
        )
    filled, filled_mask = fill_nan_nearest(image)
    pipeline = build_pipeline(card["preprocess"])
    n_classes = len(card["classes"])
    tile_probabilities = np.full((grid.n_tiles, n_classes), np.nan)
    advance, close = _tile_progress(progress, int(used.size))
    try:
        for start in range(0, used.size, _CHUNK_TILES):
            chunk = used[start:start + _CHUNK_TILES]
            tiles = pipeline(extract_tiles(filled, grid, indices=chunk))[:, np.newaxis]
            scores = runner.run(tiles, batch_size=batch_size, on_batch=advance)
            if card["outputs"][0].get("activation", "none") == "softmax":
                scores = softmax(scores.astype(np.float64))
            tile_probabilities[chunk] = scores
    finally:
        close()
    probability_map = stitch_tiles(tile_probabilities, grid).astype(np.float32)
    probability_map[:, ~finite] = np.nan
    analysed = tile_probabilities[used]
    return ClassificationResult(
        class_names=[entry["name"] for entry in card["classes"]],
        class_meanings=[entry["meaning"] for entry in card["classes"]],
        probability=analysed.mean(axis=0),
        probability_std=analysed.std(axis=0),
        tile_probabilities=tile_probabilities,
        tile_origins=grid.origins,
        tile_valid_fraction=valid_fraction,
        tile_size=tile_size,
        probability_map=probability_map,
        filled_mask=filled_mask,
        wcs=wcs,
        model_card=card,
        session_info=runner.info,
        preprocessing=pipeline.description,
        input_name=input_name,
    )
