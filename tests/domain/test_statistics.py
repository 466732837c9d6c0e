"""Input statistics of raw tiles against values known by construction."""

import numpy as np
import pytest

from glue_turbml.domain import FEATURE_NAMES, input_statistics
from training.common.random_fields import lognormal_field

COLUMN = {name: index for index, name in enumerate(FEATURE_NAMES)}
K_RANGE = (2.0, 16.0)


def test_lognormal_width_and_slope_are_measured():
    # log10 of exp(sigma g) is g sigma / ln 10, a Gaussian field with the given P(k) slope
    tiles = np.stack([lognormal_field((64, 64), 3.0, sigma_ln=1.0, seed=[1, number])
                      for number in range(20)])
    statistics = input_statistics(tiles, k_range=K_RANGE)
    width = statistics[:, COLUMN["log10_width"]].mean()
    # unit-variance fields of a steep spectrum: a 64 px tile holds most but not all variance
    assert 0.6 / np.log(10) < width <= 1.05 / np.log(10)
    assert statistics[:, COLUMN["log10_slope"]].mean() == pytest.approx(-3.0, abs=0.3)
    assert np.all(statistics[:, COLUMN["nan_fraction"]] == 0)


def test_statistics_do_not_depend_on_the_units():
    tile = lognormal_field((32, 32), 3.5, sigma_ln=0.8, seed=[2])
    np.testing.assert_allclose(input_statistics(tile, k_range=K_RANGE),
                               input_statistics(3.2e21 * tile, k_range=K_RANGE), atol=1e-9)


def test_point_sources_count_as_compact_peaks_and_ridges_do_not():
    background = 1.0 + 0.01 * np.random.default_rng(3).normal(size=(64, 64))
    stars = background.copy()
    positions = [(10, 10), (20, 45), (40, 30), (50, 55), (30, 12)]
    for y, x in positions:
        stars[y, x] *= 50
    ridge = background.copy()
    ridge[:, 30:33] *= 50  # a sheet seen edge-on: not compact
    fraction = input_statistics(np.stack([background, stars, ridge]),
                                k_range=K_RANGE)[:, COLUMN["compact_peaks"]]
    assert fraction[1] == pytest.approx(len(positions) / 64 ** 2, abs=2 / 64 ** 2)
    assert fraction[2] < fraction[1] / 2


def test_nan_nonpositive_and_saturated_fractions_are_counted():
    tile = np.linspace(1.0, 2.0, 100).reshape(10, 10)
    tile[0, :5] = np.nan           # 5% NaN
    tile[1, :19 // 2] = 0.0        # 9 of the 95 finite pixels are not positive
    tile[9, :] = 2.0               # the row at the maximum: 10 saturated pixels
    row = input_statistics(tile, k_range=(1.0, 3.0))[0]
    assert row[COLUMN["nan_fraction"]] == pytest.approx(0.05)
    assert row[COLUMN["nonpositive_fraction"]] == pytest.approx(9 / 95)
    assert row[COLUMN["saturated_fraction"]] == pytest.approx(10 / 95)
    empty = input_statistics(np.zeros((8, 8)), k_range=(1.0, 2.0))[0]
    assert empty[COLUMN["nonpositive_fraction"]] == 1.0 and empty[COLUMN["log10_width"]] == 0
