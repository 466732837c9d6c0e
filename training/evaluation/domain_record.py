"""Record what a model's training tiles looked like, for the runtime's domain check
(`glue_turbml.domain`): the mean and covariance of their input statistics and a threshold
calibrated on held-out tiles of the same kind to a stated false-alarm rate."""

import numpy as np

from glue_turbml.domain import FEATURE_NAMES, DomainCheck, input_statistics

__all__ = ["SCALE_FLOOR", "EMBEDDING_RIDGE", "fit_domain_record", "fit_embedding_record"]

#: Ridge added to the embedding covariance, relative to its mean variance: features that never
#: vary in training (dead channels) must not make every small change infinitely far.
EMBEDDING_RIDGE = 1e-3

#: Smallest spread each statistic is given (added in quadrature to the training spread), so a
#: statistic that never varied in training (no NaN in simulations) still has a finite scale:
#: 0.01 dex of log width, 0.05 of skew and slope, 1e-4 of compact peaks (about 2 per 128 px
#: tile), 10% of NaN pixels (filled ones are near neighbours' copies), 1% of non-positive or
#: saturated pixels.
SCALE_FLOOR = {"log10_width": 0.01, "log10_skew": 0.05, "log10_slope": 0.05,
               "compact_peaks": 1e-4, "nan_fraction": 0.1, "nonpositive_fraction": 0.01,
               "saturated_fraction": 0.01}


def fit_domain_record(fit_tiles, calibration_tiles, *, k_range, false_alarm_rate=0.01,
                      threshold_rate=None, description=""):
    """The card's ``domain.input_statistics`` record from raw training-domain tiles.

    Parameters
    ----------
    fit_tiles : array_like
        ``(n, T, T)`` raw tiles like the training inputs (before preprocessing): their mean and
        covariance define the domain.
    calibration_tiles : array_like
        Other raw tiles of the same kind (other seeds): the threshold is the
        ``1 - false_alarm_rate`` quantile of their distances.
    k_range : tuple of float
        Slope-fit wavenumbers (cycles per tile).
    false_alarm_rate : float
        The rate the whole check is calibrated to (recorded; the runtime's verdict uses it).
    threshold_rate : float, optional
        The quantile of this part alone (``false_alarm_rate`` by default; half of it when an
        embedding part shares the budget).
    description : str
        What the tiles are (kept in the record).

    Returns
    -------
    dict
        JSON-friendly record (features, mean, covariance, scale floor, threshold, rates, counts).
    """
    fit_statistics = input_statistics(fit_tiles, k_range=k_range)
    if len(fit_statistics) <= len(FEATURE_NAMES):
        raise ValueError(f"need more than {len(FEATURE_NAMES)} fit tiles for a covariance, got "
                         f"{len(fit_statistics)}")
    record = {
        "features": list(FEATURE_NAMES),
        "mean": fit_statistics.mean(axis=0).tolist(),
        "covariance": np.cov(fit_statistics, rowvar=False).tolist(),
        "scale_floor": [SCALE_FLOOR[name] for name in FEATURE_NAMES],
        "k_range": [float(k) for k in k_range],
        "false_alarm_rate": float(false_alarm_rate),
        "threshold": 1.0,
        "n_fit_tiles": int(len(fit_statistics)),
        "description": description,
    }
    check = DomainCheck.from_card({"name": "calibration", "domain": {"input_statistics": record}})
    distances = check.distances(input_statistics(calibration_tiles, k_range=k_range))
    rate = false_alarm_rate if threshold_rate is None else threshold_rate
    record["threshold"] = float(np.quantile(distances, 1.0 - rate))
    record["threshold_rate"] = float(rate)
    record["n_calibration_tiles"] = int(len(distances))
    return record


def fit_embedding_record(fit_embeddings, fit_labels, calibration_embeddings, *, threshold_rate):
    """The card's ``domain.embedding`` record: class means, shared within-class covariance and
    a threshold at the ``1 - threshold_rate`` quantile of held-out distances.

    Parameters
    ----------
    fit_embeddings : array_like
        ``(n, d)`` pooled features of training-domain tiles.
    fit_labels : array_like of int
        Their classes.
    calibration_embeddings : array_like
        ``(m, d)`` features of other training-domain tiles.
    threshold_rate : float

    Returns
    -------
    dict
    """
    from glue_turbml.domain.embedding import EMBEDDING_OUTPUT, EmbeddingCheck

    fit_embeddings = np.asarray(fit_embeddings, dtype=np.float64)
    fit_labels = np.asarray(fit_labels)
    classes = np.unique(fit_labels)
    means = np.stack([fit_embeddings[fit_labels == label].mean(axis=0) for label in classes])
    centred = fit_embeddings - means[np.searchsorted(classes, fit_labels)]
    record = {"output": EMBEDDING_OUTPUT, "class_means": means.tolist(),
              "covariance": np.cov(centred, rowvar=False).tolist(), "ridge": EMBEDDING_RIDGE,
              "threshold": 1.0, "n_fit_tiles": int(len(fit_embeddings))}
    check = EmbeddingCheck.from_card({"domain": {"embedding": record}})
    distances = check.distances(calibration_embeddings)
    record["threshold"] = float(np.quantile(distances, 1.0 - threshold_rate))
    record["threshold_rate"] = float(threshold_rate)
    record["n_calibration_tiles"] = int(len(distances))
    return record
