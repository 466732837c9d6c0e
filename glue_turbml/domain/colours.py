"""The domain check of the spectral (emission-line) models: how likely a spectrum's continuum
colours are under the density of the training galaxies' colours, against a threshold calibrated
on held-out galaxies.

The networks read 7-11 numbers per spectrum, so the check works on those numbers themselves. The
galaxy colours are not one Gaussian (red passive and blue star-forming galaxies form two
sequences, and measurement noise gives long tails), so the record is a Gaussian mixture: the
score is its negative log-likelihood, rescaled so that the median held-out galaxy scores 0 and
the calibrated threshold 1 (above 1: outside, as for the image models' tiles).
"""

from dataclasses import dataclass

import numpy as np

from .check import DomainError, map_verdict

__all__ = ["ColourDomainCheck", "SpectraDomainResult", "MAX_MIXTURE_COMPONENTS"]

#: A card may not ask for more mixture components than this (each is a full covariance).
MAX_MIXTURE_COMPONENTS = 64


@dataclass(frozen=True)
class ColourDomainCheck:
    """The ``domain.colours`` record of a spectral model's card, ready to score colours.

    Attributes
    ----------
    log_weights : numpy.ndarray
        ``(k,)`` log mixture weights.
    means : numpy.ndarray
        ``(k, d)`` component means.
    inverse_covariances : numpy.ndarray
        ``(k, d, d)``.
    log_normalisations : numpy.ndarray
        ``(k,)`` ``-0.5 (d log 2 pi + log det covariance)``.
    reference, threshold : float
        Negative log-likelihoods scoring 0 (the median held-out galaxy) and 1 (the calibrated
        quantile).
    false_alarm_rate : float
        The rate of held-out training-domain spectra the threshold flags.
    """

    log_weights: np.ndarray
    means: np.ndarray
    inverse_covariances: np.ndarray
    log_normalisations: np.ndarray
    reference: float
    threshold: float
    false_alarm_rate: float

    @classmethod
    def from_card(cls, card):
        """The check a card records, or None when it records none.

        Raises
        ------
        DomainError
            For a record whose shapes do not match the model's colours, or one too large.
        """
        record = card.get("domain", {}).get("colours")
        if record is None:
            return None
        name = card.get("name", "?")
        weights = np.asarray(record["weights"], dtype=np.float64)
        means = np.asarray(record["means"], dtype=np.float64)
        covariances = np.asarray(record["covariances"], dtype=np.float64)
        n_colours = card.get("input", {}).get("channels", means.shape[-1] if means.ndim else 0)
        k = weights.size
        if not 1 <= k <= MAX_MIXTURE_COMPONENTS or means.shape != (k, n_colours) \
                or covariances.shape != (k, n_colours, n_colours):
            raise DomainError(f"model {name!r}: its colour domain record has {k} components "
                              f"of shapes {means.shape} and {covariances.shape}; expected at "
                              f"most {MAX_MIXTURE_COMPONENTS} components of {n_colours} "
                              "colours")
        signs, log_determinants = np.linalg.slogdet(covariances)
        if np.any(signs <= 0) or np.any(weights <= 0):
            raise DomainError(f"model {name!r}: its colour domain record has a covariance "
                              "that is not positive definite or a weight <= 0")
        reference, threshold = float(record["reference"]), float(record["threshold"])
        if not threshold > reference:
            raise DomainError(f"model {name!r}: its colour domain threshold must exceed its "
                              "reference")
        return cls(log_weights=np.log(weights / weights.sum()), means=means,
                   inverse_covariances=np.linalg.inv(covariances),
                   log_normalisations=-0.5 * (n_colours * np.log(2.0 * np.pi)
                                              + log_determinants),
                   reference=reference, threshold=threshold,
                   false_alarm_rate=float(record["false_alarm_rate"]))

    def negative_log_likelihood(self, colours):
        """``(n,)`` negative log mixture density of ``(n, d)`` colours (NaN rows give NaN)."""
        colours = np.asarray(colours, dtype=np.float64)
        offsets = colours[:, None, :] - self.means[None]
        squared = np.einsum("nki,kij,nkj->nk", offsets, self.inverse_covariances, offsets)
        per_component = self.log_weights + self.log_normalisations - 0.5 * squared
        top = np.max(per_component, axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):
            log_density = top[:, 0] + np.log(np.sum(np.exp(per_component - top), axis=1))
        return -log_density

    def scores(self, colours):
        """``(n,)`` scores: 0 for a typical training galaxy, above 1 outside the domain."""
        return ((self.negative_log_likelihood(colours) - self.reference)
                / (self.threshold - self.reference))


@dataclass
class SpectraDomainResult:
    """The domain check of the spectra of one input.

    Attributes
    ----------
    scores : numpy.ndarray
        Per spectrum or spaxel, shaped like the EW maps; above 1: outside; NaN where no
        prediction was made.
    verdict : str
        ``"inside"``, ``"partly outside"`` or ``"outside"`` (`glue_turbml.domain.map_verdict`
        over the predicted spectra).
    false_alarm_rate : float
        The card's calibrated rate of training-domain spectra flagged.
    """

    scores: np.ndarray
    verdict: str
    false_alarm_rate: float

    @classmethod
    def from_scores(cls, scores, false_alarm_rate):
        """The result of given scores (NaN: not analysed), with its verdict."""
        scores = np.asarray(scores, dtype=np.float64)
        analysed = scores[np.isfinite(scores)]
        return cls(scores=scores, verdict=map_verdict(analysed <= 1.0, false_alarm_rate),
                   false_alarm_rate=float(false_alarm_rate))

    @property
    def in_domain(self):
        """Bool like `scores`; False outside the domain and where not analysed."""
        with np.errstate(invalid="ignore"):
            return self.scores <= 1.0

    @property
    def n_outside(self):
        """Analysed spectra outside the training domain."""
        with np.errstate(invalid="ignore"):
            return int(np.sum(self.scores > 1.0))

    @property
    def n_analysed(self):
        return int(np.sum(np.isfinite(self.scores)))

    def describe(self):
        """``"inside the training domain"``, or how many spectra lie outside it."""
        if self.verdict == "inside":
            return "inside the training domain"
        what = "OUTSIDE" if self.verdict == "outside" else "PARTLY OUTSIDE"
        return (f"{what} the training domain: {self.n_outside} of {self.n_analysed} spectra "
                "have continuum colours unlike the training galaxies'; their EWs are not "
                "measurements")

    def set_header_keys(self, header):
        """Set the verdict keys ``TM_DOM``, ``TM_DOUT`` and ``TM_DFAR`` in ``header``."""
        header["TM_DOM"] = (self.verdict, "training domain verdict")
        header["TM_DOUT"] = (self.n_outside, "spectra outside the domain")
        header["TM_DFAR"] = (self.false_alarm_rate, "in-domain spectra flagged (calibrated)")

    def summary(self):
        """JSON-friendly dict (no per-spectrum scores: they are in the FITS output)."""
        return {"verdict": self.verdict, "n_spectra_outside": self.n_outside,
                "n_spectra_analysed": self.n_analysed,
                "false_alarm_rate": self.false_alarm_rate,
                "parts": ["continuum colours (Gaussian mixture of the training galaxies)"]}
