"""The result of a saliency run over a whole map: the blended map, its overlay and its FITS form."""

from dataclasses import dataclass, field

import numpy as np

from ..fits_images import wcs_image_hdu
from ..provenance import provenance_primary_hdu, provenance_summary

__all__ = ["SaliencyResult", "DEFAULT_CONTOUR_QUANTILE", "DEFAULT_SMOOTHING_SIGMA_PX",
           "BORDER_SIGMAS", "border_band"]

#: The overlay contour encloses the top 2% of the smoothed positive saliency by default.
DEFAULT_CONTOUR_QUANTILE = 0.98
#: Gaussian smoothing (pixels) of the map before contouring: one contour of a raw gradient map
#: is a speckle of single pixels.
DEFAULT_SMOOTHING_SIGMA_PX = 3.0
#: Width of the border band left out of the contour, in smoothing sigmas (non-periodic maps).
#: Within it the smoothing kernel is cut by the edge, so the smoothed map averages fewer pixels,
#: is noisier, and a quantile contour is drawn to it; the band also holds the pixels whose tiles
#: read reflected (padding) copies of themselves. Measured on the Hubble Deep Field and the Moon
#: (docs/results/saliency_border.txt): without the band nearly all of the contour lies along
#: the border; with it, the next band holds its area's share.
BORDER_SIGMAS = 3.0


def border_band(shape, width):
    """``(ny, nx)`` bool: pixels closer than ``width`` to the map's edge."""
    ny, nx = shape
    rows = np.minimum(np.arange(ny), np.arange(ny)[::-1])
    columns = np.minimum(np.arange(nx), np.arange(nx)[::-1])
    return np.minimum.outer(rows, columns) < width


@dataclass
class SaliencyResult:
    """Saliency of one 2D map for one class (or model output, or output channel).

    Attributes
    ----------
    saliency_map : numpy.ndarray
        ``(ny, nx)`` float32; NaN where the input is NaN or no tile was analysed. Classifiers
        and regressors: per-tile maps blended as `classify` blends probabilities; units:
        target logit (output) per unit of the preprocessed input. Image-to-image models: the
        gradient of the sum of the blended output channel over the region, summed over the
        tiles that read each pixel (see `glue_turbml.saliency_maps.region_saliency`).
    wcs : astropy.wcs.WCS or None
        The input's celestial WCS.
    method : str
        ``"guided"``, ``"vanilla"`` or ``"occlusion"``.
    target_index : int
    class_names : list of str
        Class names; for other tasks the names of the outputs or output channels.
    probability : numpy.ndarray
        Classifiers: ``(n_classes,)`` whole-map class probabilities (mean over analysed
        tiles). Regressors: the mean of each output over analysed tiles. Image-to-image
        models: the mean of each blended output channel over the region. Not probabilities
        for those tasks; see `task`.
    tile_origins : numpy.ndarray
    tile_used : numpy.ndarray of bool
    tile_size : int
    filled_mask : numpy.ndarray of bool
    model_card : dict
    session_info : glue_turbml.models.SessionInfo
    preprocessing : str
    input_name : str
    parameters : dict
        Method parameters (occlusion window, stride, baseline), JSON-friendly.
    task : str
        The card's task: ``"classification"``, ``"regression"`` or ``"image_to_image"``.
    region : numpy.ndarray of bool or None
        ``(ny, nx)`` region of interest of an image-to-image explanation (None: whole map).
    boundary : str
        How tiles were filled past the map's edge: ``"reflect"`` (padding: the overlay leaves
        a border band out of its contour, see `border_px`) or ``"periodic"`` (no edge).
    domain : glue_turbml.domain.DomainResult or None
        Whether the map's tiles look like the model's training inputs (as for `classify`).
    sanity : dict or None
        The card's saliency sanity check of this method (``passes``, its scores), if recorded.
    """

    saliency_map: np.ndarray
    wcs: object
    method: str
    target_index: int
    class_names: list
    probability: np.ndarray
    tile_origins: np.ndarray
    tile_used: np.ndarray
    tile_size: int
    filled_mask: np.ndarray
    model_card: dict = field(repr=False)
    session_info: object = None
    preprocessing: str = ""
    input_name: str = "image"
    parameters: dict = field(default_factory=dict)
    task: str = "classification"
    region: object = field(default=None, repr=False)
    boundary: str = "reflect"
    domain: object = field(default=None, repr=False)
    sanity: object = None

    @property
    def target_class(self):
        """Name of the explained class (or output, or output channel)."""
        return self.class_names[self.target_index]

    def describe_target(self):
        """``class 'x' (whole-map P = 0.93)``, ``output 'y' (mean 1.2)`` and the like."""
        value = float(self.probability[self.target_index])
        if self.task == "classification":
            return f"class {self.target_class!r} (whole-map P = {value:.2f})"
        if self.task == "regression":
            return f"output {self.target_class!r} (mean over tiles {value:.3g})"
        where = "the whole map" if self.region is None else \
            f"a {int(np.count_nonzero(self.region))}-pixel region"
        return f"channel {self.target_class!r} summed over {where} (mean {value:.3g})"

    def _smoothing_sigma(self, sigma_px=None):
        settings = self.model_card.get("saliency", {}).get("overlay", {})
        return (settings.get("smoothing_sigma_px", DEFAULT_SMOOTHING_SIGMA_PX)
                if sigma_px is None else float(sigma_px))

    def border_px(self, sigma_px=None):
        """Width of the border band left out of the overlay's contour: 0 for periodic maps,
        else `BORDER_SIGMAS` smoothing sigmas (at least one pixel)."""
        if self.boundary == "periodic":
            return 0
        return max(1, int(np.ceil(BORDER_SIGMAS * self._smoothing_sigma(sigma_px))))

    def overlay(self, *, quantile=None, sigma_px=None):
        """The smoothed map and the contour level for a one-contour overlay.

        On maps that are not periodic, a band of `border_px` pixels along the edge is NaN in
        the smoothed map and takes no part in the level: there the map is smoothed over fewer
        pixels and its tiles read padding, so a contour there follows the edge, not the
        network.

        Parameters
        ----------
        quantile : float, optional
            The level is this quantile of the smoothed map's finite positive values; the card's
            ``saliency.overlay.contour_quantile``, else `DEFAULT_CONTOUR_QUANTILE`.
        sigma_px : float, optional
            Gaussian smoothing in pixels (0: none); the card's
            ``saliency.overlay.smoothing_sigma_px``, else `DEFAULT_SMOOTHING_SIGMA_PX`.

        Returns
        -------
        smoothed : numpy.ndarray
            ``(ny, nx)`` float64, NaN where the saliency map is NaN and in the border band.
        level : float
            Contour level in the map's units (NaN if the map has no positive value).
        """
        from scipy.ndimage import gaussian_filter

        settings = self.model_card.get("saliency", {}).get("overlay", {})
        quantile = settings.get("contour_quantile", DEFAULT_CONTOUR_QUANTILE) \
            if quantile is None else float(quantile)
        border = self.border_px(sigma_px)
        sigma_px = self._smoothing_sigma(sigma_px)
        values = np.asarray(self.saliency_map, dtype=np.float64)
        finite = np.isfinite(values)
        smoothed = np.where(finite, values, 0.0)
        if sigma_px > 0:
            # Normalised convolution: NaN pixels neither contribute nor dilute their neighbours,
            # and past the edge there is nothing (periodic maps wrap): replicating edge pixels
            # would weight them several times over
            mode = "wrap" if self.boundary == "periodic" else "constant"
            weight = gaussian_filter(finite.astype(np.float64), sigma_px, mode=mode)
            smoothed = gaussian_filter(smoothed, sigma_px, mode=mode)
            with np.errstate(invalid="ignore", divide="ignore"):
                smoothed = smoothed / weight
        smoothed[~finite] = np.nan
        if border:
            smoothed[border_band(smoothed.shape, border)] = np.nan
        positive = smoothed[np.isfinite(smoothed) & (smoothed > 0)]
        level = float(np.quantile(positive, quantile)) if positive.size else float("nan")
        return smoothed, level

    def summary(self):
        """JSON-friendly description of the result and its provenance."""
        _, level = self.overlay()
        return {
            **provenance_summary(self.model_card, self.session_info, input_name=self.input_name),
            "method": self.method, "task": self.task, "target_class": self.target_class,
            ("probability" if self.task == "classification" else "mean_output"):
                {name: float(p) for name, p in zip(self.class_names, self.probability)},
            "region_pixels": None if self.region is None else int(np.count_nonzero(self.region)),
            "n_tiles_used": int(self.tile_used.sum()), "tile_size": int(self.tile_size),
            "contour_level": level, "parameters": dict(self.parameters),
            "preprocessing": self.preprocessing, "boundary": self.boundary,
            "border_band_px": self.border_px(), "sanity_check": self.sanity,
            "domain": None if self.domain is None else self.domain.summary(),
        }

    def __str__(self):
        if self.task == "classification":
            what = (f"class {self.target_class!r} "
                    f"(P = {self.probability[self.target_index]:.3f})")
        else:
            what = self.describe_target()
        text = (f"{self.input_name}: {self.method} saliency of {what} from "
                f"{int(self.tile_used.sum())} tiles, model {self.model_card['name']} "
                f"{self.model_card['version']}, {self.session_info.provider}")
        if self.sanity is not None and not self.sanity["passes"]:
            text += "; this method FAILS the model's saliency sanity check"
        if self.domain is not None and self.domain.verdict != "inside":
            text += f"; {self.domain.describe()}"
        return text

    def to_hdulist(self):
        """FITS form: provenance primary header, ``SALIENCY`` (with the input's celestial WCS,
        the method, the target class, the overlay contour level, the border band and the
        sanity check), ``FILLED`` and, when the card records a training domain, ``DOMAIN``.

        Returns
        -------
        astropy.io.fits.HDUList
        """
        from astropy.io import fits

        primary = provenance_primary_hdu(self)
        _, level = self.overlay()
        settings = self.model_card.get("saliency", {}).get("overlay", {})
        image = wcs_image_hdu(self.saliency_map, name="SALIENCY", wcs=self.wcs)
        classifier = self.task == "classification"
        image.header["BUNIT"] = ("", f"target {'logit' if classifier else 'output'} per unit of "
                                     "preprocessed input")
        image.header["TM_METH"] = (self.method, "saliency method")
        image.header["TM_TASK"] = (self.task, "model task")
        image.header["TM_TARG"] = (self.target_class,
                                   "explained class" if classifier else "explained output")
        image.header["TM_TIDX"] = (self.target_index, "explained class or output index")
        image.header["TM_PTARG"] = (float(self.probability[self.target_index]),
                                    "whole-map probability of the explained class" if classifier
                                    else "mean of the explained output")
        if self.region is not None:
            image.header["TM_REGN"] = (int(np.count_nonzero(self.region)),
                                       "pixels in the explained region")
        image.header["TM_CLEV"] = (level if np.isfinite(level) else "nan",
                                   "overlay contour level (smoothed map)")
        image.header["TM_CQUAN"] = (settings.get("contour_quantile", DEFAULT_CONTOUR_QUANTILE),
                                    "contour level quantile of positive saliency")
        image.header["TM_SMOO"] = (settings.get("smoothing_sigma_px", DEFAULT_SMOOTHING_SIGMA_PX),
                                   "overlay Gaussian smoothing sigma, pixels")
        image.header["TM_SBORD"] = (self.border_px(), "border band (px) left out of the contour")
        if self.sanity is not None:
            image.header["TM_SANE"] = (bool(self.sanity.get("passes")),
                                       "method passes the card's saliency sanity check")
        for key, value in sorted(self.parameters.items()):
            image.header["HISTORY"] = f"saliency parameter {key} = {value}"
        primary.header["TM_METH"] = (self.method, "saliency method")
        primary.header["TM_TARG"] = (self.target_class, "explained class")
        filled = wcs_image_hdu(self.filled_mask, name="FILLED", wcs=self.wcs, dtype=np.uint8)
        hdus = [primary, image, filled]
        if self.domain is not None:
            hdus.append(self.domain.fits_table(primary.header))
        return fits.HDUList(hdus)

    def write(self, path, *, overwrite=False):
        """Write `to_hdulist` to ``path``."""
        self.to_hdulist().writeto(path, overwrite=overwrite)
