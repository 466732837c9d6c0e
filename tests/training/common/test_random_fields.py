"""Seeded power-law Gaussian and lognormal fields: spectra, statistics, reproducibility."""

import numpy as np
import pytest

from glue_turbml.core import fit_power_law_slope, radial_power_spectrum
from training.common.random_fields import (BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field,
                                           power_law_gaussian_field)


def _mean_spectrum_slope(maps, k_min, k_max):
    spectra = [radial_power_spectrum(image) for image in maps]
    wavenumber = spectra[0][0]
    power = np.mean([power for _, power in spectra], axis=0)
    return fit_power_law_slope(wavenumber, power, k_min=k_min, k_max=k_max)


@pytest.mark.parametrize("slope", [KOLMOGOROV_SLOPE, BURGERS_SLOPE, 3.0])
def test_2d_field_spectrum_slope_is_recovered(slope):
    maps = [power_law_gaussian_field((256, 256), slope, seed=[1, index]) for index in range(4)]
    measured = _mean_spectrum_slope(maps, k_min=2, k_max=100)
    assert measured == pytest.approx(-slope, abs=0.08)


def test_2d_non_square_field_is_isotropic():
    field = power_law_gaussian_field((128, 512), BURGERS_SLOPE, seed=3)
    measured = fit_power_law_slope(*radial_power_spectrum(field), k_min=2, k_max=50)
    assert measured == pytest.approx(-BURGERS_SLOPE, abs=0.15)
    # Isotropy: at the same |k| (in cycles per pixel), modes nearer the x axis carry the same
    # mean power as modes nearer the y axis.
    power = np.abs(np.fft.fft2(field)) ** 2
    ky, kx = np.meshgrid(np.fft.fftfreq(128), np.fft.fftfreq(512), indexing="ij")
    ring = (np.hypot(kx, ky) > 0.05) & (np.hypot(kx, ky) < 0.3)
    compensated = power * np.hypot(kx, ky) ** BURGERS_SLOPE
    near_x = compensated[ring & (np.abs(kx) > np.abs(ky))].mean()
    near_y = compensated[ring & (np.abs(ky) > np.abs(kx))].mean()
    assert near_x == pytest.approx(near_y, rel=0.1)


def test_3d_field_projection_keeps_slope_and_slices_lose_one():
    slope = KOLMOGOROV_SLOPE
    cube = power_law_gaussian_field((64, 64, 64), slope, seed=11)
    projection_slope = _mean_spectrum_slope([cube.sum(axis=0)], k_min=2, k_max=24)
    slice_slope = _mean_spectrum_slope(list(cube[::4]), k_min=2, k_max=24)
    assert projection_slope == pytest.approx(-slope, abs=0.2)
    assert slice_slope == pytest.approx(-(slope - 1), abs=0.2)


def test_unit_variance_zero_mean_and_reproducible():
    first = power_law_gaussian_field((64, 96), 3.5, seed=42)
    again = power_law_gaussian_field((64, 96), 3.5, seed=42)
    other = power_law_gaussian_field((64, 96), 3.5, seed=43)
    assert first.mean() == pytest.approx(0.0, abs=1e-12)
    assert first.std() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 0.5


def test_same_seed_gives_same_phases_for_different_slopes():
    kolmogorov = power_law_gaussian_field((64, 64), KOLMOGOROV_SLOPE, seed=5, unit_variance=False)
    burgers = power_law_gaussian_field((64, 64), BURGERS_SLOPE, seed=5, unit_variance=False)
    spectrum_k, spectrum_b = np.fft.rfft2(kolmogorov), np.fft.rfft2(burgers)
    defined = np.abs(spectrum_k) > 1e-12 * np.abs(spectrum_k).max()
    np.testing.assert_allclose(np.angle(spectrum_k[defined]), np.angle(spectrum_b[defined]),
                               atol=1e-9)


def test_lognormal_field_statistics():
    density = lognormal_field((256, 256), BURGERS_SLOPE, sigma_ln=1.3, seed=9)
    assert np.all(density > 0)
    assert np.log(density).std() == pytest.approx(1.3, rel=1e-9)
    assert np.log(density).mean() == pytest.approx(0.0, abs=1e-9)
    # log10 of the lognormal field is the Gaussian field up to a scale: same spectral slope.
    measured = fit_power_law_slope(*radial_power_spectrum(np.log10(density)), k_min=2, k_max=100)
    assert measured == pytest.approx(-BURGERS_SLOPE, abs=0.15)


@pytest.mark.parametrize("shape", [(64,), (4, 4, 4, 4), (1, 64)])
def test_bad_shapes_are_rejected(shape):
    with pytest.raises(ValueError, match="2D or 3D"):
        power_law_gaussian_field(shape, 3.0, seed=0)


def test_sigma_must_be_positive():
    with pytest.raises(ValueError, match="sigma_ln"):
        lognormal_field((16, 16), 3.0, sigma_ln=0.0, seed=0)
