"""The narrow-coverage model on a real IFU cube: MUSE, Abell 478 (test data of the mpdaf wheel)."""

import numpy as np
import pytest

from glue_turbml import predict_emission_lines
from training.emission_lines.muse_check import A478_REDSHIFT, measure_halpha_ew, muse_cube_path


def test_red_model_maps_every_spaxel_of_the_muse_cube_and_the_full_model_refuses_it():
    from astropy.io import fits
    from astropy.wcs import WCS

    path = muse_cube_path()  # mpdaf is in the test extra
    red = predict_emission_lines(path, hdu="DATA", redshift=A478_REDSHIFT,
                                 model="desi-emission-lines-red", device="cpu")
    assert red.counts["n_predicted"] == red.counts["n_spectra"] == 1600
    assert "air wavelengths converted to vacuum" in red.notes
    assert red.ew("HALPHA").shape == (40, 40) and np.isfinite(red.ew("HALPHA")).all()
    celestial = WCS(fits.getheader(path, "DATA")).celestial
    np.testing.assert_allclose(red.wcs.wcs.crval, celestial.wcs.crval)
    # MUSE starts at 4750 A observed, 4366 A rest: the 3400-7000 A model has nothing to use.
    full = predict_emission_lines(path, hdu="DATA", redshift=A478_REDSHIFT,
                                  model="desi-emission-lines", device="cpu")
    assert full.counts["n_outside_coverage"] == 1600
    assert full.uncovered_bins == [[3400.0, 3700.0], [3700.0, 4000.0], [4000.0, 4300.0],
                                   [4300.0, 4600.0]]


def test_measured_halpha_ew_of_a_synthetic_line():
    rest = np.arange(6400.0, 6700.0, 1.0)
    continuum = 2.0 + 0.001 * (rest - 6400.0)
    line = 3.0 * np.exp(-0.5 * ((rest - 6564.6) / 2.0) ** 2)
    spectra = np.stack([continuum, continuum + line, np.full(rest.shape, np.nan)])
    ew = measure_halpha_ew(rest, spectra)
    expected = 3.0 * 2.0 * np.sqrt(2 * np.pi) / (2.0 + 0.001 * 164.6)
    assert ew[0] == pytest.approx(0.0, abs=1e-9)
    assert ew[1] == pytest.approx(expected, rel=1e-3)
    assert np.isnan(ew[2])
