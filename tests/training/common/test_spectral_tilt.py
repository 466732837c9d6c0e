"""The spectral-tilt augmentation: a known slope change, phases and mean log kept."""

import numpy as np
import pytest

from training.common.spectral_tilt import spectrally_tilted


def lognormal_map(size=64, slope=3.0, seed=0):
    """A positive periodic map whose log has a power spectrum ``|k|^-slope``."""
    from training.common.random_fields import lognormal_field

    return lognormal_field((size, size), slope, sigma_ln=1.0, seed=seed)


def log_power_slope(image, low=3, high=20):
    """Log-log slope of the log map's radially averaged power over low <= |k| <= high."""
    from glue_turbml.core import fit_power_law_slope, radial_power_spectrum

    wavenumber, power = radial_power_spectrum(np.log(image))
    return fit_power_law_slope(wavenumber, power, k_min=low, k_max=high)


@pytest.mark.parametrize("change", [-0.8, -0.3, 0.4])
def test_the_power_slope_changes_by_the_amount_asked(change):
    image = lognormal_map()
    tilted = spectrally_tilted(image, change)
    # shell averages of one random map scatter, but the tilt multiplies every mode of a shell
    # alike, so the fitted slope moves by the asked change up to the shells' width
    assert log_power_slope(tilted) - log_power_slope(image) == pytest.approx(change, abs=0.05)


def test_phases_mean_log_and_the_pivot_shell_are_kept():
    image = lognormal_map(seed=3)
    tilted = spectrally_tilted(image, -0.6, pivot_cycles=4.0)
    before, after = np.fft.rfft2(np.log(image)), np.fft.rfft2(np.log(tilted))
    assert np.mean(np.log(tilted)) == pytest.approx(np.mean(np.log(image)), abs=1e-12)
    nonzero = np.abs(before) > 1e-9 * np.abs(before).max()
    np.testing.assert_allclose(np.angle(after[nonzero] / before[nonzero]), 0.0, atol=1e-9)
    size = image.shape[0]
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(size) * size, np.fft.rfftfreq(size) * size,
                              indexing="ij"))
    np.testing.assert_allclose(np.abs(after[k == 4]), np.abs(before[k == 4]), rtol=1e-9)
    assert np.all(tilted > 0)


def test_no_tilt_returns_an_equal_copy_and_leaves_the_input_alone():
    image = lognormal_map(seed=5)
    kept = image.copy()
    same = spectrally_tilted(image, 0.0)
    np.testing.assert_array_equal(same, image)
    same[0, 0] = -1.0
    spectrally_tilted(image, 0.5)
    np.testing.assert_array_equal(image, kept)


@pytest.mark.parametrize("bad, words", [
    (np.ones((4, 4, 4)), "2D map"),
    (np.full((8, 8), -1.0), "positive and finite"),
    (np.where(np.eye(8) > 0, np.nan, 1.0), "positive and finite"),
])
def test_bad_maps_are_refused_with_the_reason(bad, words):
    with pytest.raises(ValueError, match=words):
        spectrally_tilted(bad, 0.3)
