"""Cutting maps into overlapping tiles and blending per-tile results back into a map."""

from dataclasses import dataclass

import numpy as np

__all__ = [
    "TileGrid",
    "TilingError",
    "BOUNDARIES",
    "make_tile_grid",
    "extract_tiles",
    "blend_window",
    "stitch_tiles",
    "fill_nan_nearest",
]

#: How tiles that reach past the map edge are filled: periodic wrap for simulation slices
#: (which are periodic boxes), mirror reflection for observed maps.
BOUNDARIES = ("reflect", "periodic")


class TilingError(ValueError):
    """The map cannot be tiled as asked."""


@dataclass(frozen=True)
class TileGrid:
    """Where the tiles of one map sit.

    Attributes
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the map.
    tile_size : int
        Side of a square tile in pixels.
    stride : int
        Step between tile origins; ``stride < tile_size`` means overlapping tiles.
    boundary : str
        ``"reflect"`` or ``"periodic"``: how pixels past the map edge are filled.
    starts_y, starts_x : tuple of int
        Tile origins along each axis in map pixels; the first may be negative and the last tile
        may reach past the edge, so that the tiles are centred on the map.
    """

    shape: tuple
    tile_size: int
    stride: int
    boundary: str
    starts_y: tuple
    starts_x: tuple

    @property
    def n_tiles(self):
        """Number of tiles."""
        return len(self.starts_y) * len(self.starts_x)

    @property
    def grid_shape(self):
        """``(rows, columns)`` of tiles."""
        return len(self.starts_y), len(self.starts_x)

    @property
    def origins(self):
        """``(n_tiles, 2)`` array of ``(y0, x0)`` tile origins, row-major."""
        yy, xx = np.meshgrid(self.starts_y, self.starts_x, indexing="ij")
        return np.stack([yy.ravel(), xx.ravel()], axis=1)

    @property
    def padding(self):
        """``((before_y, after_y), (before_x, after_x))`` pixels the tiles reach past the map."""
        pads = []
        for starts, size in zip((self.starts_y, self.starts_x), self.shape):
            pads.append((max(0, -starts[0]), max(0, starts[-1] + self.tile_size - size)))
        return tuple(pads)


def _axis_starts(size, tile_size, stride):
    count = int(np.ceil((size - tile_size) / stride)) + 1
    excess = (count - 1) * stride + tile_size - size
    first = -(excess // 2)
    return tuple(int(first + stride * index) for index in range(count))


def make_tile_grid(shape, tile_size, *, stride=None, boundary="reflect"):
    """Lay overlapping square tiles over a map.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the map.
    tile_size : int
        Tile side in pixels (the network's input size).
    stride : int, optional
        Step between tiles; defaults to ``tile_size // 2`` (half overlap, which makes the blending
        window a partition of unity).
    boundary : {"reflect", "periodic"}
        How tiles reaching past the edge are filled.

    Returns
    -------
    TileGrid

    Raises
    ------
    TilingError
        If the map is smaller than one tile, or the stride or boundary is not usable.
    """
    if len(shape) != 2:
        raise TilingError(f"tiling needs a 2D map, got shape {tuple(shape)}")
    if boundary not in BOUNDARIES:
        raise TilingError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    tile_size = int(tile_size)
    stride = tile_size // 2 if stride is None else int(stride)
    if not 0 < stride <= tile_size:
        raise TilingError(f"stride must be between 1 and the tile size {tile_size}, got {stride} "
                          "(--stride; stride= in Python)")
    ny, nx = (int(n) for n in shape)
    if ny < tile_size or nx < tile_size:
        raise TilingError(
            f"the map is {ny}x{nx} pixels, smaller than the model's {tile_size}x{tile_size} tile; "
            f"use a map of at least {tile_size}x{tile_size} pixels or a model with smaller tiles"
        )
    return TileGrid(
        shape=(ny, nx),
        tile_size=tile_size,
        stride=stride,
        boundary=boundary,
        starts_y=_axis_starts(ny, tile_size, stride),
        starts_x=_axis_starts(nx, tile_size, stride),
    )


def _pad(image, grid):
    mode = "wrap" if grid.boundary == "periodic" else "reflect"
    return np.pad(image, grid.padding, mode=mode)


def extract_tiles(image, grid, *, indices=None):
    """Cut tiles out of a map.

    Parameters
    ----------
    image : numpy.ndarray
        2D map of shape ``grid.shape``. Not modified.
    grid : TileGrid
    indices : array_like of int, optional
        Which tiles (row-major numbers) to cut; all by default.

    Returns
    -------
    numpy.ndarray
        ``(n, tile_size, tile_size)`` copies of the tiles, same dtype as ``image``.
    """
    if image.shape != grid.shape:
        raise TilingError(f"image shape {image.shape} does not match the grid's {grid.shape}")
    padded = _pad(image, grid)
    (before_y, _), (before_x, _) = grid.padding
    origins = grid.origins if indices is None else grid.origins[np.asarray(indices, dtype=int)]
    size = grid.tile_size
    tiles = np.empty((len(origins), size, size), dtype=image.dtype)
    for number, (y0, x0) in enumerate(origins):
        py, px = y0 + before_y, x0 + before_x
        tiles[number] = padded[py:py + size, px:px + size]
    return tiles


def blend_window(tile_size):
    """Smooth, strictly positive blending weights for one tile.

    The 1D profile is ``sin^2(pi (i + 1/2) / T)``: it falls to nearly zero at tile edges, so
    seams vanish, and copies shifted by ``T/2`` sum to a constant, so half-overlapping tiles
    blend without ripples.

    Returns
    -------
    numpy.ndarray
        ``(tile_size, tile_size)`` float64 weights.
    """
    profile = np.sin(np.pi * (np.arange(tile_size) + 0.5) / tile_size) ** 2
    return np.outer(profile, profile)


def _fold_periodic(canvas, grid):
    """Add the parts of a padded canvas that lie past the edges back onto the opposite side."""
    for axis, (before, after) in ((-2, grid.padding[0]), (-1, grid.padding[1])):
        size = grid.shape[axis]
        core = np.take(canvas, np.arange(before, before + size), axis=axis)
        if before:
            head = np.take(canvas, np.arange(0, before), axis=axis)
            index = [slice(None)] * canvas.ndim
            index[axis] = slice(size - before, size)
            core[tuple(index)] += head
        if after:
            tail = np.take(canvas, np.arange(before + size, before + size + after), axis=axis)
            index = [slice(None)] * canvas.ndim
            index[axis] = slice(0, after)
            core[tuple(index)] += tail
        canvas = core
    return canvas


def stitch_tiles(tile_values, grid, *, window=None):
    """Blend per-tile results into maps of the original size.

    Parameters
    ----------
    tile_values : numpy.ndarray
        Either ``(n_tiles, channels)`` (one value per tile, e.g. class probabilities) or
        ``(n_tiles, channels, T, T)`` (a map per tile, e.g. a U-Net output or a saliency map).
        Tiles whose values are NaN (skipped tiles) get no weight.
    grid : TileGrid
    window : numpy.ndarray, optional
        ``(T, T)`` weights; `blend_window` by default.

    Returns
    -------
    numpy.ndarray
        ``(channels, ny, nx)`` float64 blended maps; pixels that no valid tile covers are NaN.
        With a periodic boundary, tile parts past an edge are wrapped onto the opposite side.
    """
    values = np.asarray(tile_values, dtype=np.float64)
    size = grid.tile_size
    if (values.ndim not in (2, 4) or values.shape[0] != grid.n_tiles
            or (values.ndim == 4 and values.shape[2:] != (size, size))):
        raise TilingError(
            f"expected ({grid.n_tiles}, channels) or ({grid.n_tiles}, channels, {size}, {size}) "
            f"tile values, got {values.shape}"
        )
    window = blend_window(size) if window is None else np.asarray(window, dtype=np.float64)
    channels = values.shape[1]
    (before_y, after_y), (before_x, after_x) = grid.padding
    padded_shape = (grid.shape[0] + before_y + after_y, grid.shape[1] + before_x + after_x)
    weighted_sum = np.zeros((channels,) + padded_shape)
    weight_sum = np.zeros(padded_shape)
    for number, (y0, x0) in enumerate(grid.origins):
        tile = values[number]
        if not np.all(np.isfinite(tile)):
            continue
        py, px = y0 + before_y, x0 + before_x
        region = (slice(py, py + size), slice(px, px + size))
        if tile.ndim == 1:
            weighted_sum[(slice(None),) + region] += tile[:, None, None] * window
        else:
            weighted_sum[(slice(None),) + region] += tile * window
        weight_sum[region] += window
    if grid.boundary == "periodic":
        weighted_sum = _fold_periodic(weighted_sum, grid)
        weight_sum = _fold_periodic(weight_sum, grid)
    else:
        crop = (slice(before_y, before_y + grid.shape[0]),
                slice(before_x, before_x + grid.shape[1]))
        weighted_sum = weighted_sum[(slice(None),) + crop]
        weight_sum = weight_sum[crop]
    with np.errstate(invalid="ignore", divide="ignore"):
        blended = weighted_sum / weight_sum
    blended[:, weight_sum <= 0] = np.nan
    return blended


def fill_nan_nearest(image):
    """Replace non-finite pixels by the nearest finite pixel's value.

    Parameters
    ----------
    image : numpy.ndarray
        2D map. Not modified.

    Returns
    -------
    filled : numpy.ndarray
        A float copy with no NaN or infinite values.
    filled_mask : numpy.ndarray of bool
        True where a pixel was filled.

    Raises
    ------
    TilingError
        If the map has no finite pixel at all.
    """
    from scipy.ndimage import distance_transform_edt

    image = np.asarray(image)
    filled_mask = ~np.isfinite(image)
    if filled_mask.all():
        raise TilingError("the map has no finite pixel (all NaN or infinite); nothing to analyse")
    filled = np.array(image, dtype=np.result_type(image.dtype, np.float32), copy=True)
    if filled_mask.any():
        _, (nearest_y, nearest_x) = distance_transform_edt(filled_mask, return_indices=True)
        filled[filled_mask] = image[nearest_y[filled_mask], nearest_x[filled_mask]]
    return filled, filled_mask
