"""A 2D map prepared for a model, tile by tile: the steps `classify` and `saliency` share.

Both analyses lay the card's tile grid over the map, skip tiles that are mostly NaN, fill the
few remaining NaN pixels from their nearest neighbours, and preprocess tiles in bounded chunks
with the card's pipeline. Keeping these steps here means a saliency map is computed on exactly
the tiles, and the preprocessed values, that the classification used.
"""

from dataclasses import dataclass

import numpy as np

from .core import build_pipeline, extract_tiles, fill_nan_nearest, make_tile_grid
from .core.tiling import TilingError
from .models.card_bounds import chosen_stride

__all__ = ["TiledInput", "prepare_tiled_input", "tiled_input_on_grid", "tile_progress",
           "CHUNK_TILES"]

#: Tiles preprocessed and held in memory at once: bounds memory on survey-size maps.
CHUNK_TILES = 256
_BAR_MIN_TILES = 64


@dataclass
class TiledInput:
    """A map with its tile grid, the tiles to analyse and the preprocessing pipeline.

    Attributes
    ----------
    grid : glue_turbml.core.TileGrid
    finite : numpy.ndarray of bool
        ``(ny, nx)`` pixels that were finite in the input.
    valid_fraction : numpy.ndarray
        ``(n_tiles,)`` fraction of usable pixels in each tile: finite, and positive when the
        card's first step is log10.
    used : numpy.ndarray of int
        Tiles analysed (valid fraction at least the card's ``min_valid_fraction``).
    filled : numpy.ndarray
        The map with NaN pixels filled from their nearest finite neighbours, after the card's
        map-scope preprocessing steps if it has any.
    filled_mask : numpy.ndarray of bool
        Pixels that were filled.
    pipeline : callable
        The card's tile-scope preprocessing (``pipeline.description`` names the steps).
    map_statistics : numpy.ndarray or None
        For a card naming ``input.map_statistics``: those statistics of the whole
        preprocessed map (its finite pixels; `glue_turbml.core.map_statistics`), fed beside
        every tile, so the answer does not depend on how the map is tiled. None otherwise.
    """

    grid: object
    finite: np.ndarray
    valid_fraction: np.ndarray
    used: np.ndarray
    filled: np.ndarray
    filled_mask: np.ndarray
    pipeline: object
    map_statistics: np.ndarray = None

    def chunks(self, indices=None, *, chunk_tiles=CHUNK_TILES):
        """Yield ``(tile numbers, preprocessed (n, 1, T, T) float32 tiles)`` in bounded chunks.

        Parameters
        ----------
        indices : array_like of int, optional
            Tiles to cut; `used` by default.
        chunk_tiles : int
        """
        indices = self.used if indices is None else np.asarray(indices, dtype=int)
        for start in range(0, indices.size, chunk_tiles):
            chunk = indices[start:start + chunk_tiles]
            tiles = self.pipeline(extract_tiles(self.filled, self.grid, indices=chunk))
            yield chunk, np.ascontiguousarray(tiles[:, np.newaxis], dtype=np.float32)


def prepare_tiled_input(image, card, *, stride=None, boundary=None, input_name="image",
                        purpose="analyse"):
    """Lay the card's tiles over a 2D map and choose the tiles to analyse.

    Parameters
    ----------
    image : numpy.ndarray
        2D map; NaN allowed. Not modified.
    card : dict
        The model card (``input.tile_size``, ``tiling``, ``preprocess``).
    stride : int, optional
        Tile stride; the card's by default (`glue_turbml.models.card_bounds.chosen_stride`
        refuses one outside the card's bounds).
    boundary : {"reflect", "periodic"}, optional
        Edge handling; the card's by default.
    input_name : str
    purpose : str
        Verb for error messages (``"classify"``, ``"explain"``).

    Returns
    -------
    TiledInput

    Raises
    ------
    glue_turbml.core.TilingError
        If the map is not 2D, smaller than a tile, all NaN, or every tile is mostly NaN.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise TilingError(f"{input_name}: needs a 2D map, got shape {image.shape}")
    tiling = card["tiling"]
    tile_size = card["input"]["tile_size"]
    grid = make_tile_grid(image.shape, tile_size, stride=chosen_stride(card, stride),
                          boundary=boundary or tiling["boundary"])
    finite = np.isfinite(image)
    if not finite.any():
        raise TilingError(f"{input_name}: the map is entirely NaN (no data to {purpose})")
    return tiled_input_on_grid(
        image, finite, grid, card, input_name=input_name,
        nothing_left=(f"{input_name}: every {tile_size}x{tile_size} tile is more than "
                      f"{1 - tiling['min_valid_fraction']:.0%} NaN; nothing left to {purpose}"))


def _takes_log(card):
    """Whether the card's first preprocessing step is log10 (it then reads positive values)."""
    steps = card.get("preprocess", [])
    return bool(steps) and steps[0]["op"] == "log10"


def _refuse_degenerate(values, finite, card, input_name):
    """Refuse maps no model can read: constant, or without one positive pixel for log10."""
    finite_values = values[finite]
    if finite_values.size and finite_values.min() == finite_values.max():
        raise TilingError(f"{input_name}: every finite pixel has the same value; a constant map "
                          "has no structure to measure")
    if _takes_log(card) and not np.any(finite_values > 0):
        raise TilingError(f"{input_name}: no pixel is positive, and the model's first step is "
                          "log10 of an intensity or column density; check the data's sign, "
                          "units and scaling")


def tiled_input_on_grid(values, finite, grid, card, *, nothing_left, input_name="image"):
    """Choose the tiles of a grid to analyse and fill the map's NaN pixels.

    The step shared by the classifier's tiling (`prepare_tiled_input`) and the U-Net mapping's
    (`glue_turbml.mapping.map_array`, `glue_turbml.saliency_maps.region_saliency`), which lay
    their own grids and check the map in their own words first.

    Parameters
    ----------
    values : numpy.ndarray
        2D map as the model reads it (divided by its mean where the card says so); NaN
        allowed. Not modified.
    finite : numpy.ndarray of bool
        ``(ny, nx)`` pixels that were finite in the input.
    grid : glue_turbml.core.TileGrid
        Tile grid laid over the map.
    card : dict
        The model card (``tiling.min_valid_fraction``, ``preprocess``).
    nothing_left : str
        Message of the error raised when every tile is mostly NaN.
    input_name : str
        What to call the map in the errors about degenerate maps.

    Returns
    -------
    TiledInput
        The map's chosen tiles, ready for `TiledInput.chunks`.

    Raises
    ------
    glue_turbml.core.TilingError
        For a constant map, a map without positive pixels for a model that takes log10, or
        when no tile has at least the card's ``min_valid_fraction`` of usable pixels (finite,
        and positive for such a model).
    """
    _refuse_degenerate(values, finite, card, input_name)
    usable = finite & (values > 0) if _takes_log(card) else finite
    valid_fraction = extract_tiles(usable.astype(np.float32), grid).mean(axis=(1, 2))
    used = np.flatnonzero(valid_fraction >= card["tiling"]["min_valid_fraction"])
    if used.size == 0:
        if _takes_log(card):  # the callers' "mostly NaN" is only half of it here
            nothing_left = nothing_left.replace(
                "NaN", "NaN or not positive (the model takes log10)", 1)
        raise TilingError(nothing_left)
    filled, filled_mask = fill_nan_nearest(values)
    pipeline = build_pipeline(card["preprocess"], scope="tile")
    if any(step.get("scope") == "map" for step in card["preprocess"]):
        # map-scope steps (FFP of a whole slice) see the whole filled map before tiling;
        # a map that does not wrap around is mirror-extended so its edges add no jump
        edges = "periodic" if grid.boundary == "periodic" else "mirror"
        filled = build_pipeline(card["preprocess"], scope="map", edges=edges)(filled)
        pipeline.description += f" (map steps on the whole map, {edges} edges)"
    statistics = None
    declared = card["input"].get("map_statistics")
    if declared:
        statistics = _whole_map_statistics(filled, filled_mask | ~usable, pipeline,
                                           declared["names"], input_name)
    return TiledInput(grid=grid, finite=finite, valid_fraction=valid_fraction, used=used,
                      filled=filled, filled_mask=filled_mask, pipeline=pipeline,
                      map_statistics=statistics)


def _whole_map_statistics(filled, left_out, pipeline, names, input_name):
    """The named statistics of the whole map as the model reads it: its tile preprocessing
    applied to the whole filled map (element-wise steps such as log10 give exactly the tiles'
    values), with the filled and unusable pixels left out of the moments."""
    from .core import map_statistics

    preprocessed = np.asarray(pipeline(filled), dtype=np.float64)
    preprocessed[left_out] = np.nan
    try:
        return map_statistics(preprocessed, names)
    except ValueError as error:
        raise TilingError(f"{input_name}: the model reads statistics of the whole map, and "
                          f"they cannot be computed: {error}") from None


def tile_progress(progress, total, *, unit="tile"):
    """Return ``(advance(n), close())`` for a bool (tqdm bar) or a callable ``(done, total)``."""
    if callable(progress):
        done = [0]

        def advance(count):
            done[0] += count
            progress(done[0], total)
        return advance, lambda: None
    from tqdm.auto import tqdm

    # A bar for a handful of tiles is only noise.
    bar = tqdm(total=total, unit=unit, disable=not progress or total < _BAR_MIN_TILES,
               leave=False)
    return bar.update, bar.close
