"""Emission-line equivalent widths predicted from the continuum of spectra and spectral cubes.

Any 1D spectrum, stack of spectra or spectral cube is brought to the rest frame with the given
redshift, its emission lines are masked and interpolated over, the mean flux density is taken in
the model card's bins and the colours of adjacent bins go through the model
(`glue_turbml.core.continuum_bins` computes them exactly as training did). Cubes are processed in
chunks of spaxels, so a dask-backed SpectralCube is read a slab at a time.
"""

import numpy as np

from ..core.continuum_bins import (ContinuumBinError, bin_means, colours_from_bin_fluxes,
                                   mask_emission_lines)
from ..domain.colours import ColourDomainCheck, SpectraDomainResult
from ..inputs import InputError, parse_input
from .result import EmissionLineResult
from .velocity_axis import VELOCITY_CTYPES, doppler_convention, velocity_axis_wavelength

__all__ = ["DEFAULT_SPECTRAL_MODEL", "predict_emission_lines", "air_to_vacuum",
           "spectral_axis_angstrom", "wcs_spectral_axis", "redshift_from_header",
           "REDSHIFT_KEYWORDS"]

#: The shipped model used when none is named.
DEFAULT_SPECTRAL_MODEL = "desi-emission-lines"

#: Header keywords read as the source redshift, in this order.
REDSHIFT_KEYWORDS = ("REDSHIFT", "Z", "ZSPEC", "Z_SPEC")


def redshift_from_header(header):
    """The redshift a FITS header (or a glue ``Data.meta``) states, and its keyword.

    Parameters
    ----------
    header : astropy.io.fits.Header or mapping

    Returns
    -------
    tuple of (float, str) or None
        The first of `REDSHIFT_KEYWORDS` holding a number in [0, 20), or None.
    """
    for keyword in REDSHIFT_KEYWORDS:
        value = header.get(keyword)
        if value is None or isinstance(value, (bool, np.bool_)):
            continue
        try:
            redshift = float(value)
        except (TypeError, ValueError):
            continue
        if np.isfinite(redshift) and 0.0 <= redshift < 20.0:
            return redshift, keyword
    return None


def air_to_vacuum(wavelength_air):
    """Vacuum wavelengths (Angstrom) of air wavelengths (Angstrom), refractive index of air
    from the VALD3 fit to Morton (2000); accurate to well under 0.1 A in the optical."""
    wavelength_air = np.asarray(wavelength_air, dtype=np.float64)
    s2 = (1e4 / wavelength_air) ** 2
    index = (1.0 + 8.336624212083e-5 + 2.408926869968e-2 / (130.1065924522 - s2)
             + 1.599740894897e-4 / (38.92568793293 - s2))
    return wavelength_air * index


def spectral_axis_angstrom(wavelength, *, medium="vacuum"):
    """Observed wavelengths in vacuum Angstrom from a wavelength or frequency Quantity.

    Parameters
    ----------
    wavelength : astropy.units.Quantity or astropy.coordinates.SpectralCoord
        Wavelength, frequency or energy of each spectral pixel.
    medium : {"vacuum", "air"}
        Whether wavelengths were measured in air (converted to vacuum, the models' convention).

    Returns
    -------
    numpy.ndarray
        float64 vacuum wavelengths in Angstrom.

    Raises
    ------
    InputError
        If ``wavelength`` is not a Quantity with spectral units, or ``medium`` is unknown.
    """
    from astropy import units as u

    if not isinstance(wavelength, u.Quantity):
        raise InputError("the wavelength must be an astropy Quantity, e.g. "
                         "np.linspace(4000, 9000, 2000) * u.AA")
    try:
        angstrom = wavelength.to_value(u.AA, equivalencies=u.spectral())
    except u.UnitConversionError:
        raise InputError(f"the spectral axis is in {wavelength.unit}, which is not a wavelength, "
                         "frequency or energy; give wavelengths (e.g. in Angstrom)") from None
    if medium == "air":
        return air_to_vacuum(angstrom)
    if medium != "vacuum":
        raise InputError(f"medium must be 'vacuum' or 'air', got {medium!r}")
    return np.asarray(angstrom, dtype=np.float64)


def _spectral_ctype(wcs):
    from astropy.wcs import WCSSUB_SPECTRAL

    spectral = wcs.sub([WCSSUB_SPECTRAL])
    return spectral, spectral.wcs.ctype[0].upper()


def _stated_rest(spectral):
    """The rest frequency or wavelength a WCS states (RESTFRQ/RESTWAV), as a flag value."""
    if spectral.wcs.restwav > 0:
        return f"the header's RESTWAV is {spectral.wcs.restwav:.10g} m: --rest-wavelength " \
               f"'{spectral.wcs.restwav * 1e10:.10g} Angstrom' uses it"
    if spectral.wcs.restfrq > 0:
        return f"the header's RESTFRQ is {spectral.wcs.restfrq:.10g} Hz: --rest-wavelength " \
               f"'{spectral.wcs.restfrq:.10g} Hz' uses it"
    return None


def wcs_spectral_axis(wcs, n_channels, *, rest_wavelength=None):
    """Vacuum Angstrom of each channel from a WCS's spectral axis, and the medium it was in.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        A WCS with a spectral axis in wavelength or frequency, or in velocity together with
        ``rest_wavelength``.
    n_channels : int
    rest_wavelength : astropy.units.Quantity, optional
        Vacuum rest wavelength (or frequency) of the line a velocity axis refers to; the
        velocities become wavelengths with the Doppler convention of the axis type
        (`glue_turbml.emission_lines.velocity_axis.doppler_convention`: optical for ``VOPT``,
        radio for ``VRAD``, relativistic otherwise). Ignored for wavelength and frequency axes.

    Returns
    -------
    wavelength : numpy.ndarray
        ``(n_channels,)`` vacuum wavelengths in Angstrom.
    medium : {"air", "vacuum"}
        What the axis was given in (``AWAV`` is converted from air).

    Raises
    ------
    glue_turbml.inputs.InputError
        For a velocity axis without ``rest_wavelength``: it has no rest frame without a line.
    """
    from astropy import units as u

    spectral, ctype = _spectral_ctype(wcs)
    values = spectral.pixel_to_world_values(np.arange(n_channels))
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if ctype.startswith(VELOCITY_CTYPES):
        if rest_wavelength is None:
            stated = _stated_rest(spectral)
            raise InputError(
                f"the cube's spectral axis is a velocity ({ctype}); the rest frame needs "
                "wavelengths: give the vacuum rest wavelength of the line the velocities refer "
                "to, --rest-wavelength '6564.61 Angstrom' (rest_wavelength= in Python, or "
                "wavelength= per channel)" + (f"; {stated}" if stated else ""))
        observed, _ = velocity_axis_wavelength(values, spectral.wcs.cunit[0], ctype,
                                               rest_wavelength)
        return observed, "vacuum"
    quantity = values * u.Unit(spectral.wcs.cunit[0] or "m")
    medium = "air" if ctype.startswith("AWAV") else "vacuum"
    return spectral_axis_angstrom(quantity, medium=medium), medium


def _per_wavelength_factor(unit, wavelength_angstrom):
    """Factor turning f_nu into something proportional to f_lambda (colours need f_lambda)."""
    from astropy import units as u

    if unit is None:
        return None
    for candidate in (unit, unit * u.sr):
        if candidate.is_equivalent(u.Jy):
            return wavelength_angstrom ** -2.0
    return None


class _SpectraSource:
    """Spectra as ``(n_channels, *spatial)``, read in chunks of spatial rows."""

    def __init__(self, data, *, wavelength, medium, hdu, rest_wavelength=None):
        self.notes = []
        self.single_spectrum = False
        cube = data if type(data).__name__ in ("SpectralCube",
                                               "VaryingResolutionSpectralCube") else None
        if cube is not None:
            self.cube, self.array, self.unit, self.name = cube, None, cube.unit, "cube"
            self.shape = cube.shape
            self.header = cube.header
            celestial = cube.wcs.celestial
            if wavelength is None:
                observed, medium = self._from_wcs(cube.wcs, cube.shape[0], rest_wavelength)
            self.wcs = celestial
        else:
            self.cube = None
            parsed = parse_input(data, hdu=hdu)
            spectral_axis = parsed.spectral_axis
            array = parsed.array
            self.single_spectrum = array.ndim == 1
            self.unit, self.name = parsed.unit, parsed.name
            self.header = parsed.header
            if array.ndim == 3:
                if spectral_axis is None and wavelength is None:
                    raise InputError(
                        f"{parsed.name}: a cube needs a spectral WCS axis (CTYPEn WAVE, AWAV, "
                        "FREQ, or a velocity with --rest-wavelength) or, in Python, "
                        "`wavelength=` (a Quantity, one value per channel along the first "
                        "numpy axis)")
                axis = 0 if spectral_axis is None else spectral_axis
                array = np.moveaxis(array, axis, 0)
                self.wcs = parsed.wcs.celestial if parsed.wcs is not None else None
                if wavelength is None:
                    observed, medium = self._from_wcs(parsed.wcs, array.shape[0],
                                                      rest_wavelength)
            elif array.ndim in (1, 2):
                if wavelength is None:
                    raise InputError(f"{parsed.name}: a {array.ndim}D spectrum has no spectral "
                                     "WCS axis here; `turbml spectra` reads 3D cubes with one, "
                                     "and in Python it needs `wavelength=` (a Quantity, one "
                                     "value per pixel)")
                # Spectra along the last axis, like a table of spectra (n_spectra, n_pixels).
                array = array[:, None] if array.ndim == 1 else array.T
                self.wcs = None
                if self.name == "image":  # the parser's name for bare arrays
                    self.name = "spectrum" if self.single_spectrum else "spectra"
            else:
                raise InputError(f"{parsed.name}: expected a 1D spectrum, a 2D stack of spectra "
                                 f"or a 3D cube, got {array.ndim} dimensions")
            self.array = array
            self.shape = array.shape
        if wavelength is not None:
            observed = spectral_axis_angstrom(wavelength, medium=medium)
        if observed.shape != (self.shape[0],):
            raise InputError(f"{self.name}: {observed.size} wavelengths for {self.shape[0]} "
                             "spectral channels")
        if medium == "air":
            self.notes.append("air wavelengths converted to vacuum")
        self.observed_angstrom = observed
        self.order = np.argsort(observed) if np.any(np.diff(observed) < 0) else None

    def _from_wcs(self, wcs, n_channels, rest_wavelength):
        observed, medium = wcs_spectral_axis(wcs, n_channels, rest_wavelength=rest_wavelength)
        _, ctype = _spectral_ctype(wcs)
        if rest_wavelength is None:
            return observed, medium
        if ctype.startswith(VELOCITY_CTYPES):
            self.notes.append(f"{ctype} velocity axis converted to wavelengths with the rest "
                              f"wavelength {rest_wavelength} ({doppler_convention(ctype)} "
                              "Doppler convention)")
        else:
            self.notes.append(f"rest wavelength {rest_wavelength} ignored: the spectral axis is "
                              f"{ctype}, not a velocity")
        return observed, medium

    @property
    def spatial_shape(self):
        return tuple(self.shape[1:])

    def rows(self, start, stop):
        """``(n_channels, stop - start, *rest)`` float64 of spatial rows ``start:stop``."""
        if self.cube is not None:
            chunk = self.cube.filled_data[:, start:stop].value
        else:
            chunk = self.array[:, start:stop]
        chunk = np.asarray(chunk, dtype=np.float64)
        return chunk if self.order is None else chunk[self.order]


def _checked_redshift(redshift):
    try:
        redshift = float(redshift)
    except (TypeError, ValueError):
        raise InputError(f"redshift must be a number (--redshift, redshift= in Python), got "
                         f"{redshift!r}") from None
    if not np.isfinite(redshift) or redshift <= -1:
        raise InputError(f"redshift must be finite and > -1 (--redshift, redshift= in Python), "
                         f"got {redshift}")
    return redshift


def predict_emission_lines(data, *, redshift=None, model=DEFAULT_SPECTRAL_MODEL, wavelength=None,
                           medium="vacuum", rest_wavelength=None, hdu=None, device="auto",
                           chunk_spaxels=4096, progress=False):
    """Equivalent widths of the model's emission lines predicted from the continuum.

    Parameters
    ----------
    data : array_like, str, path, HDU, HDUList, (array, WCS) or SpectralCube
        A 1D spectrum ``(n_pixels,)``, a stack ``(n_spectra, n_pixels)`` (with ``wavelength``),
        or a cube: a SpectralCube, a FITS file/HDU with a spectral WCS axis, or a
        ``(n_channels, ny, nx)`` array with ``wavelength``. Flux densities per unit wavelength
        or per unit frequency (converted); any scale, since only ratios of bins enter. Not
        modified.
    redshift : float, optional
        Redshift of the source; the rest frame is ``observed / (1 + redshift)``. By default the
        input's FITS header's (`REDSHIFT_KEYWORDS`), noted in the result.
    model : str or path, optional
        A spectral model (its card has ``input.spectral``); default ``desi-emission-lines``.
    wavelength : astropy.units.Quantity, optional
        Observed wavelength (or frequency) of each spectral pixel; overrides a WCS.
    medium : {"vacuum", "air"}, optional
        Medium of ``wavelength`` (a WCS's ``AWAV`` axis is recognised as air by itself).
    rest_wavelength : astropy.units.Quantity, optional
        For a cube whose WCS spectral axis is a velocity: the vacuum rest wavelength (or
        frequency) of the line the velocities refer to. Channels become observed wavelengths
        with the axis type's Doppler convention (optical for ``VOPT``/``ZOPT``, radio for
        ``VRAD``, relativistic otherwise), noted in the result; ``redshift`` still applies.
    hdu : int or str, optional
        Which HDU of a FITS file.
    device : {"auto", "cpu", "cuda"}, optional
    chunk_spaxels : int, optional
        Spectra per chunk (bounds memory on large cubes).
    progress : bool, optional
        Show a tqdm progress bar over chunks.

    Returns
    -------
    EmissionLineResult
        EW per line (Angstrom, positive = emission), NaN where a spectrum could not be used,
        with the reasons counted; with the card's domain check, each predicted spectrum's
        score and the verdict (``result.domain``).

    Raises
    ------
    glue_turbml.inputs.InputError
        For a missing or non-spectral wavelength axis, a velocity axis without
        ``rest_wavelength``, a bad redshift, or a model that is not a spectral model.

    Examples
    --------
    >>> from spectral_cube import SpectralCube                      # doctest: +SKIP
    >>> cube = SpectralCube.read("cube.fits")                        # doctest: +SKIP
    >>> result = predict_emission_lines(cube, redshift=0.05)         # doctest: +SKIP
    >>> result.ew("HALPHA")                                         # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    from ..models import open_model

    if redshift is not None:
        redshift = _checked_redshift(redshift)
    runner = open_model(model, device=device)
    card = runner.card
    spectral = card["input"].get("spectral")
    if spectral is None:
        raise InputError(f"model {card['name']!r} is a {card['task']} model for images, not a "
                         f"spectral model; use e.g. --model {DEFAULT_SPECTRAL_MODEL} "
                         f"(model={DEFAULT_SPECTRAL_MODEL!r} in Python)")
    source = _SpectraSource(data, wavelength=wavelength, medium=medium, hdu=hdu,
                            rest_wavelength=rest_wavelength)
    if redshift is None:
        stated = redshift_from_header(source.header) if source.header is not None else None
        if stated is None:
            raise InputError(f"no --redshift given (redshift= in Python) and {source.name} "
                             f"has no {', '.join(REDSHIFT_KEYWORDS)} header keyword; give the "
                             "redshift")
        redshift = stated[0]
        source.notes.insert(0, f"redshift {redshift:g} from the header keyword {stated[1]}")
    rest = source.observed_angstrom[source.order] if source.order is not None \
        else source.observed_angstrom
    rest = rest / (1.0 + redshift)
    line_centres = [centre for centres in spectral["masked_lines"].values() for centre in centres]
    edges = np.asarray(spectral["bin_edges"], dtype=np.float64)
    line_names = [channel["name"] for channel in card["outputs"][0]["channels"]]
    notes = list(source.notes)
    flux_factor = _per_wavelength_factor(source.unit, source.observed_angstrom)
    if flux_factor is not None:
        notes.append(f"flux density per unit frequency ({source.unit}) converted to per unit "
                     "wavelength")
        if source.order is not None:
            flux_factor = flux_factor[source.order]
    trained = spectral.get("redshift_range_trained")
    if trained and not trained[0] <= redshift <= trained[1]:
        notes.append(f"redshift {redshift:g} is outside the training range "
                     f"{trained[0]:g}-{trained[1]:g}; the continuum-line relation may differ")
    try:
        _, covered = bin_means(rest, np.zeros((1, rest.size)), edges,
                               min_valid_fraction=spectral["min_valid_fraction"])
    except ContinuumBinError as error:
        raise InputError(f"{source.name}: {error}") from None
    uncovered = [[float(edges[j]), float(edges[j + 1])] for j in np.flatnonzero(~covered)]
    spatial_shape = source.spatial_shape
    n_rows = spatial_shape[0]
    per_row = int(np.prod(spatial_shape[1:], dtype=np.int64))
    n_spectra = n_rows * per_row
    ew = np.full((len(line_names), n_spectra), np.nan, dtype=np.float32)
    domain_check = ColourDomainCheck.from_card(card)
    domain_scores = np.full(n_spectra, np.nan)
    counts = {"n_spectra": n_spectra, "n_predicted": 0, "n_outside_coverage": 0,
              "n_mostly_nan": 0, "n_nonpositive_continuum": 0}
    if uncovered:
        counts["n_outside_coverage"] = n_spectra
    else:
        rows_per_chunk = max(1, int(chunk_spaxels) // max(per_row, 1))
        starts = range(0, n_rows, rows_per_chunk)
        for start in tqdm(starts, desc="spectra", unit="chunk", disable=not progress):
            stop = min(start + rows_per_chunk, n_rows)
            flux = source.rows(start, stop).reshape(rest.size, -1).T
            if flux_factor is not None:
                flux = flux * flux_factor
            masked = mask_emission_lines(rest, flux,
                                         half_width=spectral["mask_half_width_angstrom"],
                                         line_wavelengths=line_centres)
            means, _ = bin_means(rest, masked, edges,
                                 min_valid_fraction=spectral["min_valid_fraction"])
            mostly_nan = ~np.all(np.isfinite(means), axis=1)
            colours = colours_from_bin_fluxes(means)
            usable = np.all(np.isfinite(colours), axis=1)
            counts["n_mostly_nan"] += int(mostly_nan.sum())
            counts["n_nonpositive_continuum"] += int((~usable & ~mostly_nan).sum())
            counts["n_predicted"] += int(usable.sum())
            if usable.any():
                predicted = runner.run(colours[usable].astype(np.float32),
                                       batch_size=max(int(chunk_spaxels), 1))
                chunk_ew = np.full((flux.shape[0], len(line_names)), np.nan, dtype=np.float32)
                chunk_ew[usable] = predicted
                ew[:, start * per_row:stop * per_row] = chunk_ew.T
                if domain_check is not None:
                    chunk_scores = np.full(flux.shape[0], np.nan)
                    chunk_scores[usable] = domain_check.scores(colours[usable])
                    domain_scores[start * per_row:stop * per_row] = chunk_scores
    ew = ew.reshape((len(line_names),) + spatial_shape)
    domain_scores = domain_scores.reshape(spatial_shape)
    if source.single_spectrum:
        ew, domain_scores = ew[:, 0], domain_scores[0]  # one value per line
    domain = None if domain_check is None else SpectraDomainResult.from_scores(
        domain_scores, domain_check.false_alarm_rate)
    return EmissionLineResult(
        line_names=line_names, equivalent_width=ew, counts=counts, uncovered_bins=uncovered,
        redshift=redshift, rest_wavelength_range=(float(rest[0]), float(rest[-1])),
        wcs=source.wcs, model_card=card, session_info=runner.info,
        input_name=source.name, notes=notes, domain=domain)
