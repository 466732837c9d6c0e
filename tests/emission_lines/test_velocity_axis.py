"""Velocity axes to observed wavelengths: the Doppler convention follows the axis type."""

import astropy.units as u
import numpy as np
import pytest

from glue_turbml.emission_lines.velocity_axis import (doppler_convention,
                                                      velocity_axis_wavelength)
from glue_turbml.inputs import InputError

REST = 5000.0 * u.AA
BETA = np.array([-0.2, 0.0, 0.01, 0.3])  # v / c


@pytest.mark.parametrize("ctype, convention, expected", [
    ("VOPT", "optical", REST.value * (1 + BETA)),
    ("VOPT-F2W", "optical", REST.value * (1 + BETA)),
    ("VRAD", "radio", REST.value / (1 - BETA)),
    ("VELO", "relativistic", REST.value * np.sqrt((1 + BETA) / (1 - BETA))),
    ("VTRO", "relativistic", REST.value * np.sqrt((1 + BETA) / (1 - BETA))),
])
def test_each_axis_type_uses_its_convention(ctype, convention, expected):
    velocity_kms = BETA * 299792.458
    wavelength, used = velocity_axis_wavelength(velocity_kms, "km/s", ctype, REST)
    assert used == convention == doppler_convention(ctype)
    np.testing.assert_allclose(wavelength, expected, rtol=1e-12)


def test_redshift_and_beta_axes_and_a_rest_frequency():
    wavelength, _ = velocity_axis_wavelength(BETA, "", "ZOPT", REST)
    np.testing.assert_allclose(wavelength, REST.value * (1 + BETA), rtol=1e-12)
    wavelength, _ = velocity_axis_wavelength(BETA, "", "BETA", REST)
    np.testing.assert_allclose(wavelength, REST.value * np.sqrt((1 + BETA) / (1 - BETA)),
                               rtol=1e-12)
    frequency = REST.to(u.THz, equivalencies=u.spectral())
    from_frequency, _ = velocity_axis_wavelength(BETA * 299792.458, "km/s", "VRAD", frequency)
    np.testing.assert_allclose(from_frequency, REST.value / (1 - BETA), rtol=1e-10)


@pytest.mark.parametrize("rest", [5000.0, 5000 * u.s, -5 * u.AA, [1, 2] * u.AA])
def test_the_rest_wavelength_must_be_one_positive_spectral_quantity(rest):
    with pytest.raises(InputError, match="--rest-wavelength"):
        velocity_axis_wavelength(BETA, "km/s", "VOPT", rest)


def test_speeds_past_light_and_non_speed_units_are_refused():
    with pytest.raises(InputError, match="relativistic Doppler formula has no wavelength"):
        velocity_axis_wavelength([0.0, 3.1e5], "km/s", "VELO", REST)
    with pytest.raises(InputError, match="not a speed; fix CUNIT"):
        velocity_axis_wavelength([0.0, 1.0], "Hz", "VRAD", REST)
