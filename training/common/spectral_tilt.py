"""A training copy of a map whose power spectrum is tilted: the same phases and anisotropy, a
steeper or shallower radial slope.

Two MHD solvers (or one solver with two limiters, or two resolutions) at the same physical
parameters differ, among other things, in how fast their spectra fall between the driving and
the dissipation scales (issue 13: our density spectrum is shallower than another code's by
0.2-0.3 in slope). A network that never sees two slopes for the same class can read the slope
and learn the solver. Tilting each training copy's spectrum by a random amount, pivoted at a
wavenumber inside the inertial range, leaves it the cues that do not depend on the slope.
"""

import numpy as np

__all__ = ["spectrally_tilted"]


def spectrally_tilted(image, slope_change, *, pivot_cycles=4.0):
    """The positive map with the power spectrum of its logarithm tilted by ``slope_change``.

    The map's natural logarithm is transformed (periodic FFT), every Fourier amplitude at
    wavenumber ``|k|`` (cycles per map side) is multiplied by ``(|k| / pivot_cycles) **
    (slope_change / 2)``, so the power spectrum's log-log slope changes by ``slope_change``,
    and the result is exponentiated. The mean of the logarithm (``k = 0``) and every phase are
    kept, so the spatial pattern stays and the map stays positive.

    Parameters
    ----------
    image : array_like
        A 2D map of positive values (density or column density), periodic.
    slope_change : float
        Added to the log-log slope of the power spectrum: negative steepens (less small-scale
        power, as a more diffusive scheme or a lower resolution gives), positive flattens.
    pivot_cycles : float, optional
        The wavenumber (cycles per map side) whose amplitude is unchanged.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``image``.

    Raises
    ------
    ValueError
        If the map is not 2D, or holds a value that is not positive and finite (a logarithm
        is taken).
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"a spectral tilt needs a 2D map, got shape {image.shape}")
    if not np.all(np.isfinite(image)) or np.any(image <= 0):
        raise ValueError("a spectral tilt takes the logarithm of the map: every value must be "
                         "positive and finite (give density or column density, not its log)")
    if slope_change == 0:
        return image.copy()
    if pivot_cycles <= 0:
        raise ValueError(f"pivot_cycles must be positive, got {pivot_cycles}")
    rows, columns = image.shape
    wavenumber = np.hypot(*np.meshgrid(np.fft.fftfreq(rows) * rows,
                                       np.fft.rfftfreq(columns) * columns, indexing="ij"))
    gain = np.ones_like(wavenumber)
    nonzero = wavenumber > 0
    gain[nonzero] = (wavenumber[nonzero] / pivot_cycles) ** (slope_change / 2.0)
    log_map = np.log(image)
    tilted = np.fft.irfft2(np.fft.rfft2(log_map) * gain, s=image.shape)
    return np.exp(tilted)
