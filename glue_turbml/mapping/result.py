"""The result of an image-to-image mapping and its FITS form (WCS, BUNIT, provenance)."""

from dataclasses import dataclass

import numpy as np

from ..fits_images import wcs_image_hdu
from ..provenance import provenance_header, provenance_summary, result_tail

__all__ = ["MappingResult"]


@dataclass
class MappingResult:
    """Per-pixel prediction of a U-Net over a whole map, with its uncertainty.

    Attributes
    ----------
    log_density_ratio : numpy.ndarray
        ``(ny, nx)`` float32 predicted log10(<n>_m / n0), n0 the mean density along the line of
        sight (mean column density / depth); NaN where the input was NaN or no tile was used.
    sigma : numpy.ndarray
        ``(ny, nx)`` float32 predicted standard deviation of ``log_density_ratio`` (dex).
    density : astropy.units.Quantity or None
        <n>_m in cm-3 (or g cm-3 for a mass surface density input), when a physical input and a
        line-of-sight depth were given.
    mean_column_density : float or astropy.units.Quantity
        The map mean the input was divided by.
    filled_mask : numpy.ndarray of bool
        Input pixels that were NaN and filled from their neighbours for the network.
    n_tiles, n_tiles_used : int
    tile_size, stride, window_margin : int
    wcs : astropy.wcs.WCS or None
        The input's (celestial) WCS.
    model_card : dict
    session_info : glue_turbml.models.SessionInfo
    preprocessing : str
    input_name : str
    depth : astropy.units.Quantity or None
    domain : glue_turbml.domain.DomainResult or None
        Whether each tile (and the map) looks like the model's training data; None when the
        card records no training domain.
    """

    log_density_ratio: np.ndarray
    sigma: np.ndarray
    density: object
    mean_column_density: object
    filled_mask: np.ndarray
    n_tiles: int
    n_tiles_used: int
    tile_size: int
    stride: int
    window_margin: int
    wcs: object
    model_card: dict
    session_info: object
    preprocessing: str
    input_name: str
    depth: object = None
    domain: object = None

    def summary(self):
        """JSON-friendly dict of the result and its provenance."""
        finite = np.isfinite(self.log_density_ratio)
        return {
            **provenance_summary(self.model_card, self.session_info, input_name=self.input_name),
            "preprocessing": self.preprocessing,
            "mean_column_density": str(self.mean_column_density),
            "depth": None if self.depth is None else str(self.depth),
            "median_log_density_ratio": float(np.median(self.log_density_ratio[finite]))
            if finite.any() else None,
            "median_sigma_dex": float(np.median(self.sigma[finite])) if finite.any() else None,
            "n_tiles": int(self.n_tiles),
            "n_tiles_used": int(self.n_tiles_used),
            "tile_size": int(self.tile_size),
            "stride": int(self.stride),
            "n_filled_pixels": int(self.filled_mask.sum()),
            "n_nan_pixels": int((~finite).sum()),
            "domain": None if self.domain is None else self.domain.summary(),
        }

    def __str__(self):
        summary = self.summary()
        median = summary["median_log_density_ratio"]
        text = (f"{self.input_name}: median log10(<n>_m/n0) = "
                f"{'nan' if median is None else format(median, '.3f')} ± "
                f"{summary['median_sigma_dex'] or float('nan'):.3f} dex")
        if self.density is not None:
            text += f", median <n>_m = {np.nanmedian(self.density.value):.3g} {self.density.unit}"
        return text + " (" + result_tail(self.model_card, self.session_info, self.domain,
                                         tiles=f"{self.n_tiles_used}/{self.n_tiles} tiles")

    def to_hdulist(self):
        """FITS form: primary HDU ``log10(<n>_m/n0)`` (BUNIT ``dex``) with the input WCS and the
        provenance, then ``SIGMA`` (dex), ``DENSITY`` (when computed, BUNIT its unit) and
        ``FILLED`` (pixels filled for the network), all with the same WCS.

        Returns
        -------
        astropy.io.fits.HDUList
        """
        from astropy.io import fits

        header = provenance_header(self.model_card, self.session_info,
                                   preprocessing=self.preprocessing, input_name=self.input_name)
        if self.wcs is not None:
            header.update(self.wcs.to_header())
        header["BUNIT"] = ("dex", "log10(<n>_m / mean density along the l.o.s.)")
        header["TM_NTILE"] = (int(self.n_tiles_used), "tiles analysed")
        header["TM_TSIZE"] = (int(self.tile_size), "tile size in pixels")
        header["TM_STRID"] = (int(self.stride), "tile stride in pixels")
        header["TM_MARG"] = (int(self.window_margin), "blending window margin in pixels")
        header["TM_NFILL"] = (int(self.filled_mask.sum()), "NaN pixels filled for the network")
        mean = self.mean_column_density
        header["TM_NMEAN"] = (float(getattr(mean, "value", mean)),
                              f"input mean used [{getattr(mean, 'unit', '')}]"[:47])
        if self.depth is not None:
            header["TM_DEPTH"] = (float(self.depth.value),
                                  f"line-of-sight depth [{self.depth.unit}]")
        primary = fits.PrimaryHDU(self.log_density_ratio.astype(np.float32), header=header)
        hdus = [primary]

        def image_hdu(values, name, unit, comment):
            hdu = wcs_image_hdu(values, name=name, wcs=self.wcs)
            hdu.header["BUNIT"] = (unit, comment)
            return hdu

        hdus.append(image_hdu(self.sigma, "SIGMA", "dex",
                              "1-sigma uncertainty of log10(<n>_m/n0)"))
        if self.density is not None:
            hdus.append(image_hdu(self.density.value, "DENSITY",
                                  self.density.unit.to_string("fits"),
                                  "mass-weighted mean density <n>_m"))
        hdus.append(wcs_image_hdu(self.filled_mask, name="FILLED", wcs=self.wcs, dtype=np.uint8))
        if self.domain is not None:
            hdus.append(self.domain.fits_table(primary.header))
        return fits.HDUList(hdus)

    def write(self, path, *, overwrite=False):
        """Write `to_hdulist` to ``path``."""
        self.to_hdulist().writeto(path, overwrite=overwrite)
