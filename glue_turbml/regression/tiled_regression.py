"""Estimating one scalar of a 2D map, with its uncertainty, tile by tile with a regression model.

A map regressor's card (task ``regression``, image input) lists two channels in its first
output: the value (e.g. ``spectral_index``) and ``log_variance``, the natural log of the variance
of the value, so each tile gives a value and a Gaussian sigma = exp(log_variance / 2). The map
is tiled exactly as `glue_turbml.classify` tiles it (card ``tiling``, NaN handling, the card's
preprocessing, the domain check), and the tiles are combined into one whole-map value and sigma
(`combine_tile_estimates`) and into per-pixel maps blended with the classifier's window.
"""

from dataclasses import dataclass

import numpy as np

from ..core import stitch_tiles
from ..domain import check_map
from ..domain.embedding import EMBEDDING_OUTPUT
from ..inputs import parse_input, reduce_to_image
from ..models import ModelCardError, ModelLoadError, open_model, resolve_model
from ..models.tasks import right_tool
from ..tiled_input import prepare_tiled_input, tile_progress
from .result import RegressionResult

__all__ = ["LOG_VARIANCE_CHANNEL", "RegressionOutput", "TileCombination", "regression_output",
           "combine_tile_estimates", "regress_array", "regress_image"]

#: Name of the second channel of a map regressor's first output.
LOG_VARIANCE_CHANNEL = "log_variance"


@dataclass(frozen=True)
class RegressionOutput:
    """What a map regressor estimates, read from channel 0 of its card's first output.

    Attributes
    ----------
    name : str
        E.g. ``"spectral_index"`` (glue component and FITS ``TM_QNAME``).
    label : str
        Text for people, e.g. ``"velocity spectral index"``; the name when the card has none.
    units : str
        Units of the value (``""`` for a dimensionless one); FITS ``BUNIT``.
    description : str
    """

    name: str
    label: str
    units: str
    description: str


def regression_output(card):
    """Check that a card describes a map regressor and read what it estimates.

    Parameters
    ----------
    card : dict
        A model card.

    Returns
    -------
    RegressionOutput

    Raises
    ------
    ValueError
        For a model of another task, or a per-spectrum regressor (the message names the
        entry point to use instead).
    glue_turbml.models.ModelCardError
        For a regressor whose first output does not list the two channels, value and
        ``log_variance``.
    """
    if card["task"] != "regression" or card["input"].get("layout") == "NC":
        kind = "per-spectrum regression" if card["task"] == "regression" else card["task"]
        raise ValueError(f"model {card['name']!r} is a {kind} model, not a map regressor; "
                         f"{right_tool(card)} (`turbml models list` shows each model's task)")
    output = card["outputs"][0]
    channels = output.get("channels") or []
    names = [channel["name"] for channel in channels]
    if len(channels) != 2 or names[1] != LOG_VARIANCE_CHANNEL:
        raise ModelCardError(
            f"model {card['name']!r}: its first output {output['name']!r} lists the channels "
            f"{names}; glue_turbml.regress reads map regressors whose first output has two "
            f"channels, the value and {LOG_VARIANCE_CHANNEL!r} (the natural log of its "
            "variance); re-export the model with such a card (glue_turbml.saliency explains "
            "any regressor)")
    value = channels[0]
    return RegressionOutput(name=value["name"], label=value.get("label", value["name"]),
                            units=value["units"], description=value["description"])


@dataclass(frozen=True)
class TileCombination:
    """The whole-map estimate made of per-tile values and sigmas (see `combine_tile_estimates`).

    Attributes
    ----------
    value : float
        Inverse-variance weighted mean of the tile values.
    sigma : float
        ``sqrt(sigma_rms**2 + spread**2)``, the reported whole-map uncertainty.
    sigma_rms : float
        Root mean square of the tile sigmas.
    spread : float
        Standard deviation of the tile values (``ddof=0``, as the classifier's spread).
    sigma_independent : float
        ``sqrt(1 / sum(1 / sigma_i**2))``: the uncertainty if the tiles were independent,
        which they are not (kept for comparison, never reported as the error).
    """

    value: float
    sigma: float
    sigma_rms: float
    spread: float
    sigma_independent: float


def combine_tile_estimates(values, sigmas):
    """Combine per-tile values and sigmas into one whole-map value and uncertainty.

    The value is the inverse-variance weighted mean ``sum(w_i v_i) / sum(w_i)``, ``w_i =
    1 / sigma_i**2``, so tiles the network is unsure of count less. Its formal error
    ``sqrt(1 / sum(w_i))`` shrinks as one over the square root of the number of tiles, which
    assumes independent errors; tiles of one map are not independent (they overlap, share the
    cloud's large-scale structure and the network's systematic error), so that error is far too
    optimistic. The reported sigma is instead ``sqrt(sigma_rms**2 + spread**2)``: the root mean
    square of the tile sigmas (what one tile can tell) combined with the standard deviation of
    the tile values (how much the tiles disagree). It never falls below a typical tile's sigma
    and grows when the map is not one uniform regime.

    Parameters
    ----------
    values, sigmas : array_like
        ``(n,)`` values and their 1-sigma uncertainties (positive) of the analysed tiles.

    Returns
    -------
    TileCombination

    Examples
    --------
    >>> combination = combine_tile_estimates([3.0, 4.0], [0.5, 0.5])
    >>> float(combination.value), round(float(combination.sigma), 4)
    (3.5, 0.7071)
    """
    values = np.asarray(values, dtype=np.float64)
    sigmas = np.asarray(sigmas, dtype=np.float64)
    weights = 1.0 / sigmas ** 2
    sigma_rms = float(np.sqrt(np.mean(sigmas ** 2)))
    spread = float(np.std(values))
    return TileCombination(value=float(np.sum(weights * values) / np.sum(weights)),
                           sigma=float(np.hypot(sigma_rms, spread)), sigma_rms=sigma_rms,
                           spread=spread, sigma_independent=float(np.sqrt(1.0 / weights.sum())))


def _tile_estimates(outputs, runner):
    """``(values, sigmas)`` of ``(n, 2)`` network outputs; refuse any other shape."""
    if outputs.ndim != 2 or outputs.shape[1] != 2:
        raise ModelLoadError(
            f"{runner.loaded.path}: the first output has shape {outputs.shape} for "
            f"{len(outputs)} tiles; a map regressor must give (batch, 2), the value and its "
            f"{LOG_VARIANCE_CHANNEL}, as its card says: re-export the model")
    log_variance = outputs[:, 1].astype(np.float64)
    return outputs[:, 0].astype(np.float64), np.exp(0.5 * log_variance)


def regress_array(image, runner, *, wcs=None, input_name="image", stride=None, boundary=None,
                  batch_size=64, progress=False):
    """Estimate the scalar a regression model measures on one 2D map, with its uncertainty.

    Parameters
    ----------
    image : numpy.ndarray
        2D map; NaN allowed (tiles mostly NaN are skipped, the few NaN pixels of the others
        filled from their neighbours, as `glue_turbml.classify` does). Not modified.
    runner : glue_turbml.models.ModelRunner
        An opened map regressor (see `regression_output`).
    wcs : astropy.wcs.WCS, optional
        Celestial WCS of the map, kept in the result.
    input_name : str
    stride : int, optional
        Tile stride; the card's by default.
    boundary : {"reflect", "periodic"}, optional
        Edge handling; the card's by default (``"periodic"`` for simulation slices).
    batch_size : int
        Tiles per onnxruntime call.
    progress : bool or callable
        ``True`` for a progress bar, or ``callable(done, total)`` called after each batch.

    Returns
    -------
    RegressionResult
        Whole-map value and sigma (`combine_tile_estimates`), per-tile values and sigmas,
        per-pixel maps blended from the tiles, the domain check and the provenance.

    Raises
    ------
    ValueError
        For a model that is not a map regressor.
    glue_turbml.models.ModelCardError
        For a regressor whose card does not list a value and a ``log_variance`` channel.
    glue_turbml.models.ModelLoadError
        When the network's output is not ``(batch, 2)``.
    glue_turbml.core.TilingError
        If the map is not 2D, smaller than a tile, all NaN, or every tile is mostly NaN.

    Examples
    --------
    >>> from glue_turbml.models import open_model
    >>> result = regress_array(column_density, open_model("spectral-index"))  # doctest: +SKIP
    >>> result.value, result.sigma  # doctest: +SKIP
    """
    card = runner.card
    quantity = regression_output(card)
    tiled = prepare_tiled_input(image, card, stride=stride, boundary=boundary,
                                input_name=input_name, purpose="measure")
    grid, used = tiled.grid, tiled.used
    tile_values = np.full(grid.n_tiles, np.nan)
    tile_sigmas = np.full(grid.n_tiles, np.nan)
    # the domain check's embedding part, when the card has one, reads the pooled features
    with_embedding = "embedding" in card.get("domain", {})
    names = (card["outputs"][0]["name"], EMBEDDING_OUTPUT) if with_embedding else None
    embeddings = []
    advance, close = tile_progress(progress, int(used.size))
    try:
        for chunk, tiles in tiled.chunks():
            outputs = runner.run(tiles, batch_size=batch_size, on_batch=advance, outputs=names)
            if with_embedding:
                outputs, features = outputs
                embeddings.append(features)
            tile_values[chunk], tile_sigmas[chunk] = _tile_estimates(np.asarray(outputs),
                                                                     runner)
    finally:
        close()
    # blend values and variances (not sigmas) with the classifier's window, as map_image does
    blended = stitch_tiles(np.stack([tile_values, tile_sigmas ** 2], axis=1), grid)
    blended[:, ~tiled.finite] = np.nan
    combination = combine_tile_estimates(tile_values[used], tile_sigmas[used])
    return RegressionResult(
        quantity=quantity, value=combination.value, sigma=combination.sigma,
        tile_values=tile_values, tile_sigmas=tile_sigmas, tile_origins=grid.origins,
        tile_valid_fraction=tiled.valid_fraction, tile_size=grid.tile_size,
        value_map=blended[0].astype(np.float32),
        sigma_map=np.sqrt(blended[1]).astype(np.float32), filled_mask=tiled.filled_mask,
        wcs=wcs, model_card=card, session_info=runner.info,
        preprocessing=tiled.pipeline.description, input_name=input_name,
        domain=check_map(card, image, grid, used,
                         embeddings=np.concatenate(embeddings) if with_embedding else None))


def regress_image(data, *, model, device="auto", hdu=None, component=None, axis=None,
                  slice_index=None, projection=None, stride=None, boundary=None, batch_size=64,
                  progress=False):
    """Estimate the scalar a regression model measures on a map, a cube plane or a projection.

    E.g. the velocity power-spectrum slope of a column-density map with ``spectral-index``.
    The model card is checked before any onnxruntime session is made.

    Parameters
    ----------
    data : array_like, (array, WCS), str, path, HDU, HDUList, SpectralCube, NDData or glue Data
        What to measure (see `glue_turbml.inputs.parse_input`). Never modified.
    model : str or path
        A map regressor's name (``turbml models list``) or ``.onnx`` path.
    device : {"auto", "cpu", "cuda"}
    hdu, component, axis, slice_index, projection
        As for `glue_turbml.classify`.
    stride : int, optional
        Tile stride in pixels; the model card's by default.
    boundary : {"reflect", "periodic"}, optional
        Edge handling; ``"periodic"`` for simulation slices.
    batch_size : int
        Tiles per onnxruntime call.
    progress : bool or callable
        ``True`` shows a progress bar; a callable gets ``(done, total)`` tile counts.

    Returns
    -------
    glue_turbml.regression.RegressionResult
        See `regress_array`; ``.write(path)`` saves FITS.

    Raises
    ------
    ValueError
        For a model that is not a map regressor (the message names the command to use).
    glue_turbml.inputs.InputError, glue_turbml.core.TilingError
        As for `glue_turbml.classify`.
    glue_turbml.models.ModelNotFoundError, glue_turbml.models.ModelLoadError,
    glue_turbml.models.ModelCardError
        For an unknown, corrupt or mismatched model.

    Examples
    --------
    >>> result = regress_image("N_H.fits", model="spectral-index")  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
    >>> result.write("N_H_spectral-index.fits")  # doctest: +SKIP
    """
    parsed = parse_input(data, hdu=hdu, component=component)
    loaded = resolve_model(model)
    regression_output(loaded.card)
    image, wcs, _ = reduce_to_image(parsed, axis=axis, slice_index=slice_index,
                                    projection=projection)
    runner = open_model(loaded, device=device)
    return regress_array(np.asarray(image), runner, wcs=wcs, input_name=parsed.name,
                         stride=stride, boundary=boundary, batch_size=batch_size,
                         progress=progress)
