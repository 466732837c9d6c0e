"""The spectral-tilt augmentation: a known slope change, phases and mean log kept."""

import numpy as np
import pytest

from training.common.spectral_tilt import spectrally_tilted


def lognormal_map(size=64, slope=-3.0, seed=0):
    """A positive periodic map whose log has a power-law power spectrum of ``slope``."""
    rng = np.random.default_rng(seed)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(size) * size, np.fft.rfftfreq(size) * size,
                              indexing="ij"))
    amplitude = np.zeros_like(k)
    amplitude[k > 0] = k[k > 0] ** (slope / 2)
    phases = np.exp(2j * np.pi * rng.random(k.shape))
    field = np.fft.irfft2(amplitude * phases, s=(size, size))
    return np.exp(field / field.std())


def log_power_slope(image, low=3, high=20):
    """Least-squares log-log slope of the log map's shell-averaged power over low <= |k| < high."""
    size = image.shape[0]
    power = np.abs(np.fft.rfft2(np.log(image))) ** 2
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(size) * size, np.fft.rfftfreq(size) * size,
                              indexing="ij"))
    shells = np.arange(low, high)
    means = [power[(k >= shell) & (k < shell + 1)].mean() for shell in shells]
    return np.polyfit(np.log(shells + 0.5), np.log(means), 1)[0]


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
