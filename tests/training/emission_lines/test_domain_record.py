"""Fitting and calibrating the colour domain record of a spectral model."""

import numpy as np

from glue_turbml.domain import ColourDomainCheck
from training.emission_lines.domain_record import fit_colour_record


def _two_sequences(n, seed):
    """Colours of two populations (like red and blue galaxies) with a heavy tail."""
    rng = np.random.default_rng(seed)
    red = rng.random(n) < 0.4
    centre = np.where(red[:, None], 0.02, -0.03) * np.ones((n, 4))
    return centre + rng.standard_t(5, size=(n, 4)) * 0.015


def test_threshold_flags_the_stated_rate_of_new_draws_of_the_same_kind():
    record = fit_colour_record(_two_sequences(20000, 0), _two_sequences(20000, 1),
                               false_alarm_rate=0.01, n_components=4)
    check = ColourDomainCheck.from_card({"name": "toy", "input": {"channels": 4},
                                         "domain": {"colours": record}})
    flagged = np.mean(check.scores(_two_sequences(20000, 2)) > 1.0)
    # Binomial spread of 20,000 draws at 1% and of the calibration quantile: about 0.1 point.
    assert 0.006 <= flagged <= 0.014
    assert abs(np.median(check.scores(_two_sequences(20000, 3)))) < 0.05
    assert check.scores(np.full((1, 4), 0.3))[0] > 1.0
    assert record["n_fit_spectra"] == 20000 and record["seed"] == 0
