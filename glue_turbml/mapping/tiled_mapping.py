"""Image-to-image mapping with a U-Net: column density -> mass-weighted mean density, or density
slice -> magnetic energy, as the model card says (see `input_units`).

A map of any size is divided by its mean, tiled with overlapping tiles, run through the
network and blended with a window that is zero in a margin at least the network's receptive
field wide: every output pixel then comes only from tile pixels whose receptive field lies
inside the tile, so the blended map equals whole-map inference away from the map edges (no
seams) and tiles of bounded size keep memory flat on survey-size maps.
"""

import numpy as np

from ..core import stitch_tiles
from ..core.tiling import TileGrid, TilingError
from ..domain import check_map
from ..inputs import InputError, parse_input, reduce_to_image
from ..models import open_model, resolve_model
from ..tiled_input import tile_progress, tiled_input_on_grid
from .input_units import check_input_reduction, check_input_unit, input_quantity
from .result import MappingResult

__all__ = ["map_image", "map_array", "margin_window", "mapping_grid"]


def margin_window(tile_size, margin):
    """Blending weights zero within ``margin`` pixels of the tile edge, ``sin^2`` inside.

    The inner profile ``sin^2(pi (i + 1/2) / I)`` over the ``I = tile_size - 2 margin`` inner
    pixels sums to one when copies are shifted by ``I / 2``, so tiles at that stride blend
    without ripples; zero weight at the margin discards the pixels that see the tile edge.

    Parameters
    ----------
    tile_size, margin : int

    Returns
    -------
    numpy.ndarray
        ``(tile_size, tile_size)`` float64.

    Raises
    ------
    TilingError
        If the margins leave fewer than 2 inner pixels.
    """
    inner = int(tile_size) - 2 * int(margin)
    if inner < 2:
        raise TilingError(f"a {tile_size}-pixel tile with a {margin}-pixel margin leaves no "
                          "inner pixels; use a larger tile")
    profile = np.zeros(int(tile_size))
    profile[margin:margin + inner] = np.sin(np.pi * (np.arange(inner) + 0.5) / inner) ** 2
    return np.outer(profile, profile)


def mapping_grid(shape, tile_size, *, margin, stride):
    """Tiles whose inner parts (inside the margins) cover the whole map.

    Tile origins sit at ``-margin + k * stride``, so with ``margin`` and ``stride`` multiples of
    the network's pooling factor every tile sees the map on the same pixel lattice as
    whole-map inference would. Tiles reaching past the edges are filled by reflection.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``.
    tile_size, margin, stride : int

    Returns
    -------
    glue_turbml.core.TileGrid
    """
    starts = []
    for size in shape:
        count = max(1, int(np.ceil((size + 2 * margin - tile_size) / stride)) + 1)
        starts.append(tuple(-margin + stride * index for index in range(count)))
    return TileGrid(shape=tuple(int(size) for size in shape), tile_size=int(tile_size),
                    stride=int(stride), boundary="reflect", starts_y=starts[0],
                    starts_x=starts[1])


def _check_image_to_image(card):
    if card["task"] != "image_to_image":
        raise ValueError(f"model {card['name']!r} is a {card['task']} model; map_image needs an "
                         "image_to_image model (see 'turbml models list')")


def _tile_options(card, tile_size):
    from ..models.card_bounds import TILE_SIZE_RANGE

    spatial_multiple = card["input"].get("spatial_multiple", 1)
    margin = card["tiling"].get("window_margin", 0)
    tile_size = card["input"]["tile_size"] if tile_size is None else int(tile_size)
    largest = TILE_SIZE_RANGE[1]
    if tile_size % spatial_multiple or tile_size - 2 * margin < 2 * spatial_multiple \
            or tile_size > largest:
        raise TilingError(f"--tile-size (tile_size= in Python) must be a multiple of "
                          f"{spatial_multiple} larger than "
                          f"{2 * margin + 2 * spatial_multiple} px and at most {largest} px (every "
                          f"activation grows with it) for model {card['name']!r}, got "
                          f"{tile_size}")
    stride = card["tiling"]["stride"] if tile_size == card["input"]["tile_size"] \
        else (tile_size - 2 * margin) // 2
    return tile_size, margin, stride


def map_array(image, runner, *, unit=None, depth=None, wcs=None, input_name="image",
              tile_size=None, batch_size=16, progress=False):
    """Run an opened image-to-image model over one 2D map (what its card's input quantity
    says: a column-density map or a density slice).

    Parameters
    ----------
    image : numpy.ndarray
        2D map; NaN allowed (NaN in the outputs). Not modified.
    runner : glue_turbml.models.ModelRunner
        An opened model whose card's task is ``image_to_image``.
    unit : astropy.units.UnitBase, optional
        Unit of ``image`` (checked against the card by `check_input_unit`).
    depth : astropy.units.Quantity, optional
        Line-of-sight depth, for column-density models only; with a physical ``unit`` the
        result also holds <n>_m in cm-3.
    wcs : astropy.wcs.WCS, optional
        Kept in the result.
    input_name : str
    tile_size : int, optional
        Network input side; the card's by default. Larger tiles recompute fewer pixels.
    batch_size : int
        Tiles per onnxruntime call.
    progress : bool or callable

    Returns
    -------
    MappingResult

    Raises
    ------
    ValueError
        For a model that is not an image-to-image model.
    glue_turbml.inputs.InputError
        For a wrong unit, a bad depth, or a map whose mean is not positive.
    glue_turbml.core.TilingError
        For a non-2D map, a map smaller than the tile interior, all NaN, or with no usable tile.
    """
    card = runner.card
    _check_image_to_image(card)
    density_unit = check_input_unit(card, unit, depth=depth, input_name=input_name)
    image = np.asarray(image)
    if image.ndim != 2:
        raise TilingError(f"{input_name}: needs a 2D map, got shape {image.shape}")
    tile_size, margin, stride = _tile_options(card, tile_size)
    inner = tile_size - 2 * margin
    if min(image.shape) < inner:
        raise TilingError(f"{input_name}: the map is {image.shape[0]}x{image.shape[1]} pixels; "
                          f"model {card['name']!r} needs at least {inner}x{inner}")
    finite = np.isfinite(image)
    if not finite.any():
        raise TilingError(f"{input_name}: the map is entirely NaN (no data to map)")
    mean_value = float(np.mean(image[finite], dtype=np.float64))
    if not mean_value > 0:
        what = "column-density map" if input_quantity(card) == "column_density" \
            else "density slice"
        raise InputError(f"{input_name}: the mean of the finite pixels is {mean_value:.3g}; a "
                         f"{what} must be positive on average")
    # The card says whether the net expects N / mean(N) (scale-free) or N itself.
    divisor = mean_value if card["input"].get("normalization", "none") == "map_mean" else 1.0
    ratio = image.astype(np.float64) / divisor
    grid = mapping_grid(image.shape, tile_size, margin=margin, stride=stride)
    tiled = tiled_input_on_grid(ratio, finite, grid, card, input_name=input_name,
                                nothing_left=(f"{input_name}: every {tile_size}x{tile_size} tile "
                                              "is mostly NaN; nothing left to map"))
    # Mean and variance per tile pixel; skipped tiles stay NaN and get no weight.
    tile_maps = np.full((grid.n_tiles, 2, tile_size, tile_size), np.nan, dtype=np.float32)
    advance, close = tile_progress(progress, int(tiled.used.size))
    try:
        for chunk, tiles in tiled.chunks(chunk_tiles=max(batch_size, 64)):
            prediction = runner.run(tiles, batch_size=batch_size, on_batch=advance,
                                    map_statistics=tiled.map_statistics)
            tile_maps[chunk, 0] = prediction[:, 0]
            tile_maps[chunk, 1] = np.exp(prediction[:, 1].astype(np.float64))
    finally:
        close()
    blended = stitch_tiles(tile_maps, grid, window=margin_window(tile_size, margin))
    blended[:, ~finite] = np.nan
    log_ratio = blended[0].astype(np.float32)
    sigma = np.sqrt(blended[1]).astype(np.float32)
    density = None
    mean_column = mean_value
    if unit is not None:
        from astropy import units as u

        mean_column = mean_value * unit
        if density_unit is not None:
            mean_density = (mean_column / depth).to(density_unit)
            density = u.Quantity(10.0 ** log_ratio.astype(np.float64) * mean_density.value,
                                 density_unit)
    return MappingResult(
        log_ratio=log_ratio, sigma=sigma, density=density,
        mean_column_density=mean_column, filled_mask=tiled.filled_mask, n_tiles=grid.n_tiles,
        n_tiles_used=int(tiled.used.size), tile_size=tile_size, stride=stride, window_margin=margin,
        wcs=wcs, model_card=card, session_info=runner.info,
        preprocessing="divide by map mean > " + tiled.pipeline.description,
        input_name=input_name, depth=depth, domain=check_map(card, image, grid, tiled.used),
        map_statistics=None if tiled.map_statistics is None else dict(zip(
            card["input"]["map_statistics"]["names"],
            (float(value) for value in tiled.map_statistics))))


def map_image(data, *, model, device="auto", depth=None, hdu=None, component=None, axis=None,
              slice_index=None, projection=None, tile_size=None, batch_size=16, progress=False):
    """Map a 2D map with an image-to-image model, with a per-pixel uncertainty: a column-density
    map to the mass-weighted mean density <n>_m, or a density slice to the magnetic energy.

    What the model maps comes from its card (``input.quantity``, see
    `glue_turbml.mapping.input_units`).

    Parameters
    ----------
    data : array_like, Quantity, (array, WCS), str, path, HDU, HDUList, NDData or glue Data
        A 2D map, or a cube reduced by ``slice_index``/``projection`` (see
        `glue_turbml.inputs.parse_input`): a column-density map for column-density models, a
        density slice (``slice_index``; projections are refused) for density-slice models.
        Units come from a Quantity or the FITS ``BUNIT``; a unitless map is taken as
        proportional to the model's input quantity. Never modified.
    model : str or path
        An image-to-image model name (e.g. ``"mass-weighted-density"``) or ``.onnx`` path.
    device : {"auto", "cpu", "cuda"}
    depth : astropy.units.Quantity, optional
        Line-of-sight depth of the cloud (e.g. ``2 * u.pc``), column-density models only. With
        a map in column-density units, the result also holds <n>_m in cm-3 = 10^log_ratio x
        mean(N) / depth.
    hdu, component, axis, slice_index, projection
        As for `glue_turbml.classify`.
    tile_size : int, optional
        Network input side (a multiple of the card's ``spatial_multiple``); the card's default.
    batch_size : int
        Tiles per onnxruntime call.
    progress : bool or callable

    Returns
    -------
    glue_turbml.mapping.MappingResult
        ``log_ratio`` (also ``log_density_ratio``) and ``sigma`` maps (dex), optional
        ``density`` Quantity map, the input WCS and the provenance; ``.write(path)`` saves FITS
        with BUNIT.

    Raises
    ------
    glue_turbml.inputs.InputError
        For unreadable input, a unit that is not the model's input quantity, a bad depth (or
        any depth for a density-slice model), or a cube projection for a density-slice model.
    glue_turbml.core.TilingError
        For a map that is too small or has no usable tile.
    glue_turbml.models.ModelNotFoundError, glue_turbml.models.ModelLoadError
    ValueError
        For a model that is not an image-to-image model.

    Examples
    --------
    >>> import astropy.units as u
    >>> import glue_turbml
    >>> result = glue_turbml.map_image("N_H.fits", model="mass-weighted-density",
    ...                                depth=1 * u.pc)  # doctest: +SKIP
    >>> result.write("N_H_density.fits")  # doctest: +SKIP
    """
    parsed = parse_input(data, hdu=hdu, component=component)
    # The card (no session yet) decides which cube reductions and units fit, so a wrong input
    # fails before any onnxruntime session is made.
    loaded = resolve_model(model)
    _check_image_to_image(loaded.card)
    check_input_reduction(loaded.card, ndim=parsed.array.ndim,
                          axis=parsed.spectral_axis if axis is None else axis,
                          slice_index=slice_index, projection=projection,
                          input_name=parsed.name)
    image, wcs, unit = reduce_to_image(parsed, axis=axis, slice_index=slice_index,
                                       projection=projection)
    check_input_unit(loaded.card, unit, depth=depth, input_name=parsed.name)
    runner = open_model(loaded, device=device)
    return map_array(np.asarray(image), runner, unit=unit, depth=depth, wcs=wcs,
                     input_name=parsed.name, tile_size=tile_size, batch_size=batch_size,
                     progress=progress)
