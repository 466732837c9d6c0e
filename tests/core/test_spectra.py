"""Tests of glue_turbml.core.spectra on random fields with a known power-law spectrum."""

import numpy as np
import pytest

from glue_turbml.core.spectra import fit_power_law_slope, radial_power_spectrum

KOLMOGOROV = 11 / 3
BURGERS = 4.0


def _wavenumber_magnitude(shape):
    """|k| of every FFT mode in cycles per (shorter) map side."""
    ny, nx = shape
    side = min(shape)
    ky = np.fft.fftfreq(ny) * side
    kx = np.fft.fftfreq(nx) * side
    return np.hypot(ky[:, None], kx[None, :])


def power_law_field(shape, slope, seed, *, gaussian_amplitudes=False):
    """A real random field whose 2D power spectrum is ``|k|^-slope``.

    Every mode gets the amplitude ``|k|^(-slope/2)`` and a random phase (taken from the FFT of
    white noise, so the phases are Hermitian and the field is real). With
    ``gaussian_amplitudes`` the white noise's amplitudes are kept too: a Gaussian random field
    whose power scatters about the power law.
    """
    rng = np.random.default_rng(seed)
    k_abs = _wavenumber_magnitude(shape)
    amplitude = np.zeros(shape)
    amplitude[k_abs > 0] = k_abs[k_abs > 0] ** (-slope / 2)
    noise_spectrum = np.fft.fft2(rng.normal(size=shape))
    if not gaussian_amplitudes:
        noise_spectrum = noise_spectrum / np.abs(noise_spectrum)
    field = np.fft.ifft2(amplitude * noise_spectrum)
    assert np.abs(field.imag).max() < 1e-12 * np.abs(field.real).max()
    return field.real


def _annulus_counts(shape):
    k_max = min(shape) // 2
    annulus = np.rint(_wavenumber_magnitude(shape)).astype(int).ravel()
    return np.bincount(annulus, minlength=k_max + 1)[1:k_max + 1]


# --- slope recovery ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("slope", [KOLMOGOROV, BURGERS])
def test_slope_of_a_power_law_field_is_recovered(slope, seed):
    field = power_law_field((256, 256), slope, seed)
    wavenumber, power = radial_power_spectrum(field)
    assert wavenumber.shape == power.shape == (128,)
    assert fit_power_law_slope(wavenumber, power) == pytest.approx(-slope, abs=0.05)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("slope", [KOLMOGOROV, BURGERS])
def test_slope_of_a_gaussian_random_field_is_recovered(slope, seed):
    field = power_law_field((256, 256), slope, seed, gaussian_amplitudes=True)
    wavenumber, power = radial_power_spectrum(field)
    # the low-k annuli hold only a handful of modes each, so the scatter is larger
    assert fit_power_law_slope(wavenumber, power, k_min=3) == pytest.approx(-slope, abs=0.1)


@pytest.mark.parametrize("shape", [(128, 256), (256, 128), (255, 255), (200, 256)])
def test_slope_is_recovered_on_odd_and_non_square_maps(shape):
    field = power_law_field(shape, BURGERS, seed=5)
    wavenumber, power = radial_power_spectrum(field)
    assert wavenumber.shape == (min(shape) // 2,)
    assert fit_power_law_slope(wavenumber, power) == pytest.approx(-BURGERS, abs=0.05)


def test_kolmogorov_and_burgers_fields_are_told_apart():
    slopes = []
    for slope in (KOLMOGOROV, BURGERS):
        wavenumber, power = radial_power_spectrum(power_law_field((256, 256), slope, seed=9))
        slopes.append(fit_power_law_slope(wavenumber, power))
    assert slopes[0] - slopes[1] == pytest.approx(BURGERS - KOLMOGOROV, abs=0.03)


# --- normalisation and wavenumbers -------------------------------------------------------------

def test_wavenumbers_are_annulus_means_in_cycles_per_map():
    wavenumber, _ = radial_power_spectrum(np.random.default_rng(0).normal(size=(64, 64)))
    # means over the annuli [k - 1/2, k + 1/2): close to k (a bit above at small k, where the
    # annulus holds more modes beyond k than below it)
    np.testing.assert_allclose(wavenumber, np.arange(1, 33), atol=0.25)
    assert wavenumber[0] == pytest.approx((4 * 1 + 4 * np.sqrt(2)) / 8)  # (0, 1) and (1, 1) modes
    assert np.all(np.diff(wavenumber) > 0)
    k_abs = _wavenumber_magnitude((64, 64))
    in_annulus_5 = np.rint(k_abs) == 5
    assert wavenumber[4] == pytest.approx(k_abs[in_annulus_5].mean(), rel=1e-12)


def test_power_of_a_power_law_field_has_the_expected_normalisation():
    shape = (128, 128)
    field = power_law_field(shape, BURGERS, seed=2)
    wavenumber, power = radial_power_spectrum(field)
    # each mode has |FFT|^2 = k^-4, and the power is |FFT|^2 / (ny nx)^2
    expected = wavenumber ** -BURGERS / (shape[0] * shape[1]) ** 2
    np.testing.assert_allclose(power[7:], expected[7:], rtol=0.03)


def test_a_single_fourier_mode_lands_in_its_annulus():
    y, x = np.mgrid[0:64, 0:64]
    field = 2.0 * np.cos(2 * np.pi * (3 * x + 4 * y) / 64)  # |k| = 5
    wavenumber, power = radial_power_spectrum(field)
    assert np.argmax(power) == 4
    assert 5.0 <= wavenumber[4] < 5.25
    counts = _annulus_counts(field.shape)
    assert power[4] * counts[4] == pytest.approx(field.var(), rel=1e-12)  # = 2.0
    others = np.delete(power, 4)
    assert others.max() < 1e-25


@pytest.mark.parametrize("shape", [(256, 256), (128, 200)])
def test_annulus_power_times_mode_count_adds_up_to_the_variance(shape):
    field = power_law_field(shape, KOLMOGOROV, seed=4) + 10.0
    _, power = radial_power_spectrum(field)
    # Parseval: the power of all modes sums to the variance; the corners beyond k_max hold
    # almost nothing for a steep spectrum
    assert np.sum(power * _annulus_counts(shape)) == pytest.approx(field.var(), rel=1e-3)


def test_white_noise_has_a_flat_spectrum():
    field = np.random.default_rng(3).normal(scale=2.0, size=(256, 256))
    wavenumber, power = radial_power_spectrum(field)
    assert fit_power_law_slope(wavenumber, power, k_min=4) == pytest.approx(0.0, abs=0.05)
    # flat at variance / number of modes
    np.testing.assert_allclose(power[10:].mean(), 4.0 / 256**2, rtol=0.02)


def test_the_mean_does_not_change_the_spectrum_at_nonzero_k():
    field = power_law_field((64, 64), KOLMOGOROV, seed=1)
    _, power = radial_power_spectrum(field)
    for subtract_mean in (True, False):
        _, shifted = radial_power_spectrum(field + 1e3, subtract_mean=subtract_mean)
        np.testing.assert_allclose(shifted, power, rtol=1e-6, atol=1e-30)


def test_radial_power_spectrum_does_not_modify_its_input():
    field = np.random.default_rng(2).normal(loc=5.0, size=(32, 32))
    before = field.copy()
    radial_power_spectrum(field)
    np.testing.assert_array_equal(field, before)


@pytest.mark.parametrize("shape", [(64,), (2, 32, 32), ()])
def test_radial_power_spectrum_needs_a_2d_map(shape):
    with pytest.raises(ValueError, match="needs a 2D map"):
        radial_power_spectrum(np.ones(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_radial_power_spectrum_rejects_non_finite_values(bad):
    field = np.ones((32, 32))
    field[4, 5] = bad
    with pytest.raises(ValueError, match="fill NaN pixels first"):
        radial_power_spectrum(field)


# --- fit_power_law_slope -----------------------------------------------------------------------

def test_fit_of_an_exact_power_law_is_exact():
    wavenumber = np.arange(1, 65, dtype=float)
    assert fit_power_law_slope(wavenumber, 3.0 * wavenumber ** -2.5) == pytest.approx(-2.5,
                                                                                      abs=1e-12)


def test_fit_range_is_inclusive_and_selects_one_branch_of_a_broken_power_law():
    wavenumber = np.arange(1, 101, dtype=float)
    power = np.where(wavenumber <= 10, wavenumber ** -2.0, 10.0**2 * wavenumber ** -4.0)
    assert fit_power_law_slope(wavenumber, power, k_max=10) == pytest.approx(-2.0, abs=1e-12)
    assert fit_power_law_slope(wavenumber, power, k_min=10) == pytest.approx(-4.0, abs=1e-12)
    assert -4.0 < fit_power_law_slope(wavenumber, power) < -2.0
    # exactly two points, at the inclusive ends of the range
    assert fit_power_law_slope(wavenumber, power, k_min=20, k_max=21) == pytest.approx(-4.0)


def test_fit_skips_zero_power_and_zero_wavenumber():
    wavenumber = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
    power = np.array([5.0, 1.0, 0.0, 1 / 16, 1 / 64])
    assert fit_power_law_slope(wavenumber, power) == pytest.approx(-2.0, abs=1e-12)


@pytest.mark.parametrize("k_min, k_max", [(50, None), (None, 1), (10, 5)])
def test_fit_needs_two_points_in_range(k_min, k_max):
    wavenumber = np.arange(1, 33, dtype=float)
    with pytest.raises(ValueError, match="at least two positive wavenumbers"):
        fit_power_law_slope(wavenumber, wavenumber ** -3.0, k_min=k_min, k_max=k_max)
