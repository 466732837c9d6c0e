"""Results of classifying a map or a cube, and their FITS form (input WCS kept, provenance in the
header)."""

from dataclasses import dataclass, field

import numpy as np

from ..fits_images import wcs_image_hdu
from ..provenance import provenance_primary_hdu, provenance_summary, result_tail

__all__ = ["ClassificationResult", "CubeClassificationResult"]


@dataclass
class ClassificationResult:
    """Classification of one 2D map, tile by tile.

    Attributes
    ----------
    class_names : list of str
    class_meanings : list of str
    probability : numpy.ndarray
        ``(n_classes,)`` whole-map class probabilities: the mean over the analysed tiles.
    probability_std : numpy.ndarray
        ``(n_classes,)`` spread (standard deviation) of the tile probabilities.
    tile_probabilities : numpy.ndarray
        ``(n_tiles, n_classes)``; NaN rows for tiles skipped as mostly NaN.
    tile_origins : numpy.ndarray
        ``(n_tiles, 2)`` pixel ``(y0, x0)`` of each tile (may be negative at the edges).
    tile_valid_fraction : numpy.ndarray
        ``(n_tiles,)`` fraction of usable input pixels in each tile (finite, and positive for
        a model that takes log10).
    tile_size : int
    probability_map : numpy.ndarray
        ``(n_classes, ny, nx)`` float32 per-pixel probabilities blended from overlapping tiles with
        a smooth window; NaN where the input is NaN or no tile was analysed.
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

    class_names: list
    class_meanings: list
    probability: np.ndarray
    probability_std: np.ndarray
    tile_probabilities: np.ndarray
    tile_origins: np.ndarray
    tile_valid_fraction: np.ndarray
    tile_size: int
    probability_map: np.ndarray
    filled_mask: np.ndarray
    wcs: object
    model_card: dict = field(repr=False)
    session_info: object = None
    preprocessing: str = ""
    input_name: str = "image"
    domain: object = None

    @property
    def predicted_class(self):
        """Name of the most probable class for the whole map."""
        return self.class_names[int(np.argmax(self.probability))]

    @property
    def n_tiles_used(self):
        """Tiles that were analysed (not skipped as mostly NaN)."""
        return int(np.all(np.isfinite(self.tile_probabilities), axis=1).sum())

    @property
    def n_filled_pixels(self):
        """NaN input pixels that were filled from their nearest neighbours."""
        return int(self.filled_mask.sum())

    def summary(self):
        """JSON-friendly dict of the whole-map result and its provenance."""
        return {
            **provenance_summary(self.model_card, self.session_info, input_name=self.input_name),
            "device_note": self.session_info.note if self.session_info else "",
            "preprocessing": self.preprocessing,
            "predicted_class": self.predicted_class,
            "probability": {name: float(p) for name, p in zip(self.class_names, self.probability)},
            "probability_std": {name: float(s)
                                for name, s in zip(self.class_names, self.probability_std)},
            "n_tiles": int(len(self.tile_probabilities)),
            "n_tiles_used": self.n_tiles_used,
            "tile_size": int(self.tile_size),
            "n_filled_pixels": self.n_filled_pixels,
            "domain": None if self.domain is None else self.domain.summary(),
        }

    def __str__(self):
        parts = ", ".join(f"P({name}) = {p:.3f} ± {s:.3f}" for name, p, s in
                          zip(self.class_names, self.probability, self.probability_std))
        tiles = f"{self.n_tiles_used}/{len(self.tile_probabilities)} tiles"
        return (f"{self.input_name}: {self.predicted_class} ({parts}; "
                + result_tail(self.model_card, self.session_info, self.domain, tiles=tiles))

    def to_hdulist(self):
        """FITS form: a header-only primary HDU with provenance and the whole-map result, one
        ``PROB_<CLASS>`` image per class with the input's celestial WCS, ``FILLED`` (pixels
        filled for the network), a ``TILES`` table of per-tile probabilities and, when the
        card records a training domain, a ``DOMAIN`` table of per-tile domain scores and flags
        (the verdict is in the primary header: ``TM_DOM``, ``TM_DOUT``).

        Returns
        -------
        astropy.io.fits.HDUList
        """
        from astropy.io import fits
        from astropy.table import Table

        primary = provenance_primary_hdu(self)
        primary.header["TM_PRED"] = (self.predicted_class, "most probable class, whole map")
        primary.header["TM_NTILE"] = (self.n_tiles_used, "tiles analysed")
        primary.header["TM_TSIZE"] = (int(self.tile_size), "tile size in pixels")
        primary.header["TM_NFILL"] = (self.n_filled_pixels, "NaN pixels filled for the network")
        for index, (name, p, s) in enumerate(zip(self.class_names, self.probability,
                                                 self.probability_std)):
            primary.header[f"TM_CLS{index}"] = (name, f"class {index}")
            primary.header[f"TM_P{index}"] = (float(p), f"whole-map P({name})")
            primary.header[f"TM_S{index}"] = (float(s), f"spread of tile P({name})")
        hdus = [primary]
        for index, name in enumerate(self.class_names):
            image = wcs_image_hdu(self.probability_map[index], name=f"PROB_{name.upper()}"[:68],
                                  wcs=self.wcs)
            image.header["BUNIT"] = ""
            image.header["TM_CLASS"] = (name, self.class_meanings[index][:60])
            hdus.append(image)
        filled = wcs_image_hdu(self.filled_mask, name="FILLED", wcs=self.wcs, dtype=np.uint8)
        hdus.append(filled)
        table = Table()
        table["y0"] = self.tile_origins[:, 0]
        table["x0"] = self.tile_origins[:, 1]
        table["valid_fraction"] = self.tile_valid_fraction
        for index, name in enumerate(self.class_names):
            table[f"p_{name}"] = self.tile_probabilities[:, index]
        hdus.append(fits.BinTableHDU(table, name="TILES"))
        if self.domain is not None:
            hdus.append(self.domain.fits_table(primary.header))
        return fits.HDUList(hdus)

    def write(self, path, *, overwrite=False):
        """Write `to_hdulist` to ``path``."""
        self.to_hdulist().writeto(path, overwrite=overwrite)


@dataclass
class CubeClassificationResult:
    """Classification of every plane of a 3D cube along one axis.

    Attributes
    ----------
    slices : list of ClassificationResult
        One per plane, in order.
    axis : int
        The numpy axis the planes were taken along.
    """

    slices: list
    axis: int

    @property
    def class_names(self):
        return self.slices[0].class_names

    @property
    def slice_probabilities(self):
        """``(n_slices, n_classes)`` whole-plane probabilities."""
        return np.array([result.probability for result in self.slices])

    @property
    def probability(self):
        """``(n_classes,)`` mean over every analysed tile of every plane."""
        tiles = np.concatenate([result.tile_probabilities for result in self.slices])
        tiles = tiles[np.all(np.isfinite(tiles), axis=1)]
        return tiles.mean(axis=0)

    @property
    def probability_std(self):
        """``(n_classes,)`` spread of the tile probabilities over all planes."""
        tiles = np.concatenate([result.tile_probabilities for result in self.slices])
        tiles = tiles[np.all(np.isfinite(tiles), axis=1)]
        return tiles.std(axis=0)

    @property
    def predicted_class(self):
        return self.class_names[int(np.argmax(self.probability))]

    def summary(self):
        """JSON-friendly dict: whole-cube result plus per-plane probabilities."""
        first = self.slices[0].summary()
        first.update({
            "axis": self.axis,
            "n_slices": len(self.slices),
            "predicted_class": self.predicted_class,
            "probability": {n: float(p) for n, p in zip(self.class_names, self.probability)},
            "probability_std": {n: float(s) for n, s in
                                zip(self.class_names, self.probability_std)},
            "n_tiles": int(sum(len(r.tile_probabilities) for r in self.slices)),
            "n_tiles_used": int(sum(r.n_tiles_used for r in self.slices)),
            "n_filled_pixels": int(sum(r.n_filled_pixels for r in self.slices)),
        })
        return first

    def __str__(self):
        parts = ", ".join(f"P({name}) = {p:.3f} ± {s:.3f}" for name, p, s in
                          zip(self.class_names, self.probability, self.probability_std))
        return f"{len(self.slices)} planes along axis {self.axis}: {self.predicted_class} ({parts})"

    def to_hdulist(self):
        """FITS form: provenance primary header, ``PROB_<CLASS>`` cubes (plane, y, x) and a
        ``SLICES`` table of per-plane probabilities."""
        from astropy.io import fits
        from astropy.table import Table

        primary = provenance_primary_hdu(self.slices[0])
        primary.header["TM_AXIS"] = (self.axis, "numpy axis of the classified planes")
        for index, (name, p) in enumerate(zip(self.class_names, self.probability)):
            primary.header[f"TM_CLS{index}"] = (name, f"class {index}")
            primary.header[f"TM_P{index}"] = (float(p), f"whole-cube P({name})")
        hdus = [primary]
        for index, name in enumerate(self.class_names):
            stack = np.stack([result.probability_map[index] for result in self.slices])
            hdus.append(fits.ImageHDU(stack.astype(np.float32), name=f"PROB_{name.upper()}"[:68]))
        table = Table()
        table["plane"] = np.arange(len(self.slices))
        for index, name in enumerate(self.class_names):
            table[f"p_{name}"] = self.slice_probabilities[:, index]
        hdus.append(fits.BinTableHDU(table, name="SLICES"))
        return fits.HDUList(hdus)

    def write(self, path, *, overwrite=False):
        """Write `to_hdulist` to ``path``."""
        self.to_hdulist().writeto(path, overwrite=overwrite)
