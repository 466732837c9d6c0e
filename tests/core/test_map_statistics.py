"""Tests of glue_turbml.core.map_statistics: the whole-map statistics a U-Net may read."""

import numpy as np
import pytest
from scipy import stats

from glue_turbml.core import MAP_STATISTICS, map_statistics
from glue_turbml.core.spectra import fit_power_law_slope, radial_power_spectrum

from tests.core.test_spectra import power_law_field

ALL = list(MAP_STATISTICS)


def test_moments_are_scipy_s_on_the_finite_pixels_and_the_map_is_not_modified():
    rng = np.random.default_rng(3)
    image = rng.gamma(2.0, 0.4, size=(60, 70))
    image[10:14, 20:30] = np.nan
    before = image.copy()
    values = image[np.isfinite(image)]
    std, skewness, kurtosis = map_statistics(image, ["std", "skewness", "excess_kurtosis"])
    np.testing.assert_array_equal(image, before)
    assert std == pytest.approx(values.std(), rel=1e-6)
    assert skewness == pytest.approx(stats.skew(values), rel=1e-5)
    assert kurtosis == pytest.approx(stats.kurtosis(values), rel=1e-5)
    # a gamma(2) distribution is skewed (2 / sqrt(2)) and heavy-tailed (6 / 2): the sample
    # of 4,000 pixels is near both
    assert abs(skewness - np.sqrt(2.0)) < 0.3 and abs(kurtosis - 3.0) < 1.5


def test_names_choose_and_order_the_values():
    image = np.random.default_rng(4).normal(size=(32, 32))
    every = map_statistics(image, ALL)
    assert every.dtype == np.float32 and every.shape == (len(ALL),)
    np.testing.assert_array_equal(map_statistics(image, ALL[::-1]), every[::-1])


@pytest.mark.parametrize("slope", [3.0, 11 / 3, 4.0])
def test_spectral_slope_recovers_a_power_law_on_a_periodic_map_and_on_a_cut_out_one(slope):
    whole = power_law_field((256, 256), slope, seed=5)
    assert map_statistics(whole, ["spectral_slope"])[0] == pytest.approx(-slope, abs=0.1)
    # a quarter of it does not wrap around: mirrored, its edges add no jump
    assert map_statistics(whole[:128, :128], ["spectral_slope"])[0] == pytest.approx(
        -slope, abs=0.35)


def test_mirroring_keeps_a_steep_spectrum_that_the_edge_jump_would_flatten():
    cut = power_law_field((256, 256), 4.0, seed=7)[:128, :128]
    wavenumber, power = radial_power_spectrum(cut)     # as if the cut-out wrapped around
    plain = fit_power_law_slope(wavenumber, power, k_min=2, k_max=32)
    mirrored = map_statistics(cut, ["spectral_slope"])[0]
    # the jump's power falls as k^-2, far shallower than k^-4
    assert plain > -3.6
    assert abs(mirrored + 4.0) < abs(plain + 4.0)


def test_nan_pixels_are_left_out_of_the_moments_and_filled_for_the_spectrum():
    image = power_law_field((128, 128), 3.0, seed=6)
    holed = image.copy()
    holed[40:44, 50:60] = np.nan
    with_hole = map_statistics(holed, ALL)
    assert np.all(np.isfinite(with_hole))
    assert with_hole[0] == pytest.approx(np.nanstd(holed), rel=1e-6)
    assert with_hole[3] == pytest.approx(map_statistics(image, ["spectral_slope"])[0], abs=0.05)


@pytest.mark.parametrize("image, names, message", [
    (np.ones((8, 8, 2)), ["std"], "2D map"),
    (np.full((32, 32), np.nan), ["std"], "at least 16 finite pixels"),
    (np.ones((32, 32)), ["std"], "constant map"),
    (np.zeros((32, 32)) + np.eye(32), ["variance"], "unknown map statistics"),
])
def test_bad_maps_and_names_are_refused_with_the_reason(image, names, message):
    with pytest.raises(ValueError, match=message):
        map_statistics(image, names)


def test_the_card_schema_names_exactly_these_statistics():
    import json
    from importlib.resources import files

    schema = json.loads(files("glue_turbml.models").joinpath("card_schema_v1.json").read_text())
    entry = schema["properties"]["input"]["properties"]["map_statistics"]
    assert entry["properties"]["names"]["items"]["enum"] == ALL
