"""The spectral models' domain check: a Gaussian-mixture density of continuum colours."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from glue_turbml.domain import ColourDomainCheck, DomainError, SpectraDomainResult
from glue_turbml.domain.colours import MAX_MIXTURE_COMPONENTS


def _card(weights, means, covariances, *, reference=0.0, threshold=5.0):
    means = np.asarray(means, dtype=float)
    return {"name": "toy", "input": {"channels": means.shape[1]},
            "domain": {"colours": {"weights": list(weights), "means": means.tolist(),
                                   "covariances": np.asarray(covariances).tolist(),
                                   "reference": reference, "threshold": threshold,
                                   "false_alarm_rate": 0.01}}}


def test_negative_log_likelihood_is_the_mixture_density():
    means = [[0.0, 0.0], [1.0, -1.0]]
    covariances = [np.eye(2) * 0.04, [[0.09, 0.02], [0.02, 0.05]]]
    weights = [0.3, 0.7]
    check = ColourDomainCheck.from_card(_card(weights, means, covariances))
    points = np.random.default_rng(0).normal(0.5, 1.0, size=(50, 2))
    expected = -np.log(sum(weight * multivariate_normal(mean, covariance).pdf(points)
                           for weight, mean, covariance in zip(weights, means, covariances)))
    np.testing.assert_allclose(check.negative_log_likelihood(points), expected, rtol=1e-10)
    # Far away the log-sum-exp stays finite where the density itself underflows to 0.
    far = check.negative_log_likelihood(np.array([[1e3, 1e3]]))
    assert np.isfinite(far) and far > 1e6


def test_scores_are_zero_at_the_reference_and_one_at_the_threshold():
    card = _card([1.0], [[0.0, 0.0, 0.0]], [np.eye(3)], reference=4.0, threshold=8.0)
    check = ColourDomainCheck.from_card(card)
    nll_at_mean = 1.5 * np.log(2.0 * np.pi)
    # distance^2 d gives nll = nll_at_mean + d / 2
    to_reference = np.sqrt(2.0 * (4.0 - nll_at_mean))
    to_threshold = np.sqrt(2.0 * (8.0 - nll_at_mean))
    points = np.array([[to_reference, 0, 0], [0, to_threshold, 0], [np.nan, 0, 0]])
    scores = check.scores(points)
    np.testing.assert_allclose(scores[:2], [0.0, 1.0], atol=1e-12)
    assert np.isnan(scores[2])


@pytest.mark.parametrize("edit, words", [
    (lambda card: card["domain"]["colours"].update(means=[[0.0, 0.0, 0.0]]), "shapes"),
    (lambda card: card["domain"]["colours"].update(
        weights=[1.0 / (MAX_MIXTURE_COMPONENTS + 1)] * (MAX_MIXTURE_COMPONENTS + 1)),
     "at most 64"),
    (lambda card: card["domain"]["colours"].update(covariances=[[[1.0, 2.0], [2.0, 1.0]]]),
     "not positive definite"),
    (lambda card: card["domain"]["colours"].update(threshold=-1.0), "must exceed"),
])
def test_a_broken_record_is_refused_by_name(edit, words):
    card = _card([1.0], [[0.0, 0.0]], [np.eye(2)])
    edit(card)
    with pytest.raises(DomainError, match=words):
        ColourDomainCheck.from_card(card)


def test_no_record_means_no_check():
    assert ColourDomainCheck.from_card({"name": "old", "input": {"channels": 11}}) is None


def test_verdict_counts_only_analysed_spectra():
    inside = SpectraDomainResult.from_scores(np.r_[np.zeros(200), np.nan, 5.0], 0.01)
    assert (inside.n_analysed, inside.n_outside, inside.verdict) == (201, 1, "inside")
    partly = SpectraDomainResult.from_scores(np.r_[np.zeros(80), np.full(20, 3.0)], 0.01)
    assert partly.verdict == "partly outside" and "20 of 100 spectra" in partly.describe()
    one = SpectraDomainResult.from_scores(np.array(1.5), 0.01)
    assert one.verdict == "outside" and one.n_outside == 1
    from astropy.io import fits

    header = fits.Header()
    partly.set_header_keys(header)
    assert (header["TM_DOM"], header["TM_DOUT"], header["TM_DFAR"]) == ("partly outside", 20,
                                                                        0.01)
