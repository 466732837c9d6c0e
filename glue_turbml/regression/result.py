"""The result of a map regression (one scalar with its uncertainty, per tile and per map), and
its FITS form (input WCS kept, provenance in the header)."""

from dataclasses import dataclass, field

import numpy as np

from ..fits_images import wcs_image_hdu
from ..provenance import ascii_safe, provenance_header, provenance_summary, result_tail

__all__ = ["RegressionResult"]


def _used(values, sigmas):
    """Values and sigmas of the analysed tiles (skipped tiles are NaN)."""
    analysed = np.isfinite(values) & np.isfinite(sigmas)
    return values[analysed], sigmas[analysed]


@dataclass
class RegressionResult:
    """A scalar estimated from one 2D map, tile by tile, with its uncertainty.

    Attributes
    ----------
    quantity : glue_turbml.regression.RegressionOutput
        What the model estimates (name, label, units), from its card.
    value : float
        Whole-map estimate: the inverse-variance weighted mean of the tile values.
    sigma : float
        Its 1-sigma uncertainty: the root mean square of the tile sigmas combined in
        quadrature with the spread of the tile values (tiles of one map are correlated, so the
        independent-tiles error would be too optimistic; see
        `glue_turbml.regression.combine_tile_estimates`).
    tile_values, tile_sigmas : numpy.ndarray
        ``(n_tiles,)`` per-tile values and sigmas (``exp(log_variance / 2)``); NaN for tiles
        skipped as mostly NaN.
    tile_origins : numpy.ndarray
        ``(n_tiles, 2)`` pixel ``(y0, x0)`` of each tile (may be negative at the edges).
    tile_valid_fraction : numpy.ndarray
        ``(n_tiles,)`` fraction of usable input pixels in each tile.
    tile_size : int
    value_map, sigma_map : numpy.ndarray
        ``(ny, nx)`` float32 per-pixel value and sigma, blended from overlapping tiles with
        the classifier's smooth window (values and variances are blended); NaN where the input
        is NaN or no tile was analysed.
    filled_mask : numpy.ndarray of bool
        ``(ny, nx)`` pixels that were NaN in the input and were filled for the network.
    wcs : astropy.wcs.WCS or None
        The input's celestial WCS.
    model_card : dict
    session_info : glue_turbml.models.SessionInfo
    preprocessing : str
    input_name : str
    domain : glue_turbml.domain.DomainResult or None
        Whether each tile (and the map) looks like the model's training data; None when the
        card records no training domain.
    """

    quantity: object
    value: float
    sigma: float
    tile_values: np.ndarray
    tile_sigmas: np.ndarray
    tile_origins: np.ndarray
    tile_valid_fraction: np.ndarray
    tile_size: int
    value_map: np.ndarray
    sigma_map: np.ndarray
    filled_mask: np.ndarray
    wcs: object
    model_card: dict = field(repr=False)
    session_info: object = None
    preprocessing: str = ""
    input_name: str = "image"
    domain: object = None

    @property
    def n_tiles_used(self):
        """Tiles that were analysed (not skipped as mostly NaN)."""
        return int(np.sum(np.isfinite(self.tile_values)))

    @property
    def n_filled_pixels(self):
        """NaN input pixels that were filled from their nearest neighbours."""
        return int(self.filled_mask.sum())

    @property
    def tile_spread(self):
        """Standard deviation of the analysed tiles' values."""
        values, _ = _used(self.tile_values, self.tile_sigmas)
        return float(np.std(values))

    @property
    def tile_sigma_rms(self):
        """Root mean square of the analysed tiles' sigmas."""
        _, sigmas = _used(self.tile_values, self.tile_sigmas)
        return float(np.sqrt(np.mean(sigmas ** 2)))

    @property
    def sigma_if_independent(self):
        """``sqrt(1 / sum(1 / sigma_i**2))``: the error if the tiles were independent, which
        they are not; for comparison only (`sigma` is the uncertainty)."""
        _, sigmas = _used(self.tile_values, self.tile_sigmas)
        return float(np.sqrt(1.0 / np.sum(sigmas ** -2.0)))

    def _units_text(self):
        return f" {self.quantity.units}" if self.quantity.units else ""

    def summary(self):
        """JSON-friendly dict of the whole-map result and its provenance."""
        return {
            **provenance_summary(self.model_card, self.session_info, input_name=self.input_name),
            "device_note": self.session_info.note if self.session_info else "",
            "preprocessing": self.preprocessing,
            "quantity_name": self.quantity.name,
            "quantity_label": self.quantity.label,
            "units": self.quantity.units,
            "value": float(self.value),
            "sigma": float(self.sigma),
            "tile_spread": self.tile_spread,
            "tile_sigma_rms": self.tile_sigma_rms,
            "sigma_if_tiles_independent": self.sigma_if_independent,
            "n_tiles": int(len(self.tile_values)),
            "n_tiles_used": self.n_tiles_used,
            "tile_size": int(self.tile_size),
            "n_filled_pixels": self.n_filled_pixels,
            "domain": None if self.domain is None else self.domain.summary(),
        }

    def __str__(self):
        tiles = f"{self.n_tiles_used}/{len(self.tile_values)} tiles"
        return (f"{self.input_name}: {self.quantity.label} = {self.value:.3f} ± "
                f"{self.sigma:.3f}{self._units_text()} (tile spread {self.tile_spread:.3f}, "
                + result_tail(self.model_card, self.session_info, self.domain, tiles=tiles))

    def to_hdulist(self):
        """FITS form: the primary HDU is `value_map` with the input's celestial WCS, ``BUNIT``
        the value's units and the provenance, with the whole-map result in ``TM_VALUE`` and
        ``TM_SIGMA`` (``TM_QNAME`` names the quantity); then ``SIGMA`` (`sigma_map`, same
        units and WCS), ``FILLED`` (pixels filled for the network), a ``TILES`` table of
        per-tile values and sigmas and, when the card records a training domain, a ``DOMAIN``
        table (the verdict in the primary header: ``TM_DOM``, ``TM_DOUT``).

        Returns
        -------
        astropy.io.fits.HDUList
        """
        from astropy.io import fits
        from astropy.table import Table

        label = ascii_safe(self.quantity.label)
        header = provenance_header(self.model_card, self.session_info,
                                   preprocessing=self.preprocessing, input_name=self.input_name)
        if self.wcs is not None:
            header.update(self.wcs.to_header())
        # 47 characters is all a card with a short string value leaves for the comment.
        header["BUNIT"] = (self.quantity.units, label[:47])
        header["TM_QNAME"] = (self.quantity.name, "estimated quantity")
        header["TM_VALUE"] = (float(self.value), f"whole-map {label}"[:47])
        header["TM_SIGMA"] = (float(self.sigma), "1-sigma of TM_VALUE (tile rms and spread)")
        header["TM_SPRED"] = (self.tile_spread, "standard deviation of the tile values")
        header["TM_SRMS"] = (self.tile_sigma_rms, "root mean square of the tile sigmas")
        header["TM_NTILE"] = (self.n_tiles_used, "tiles analysed")
        header["TM_TSIZE"] = (int(self.tile_size), "tile size in pixels")
        header["TM_NFILL"] = (self.n_filled_pixels, "NaN pixels filled for the network")
        primary = fits.PrimaryHDU(np.asarray(self.value_map, dtype=np.float32), header=header)
        sigma = wcs_image_hdu(self.sigma_map, name="SIGMA", wcs=self.wcs)
        sigma.header["BUNIT"] = (self.quantity.units, f"1-sigma uncertainty of {label}"[:47])
        hdus = [primary, sigma,
                wcs_image_hdu(self.filled_mask, name="FILLED", wcs=self.wcs, dtype=np.uint8)]
        table = Table()
        table["y0"] = self.tile_origins[:, 0]
        table["x0"] = self.tile_origins[:, 1]
        table["valid_fraction"] = self.tile_valid_fraction
        table[self.quantity.name] = self.tile_values
        table["sigma"] = self.tile_sigmas
        hdus.append(fits.BinTableHDU(table, name="TILES"))
        if self.domain is not None:
            hdus.append(self.domain.fits_table(primary.header))
        return fits.HDUList(hdus)

    def write(self, path, *, overwrite=False):
        """Write `to_hdulist` to ``path``."""
        self.to_hdulist().writeto(path, overwrite=overwrite)
