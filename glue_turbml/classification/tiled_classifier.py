"""Classifying a 2D map tile by tile with a classification model."""

import numpy as np

from ..core import stitch_tiles
from ..domain import check_map
from ..domain.embedding import EMBEDDING_OUTPUT
from ..models.tasks import right_tool
from ..tiled_input import prepare_tiled_input, tile_progress
from .result import ClassificationResult

__all__ = ["classify_image", "softmax"]


def softmax(logits):
    """Numerically stable softmax over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


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
        raise ValueError(f"model {card['name']!r} has task {card['task']!r}, not classification; "
                         f"{right_tool(card)} "
                         "(`turbml models list` shows each model's task)")
    tiled = prepare_tiled_input(image, card, stride=stride, boundary=boundary,
                                input_name=input_name, purpose="classify")
    grid, used, finite = tiled.grid, tiled.used, tiled.finite
    tile_size = grid.tile_size
    n_classes = len(card["classes"])
    tile_probabilities = np.full((grid.n_tiles, n_classes), np.nan)
    # the domain check's embedding part reads the pooled features in the same pass
    with_embedding = "embedding" in card.get("domain", {})
    names = (card["outputs"][0]["name"], EMBEDDING_OUTPUT) if with_embedding else None
    embeddings = []  # per chunk, in the order of `used`
    advance, close = tile_progress(progress, int(used.size))
    try:
        for chunk, tiles in tiled.chunks():
            scores = runner.run(tiles, batch_size=batch_size, on_batch=advance, outputs=names)
            if with_embedding:
                scores, features = scores
                embeddings.append(features)
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
        tile_valid_fraction=tiled.valid_fraction,
        tile_size=tile_size,
        probability_map=probability_map,
        filled_mask=tiled.filled_mask,
        wcs=wcs,
        model_card=card,
        session_info=runner.info,
        preprocessing=tiled.pipeline.description,
        input_name=input_name,
        domain=check_map(card, image, grid, used,
                         embeddings=np.concatenate(embeddings) if with_embedding else None),
    )
