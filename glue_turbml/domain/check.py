"""The domain check of a model card: how far each tile's input statistics lie from the
training tiles', and whether that is farther than the card's calibrated threshold."""

from dataclasses import dataclass

import numpy as np

from .statistics import FEATURE_NAMES, input_statistics

__all__ = ["DomainCheck", "DomainError", "DomainResult", "check_map", "map_verdict"]


@dataclass(frozen=True)
class DomainCheck:
    """The ``domain.input_statistics`` record of a card, ready to score tiles.

    Attributes
    ----------
    mean : numpy.ndarray
        ``(d,)`` mean statistics of the training tiles.
    inverse_covariance : numpy.ndarray
        ``(d, d)`` inverse of their covariance, regularised by the card's per-feature floors.
    threshold : float
        Squared Mahalanobis distance above which a tile is outside the domain: a quantile over
        held-out training-domain tiles (``1 - threshold_rate`` in the record; half the budget
        when an embedding part shares it).
    false_alarm_rate : float
        The rate the whole check (both parts) is calibrated to.
    k_range : tuple of float
        Wavenumbers (cycles per tile) of the slope statistic.
    """

    mean: np.ndarray
    inverse_covariance: np.ndarray
    threshold: float
    false_alarm_rate: float
    k_range: tuple

    @classmethod
    def from_card(cls, card):
        """The check a card records, or None when it records none.

        Raises
        ------
        DomainError
            For a record of other statistics, or with matrices of the wrong shape.
        """
        record = card.get("domain", {}).get("input_statistics")
        if record is None:
            return None
        if tuple(record["features"]) != FEATURE_NAMES:
            raise DomainError(f"model {card['name']!r}: its domain record uses the statistics "
                              f"{record['features']}, this glue-turbml computes "
                              f"{list(FEATURE_NAMES)}; update glue-turbml or re-record it")
        mean = np.asarray(record["mean"], dtype=np.float64)
        covariance = np.asarray(record["covariance"], dtype=np.float64)
        floor = np.asarray(record["scale_floor"], dtype=np.float64)
        dimension = len(FEATURE_NAMES)
        if mean.shape != (dimension,) or covariance.shape != (dimension, dimension) \
                or floor.shape != (dimension,):
            raise DomainError(f"model {card['name']!r}: domain record of the wrong shape")
        return cls(mean=mean, inverse_covariance=np.linalg.inv(covariance + np.diag(floor ** 2)),
                   threshold=float(record["threshold"]),
                   false_alarm_rate=float(record["false_alarm_rate"]),
                   k_range=tuple(record["k_range"]))

    def distances(self, statistics):
        """Squared Mahalanobis distances of ``(n, d)`` statistics from the training mean."""
        offset = np.asarray(statistics, dtype=np.float64) - self.mean
        return np.einsum("ni,ij,nj->n", offset, self.inverse_covariance, offset)

    def score_tiles(self, tiles):
        """``(scores, in_domain)`` of raw ``(n, T, T)`` tiles: the squared distance over the
        threshold (above 1: outside) and the flag."""
        scores = self.distances(input_statistics(tiles, k_range=self.k_range)) / self.threshold
        return scores, scores <= 1.0


def map_verdict(in_domain, false_alarm_rate):
    """Whole-map verdict from the per-tile flags.

    ``"inside"`` when no more tiles are flagged than false alarms explain (the binomial
    99.9% bound at the card's rate), ``"outside"`` when most tiles are flagged, ``"partly
    outside"`` between.

    Parameters
    ----------
    in_domain : array_like of bool
        Per analysed tile.
    false_alarm_rate : float

    Returns
    -------
    str
    """
    from scipy.stats import binom

    flags = np.asarray(in_domain, dtype=bool)
    flagged = int(np.sum(~flags))
    if flagged * 2 > flags.size:
        return "outside"
    if flagged > binom.ppf(0.999, flags.size, false_alarm_rate):
        return "partly outside"
    return "inside"


@dataclass
class DomainResult:
    """The domain check of one analysed map.

    Attributes
    ----------
    tile_scores : numpy.ndarray
        ``(n_tiles,)`` the larger of the input-statistics and embedding scores, each a squared
        distance over its threshold (above 1: outside); NaN for tiles not analysed.
    verdict : str
        ``"inside"``, ``"partly outside"`` or ``"outside"`` (see `map_verdict`).
    false_alarm_rate : float
        The card's calibrated rate of in-domain tiles flagged (both parts together).
    input_scores, embedding_scores : numpy.ndarray or None
        The two parts (embedding: None when the card records no embedding part).
    tile_origins : numpy.ndarray or None
        ``(n_tiles, 2)`` pixel ``(y0, x0)`` of each tile.
    """

    tile_scores: np.ndarray
    verdict: str
    false_alarm_rate: float
    tile_origins: object = None
    input_scores: object = None
    embedding_scores: object = None

    @property
    def tile_in_domain(self):
        """``(n_tiles,)`` bool; False for tiles outside the domain and for unanalysed tiles."""
        with np.errstate(invalid="ignore"):
            return self.tile_scores <= 1.0

    @property
    def n_outside(self):
        """Analysed tiles outside the training domain."""
        return int(np.sum(self.tile_scores > 1.0))

    @property
    def n_analysed(self):
        return int(np.sum(np.isfinite(self.tile_scores)))

    def describe(self):
        """``"inside the training domain"``, or how many tiles lie outside it."""
        if self.verdict == "inside":
            return "inside the training domain"
        if self.verdict == "outside":
            return (f"OUTSIDE the training domain ({self.n_outside} of {self.n_analysed} "
                    "tiles): not a measurement")
        return (f"PARTLY OUTSIDE the training domain: {self.n_outside} of {self.n_analysed} "
                "tiles, whose answers are not measurements")

    def fits_table(self, header):
        """The ``DOMAIN`` table (per tile: origin, score, flag); sets the verdict keys
        ``TM_DOM``, ``TM_DOUT`` and ``TM_DFAR`` in ``header`` (the result's primary header).

        Returns
        -------
        astropy.io.fits.BinTableHDU
        """
        from astropy.io import fits
        from astropy.table import Table

        header["TM_DOM"] = (self.verdict, "training domain verdict")
        header["TM_DOUT"] = (self.n_outside, "tiles outside the domain")
        header["TM_DFAR"] = (self.false_alarm_rate, "in-domain tiles flagged (calibrated)")
        table = Table()
        table["y0"] = np.asarray(self.tile_origins)[:, 0]
        table["x0"] = np.asarray(self.tile_origins)[:, 1]
        table["score"] = self.tile_scores
        table["in_domain"] = self.tile_in_domain
        return fits.BinTableHDU(table, name="DOMAIN")

    def summary(self):
        """JSON-friendly dict."""
        return {"verdict": self.verdict, "n_tiles_outside": self.n_outside,
                "n_tiles_analysed": self.n_analysed,
                "false_alarm_rate": self.false_alarm_rate,
                "parts": (["input statistics"] if self.embedding_scores is None
                          else ["input statistics", "network embedding"]),
                "tile_scores": [None if not np.isfinite(score) else round(float(score), 4)
                                for score in self.tile_scores]}


def check_map(card, image, grid, used, *, embeddings=None):
    """Score the analysed tiles of a map against the card's domain record.

    Parameters
    ----------
    card : dict
    image : numpy.ndarray
        The raw 2D map as given (before NaN filling or preprocessing).
    grid : glue_turbml.core.TileGrid
    used : numpy.ndarray of int
        The analysed tiles.
    embeddings : numpy.ndarray, optional
        ``(len(used), d)`` pooled features of the analysed tiles, for the embedding part.

    Returns
    -------
    DomainResult or None
        None when the card records no domain.
    """
    from ..core import extract_tiles
    from .embedding import EmbeddingCheck

    check = DomainCheck.from_card(card)
    if check is None:
        return None
    input_scores = np.full(grid.n_tiles, np.nan)
    if used.size:
        input_scores[used], _ = check.score_tiles(
            extract_tiles(np.asarray(image, np.float64), grid, indices=used))
    combined, embedding_scores = input_scores.copy(), None
    embedding_check = EmbeddingCheck.from_card(card)
    if embedding_check is not None and embeddings is not None and used.size:
        embedding_scores = np.full(grid.n_tiles, np.nan)
        embedding_scores[used] = embedding_check.scores(embeddings)
        combined = np.fmax(input_scores, embedding_scores)
    flags = combined[used] <= 1.0
    return DomainResult(tile_scores=combined, verdict=map_verdict(flags, check.false_alarm_rate),
                        false_alarm_rate=check.false_alarm_rate, tile_origins=grid.origins,
                        input_scores=input_scores,
                        embedding_scores=embedding_scores)


class DomainError(ValueError):
    """A card's ``domain`` record cannot be used."""
