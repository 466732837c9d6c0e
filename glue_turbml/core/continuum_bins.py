"""Binned rest-frame continuum features of galaxy spectra: line masking, bin means, colours.

Training (`training.emission_lines.data`) and inference (`glue_turbml.emission_lines`) both
compute the emission-line models' inputs here, so they cannot disagree. Everything is plain
numpy on ``(n_spectra, n_wavelengths)`` arrays sharing one rest-frame wavelength grid.
"""

import numpy as np

__all__ = [
    "EMISSION_LINE_NAMES",
    "EMISSION_LINE_WAVELENGTHS_VACUUM",
    "DESI_BIN_EDGES_ANGSTROM",
    "DEFAULT_MASK_HALF_WIDTH_ANGSTROM",
    "ContinuumBinError",
    "line_mask",
    "mask_emission_lines",
    "bin_means",
    "colours_from_bin_fluxes",
]

#: The ten lines of Khederlarian et al. (2024), in the order of the models' outputs.
EMISSION_LINE_NAMES = ("OII_DOUBLET", "HGAMMA", "HBETA", "OIII_4959", "OIII_5007", "NII_6548",
                       "HALPHA", "NII_6584", "SII_6716", "SII_6731")

#: Rest vacuum wavelengths (Angstrom) of every line masked before binning (DESI spectra are in
#: vacuum); the [OII] doublet has two components.
EMISSION_LINE_WAVELENGTHS_VACUUM = {
    "OII_DOUBLET": (3727.092, 3729.875),
    "HGAMMA": (4341.684,),
    "HBETA": (4862.683,),
    "OIII_4959": (4960.295,),
    "OIII_5007": (5008.240,),
    "NII_6548": (6549.852,),
    "HALPHA": (6564.613,),
    "NII_6584": (6585.277,),
    "SII_6716": (6718.294,),
    "SII_6731": (6732.673,),
}

#: 12 top-hat bins of 300 A from 3400 to 7000 A, rest frame (the DESI training data's bins).
DESI_BIN_EDGES_ANGSTROM = tuple(float(edge) for edge in np.arange(3400.0, 7000.1, 300.0))

#: Half-width of the window replaced by the interpolated continuum around each line; wide
#: enough for a 300 km/s line at H-alpha (sigma ~ 6.6 A) out to about two sigma.
DEFAULT_MASK_HALF_WIDTH_ANGSTROM = 15.0


class ContinuumBinError(ValueError):
    """Spectra or a wavelength grid that cannot be binned (shape, order, units)."""


def _check_grid(wavelength_rest, flux):
    wavelength_rest = np.asarray(wavelength_rest, dtype=np.float64)
    flux = np.asarray(flux)
    if wavelength_rest.ndim != 1:
        raise ContinuumBinError(f"the wavelength grid must be 1D, got shape "
                                f"{wavelength_rest.shape}")
    if flux.ndim != 2 or flux.shape[1] != wavelength_rest.size:
        raise ContinuumBinError(
            f"spectra must be (n_spectra, {wavelength_rest.size}) to match the wavelength grid, "
            f"got {flux.shape}")
    if wavelength_rest.size < 2 or not np.all(np.diff(wavelength_rest) > 0):
        raise ContinuumBinError("the wavelength grid must increase strictly; reverse the spectral "
                                "axis (and the spectra with it) if it decreases")
    return wavelength_rest, flux


def line_mask(wavelength_rest, *, half_width=DEFAULT_MASK_HALF_WIDTH_ANGSTROM,
              line_wavelengths=None):
    """Pixels within ``half_width`` of any emission line.

    Parameters
    ----------
    wavelength_rest : array_like
        ``(n_wavelengths,)`` rest-frame wavelengths in Angstrom.
    half_width : float, optional
        Angstrom either side of each line centre.
    line_wavelengths : iterable of float, optional
        Line centres; all of `EMISSION_LINE_WAVELENGTHS_VACUUM` by default.

    Returns
    -------
    numpy.ndarray of bool
        ``(n_wavelengths,)``, True on masked pixels.
    """
    wavelength_rest = np.asarray(wavelength_rest, dtype=np.float64)
    if line_wavelengths is None:
        line_wavelengths = [centre for centres in EMISSION_LINE_WAVELENGTHS_VACUUM.values()
                            for centre in centres]
    masked = np.zeros(wavelength_rest.shape, dtype=bool)
    for centre in line_wavelengths:
        masked |= np.abs(wavelength_rest - float(centre)) <= half_width
    return masked


def mask_emission_lines(wavelength_rest, flux, *, half_width=DEFAULT_MASK_HALF_WIDTH_ANGSTROM,
                        line_wavelengths=None):
    """Replace emission-line pixels by a straight line between their unmasked neighbours.

    Each run of masked pixels is interpolated between the last pixel before it and the first
    after it; a run touching either end of the grid, or next to a NaN neighbour, becomes NaN
    (there is no continuum to draw from, and guessing one would bias the bin mean).

    Parameters
    ----------
    wavelength_rest : array_like
        ``(n_wavelengths,)`` increasing rest-frame wavelengths in Angstrom.
    flux : array_like
        ``(n_spectra, n_wavelengths)``; not modified.
    half_width : float, optional
    line_wavelengths : iterable of float, optional
        See `line_mask`.

    Returns
    -------
    numpy.ndarray
        float64 copy of ``flux`` with the line windows replaced.

    Raises
    ------
    ContinuumBinError
        If the shapes do not match or the grid does not increase.
    """
    wavelength_rest, flux = _check_grid(wavelength_rest, flux)
    masked_flux = np.array(flux, dtype=np.float64, copy=True)
    masked = line_mask(wavelength_rest, half_width=half_width, line_wavelengths=line_wavelengths)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], masked.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):  # masked pixels start..stop-1
        if start == 0 or stop == wavelength_rest.size:
            masked_flux[:, start:stop] = np.nan
            continue
        left, right = start - 1, stop
        weight = ((wavelength_rest[start:stop] - wavelength_rest[left])
                  / (wavelength_rest[right] - wavelength_rest[left]))
        masked_flux[:, start:stop] = (masked_flux[:, [left]] * (1.0 - weight)
                                      + masked_flux[:, [right]] * weight)
    return masked_flux


def bin_means(wavelength_rest, flux, bin_edges=DESI_BIN_EDGES_ANGSTROM, *,
              min_valid_fraction=0.5):
    """Mean flux density of each spectrum in top-hat wavelength bins.

    A pixel belongs to bin ``j`` when ``bin_edges[j] <= wavelength < bin_edges[j + 1]``; the
    mean is over its finite pixels. A bin whose finite pixels number fewer than
    ``min_valid_fraction`` of the pixels a full grid would put in it (from the grid's median
    spacing) is NaN (a mostly-NaN spectrum), and so is every bin the grid does not span from
    edge to edge (to within one pixel): the wavelength range misses it.

    Parameters
    ----------
    wavelength_rest : array_like
        ``(n_wavelengths,)`` increasing rest-frame wavelengths in Angstrom.
    flux : array_like
        ``(n_spectra, n_wavelengths)``; not modified.
    bin_edges : sequence of float, optional
        Increasing bin edges in Angstrom (default: the 12 DESI bins).
    min_valid_fraction : float, optional

    Returns
    -------
    means : numpy.ndarray
        ``(n_spectra, n_bins)`` float64, NaN for bins without enough valid pixels.
    covered : numpy.ndarray of bool
        ``(n_bins,)``: whether the grid spans each bin with enough pixels (independent of NaNs
        in the spectra).

    Raises
    ------
    ContinuumBinError
        For mismatched shapes, a decreasing grid or edges.
    """
    wavelength_rest, flux = _check_grid(wavelength_rest, flux)
    bin_edges = np.asarray(bin_edges, dtype=np.float64)
    if bin_edges.ndim != 1 or bin_edges.size < 2 or not np.all(np.diff(bin_edges) > 0):
        raise ContinuumBinError(f"bin edges must increase strictly, got {bin_edges}")
    spacing = float(np.median(np.diff(wavelength_rest)))
    bin_index = np.searchsorted(bin_edges, wavelength_rest, side="right") - 1
    n_bins = bin_edges.size - 1
    finite = np.isfinite(flux)
    values = np.where(finite, flux, 0.0).astype(np.float64)
    means = np.full((flux.shape[0], n_bins), np.nan)
    covered = np.zeros(n_bins, dtype=bool)
    for j in range(n_bins):
        in_bin = bin_index == j
        expected = (bin_edges[j + 1] - bin_edges[j]) / spacing
        needed = max(1.0, min_valid_fraction * expected)
        # The grid must span the whole bin (to within a pixel): a bin mean over part of a
        # 300 A bin is not the feature the model was trained on.
        covered[j] = (in_bin.sum() >= needed and wavelength_rest[0] <= bin_edges[j] + spacing
                      and wavelength_rest[-1] >= bin_edges[j + 1] - spacing)
        if not covered[j]:
            continue
        counts = finite[:, in_bin].sum(axis=1)
        good = counts >= needed
        sums = values[:, in_bin].sum(axis=1)
        means[good, j] = sums[good] / counts[good]
    return means, covered


def colours_from_bin_fluxes(bin_fluxes):
    """The colours ``log10(f[j + 1] / f[j])`` of adjacent bins, the models' input features.

    Parameters
    ----------
    bin_fluxes : array_like
        ``(n_spectra, n_bins)`` mean flux densities (any flux-density unit: it cancels).

    Returns
    -------
    numpy.ndarray
        ``(n_spectra, n_bins - 1)`` float64; NaN for a spectrum where either bin is NaN or not
        positive (a colour of a non-positive flux has no meaning).
    """
    bin_fluxes = np.asarray(bin_fluxes, dtype=np.float64)
    if bin_fluxes.ndim != 2 or bin_fluxes.shape[1] < 2:
        raise ContinuumBinError(f"bin fluxes must be (n_spectra, n_bins >= 2), got "
                                f"{bin_fluxes.shape}")
    positive = np.where(bin_fluxes > 0, bin_fluxes, np.nan)
    with np.errstate(invalid="ignore"):
        return np.log10(positive[:, 1:] / positive[:, :-1])
