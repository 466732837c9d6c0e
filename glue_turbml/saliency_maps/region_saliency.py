"""Saliency of an image-to-image model (U-Net) for a region of its output map, without torch.

The explained score is ``S = sum over the region of the blended output channel``, where the
blended output is what `glue_turbml.mapping` computes: the map (divided by its mean when the
card says so) is cut into the mapping's tiles, each tile's output is weighted by the margin
window and the weights are normalised over the tiles covering each pixel. By the chain rule,

- each tile's ``target`` (the per-output-pixel weight the saliency graph takes) is
  ``region * window / (sum of the windows covering the pixel)`` in the explained channel, and
- a map pixel's saliency is the *sum* of the tile gradients of every tile that reads it
  (including reflected copies of it past the map edges).

So the vanilla map is the exact gradient of ``S`` with respect to the preprocessed input map,
and agrees with whole-map autograd wherever tiles reproduce whole-map inference (the mapping's
margin covers the receptive field). Guided backpropagation is not linear in the target: where
tiles overlap, each tile's ReLUs gate only its share of the gradient, so the guided map is the
sum of per-tile guided maps, close to but not equal to whole-map guided backpropagation
(``tests/saliency_maps/test_task_runtime.py`` bounds the difference on a test U-Net). Channels are
the network's raw outputs (for a log-variance channel the explained value is the blended
log-variance).
"""

from functools import partial

import numpy as np

from ..core import extract_tiles
from ..core.tiling import TilingError
from ..domain import check_map
from ..inputs import InputError
from ..mapping.tiled_mapping import mapping_grid, margin_window
from ..models.card_bounds import chosen_stride
from ..tiled_input import tile_progress, tiled_input_on_grid
from .occlusion import occlusion_saliency
from .options import output_names, resolve_target, saliency_passes
from .result import SaliencyResult
from .sanity import recorded_sanity

__all__ = ["image_to_image_saliency", "region_mask"]


def region_mask(region, shape, *, input_name="image"):
    """Check a region of interest and return it as a boolean mask of ``shape``.

    Parameters
    ----------
    region : array_like of bool (or of 0 and 1) or None
        ``None`` selects the whole map.
    shape : tuple of int
        ``(ny, nx)`` of the map.
    input_name : str

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    ValueError
        For a region of another shape, or with values other than True/False (0/1).
    """
    if region is None:
        return np.ones(shape, dtype=bool)
    region = np.asarray(region)
    if region.shape != tuple(shape):
        raise ValueError(f"{input_name}: region has shape {region.shape}, the map {tuple(shape)}; "
                         "give a boolean mask of the map's shape")
    if region.dtype != bool:
        values = np.unique(region)
        if not np.all(np.isin(values, (0, 1))):
            raise ValueError(f"{input_name}: region must be a boolean mask (or 0/1 values), got "
                             f"values such as {values[:5]}")
        region = region.astype(bool)
    return region


def _mapping_tiles(image, card, *, stride, input_name):
    """The tiles, window and preprocessing `glue_turbml.mapping` uses for this map."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise TilingError(f"{input_name}: needs a 2D map, got shape {image.shape}")
    tile_size = card["input"]["tile_size"]
    margin = card["tiling"].get("window_margin", 0)
    stride = chosen_stride(card, stride)
    if min(image.shape) < tile_size - 2 * margin:
        raise TilingError(f"{input_name}: the map is {image.shape[0]}x{image.shape[1]} pixels; "
                          f"model {card['name']!r} needs at least {tile_size - 2 * margin} a side")
    finite = np.isfinite(image)
    if not finite.any():
        raise TilingError(f"{input_name}: the map is entirely NaN (no data to explain)")
    divided = ""
    values = image.astype(np.float64)
    if card["input"].get("normalization", "none") == "map_mean":
        mean_value = float(np.mean(values[finite]))
        if not mean_value > 0:
            raise InputError(f"{input_name}: the mean of the finite pixels is {mean_value:.3g}; "
                             f"model {card['name']!r} divides the map by its mean, which must be "
                             "positive")
        values = values / mean_value
        divided = "divide by map mean > "
    grid = mapping_grid(image.shape, tile_size, margin=margin, stride=stride)
    tiled = tiled_input_on_grid(values, finite, grid, card, input_name=input_name,
                                nothing_left=(f"{input_name}: every {tile_size}x{tile_size} tile "
                                              "is mostly NaN; nothing left to explain"))
    return tiled, margin_window(tile_size, margin), divided


def _tile_pixels(grid, chunk, pixel_index):
    """Source map pixel of every pixel of the chunk's tiles, and whether stitching keeps it.

    Stitching drops tile parts past the edges of a reflecting grid and wraps them on a
    periodic one; the source index (from `extract_tiles` of the pixel numbers) follows the
    same reflection or wrap, so it is the pixel the tile read there.
    """
    sources = extract_tiles(pixel_index, grid, indices=chunk)
    size = grid.tile_size
    origins = grid.origins[chunk]
    rows = origins[:, 0, None] + np.arange(size)[None, :]
    columns = origins[:, 1, None] + np.arange(size)[None, :]
    inside = (((rows >= 0) & (rows < grid.shape[0]))[:, :, None]
              & ((columns >= 0) & (columns < grid.shape[1]))[:, None, :])
    if grid.boundary == "periodic":
        inside = np.ones_like(inside)
    return sources, inside


def image_to_image_saliency(image, runner, *, method, target, region, wcs, input_name, stride,
                            batch_size, progress, occlusion_window, occlusion_stride,
                            occlusion_baseline):
    """Saliency of a region of an image-to-image model's output (see the module docstring).

    Called by `glue_turbml.saliency_maps.explain.saliency_image`, which documents the parameters;
    ``target`` names the output channel (the first by default) and ``region`` the output pixels
    (the whole map by default).

    Returns
    -------
    glue_turbml.saliency_maps.SaliencyResult
    """
    from ..models.saliency_graphs import open_saliency_graph

    card = runner.card
    image = np.asarray(image)
    tiled, window, divided = _mapping_tiles(image, card, stride=stride, input_name=input_name)
    grid, used = tiled.grid, tiled.used
    mask = region_mask(region, image.shape, input_name=input_name)
    graph_runner = None
    if method != "occlusion":
        graph_runner = open_saliency_graph(runner.loaded, method, device=runner.info.requested)

    pixel_index = np.arange(image.size, dtype=np.int64).reshape(image.shape)
    weight_sum = np.zeros(image.size)
    for start in range(0, used.size, 256):
        sources, inside = _tile_pixels(grid, used[start:start + 256], pixel_index)
        np.add.at(weight_sum, sources[inside], np.broadcast_to(window, inside.shape)[inside])
    explained = mask.ravel() & tiled.finite.ravel() & (weight_sum > 0)
    if not explained.any():
        raise ValueError(f"{input_name}: the region holds no pixel of the mapped output (it is "
                         "empty, NaN, or outside the analysed tiles)")
    # Per map pixel: d S / d (tile output there) = region / sum of windows, times the window.
    pixel_weight = np.zeros(image.size)
    pixel_weight[explained] = 1.0 / weight_sum[explained]

    with_first = next(tiled.chunks(used[:1]))[1]
    forward = partial(runner.run, map_statistics=tiled.map_statistics)
    n_channels = np.asarray(forward(with_first, batch_size=1)).shape[1]
    channel_names = output_names(card, n_channels)
    target_index = resolve_target(target, channel_names, None, default=0)

    size = grid.tile_size
    occluding, step, parameters, total, unit = saliency_passes(
        method, size, used.size, occlusion_window=occlusion_window,
        occlusion_stride=occlusion_stride, occlusion_baseline=occlusion_baseline)
    saliency_sum = np.zeros(image.size)
    coverage = np.zeros(image.size)
    output_sum = np.zeros(n_channels)
    advance, close = tile_progress(progress, total, unit=unit)
    try:
        for chunk, tiles in tiled.chunks():
            sources, inside = _tile_pixels(grid, chunk, pixel_index)
            tile_weight = np.where(inside, window * pixel_weight[sources], 0.0)
            targets = np.zeros((len(chunk), n_channels, size, size), dtype=np.float32)
            targets[:, target_index] = tile_weight
            if method == "occlusion":
                outputs = forward(tiles, batch_size=batch_size)
                # occluded tiles keep the whole map's statistics: the saliency is of the tile
                maps = occlusion_saliency(forward, tiles, targets, window=occluding,
                                          stride=step, baseline=occlusion_baseline,
                                          batch_size=batch_size, on_pass=advance)
            else:
                outputs, maps = graph_runner.run(tiles, targets, batch_size=batch_size,
                                                 on_batch=advance,
                                                 map_statistics=tiled.map_statistics)
            output_sum += np.einsum("nchw,nhw->c", np.asarray(outputs, dtype=np.float64),
                                    tile_weight)
            np.add.at(saliency_sum, sources.ravel(), np.asarray(maps[:, 0], np.float64).ravel())
            np.add.at(coverage, sources.ravel(), 1.0)
    finally:
        close()
    saliency_map = saliency_sum.reshape(image.shape).astype(np.float32)
    saliency_map[(coverage.reshape(image.shape) == 0) | ~tiled.finite] = np.nan
    tile_used = np.zeros(grid.n_tiles, dtype=bool)
    tile_used[used] = True
    return SaliencyResult(
        saliency_map=saliency_map, method=method, target_index=target_index,
        class_names=channel_names, probability=output_sum / explained.sum(),
        tile_origins=grid.origins, tile_used=tile_used, tile_size=size,
        filled_mask=tiled.filled_mask, wcs=wcs, model_card=card,
        session_info=(graph_runner or runner).info,
        preprocessing=divided + tiled.pipeline.description, input_name=input_name,
        parameters=parameters, task="image_to_image",
        region=None if region is None else mask, boundary=grid.boundary,
        domain=check_map(card, image, grid, tiled.used), sanity=recorded_sanity(card, method))
