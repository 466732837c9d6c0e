"""Scale-free statistics of raw tiles (before any preprocessing), the input half of the domain
check: what a tile of the training data looked like, in numbers a map of anything else misses."""

import numpy as np

__all__ = ["FEATURE_NAMES", "input_statistics"]

#: One column per statistic, in this order.
FEATURE_NAMES = (
    "log10_width",        # standard deviation of log10 of the positive pixels (dex)
    "log10_skew",         # skewness of log10 of the positive pixels
    "log10_slope",        # power-spectrum slope of the log10 tile over the card's k range
    "compact_peaks",      # fraction of pixels that are compact peaks (point-like sources)
    "nan_fraction",       # fraction of NaN/inf pixels
    "nonpositive_fraction",  # fraction of finite pixels <= 0 (log10 cannot read them)
    "saturated_fraction",    # fraction of finite pixels at the tile's maximum (clipped data)
)

#: A compact peak stands this many robust sigmas of the residual above its local median ...
PEAK_SIGMAS = 5.0
#: ... taken over this many pixels square (wider than a turbulent ridge is thick).
PEAK_BACKGROUND_PX = 9


def _skew(values):
    spread = values.std()
    if not spread > 0:
        return 0.0
    return float(np.mean(((values - values.mean()) / spread) ** 3))


def _slope(log_tile, k_range):
    from ..core import fit_power_law_slope, radial_power_spectrum

    k, power = radial_power_spectrum(log_tile)
    try:
        return fit_power_law_slope(k, power, k_min=k_range[0], k_max=k_range[1])
    except ValueError:  # a flat tile has no power to fit
        return 0.0


def _compact_peak_fraction(log_tile):
    """Pixels that are compact peaks: 3 x 3 maxima standing `PEAK_SIGMAS` robust sigmas above
    their local median, and more than twice as high as anything on the ring 3 px around them.

    Turbulent maps have ridges and sheets (which stay high along the ring) and few isolated
    spikes; stars and small galaxies are exactly that. The robust sigma is the tile's median
    absolute residual, so the test is scale-free.
    """
    from scipy.ndimage import maximum_filter, median_filter

    residual = log_tile - median_filter(log_tile, size=PEAK_BACKGROUND_PX, mode="reflect")
    sigma = 1.4826 * np.median(np.abs(residual - np.median(residual)))
    if not sigma > 0:
        sigma = np.finfo(float).tiny
    ring = np.ones((7, 7), dtype=bool)
    ring[1:-1, 1:-1] = False
    around = maximum_filter(residual, footprint=ring, mode="reflect")
    peaks = ((log_tile == maximum_filter(log_tile, size=3, mode="reflect"))
             & (residual > PEAK_SIGMAS * sigma) & (around < 0.5 * residual))
    return float(peaks.mean())


def input_statistics(tiles, *, k_range):
    """The `FEATURE_NAMES` statistics of each raw tile.

    Parameters
    ----------
    tiles : array_like
        ``(n, T, T)`` raw tiles (the values the user gave, before log10 or any other step);
        NaN allowed. Not modified.
    k_range : tuple of float
        Wavenumbers (cycles per tile) of the slope fit, e.g. ``(2, T / 4)``.

    Returns
    -------
    numpy.ndarray
        ``(n, len(FEATURE_NAMES))`` float64. A tile without positive pixels has width, skew,
        slope and peak fraction 0 (its fractions say what is wrong with it).
    """
    stack = np.asarray(tiles, dtype=np.float64)
    if stack.ndim == 2:
        stack = stack[np.newaxis]
    rows = []
    for tile in stack:
        finite = np.isfinite(tile)
        positive = finite & (tile > 0)
        n_finite = max(int(finite.sum()), 1)
        if positive.any():
            log_values = np.log10(tile[positive])
            log_tile = np.where(positive, np.log10(np.where(positive, tile, 1.0)),
                                log_values.min())
            shape = [log_values.std(), _skew(log_values), _slope(log_tile, k_range),
                     _compact_peak_fraction(log_tile)]
        else:
            shape = [0.0, 0.0, 0.0, 0.0]
        maximum = tile[finite].max() if finite.any() else np.nan
        at_maximum = int(np.sum(tile[finite] == maximum)) if finite.any() else 0
        rows.append(shape + [1.0 - finite.mean(),
                             float(np.sum(tile[finite] <= 0)) / n_finite,
                             (at_maximum / n_finite) if at_maximum > 1 else 0.0])
    return np.asarray(rows, dtype=np.float64)
