"""Record what a model's training tiles looked like, for the runtime's domain check
(`glue_turbml.domain`): the mean and covariance of their input statistics and a threshold
calibrated on held-out tiles of the same kind to a stated false-alarm rate."""

import numpy as np

from glue_turbml.domain import FEATURE_NAMES, DomainCheck, input_statistics

__all__ = ["SCALE_FLOOR", "EMBEDDING_RIDGE", "fit_domain_record", "fit_embedding_record",
           "held_out_group_distances"]

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


def held_out_group_distances(values, groups, fit, distances):
    """Distances of each group's values under a record fitted to the other groups.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n, ...)`` per-tile values (statistics or embeddings).
    groups : array_like
        ``(n,)`` group of each value (e.g. the simulation run it came from).
    fit : callable
        ``fit(mask)`` -> a record fitted to ``values[mask]``.
    distances : callable
        ``distances(record, values)`` -> squared distances.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` distances, each under the record that never saw its group: what a new run
        of the same kind scores, not what a new map of a seen run scores.
    """
    groups = np.asarray(groups)
    out = np.empty(len(values))
    for group in np.unique(groups):
        inside = groups == group
        out[inside] = distances(fit(~inside), values[inside])
    return out


def fit_domain_record(fit_tiles, calibration_tiles, *, k_range, false_alarm_rate=0.01,
                      threshold_rate=None, description="", fit_groups=None):
    """The card's ``domain.input_statistics`` record from raw training-domain tiles.

    Parameters
    ----------
    fit_tiles : array_like
        ``(n, T, T)`` raw tiles like the training inputs (before preprocessing): their mean and
        covariance define the domain.
    calibration_tiles : array_like or None
        Other raw tiles of the same kind (other seeds): the threshold is the
        ``1 - false_alarm_rate`` quantile of their distances. None with ``fit_groups``: the
        distances of each group's fit tiles under a record fitted without that group
        (`held_out_group_distances`).
    k_range : tuple of float
        Slope-fit wavenumbers (cycles per tile).
    false_alarm_rate : float
        The rate the whole check is calibrated to (recorded; the runtime's verdict uses it).
    threshold_rate : float, optional
        The quantile of this part alone (``false_alarm_rate`` by default; half of it when an
        embedding part shares the budget).
    description : str
        What the tiles are (kept in the record).
    fit_groups : array_like, optional
        ``(n,)`` group of each fit tile (the run it came from), for ``calibration_tiles=None``.

    Returns
    -------
    dict
        JSON-friendly record (features, mean, covariance, scale floor, threshold, rates, counts).
    """
    fit_statistics = input_statistics(fit_tiles, k_range=k_range)
    if len(fit_statistics) <= len(FEATURE_NAMES):
        raise ValueError(f"need more than {len(FEATURE_NAMES)} fit tiles for a covariance, got "
                         f"{len(fit_statistics)}")

    def fit(statistics):
        return {
            "features": list(FEATURE_NAMES),
            "mean": statistics.mean(axis=0).tolist(),
            "covariance": np.cov(statistics, rowvar=False).tolist(),
            "scale_floor": [SCALE_FLOOR[name] for name in FEATURE_NAMES],
            "k_range": [float(k) for k in k_range],
            "false_alarm_rate": float(false_alarm_rate),
            "threshold": 1.0,
            "n_fit_tiles": int(len(statistics)),
            "description": description,
        }

    def distances_under(record, statistics):
        check = DomainCheck.from_card({"name": "calibration",
                                       "domain": {"input_statistics": record}})
        return check.distances(statistics)

    record = fit(fit_statistics)
    if calibration_tiles is None:
        if fit_groups is None:
            raise ValueError("give calibration tiles or the fit tiles' groups")
        distances = held_out_group_distances(
            fit_statistics, fit_groups, lambda mask: fit(fit_statistics[mask]), distances_under)
        record["calibration"] = "each run's tiles under a record fitted without that run"
    else:
        distances = distances_under(record,
                                    input_statistics(calibration_tiles, k_range=k_range))
    rate = false_alarm_rate if threshold_rate is None else threshold_rate
    record["threshold"] = float(np.quantile(distances, 1.0 - rate))
    record["threshold_rate"] = float(rate)
    record["n_calibration_tiles"] = int(len(distances))
    return record


def fit_embedding_record(fit_embeddings, fit_labels, calibration_embeddings, *, threshold_rate,
                         fit_groups=None):
    """The card's ``domain.embedding`` record: class means, shared within-class covariance and
    a threshold at the ``1 - threshold_rate`` quantile of held-out distances.

    Parameters
    ----------
    fit_embeddings : array_like
        ``(n, d)`` pooled features of training-domain tiles.
    fit_labels : array_like of int
        Their classes.
    calibration_embeddings : array_like or None
        ``(m, d)`` features of other training-domain tiles; None with ``fit_groups``: each
        group's fit features under a record fitted without that group.
    threshold_rate : float
    fit_groups : array_like, optional
        ``(n,)`` group of each fit tile, for ``calibration_embeddings=None``.

    Returns
    -------
    dict
    """
    from glue_turbml.domain.embedding import EMBEDDING_OUTPUT, EmbeddingCheck

    fit_embeddings = np.asarray(fit_embeddings, dtype=np.float64)
    fit_labels = np.asarray(fit_labels)

    def fit(embeddings, labels):
        classes = np.unique(labels)
        means = np.stack([embeddings[labels == label].mean(axis=0) for label in classes])
        centred = embeddings - means[np.searchsorted(classes, labels)]
        return {"output": EMBEDDING_OUTPUT, "class_means": means.tolist(),
                "covariance": np.cov(centred, rowvar=False).tolist(), "ridge": EMBEDDING_RIDGE,
                "threshold": 1.0, "n_fit_tiles": int(len(embeddings))}

    def distances_under(record, embeddings):
        return EmbeddingCheck.from_card({"domain": {"embedding": record}}).distances(embeddings)

    record = fit(fit_embeddings, fit_labels)
    if calibration_embeddings is None:
        if fit_groups is None:
            raise ValueError("give calibration embeddings or the fit tiles' groups")
        distances = held_out_group_distances(
            fit_embeddings, fit_groups,
            lambda mask: fit(fit_embeddings[mask], fit_labels[mask]), distances_under)
        record["calibration"] = "each run's tiles under a record fitted without that run"
    else:
        distances = distances_under(record, calibration_embeddings)
    record["threshold"] = float(np.quantile(distances, 1.0 - threshold_rate))
    record["threshold_rate"] = float(threshold_rate)
    record["n_calibration_tiles"] = int(len(distances))
    return record
