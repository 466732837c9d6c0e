"""Radially averaged Fourier power spectra of maps and their power-law slopes."""

import numpy as np

__all__ = ["radial_power_spectrum", "fit_power_law_slope"]


def radial_power_spectrum(image, *, subtract_mean=True):
    """Azimuthally averaged 2D power spectrum.

    Parameters
    ----------
    image : array_like
        2D map with finite values. Not modified.
    subtract_mean : bool, optional
        Remove the mean first so the k=0 mode does not dominate.

    Returns
    -------
    wavenumber : numpy.ndarray
        Mean ``|k|`` in each integer annulus ``[k - 1/2, k + 1/2)``, in cycles per map side
        (for non-square maps, per the shorter side), for k = 1 .. min(ny, nx) // 2.
    power : numpy.ndarray
        Mean ``|FFT|^2 / (ny nx)^2`` in each annulus.

    Examples
    --------
    >>> k, p = radial_power_spectrum(np.random.default_rng(1).normal(size=(64, 64)))
    >>> k.shape == p.shape == (32,)
    True
    """
    field = np.asarray(image, dtype=np.float64)
    if field.ndim != 2:
        raise ValueError(f"radial_power_spectrum needs a 2D map, got shape {field.shape}")
    if not np.all(np.isfinite(field)):
        raise ValueError("radial_power_spectrum needs finite values; fill NaN pixels first")
    if subtract_mean:
        field = field - field.mean()
    ny, nx = field.shape
    power_2d = np.abs(np.fft.fft2(field)) ** 2 / (ny * nx) ** 2
    side = min(ny, nx)
    ky = np.fft.fftfreq(ny) * side
    kx = np.fft.fftfreq(nx) * side
    k_abs = np.hypot(*np.meshgrid(ky, kx, indexing="ij"))
    annulus = np.rint(k_abs).astype(int).ravel()
    k_max = side // 2
    counts = np.bincount(annulus, minlength=k_max + 1)[1:k_max + 1]
    k_sum = np.bincount(annulus, weights=k_abs.ravel(), minlength=k_max + 1)[1:k_max + 1]
    p_sum = np.bincount(annulus, weights=power_2d.ravel(), minlength=k_max + 1)[1:k_max + 1]
    return k_sum / counts, p_sum / counts


def fit_power_law_slope(wavenumber, power, *, k_min=None, k_max=None):
    """Least-squares slope of ``log10 P`` against ``log10 k``.

    Parameters
    ----------
    wavenumber, power : array_like
        As returned by `radial_power_spectrum`.
    k_min, k_max : float, optional
        Fit range (inclusive); all positive k by default.

    Returns
    -------
    float
        The slope, e.g. about ``-11/3`` for a Kolmogorov-like map.
    """
    k = np.asarray(wavenumber, dtype=float)
    p = np.asarray(power, dtype=float)
    keep = (k > 0) & (p > 0)
    if k_min is not None:
        keep &= k >= k_min
    if k_max is not None:
        keep &= k <= k_max
    if keep.sum() < 2:
        raise ValueError("need at least two positive wavenumbers in the fit range")
    slope, _ = np.polyfit(np.log10(k[keep]), np.log10(p[keep]), 1)
    return float(slope)
