"""predict_emission_lines on spectra and FITS cubes with the shipped desi-emission-lines model."""

import numpy as np
import pytest
from astropy import units as u

from glue_turbml import predict_emission_lines
from glue_turbml.core.continuum_bins import EMISSION_LINE_NAMES, colours_from_bin_fluxes
from glue_turbml.inputs import InputError
from glue_turbml.models import open_model

from tests.spectra_builders import (CUBE_REDSHIFT, cube_header, cube_wavelengths, galaxy_bin_fluxes,
                                    piecewise_constant_spectra)

MODEL = "desi-emission-lines"


def model_ew(bin_fluxes):
    """EW straight from the ONNX model on exactly known colours: ``(n, 10)``."""
    colours = colours_from_bin_fluxes(bin_fluxes).astype(np.float32)
    return open_model(MODEL, device="cpu").run(colours)


def test_fits_cube_maps_match_the_model_on_the_known_bins(galaxy_cube_path, cube_spaxels):
    from astropy.io import fits
    from astropy.wcs import WCS

    cube, bin_fluxes = cube_spaxels
    result = predict_emission_lines(galaxy_cube_path, redshift=CUBE_REDSHIFT, model=MODEL,
                                    device="cpu", chunk_spaxels=6, progress=True)
    assert result.line_names == list(EMISSION_LINE_NAMES)
    assert result.equivalent_width.shape == (10, 4, 5)
    assert result.counts == {"n_spectra": 20, "n_predicted": 17, "n_outside_coverage": 0,
                             "n_mostly_nan": 2, "n_nonpositive_continuum": 1}
    ew = result.equivalent_width.reshape(10, 20).T
    expected = model_ew(bin_fluxes)
    usable = np.ones(20, dtype=bool)
    usable[:3] = False
    np.testing.assert_allclose(ew[usable], expected[usable], rtol=1e-4, atol=1e-4)
    assert np.isnan(ew[~usable]).all()
    # Galaxy continua from blue to red give a spread of EWs, not one constant.
    assert np.ptp(result.ew("HALPHA")[np.isfinite(result.ew("HALPHA"))]) > 1.0

    hdulist = result.to_hdulist()
    celestial = WCS(fits.getheader(galaxy_cube_path)).celestial
    for line in EMISSION_LINE_NAMES:
        image = hdulist[line]
        assert image.header["BUNIT"] == "Angstrom"
        assert image.header["TM_MODEL"] == MODEL
        np.testing.assert_allclose(WCS(image.header).wcs.crval, celestial.wcs.crval)
        np.testing.assert_array_equal(image.data, result.ew(line))
    assert hdulist[0].header["TM_NPRED"] == 17


def test_spectral_cube_and_array_inputs_agree_with_the_fits_path(galaxy_cube_path, cube_spaxels):
    from spectral_cube import SpectralCube

    cube, _ = cube_spaxels
    before = cube.copy()
    from_path = predict_emission_lines(galaxy_cube_path, redshift=CUBE_REDSHIFT, model=MODEL,
                                       device="cpu")
    from_cube = predict_emission_lines(SpectralCube.read(galaxy_cube_path).with_spectral_unit(
        u.AA), redshift=CUBE_REDSHIFT, model=MODEL, device="cpu", chunk_spaxels=5)
    from_array = predict_emission_lines(cube, wavelength=cube_wavelengths() * u.AA,
                                        redshift=CUBE_REDSHIFT, model=MODEL, device="cpu")
    np.testing.assert_array_equal(cube, before)
    for other in (from_cube, from_array):
        np.testing.assert_allclose(other.equivalent_width, from_path.equivalent_width,
                                   rtol=1e-5, equal_nan=True)
        assert other.counts == from_path.counts


def test_one_spectrum_and_a_stack(cube_spaxels):
    rest = cube_wavelengths() / (1 + CUBE_REDSHIFT)
    bin_fluxes = galaxy_bin_fluxes(3, seed=11)
    spectra = piecewise_constant_spectra(rest, bin_fluxes)
    wavelength = cube_wavelengths() * u.AA
    single = predict_emission_lines(spectra[0], wavelength=wavelength, redshift=CUBE_REDSHIFT,
                                    model=MODEL, device="cpu")
    stack = predict_emission_lines(spectra, wavelength=wavelength, redshift=CUBE_REDSHIFT,
                                   model=MODEL, device="cpu")
    assert single.equivalent_width.shape == (10,)
    assert stack.equivalent_width.shape == (10, 3)
    np.testing.assert_allclose(stack.equivalent_width.T, model_ew(bin_fluxes), rtol=1e-4)
    np.testing.assert_allclose(single.equivalent_width, stack.equivalent_width[:, 0])


@pytest.mark.parametrize("redshift, uncovered", [
    (0.2, [[6100.0, 6400.0], [6400.0, 6700.0], [6700.0, 7000.0]]),  # rest 2900-6337 A
    (0.0, [[3400.0, 3700.0]]),                     # rest from 3480 A: part of the first bin
])
def test_redshift_that_misses_bins_gives_nan_and_a_count(galaxy_cube_path, redshift, uncovered):
    result = predict_emission_lines(galaxy_cube_path, redshift=redshift, model=MODEL,
                                    device="cpu")
    assert np.isnan(result.equivalent_width).all()
    assert result.counts["n_outside_coverage"] == 20 and result.counts["n_predicted"] == 0
    assert result.uncovered_bins == uncovered
    assert "20 outside the rest-frame coverage" in str(result)


def test_air_wavelengths_and_f_nu_cubes_are_converted(tmp_path, cube_spaxels):
    from astropy.io import fits

    cube, bin_fluxes = cube_spaxels
    wavelength = cube_wavelengths()[:, None, None]
    f_nu = cube * wavelength ** 2  # f_nu is proportional to lambda^2 f_lambda
    path = tmp_path / "fnu_air.fits"
    fits.PrimaryHDU(f_nu.astype(np.float32),
                    header=cube_header(cube.shape[1:], ctype="AWAV", unit="Jy")).writeto(path)
    result = predict_emission_lines(path, redshift=CUBE_REDSHIFT, model=MODEL, device="cpu")
    assert any("air wavelengths converted" in note for note in result.notes)
    assert any("per unit frequency" in note for note in result.notes)
    # Air -> vacuum moves H-alpha's window by about 1.8 A: the bins barely change.
    ew = result.equivalent_width.reshape(10, 20).T[3:]
    np.testing.assert_allclose(ew, model_ew(bin_fluxes)[3:], rtol=2e-2, atol=2e-2)


def test_bad_inputs_give_clear_errors(galaxy_cube_path, spectral_cube_path, cube_spaxels):
    cube, _ = cube_spaxels
    with pytest.raises(InputError,
                       match="needs a spectral WCS axis .* or, in Python, `wavelength=`"):
        predict_emission_lines(cube, redshift=0.03, model=MODEL)
    with pytest.raises(InputError, match="in Python it needs `wavelength=`"):
        predict_emission_lines(cube[:, 0, 0], redshift=0.03, model=MODEL)
    with pytest.raises(InputError, match="redshift must be finite"):
        predict_emission_lines(galaxy_cube_path, redshift=np.nan, model=MODEL)
    with pytest.raises(InputError, match="not a spectral model"):
        predict_emission_lines(galaxy_cube_path, redshift=0.03, model="kolmogorov-burgers-fbm")
    with pytest.raises(InputError, match="is a velocity"):
        predict_emission_lines(spectral_cube_path, redshift=0.03, model=MODEL)
    with pytest.raises(InputError, match="not a wavelength"):
        predict_emission_lines(cube, wavelength=np.arange(cube.shape[0]) * u.s, redshift=0.03,
                               model=MODEL)
    with pytest.raises(InputError, match="3300 spectral channels"):
        predict_emission_lines(cube, wavelength=np.arange(10) * u.AA, redshift=0.03, model=MODEL)
