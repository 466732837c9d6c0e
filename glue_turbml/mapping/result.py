"""The result of an image-to-image mapping and its FITS form (WCS, BUNIT, provenance)."""

from dataclasses import dataclass

import numpy as np

from ..fits_images import wcs_image_hdu
from ..provenance import provenance_header, provenance_summary, result_tail
from .input_units import input_quantity, mean_channel

__all__ = ["MappingResult"]


@dataclass
class MappingResult:
    """Per-pixel prediction of a U-Net over a whole map, with its uncertainty.

    What the map holds comes from the model card: `quantity_name` and `quantity_label`.

    Attributes
    ----------
    log_ratio : numpy.ndarray
        ``(ny, nx)`` float32 predicted mean channel, a log10 ratio (dex): log10(<n>_m / n0) for
        a column-density model (n0 the mean density along the line of sight, mean column
        density / depth), log10(E_B / <E_B>) for a magnetic-energy model; NaN where the input
        was NaN or no tile was used. Also readable as ``log_density_ratio``.
    sigma : numpy.ndarray
        ``(ny, nx)`` float32 predicted standard deviation of ``log_ratio`` (dex).
    density : astropy.units.Quantity or None
        <n>_m in cm-3 (or g cm-3 for a mass surface density input), when a physical
        column-density input and a line-of-sight depth were given.
    mean_column_density : float or astropy.units.Quantity
        The mean of the input map (a column density or a density, as the model takes), which
        the input was divided by.
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
    map_statistics : dict or None
        For a model whose uncertainty reads statistics of the whole map (its card's
        ``input.map_statistics``): ``{name: value}`` as computed on this map, None otherwise.
    """

    log_ratio: np.ndarray
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
    map_statistics: dict = None

    @property
    def log_density_ratio(self):
        """The mapped log10 ratio, `log_ratio` (the name kept from column-density models)."""
        return self.log_ratio

    @property
    def input_quantity(self):
        """What the model took: ``"column_density"`` or ``"volume_density"``."""
        return input_quantity(self.model_card)

    @property
    def quantity_name(self):
        """Name of the mapped quantity (e.g. ``"log_density_ratio"``), from the model card."""
        return mean_channel(self.model_card)[0]

    @property
    def quantity_label(self):
        """Short text for the mapped quantity (e.g. ``"log10(E_B / <E_B>)"``)."""
        return mean_channel(self.model_card)[1]

    def summary(self):
        """JSON-friendly dict of the result and its provenance.

        ``median_log_ratio`` is the median of the map (dex); column-density models repeat it
        as ``median_log_density_ratio``. ``mean_column_density`` is the input map's mean.
        """
        finite = np.isfinite(self.log_ratio)
        median = float(np.median(self.log_ratio[finite])) if finite.any() else None
        by_name = {"median_log_density_ratio": median} \
            if self.input_quantity == "column_density" else {}
        return {
            **provenance_summary(self.model_card, self.session_info, input_name=self.input_name),
            "preprocessing": self.preprocessing,
            "input_quantity": self.input_quantity,
            "quantity_name": self.quantity_name,
            "quantity_label": self.quantity_label,
            "mean_column_density": str(self.mean_column_density),
            "depth": None if self.depth is None else str(self.depth),
            **by_name,
            "median_log_ratio": median,
            "median_sigma_dex": float(np.median(self.sigma[finite])) if finite.any() else None,
            "n_tiles": int(self.n_tiles),
            "n_tiles_used": int(self.n_tiles_used),
            "tile_size": int(self.tile_size),
            "stride": int(self.stride),
            "n_filled_pixels": int(self.filled_mask.sum()),
            "n_nan_pixels": int((~finite).sum()),
            "domain": None if self.domain is None else self.domain.summary(),
            "map_statistics": self.map_statistics,
        }

    def __str__(self):
        summary = self.summary()
        median = summary["median_log_ratio"]
        text = (f"{self.input_name}: median {self.quantity_label} = "
                f"{'nan' if median is None else format(median, '.3f')} ± "
                f"{summary['median_sigma_dex'] or float('nan'):.3f} dex")
        if self.density is not None:
            text += f", median <n>_m = {np.nanmedian(self.density.value):.3g} {self.density.unit}"
        return text + " (" + result_tail(self.model_card, self.session_info, self.domain,
                                         tiles=f"{self.n_tiles_used}/{self.n_tiles} tiles")

    def to_hdulist(self):
        """FITS form: primary HDU `log_ratio` (BUNIT ``dex``, commented with `quantity_label`;
        ``TM_QNAME`` its `quantity_name`) with the input WCS and the provenance, then ``SIGMA``
        (dex), ``DENSITY`` (when computed, BUNIT its unit) and ``FILLED`` (pixels filled for the
        network), all with the same WCS.

        Returns
        -------
        astropy.io.fits.HDUList
        """
        from astropy.io import fits

        header = provenance_header(self.model_card, self.session_info,
                                   preprocessing=self.preprocessing, input_name=self.input_name)
        if self.wcs is not None:
            header.update(self.wcs.to_header())
        # 47 characters is all a card with a short string value leaves for the comment.
        header["BUNIT"] = ("dex", self.quantity_label[:47])
        header["TM_QNAME"] = (self.quantity_name, "mapped quantity")
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
        for number, (name, value) in enumerate((self.map_statistics or {}).items(), start=1):
            # what the uncertainty was conditioned on, in the order of the card's names
            header[f"TM_MSTA{number}"] = (float(value), f"map statistic {name}"[:47])
        primary = fits.PrimaryHDU(self.log_ratio.astype(np.float32), header=header)
        hdus = [primary]

        def image_hdu(values, name, unit, comment):
            hdu = wcs_image_hdu(values, name=name, wcs=self.wcs)
            hdu.header["BUNIT"] = (unit, comment)
            return hdu

        hdus.append(image_hdu(self.sigma, "SIGMA", "dex",
                              f"1-sigma uncertainty of {self.quantity_label}"[:47]))
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
