"""The feature-space half of the domain check: the distance of a tile's pooled network features
(the embedding the classifier's head reads) from the training tiles' class means."""

from dataclasses import dataclass

import numpy as np

__all__ = ["EMBEDDING_OUTPUT", "EmbeddingCheck"]

#: The graph output holding the pooled features.
EMBEDDING_OUTPUT = "embedding"


@dataclass(frozen=True)
class EmbeddingCheck:
    """The ``domain.embedding`` record of a card.

    Attributes
    ----------
    class_means : numpy.ndarray
        ``(n_classes, d)`` mean embedding of each class's training tiles.
    inverse_covariance : numpy.ndarray
        ``(d, d)`` inverse of the shared within-class covariance (ridge-regularised).
    threshold : float
        Squared distance above which a tile is outside (a calibrated quantile).
    """

    class_means: np.ndarray
    inverse_covariance: np.ndarray
    threshold: float

    @classmethod
    def from_card(cls, card):
        """The check a card records, or None."""
        record = card.get("domain", {}).get("embedding")
        if record is None:
            return None
        covariance = np.asarray(record["covariance"], dtype=np.float64)
        ridge = record["ridge"] * np.trace(covariance) / len(covariance)
        return cls(class_means=np.asarray(record["class_means"], dtype=np.float64),
                   inverse_covariance=np.linalg.inv(covariance + ridge * np.eye(len(covariance))),
                   threshold=float(record["threshold"]))

    def distances(self, embeddings):
        """Squared Mahalanobis distance of each ``(n, d)`` embedding to the nearest class mean."""
        embeddings = np.asarray(embeddings, dtype=np.float64)
        offsets = embeddings[:, None, :] - self.class_means[None, :, :]
        return np.einsum("nki,ij,nkj->nk", offsets, self.inverse_covariance, offsets).min(axis=1)

    def scores(self, embeddings):
        """Distances over the threshold (above 1: outside)."""
        return self.distances(embeddings) / self.threshold
