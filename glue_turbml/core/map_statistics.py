"""Statistics of a whole preprocessed map, computed once before it is tiled.

A U-Net reads each pixel's neighbourhood, so what it cannot see is the map's own character (how
broad its distribution is, how steep its spectrum): classes of simulation run differ in how far
the net's errors go although their local features look alike. A model may therefore read a few
statistics of the whole map beside every tile. They are computed here, on the whole map, before
any tile is cut, so training on whole maps and inference on tiles of any size see the same
numbers, and tiling cannot change an answer.
"""

import numpy as np

from .spectra import fit_power_law_slope, radial_power_spectrum

__all__ = ["MAP_STATISTICS", "SPECTRAL_SLOPE_RANGE", "map_statistics"]

#: The statistics a model card may name, each of the preprocessed map's finite pixels (the
#: spectral slope of the map with its NaN pixels filled).
MAP_STATISTICS = {
    "std": "standard deviation of the preprocessed map",
    "skewness": "skewness of the preprocessed map",
    "excess_kurtosis": "excess kurtosis (0 for a Gaussian) of the preprocessed map",
    "spectral_slope": "slope of log10 P(k) against log10 k of the radial power spectrum of "
                      "the preprocessed map mirrored into one that wraps around, k from 2 "
                      "cycles per map side to a quarter of the shorter side in pixels",
}

#: The fit range of ``spectral_slope``: from this many cycles per map side to this fraction of
#: the shorter side in pixels (the smallest scales, where pixelisation and the beam bend the
#: spectrum, stay out).
SPECTRAL_SLOPE_RANGE = (2.0, 0.25)


def _spectral_slope(filled):
    # mirrored into a map that wraps around: a map that does not (an observed one) then adds
    # no jump at its edges, whose k^-2 leakage would flatten the slope; a periodic simulation
    # map is treated the same way, so training and inference compute the same number
    mirrored = np.concatenate([filled, filled[::-1]], axis=0)
    mirrored = np.concatenate([mirrored, mirrored[:, ::-1]], axis=1)
    wavenumber, power = radial_power_spectrum(mirrored)
    k_min, fraction = SPECTRAL_SLOPE_RANGE
    side = min(filled.shape)
    # the mirrored map's wavenumbers are per twice the side: halve them
    return fit_power_law_slope(wavenumber / 2.0, power, k_min=k_min,
                               k_max=max(fraction * side, k_min + 1.0))


def map_statistics(image, names):
    """The named statistics of one preprocessed 2D map.

    Parameters
    ----------
    image : array_like
        ``(ny, nx)`` map as the model reads it (after its preprocessing); NaN pixels are left
        out of the moments and filled with their nearest finite neighbour for the spectrum.
        Not modified.
    names : sequence of str
        Keys of `MAP_STATISTICS`, in the order wanted.

    Returns
    -------
    numpy.ndarray
        ``(len(names),)`` float32.

    Raises
    ------
    ValueError
        For an unknown name, a map that is not 2D, or one with fewer than 16 finite
        pixels or no spread (the statistics are then undefined).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> stats = map_statistics(rng.normal(scale=0.3, size=(64, 64)), ["std", "skewness"])
    >>> bool(abs(stats[0] - 0.3) < 0.02 and abs(stats[1]) < 0.2)
    True
    """
    from .tiling import fill_nan_nearest

    unknown = [name for name in names if name not in MAP_STATISTICS]
    if unknown:
        raise ValueError(f"unknown map statistics {unknown}; known: {', '.join(MAP_STATISTICS)}")
    field = np.asarray(image, dtype=np.float64)
    if field.ndim != 2:
        raise ValueError(f"map statistics need a 2D map, got shape {field.shape}")
    values = field[np.isfinite(field)]
    if values.size < 16:
        raise ValueError(f"map statistics need at least 16 finite pixels, got {values.size}")
    deviation = values - values.mean()
    spread = np.sqrt(np.mean(deviation ** 2))
    if not spread > 0:
        raise ValueError("map statistics of a constant map are undefined (no spread)")
    standardized = deviation / spread
    result = []
    for name in names:
        if name == "std":
            result.append(spread)
        elif name == "skewness":
            result.append(np.mean(standardized ** 3))
        elif name == "excess_kurtosis":
            result.append(np.mean(standardized ** 4) - 3.0)
        else:
            filled = field if values.size == field.size else fill_nan_nearest(field)[0]
            result.append(_spectral_slope(filled))
    return np.asarray(result, dtype=np.float32)
