"""The result of `glue_turbml.predict_emission_lines`: EW maps per line and their FITS form."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["EmissionLineResult"]


@dataclass
class EmissionLineResult:
    """Predicted equivalent widths of each line, per spectrum or spaxel.

    Attributes
    ----------
    line_names : list of str
    equivalent_width : numpy.ndarray
        ``(n_lines, *spatial_shape)`` float32 EW in Angstrom (positive = emission); NaN where no
        prediction was made (see `counts`). ``spatial_shape`` is ``()`` for one spectrum,
        ``(n_spectra,)`` for a stack and ``(ny, nx)`` for a cube.
    counts : dict
        ``n_spectra``, ``n_predicted`` and the NaN reasons: ``n_outside_coverage`` (the
        rest-frame range misses some of the card's bins), ``n_mostly_nan`` (a bin with too few
        finite pixels) and ``n_nonpositive_continuum`` (a bin mean <= 0).
    uncovered_bins : list of list of float
        Rest-frame bin edges the wavelength grid does not cover (empty when it covers all).
    redshift : float
    rest_wavelength_range : tuple of float
        Rest-frame range of the input grid in Angstrom (vacuum).
    wcs : astropy.wcs.WCS or None
        Celestial WCS of the maps (cubes only).
    model_card : dict
    session_info : glue_turbml.models.SessionInfo
    input_name : str
    notes : list of str
        Conversions applied and warnings (air to vacuum, f_nu to f_lambda, redshift outside the
        training range).
    domain : glue_turbml.domain.SpectraDomainResult or None
        Per spectrum, how far its continuum colours lie from the training galaxies', and the
        verdict; None when the card records no domain.
    """

    line_names: list
    equivalent_width: np.ndarray
    counts: dict
    uncovered_bins: list
    redshift: float
    rest_wavelength_range: tuple
    wcs: object
    model_card: dict
    session_info: object
    input_name: str
    notes: list = field(default_factory=list)
    domain: object = None

    def ew(self, line):
        """The EW map (or value) of one line by name."""
        if line not in self.line_names:
            raise KeyError(f"no line {line!r}; lines: {', '.join(self.line_names)}")
        return self.equivalent_width[self.line_names.index(line)]

    def summary(self):
        """JSON-friendly summary: counts, coverage, and the median EW of each line."""
        medians = {}
        for index, line in enumerate(self.line_names):
            values = self.equivalent_width[index]
            finite = values[np.isfinite(values)]
            medians[line] = float(np.median(finite)) if finite.size else None
        return {"model": self.model_card["name"], "model_version": self.model_card["version"],
                "input": self.input_name, "redshift": self.redshift,
                "rest_wavelength_range_angstrom": [float(v) for v in self.rest_wavelength_range],
                "uncovered_bins_angstrom": self.uncovered_bins, **self.counts,
                "median_ew_angstrom": medians, "notes": list(self.notes),
                "provider": self.session_info.provider,
                "domain": None if self.domain is None else self.domain.summary()}

    def nan_reasons(self):
        """Why spectra got NaN, in words: the non-zero reasons of `counts`.

        Returns
        -------
        str
            E.g. ``"900 outside the rest-frame coverage (rest frame 2320-5067 A misses the
            model's bins 5200-5500, ... A)"``; ``"none"`` when every spectrum was predicted.
        """
        counts = self.counts
        reasons = []
        if counts["n_outside_coverage"]:
            low, high = self.rest_wavelength_range
            missed = ", ".join(f"{a:g}-{b:g}" for a, b in self.uncovered_bins)
            reasons.append(f"{counts['n_outside_coverage']} outside the rest-frame coverage (the "
                           f"rest frame {low:.0f}-{high:.0f} A at z = {self.redshift:g} misses "
                           f"the model's bins {missed} A; check --redshift, or use a model "
                           "whose bins it covers)")
        if counts["n_mostly_nan"]:
            reasons.append(f"{counts['n_mostly_nan']} mostly NaN")
        if counts["n_nonpositive_continuum"]:
            reasons.append(f"{counts['n_nonpositive_continuum']} with a non-positive continuum "
                           "bin")
        return "; ".join(reasons) or "none"

    def __str__(self):
        counts = self.counts
        text = [f"{self.model_card['name']} on {self.input_name} (z = {self.redshift:g}): "
                f"{counts['n_predicted']} of {counts['n_spectra']} spectra predicted; NaN: "
                f"{counts['n_outside_coverage']} outside the rest-frame coverage, "
                f"{counts['n_mostly_nan']} mostly NaN, {counts['n_nonpositive_continuum']} with a "
                "non-positive continuum bin"]
        if self.uncovered_bins:
            text.append("uncovered rest-frame bins (A): "
                        + ", ".join(f"{low:g}-{high:g}" for low, high in self.uncovered_bins))
        text += self.notes
        if self.domain is not None and self.domain.n_analysed:
            text.append(self.domain.describe())
        return "\n".join(text)

    def to_hdulist(self):
        """Primary HDU with the summary, then one image HDU per line (EXTNAME = line name).

        Each image carries BUNIT ``Angstrom``, the input's celestial WCS and the provenance
        header (model name, version, weights sha256, provider).
        """
        from astropy.io import fits

        from ..provenance import provenance_header

        header = provenance_header(self.model_card, self.session_info,
                                   preprocessing=self._preprocessing(),
                                   input_name=self.input_name)
        header["TM_Z"] = (float(self.redshift), "redshift used for the rest frame")
        for key, value in (("TM_NSPEC", "n_spectra"), ("TM_NPRED", "n_predicted"),
                           ("TM_NCOV", "n_outside_coverage"), ("TM_NNAN", "n_mostly_nan"),
                           ("TM_NNEG", "n_nonpositive_continuum")):
            header[key] = (int(self.counts[value]), value.replace("_", " "))
        if self.domain is not None:
            self.domain.set_header_keys(header)
        for note in self.notes:
            header["HISTORY"] = note
        hdus = [fits.PrimaryHDU(header=header)]
        wcs_header = self.wcs.to_header() if self.wcs is not None else fits.Header()
        for index, line in enumerate(self.line_names):
            image = fits.ImageHDU(np.asarray(self.equivalent_width[index], dtype=np.float32),
                                  header=wcs_header.copy(), name=line)
            image.header["BUNIT"] = "Angstrom"
            image.header["TM_LINE"] = (line, "emission line (positive EW = emission)")
            image.header.extend(header, unique=True)
            hdus.append(image)
        if self.domain is not None:
            hdus.append(self._domain_hdu(wcs_header, header))
        return fits.HDUList(hdus)

    def _domain_hdu(self, wcs_header, header):
        """The ``DOMAIN`` image: each spectrum's domain score (above 1: outside; NaN: none)."""
        from astropy.io import fits

        image = fits.ImageHDU(np.atleast_1d(self.domain.scores).astype(np.float32),
                              header=wcs_header.copy(), name="DOMAIN")
        image.header["BUNIT"] = ("", "domain score: above 1 outside the training domain")
        image.header.extend(header, unique=True)
        return image

    def write(self, path, *, overwrite=False):
        """Write all lines to one multi-extension FITS file."""
        self.to_hdulist().writeto(path, overwrite=overwrite)

    def map_names(self, stem):
        """File names `write_maps` writes: ``<stem>_<LINE>_ew.fits`` per line, then
        ``<stem>_domain_score.fits`` when the card records a domain."""
        names = [f"{stem}_{line}_ew.fits" for line in self.line_names]
        if self.domain is not None:
            names.append(f"{stem}_domain_score.fits")
        return names

    def write_maps(self, directory, *, stem, overwrite=False):
        """Write one FITS file per line (and the domain scores); returns the paths
        (`map_names`)."""
        from astropy.io import fits

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        hdulist = self.to_hdulist()
        extensions = list(self.line_names) + (["DOMAIN"] if self.domain is not None else [])
        paths = []
        for extension, name in zip(extensions, self.map_names(stem)):
            header = hdulist[extension].header.copy()
            for key in ("XTENSION", "PCOUNT", "GCOUNT"):
                header.remove(key, ignore_missing=True)
            path = directory / name
            fits.PrimaryHDU(hdulist[extension].data, header=header).writeto(
                path, overwrite=overwrite)
            paths.append(path)
        return paths

    def _preprocessing(self):
        spectral = self.model_card["input"]["spectral"]
        edges = spectral["bin_edges"]
        return (f"rest frame z={self.redshift:g}; lines masked +-"
                f"{spectral['mask_half_width_angstrom']:g} A; {len(edges) - 1} bin means "
                f"{edges[0]:g}-{edges[-1]:g} A; {spectral['feature']}")
