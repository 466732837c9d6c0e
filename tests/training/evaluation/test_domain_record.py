"""A domain record fitted on one set of tiles and calibrated on another flags the stated share
of held-out tiles of the same kind."""

import numpy as np
import pytest

from glue_turbml.domain import DomainCheck
from training.common.random_fields import lognormal_field
from training.evaluation.domain_record import fit_domain_record


def _tiles(seed, count):
    return np.stack([lognormal_field((32, 32), 3.5, sigma_ln=1.0, seed=[seed, number])
                     for number in range(count)])


def test_threshold_is_the_calibration_quantile_and_generalises():
    record = fit_domain_record(_tiles(1, 150), _tiles(2, 400), k_range=(2, 8),
                               false_alarm_rate=0.05)
    check = DomainCheck.from_card({"name": "t", "domain": {"input_statistics": record}})
    _, calibration_inside = check.score_tiles(_tiles(2, 400))
    assert 1 - calibration_inside.mean() == pytest.approx(0.05, abs=1 / 400)
    _, held_out_inside = check.score_tiles(_tiles(3, 400))
    # 400 new tiles at a 5% rate: binomial sd 1.1%, so within 3.3 sd
    assert abs((1 - held_out_inside.mean()) - 0.05) <= 0.035
    flatter = np.stack([lognormal_field((32, 32), 1.5, sigma_ln=1.0, seed=[4, number])
                        for number in range(50)])
    assert not check.score_tiles(flatter)[1].any()
    assert record["n_fit_tiles"] == 150 and record["features"][0] == "log10_width"


def test_too_few_fit_tiles_are_refused():
    with pytest.raises(ValueError, match="fit tiles"):
        fit_domain_record(_tiles(5, 5), _tiles(6, 20), k_range=(2, 8))


def test_thresholds_from_held_out_runs_allow_for_what_a_new_run_differs_by():
    from training.evaluation.domain_record import fit_embedding_record

    rng = np.random.default_rng(11)
    # six runs, two per class; each run sits at its own offset from its class mean
    offsets = rng.normal(0.0, 3.0, size=(6, 4))
    labels = np.repeat([0, 0, 0, 1, 1, 1], 50)
    groups = np.repeat(np.arange(6), 50)
    features = offsets[groups] + rng.normal(0.0, 1.0, size=(300, 4)) + 5.0 * labels[:, None]
    within = fit_embedding_record(features, labels, features[::2], threshold_rate=0.01)
    by_run = fit_embedding_record(features, labels, None, threshold_rate=0.01,
                                  fit_groups=groups)
    assert by_run["threshold"] > 2 * within["threshold"]
    assert by_run["calibration"].startswith("each run's tiles")
    # a new run of the same kind: flagged far less often under the run-aware threshold
    new_run = rng.normal(0.0, 3.0, size=4) + rng.normal(0.0, 1.0, size=(200, 4))

    def flagged(record):
        from glue_turbml.domain.embedding import EmbeddingCheck

        check = EmbeddingCheck.from_card({"domain": {"embedding": record}})
        return np.mean(check.distances(new_run) > record["threshold"])

    assert flagged(by_run) < flagged(within)
    with pytest.raises(ValueError, match="groups"):
        fit_embedding_record(features, labels, None, threshold_rate=0.01)
