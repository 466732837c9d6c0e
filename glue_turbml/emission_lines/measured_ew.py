"""Emission-line equivalent widths measured directly from rest-frame spectra (side-band method).

For each line a straight continuum is fitted (least squares) to two line-free side bands, and
``(flux - continuum) / continuum`` is integrated over the line window in the rest frame, so the
EW is in rest-frame Angstrom and positive for emission, the convention of the emission-line
models. This is a simple aperture measurement, not a deblended line fit: it is what
`training.emission_lines.muse_check` compares the predictions with, and what the glue action
subtracts from them.
"""

import numpy as np

__all__ = ["LINE_WINDOWS", "MIN_BAND_PIXELS", "measurable_lines", "measure_equivalent_widths"]

#: Rest vacuum windows in Angstrom: ``line: (centre, (window), ((blue band), (red band)))``.
#: Bands avoid the neighbouring lines ([NII] beside H-alpha, the [SII] pair, [OIII] 4959/5007);
#: the H-alpha window lies between the two [NII] lines.
LINE_WINDOWS = {
    "OII_DOUBLET": (3728.5, (3718.0, 3738.0), ((3680.0, 3710.0), (3750.0, 3780.0))),
    "HGAMMA": (4341.684, (4332.0, 4352.0), ((4290.0, 4320.0), (4360.0, 4390.0))),
    "HBETA": (4862.683, (4853.0, 4873.0), ((4810.0, 4840.0), (4880.0, 4920.0))),
    "OIII_4959": (4960.295, (4950.0, 4971.0), ((4890.0, 4930.0), (4975.0, 4990.0))),
    "OIII_5007": (5008.240, (4998.0, 5019.0), ((4975.0, 4990.0), (5030.0, 5070.0))),
    "NII_6548": (6549.852, (6541.0, 6556.0), ((6480.0, 6530.0), (6605.0, 6660.0))),
    "HALPHA": (6564.613, (6556.0, 6573.0), ((6480.0, 6530.0), (6605.0, 6660.0))),
    "NII_6584": (6585.277, (6577.0, 6594.0), ((6480.0, 6530.0), (6605.0, 6660.0))),
    "SII_6716": (6718.294, (6710.0, 6725.5), ((6660.0, 6700.0), (6750.0, 6790.0))),
    "SII_6731": (6732.673, (6725.5, 6741.0), ((6660.0, 6700.0), (6750.0, 6790.0))),
}

#: Fewest finite side-band pixels for a continuum fit; fewer gives NaN.
MIN_BAND_PIXELS = 10


def measurable_lines(wavelength_rest, lines=None):
    """The lines whose window and both side bands lie inside the rest-frame grid.

    Parameters
    ----------
    wavelength_rest : array_like
        Rest-frame wavelengths (Angstrom, vacuum) of the spectral pixels.
    lines : iterable of str, optional
        Candidate lines; all of `LINE_WINDOWS` by default. Names without a window are ignored.

    Returns
    -------
    list of str
    """
    wavelength_rest = np.asarray(wavelength_rest, dtype=np.float64)
    low, high = np.nanmin(wavelength_rest), np.nanmax(wavelength_rest)
    names = LINE_WINDOWS if lines is None else [name for name in lines if name in LINE_WINDOWS]
    covered = []
    for name in names:
        _, _, bands = LINE_WINDOWS[name]
        if low <= bands[0][0] and bands[1][1] <= high:
            covered.append(name)
    return covered


def measure_equivalent_widths(wavelength_rest, flux, line):
    """Rest-frame EW of one line in each spectrum (Angstrom, positive = emission).

    Parameters
    ----------
    wavelength_rest : array_like
        ``(n_pixels,)`` increasing rest-frame vacuum wavelengths in Angstrom.
    flux : array_like
        ``(n_spectra, n_pixels)`` flux densities per unit wavelength (any scale). Not modified.
    line : str
        A key of `LINE_WINDOWS`.

    Returns
    -------
    numpy.ndarray
        ``(n_spectra,)`` float64; NaN where the side bands hold fewer than `MIN_BAND_PIXELS`
        finite pixels, the window has a NaN pixel, or the fitted continuum is not positive.

    Raises
    ------
    KeyError
        For a line without a window.
    ValueError
        For mismatched shapes or a grid that does not cover the window and bands (see
        `measurable_lines`).
    """
    if line not in LINE_WINDOWS:
        raise KeyError(f"no measurement window for line {line!r}; lines: "
                       f"{', '.join(LINE_WINDOWS)}")
    wavelength_rest = np.asarray(wavelength_rest, dtype=np.float64)
    flux = np.asarray(flux, dtype=np.float64)
    if flux.ndim != 2 or flux.shape[1] != wavelength_rest.size:
        raise ValueError(f"flux must be (n_spectra, {wavelength_rest.size}), got {flux.shape}")
    if line not in measurable_lines(wavelength_rest, [line]):
        raise ValueError(f"the rest-frame grid {wavelength_rest.min():.0f}-"
                         f"{wavelength_rest.max():.0f} A does not cover the window and side "
                         f"bands of {line}")
    centre, (window_low, window_high), bands = LINE_WINDOWS[line]
    in_bands = np.zeros(wavelength_rest.shape, dtype=bool)
    for low, high in bands:
        in_bands |= (wavelength_rest >= low) & (wavelength_rest < high)
    window = (wavelength_rest >= window_low) & (wavelength_rest < window_high)
    # Straight-line least squares per spectrum, over its finite band pixels only (closed form,
    # so a whole cube is fitted without a Python loop over spaxels).
    x = wavelength_rest[in_bands] - centre
    values = flux[:, in_bands]
    weight = np.isfinite(values).astype(np.float64)
    values = np.where(weight > 0, values, 0.0)
    s0 = weight.sum(axis=1)
    sx = weight @ x
    sxx = weight @ (x * x)
    sy = values.sum(axis=1)
    sxy = values @ x
    determinant = s0 * sxx - sx * sx
    usable = (s0 >= MIN_BAND_PIXELS) & (determinant > 0)
    safe = np.where(usable, determinant, 1.0)
    slope = (s0 * sxy - sx * sy) / safe
    intercept = (sy - slope * sx) / np.where(usable, s0, 1.0)
    window_wavelength = wavelength_rest[window]
    continuum = intercept[:, None] + slope[:, None] * (window_wavelength - centre)[None, :]
    window_flux = flux[:, window]
    usable &= np.all(np.isfinite(window_flux), axis=1) & np.all(continuum > 0, axis=1)
    safe_continuum = np.where(usable[:, None], continuum, 1.0)
    ew = np.trapezoid((window_flux - safe_continuum) / safe_continuum, window_wavelength, axis=1)
    return np.where(usable, ew, np.nan)
