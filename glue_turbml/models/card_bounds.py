"""Bounds on model-card values that keep a model's cost sane, and the cost a card implies.

The schema says what a card may look like; these bounds say what this runtime agrees to run.
Each bound is set from what real models need (the shipped cards, and the cards the training
code writes), with a margin, so a typo or a hostile card (``nbins = 10**9``, ``stride = 1``) is
refused when the model is loaded, with a message naming the field, instead of failing late with
a ``MemoryError`` or running for hours.
"""

import math
import numbers

__all__ = [
    "TILE_SIZE_RANGE",
    "MAX_TILE_OVERLAP",
    "MIN_STRIDE",
    "MAX_PREPROCESS_STEPS",
    "NBINS_RANGE",
    "MAX_SMOOTHING_SIGMA_PX",
    "MAX_BIN_EDGES",
    "MAX_MASKED_LINES",
    "MAX_MASK_HALF_WIDTH_ANGSTROM",
    "passes_per_megapixel",
    "input_values_per_megapixel",
    "card_bound_problems",
    "chosen_stride",
]

#: Tile side in pixels. The shipped image models use 128; the Alfven classifier exports whole
#: simulation slices (256 or 512 px); 1024 leaves a factor two. Above it one tile of a 64-tile
#: batch holds 4 MiB per channel and every activation grows with it.
TILE_SIZE_RANGE = (8, 1024)
#: Tiles overlap at most this much per axis (``stride >= tile_size / MAX_TILE_OVERLAP``): each map
#: pixel is then seen by at most 64 network passes. Shipped models overlap by 2 (stride 64 of 128)
#: and 4 (stride 32 of 128, the U-Net); stride 1 on 128 px tiles would be 16,384 passes a pixel.
MAX_TILE_OVERLAP = 8
#: Smallest stride whatever the tile size: at most 62,500 passes per megapixel (1e6 / 4**2), each
#: with its own preprocessing call. Half-overlapping 8 px tiles, the smallest sane case, need 4.
MIN_STRIDE = 4
#: Preprocessing steps in a card. Shipped cards have one or two, tests three; each step runs on
#: every tile, so a list of thousands would multiply the cost without changing the model.
MAX_PREPROCESS_STEPS = 16
#: ``equalize_hist`` bins. Shipped cards use 256; 65536 is 16-bit depth, already more bins than
#: a 128 px tile has pixels. ``nbins = 10**9`` allocates 7.8 GB per tile.
NBINS_RANGE = (2, 65536)
#: Width of the saliency overlay's Gaussian smoothing (default 3 px). scipy's kernel spans 8
#: sigma, so the cost per pixel grows with it; 64 px smooths more than any tile has detail.
MAX_SMOOTHING_SIGMA_PX = 64.0
#: Rest-frame bin edges of a spectral model (the shipped ones have 9 and 13). Each bin is one
#: pass over every spectrum; the schema allows 64 features, and 1024 edges is far beyond that.
MAX_BIN_EDGES = 1024
#: Emission-line centres masked before binning (the shipped cards list 11); each is one pass over
#: every spectrum.
MAX_MASKED_LINES = 256
#: Half width of each line mask (shipped: 15 A). 1000 A would mask whole continuum bins.
MAX_MASK_HALF_WIDTH_ANGSTROM = 1000.0

_MEGAPIXEL = 1e6


def passes_per_megapixel(card):
    """Network passes (tiles, or spectra for a card whose input layout is ``"NC"``) needed for
    one million map pixels (or spaxels), ignoring the extra tiles along a map's edges.

    Parameters
    ----------
    card : dict
        A card that passed the schema.

    Returns
    -------
    float
        ``1e6 / stride**2`` for tiled models, ``1e6`` for per-spectrum models.

    Examples
    --------
    >>> passes_per_megapixel({"input": {"layout": "NCHW", "tile_size": 128},
    ...                       "tiling": {"stride": 64}})
    244.140625
    """
    if card["input"]["layout"] == "NC":
        return _MEGAPIXEL
    return _MEGAPIXEL / card["tiling"]["stride"] ** 2


def input_values_per_megapixel(card):
    """Values fed to the network for one million map pixels: passes times the values of one pass
    (``channels * tile_size**2``, or ``channels`` features of one spectrum)."""
    spec = card["input"]
    per_pass = spec["channels"] * (spec["tile_size"] ** 2 if spec["layout"] != "NC" else 1)
    return passes_per_megapixel(card) * per_pass


def card_bound_problems(card):
    """Yield one message per card value outside the bounds of this module.

    Parameters
    ----------
    card : dict
        A card that passed the schema (types and required fields are not checked again).

    Yields
    ------
    str
        ``"card field <path> = <value> <problem> (<why>)"``, e.g.
        ``"card field preprocess[1].nbins = 1000000000 exceeds 65536 (...)"``.
    """
    yield from _preprocess_problems(card["preprocess"])
    if card["input"]["layout"] == "NC":
        yield from _spectral_problems(card["input"]["spectral"])
    else:
        yield from _tiling_problems(card)
    overlay = card["saliency"].get("overlay", {})
    if "smoothing_sigma_px" in overlay:
        yield from _number_problems("saliency.overlay.smoothing_sigma_px",
                                    overlay["smoothing_sigma_px"], high=MAX_SMOOTHING_SIGMA_PX,
                                    why="the Gaussian kernel's cost grows with its width")
    if "contour_quantile" in overlay:
        yield from _number_problems("saliency.overlay.contour_quantile",
                                    overlay["contour_quantile"], why="a quantile")


def _field(path, value, problem, why):
    return f"card field {path} = {value!r} {problem} ({why})"


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number_problems(path, value, *, low=None, high=None, low_inclusive=True, why):
    """A real, finite number within the given limits (JSON parsing lets NaN and Infinity in, and
    the schema's minimum and maximum let NaN pass)."""
    if not _is_real(value) or not math.isfinite(value):
        yield _field(path, value, "is not a finite number", why)
    elif low is not None and (value < low or (value == low and not low_inclusive)):
        yield _field(path, value, f"is below {low}" if low_inclusive else f"must exceed {low}",
                     why)
    elif high is not None and value > high:
        yield _field(path, value, f"exceeds {high}", why)


def _integer_problems(path, value, low, high, why):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        yield _field(path, value, "is not an integer", why)
    elif value < low:
        yield _field(path, value, f"is below {low}", why)
    elif value > high:
        yield _field(path, value, f"exceeds {high}", why)


def _preprocess_problems(steps):
    if len(steps) > MAX_PREPROCESS_STEPS:
        yield (f"card field preprocess has {len(steps)} steps, more than {MAX_PREPROCESS_STEPS} "
               "(each step runs on every tile; real pipelines have one to three)")
    for index, step in enumerate(steps):
        path = f"preprocess[{index}]"
        op = step["op"]
        if op == "equalize_hist" and "nbins" in step:
            yield from _integer_problems(f"{path}.nbins", step["nbins"], *NBINS_RANGE,
                                         why="histogram bins are allocated per tile; shipped "
                                         "models use 256")
        elif op == "log10" and step.get("floor") is not None:
            yield from _number_problems(f"{path}.floor", step["floor"], low=0,
                                        low_inclusive=False,
                                        why="the value non-positive pixels are raised to")
        elif op == "ffp":
            if "relative_tolerance" in step:
                yield from _number_problems(f"{path}.relative_tolerance",
                                            step["relative_tolerance"], low=0, high=0.5,
                                            why="a fraction of the largest Fourier amplitude; "
                                            "the default is 1e-12")
            if step.get("edges", "periodic") not in ("periodic", "mirror"):
                yield _field(f"{path}.edges", step["edges"], "is not 'periodic' or 'mirror'",
                             "how fixed Fourier power treats map edges")


def chosen_stride(card, stride):
    """The stride a run uses: the card's, or the user's within the card's bounds.

    Parameters
    ----------
    card : dict
    stride : int or None
        What the user asked for (``--stride``, ``stride=``); None for the card's.

    Returns
    -------
    int

    Raises
    ------
    glue_turbml.core.TilingError
        For a stride below ``max(MIN_STRIDE, tile_size / MAX_TILE_OVERLAP)`` (the cost bound a
        card is held to) or above the tile size (pixels between tiles would never be seen).
    """
    from ..core.tiling import TilingError

    if stride is None:
        return int(card["tiling"]["stride"])
    tile_size = card["input"]["tile_size"]
    lowest = max(MIN_STRIDE, math.ceil(tile_size / MAX_TILE_OVERLAP))
    if not isinstance(stride, numbers.Integral) or not lowest <= stride <= tile_size:
        raise TilingError(
            f"--stride {stride} (stride= in Python): model {card['name']!r} takes "
            f"{tile_size} px tiles, so give {lowest} to {tile_size} px (default "
            f"{card['tiling']['stride']}); a smaller stride multiplies the network passes, a "
            "larger one skips pixels between tiles")
    return int(stride)


def _tiling_problems(card):
    tile_size = card["input"]["tile_size"]
    tiling = card["tiling"]
    yield from _integer_problems("input.tile_size", tile_size, *TILE_SIZE_RANGE,
                                 why="shipped models use 128 px; larger tiles grow every "
                                 "activation of a batch")
    stride = tiling["stride"]
    lowest = max(MIN_STRIDE, math.ceil(tile_size / MAX_TILE_OVERLAP))
    if stride < lowest:
        passes = passes_per_megapixel(card)
        yield _field(
            "tiling.stride", stride, f"is below {lowest}",
            f"{passes:,.0f} network passes of {tile_size}x{tile_size} tiles per megapixel, each "
            f"map pixel seen {(tile_size / stride) ** 2:,.0f} times; the stride must be at least "
            f"tile_size/{MAX_TILE_OVERLAP} and {MIN_STRIDE} px")
    yield from _number_problems("tiling.min_valid_fraction", tiling["min_valid_fraction"],
                                low=0, high=1, why="a fraction of a tile's pixels")
    margin = tiling.get("window_margin", 0)
    multiple = card["input"].get("spatial_multiple", 1)
    if tile_size % multiple:
        yield _field("input.spatial_multiple", multiple,
                     f"does not divide input.tile_size {tile_size}",
                     "the network cannot take the card's own tiles")
    elif tile_size - 2 * margin < 2 * multiple:
        yield _field("tiling.window_margin", margin,
                     f"leaves less than {2 * multiple} px of a {tile_size} px tile between the "
                     "margins", "tiles would have no centre to keep")


def _spectral_problems(spectral):
    edges = spectral["bin_edges"]
    if len(edges) > MAX_BIN_EDGES:
        yield (f"card field input.spectral.bin_edges has {len(edges)} edges, more than "
               f"{MAX_BIN_EDGES} (each bin is one pass over every spectrum)")
    elif not all(_is_real(edge) and math.isfinite(edge) for edge in edges) or any(
            later <= earlier for earlier, later in zip(edges, edges[1:])):
        yield ("card field input.spectral.bin_edges is not a strictly increasing list of finite "
               "wavelengths")
    centres = [(name, centre) for name, values in spectral["masked_lines"].items()
               for centre in values]
    if len(centres) > MAX_MASKED_LINES:
        yield (f"card field input.spectral.masked_lines lists {len(centres)} line centres, more "
               f"than {MAX_MASKED_LINES} (each is one pass over every spectrum)")
    for name, centre in centres[:MAX_MASKED_LINES]:
        yield from _number_problems(f"input.spectral.masked_lines.{name}", centre, low=0,
                                    low_inclusive=False, why="a rest wavelength in Angstrom")
    yield from _number_problems("input.spectral.mask_half_width_angstrom",
                                spectral["mask_half_width_angstrom"], low=0,
                                high=MAX_MASK_HALF_WIDTH_ANGSTROM,
                                why="shipped models mask 15 A either side of each line")
    yield from _number_problems("input.spectral.min_valid_fraction",
                                spectral["min_valid_fraction"], low=0, low_inclusive=False,
                                high=1, why="a fraction of a bin's pixels")
    for index, value in enumerate(spectral.get("redshift_range_trained", [])):
        yield from _number_problems(f"input.spectral.redshift_range_trained[{index}]", value,
                                    why="a redshift")
