"""Shared fixtures: small real FITS maps and cubes with celestial WCS, written to tmp_path."""

import numpy as np
import pytest


def make_celestial_wcs(shape, *, ra=83.8, dec=-5.4, pixel_arcsec=10.0):
    """A TAN-projection celestial WCS for a map of ``shape`` (ny, nx)."""
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [shape[1] / 2 + 0.5, shape[0] / 2 + 0.5]
    wcs.wcs.cdelt = [-pixel_arcsec / 3600, pixel_arcsec / 3600]
    wcs.wcs.cunit = ["deg", "deg"]
    return wcs


@pytest.fixture(autouse=True)
def numpy_floating_point_warnings():
    """numpy's default floating-point warnings in every test.

    Importing glue calls ``numpy.seterr(all="ignore")`` for the whole process, so once any
    plugin test has run, the ``error::RuntimeWarning:glue_turbml.*`` filter of pyproject.toml
    would see nothing: the runtime's own code must not depend on which test ran first.
    """
    with np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
        yield


@pytest.fixture
def lognormal_map():
    """A 256x300 positive map (lognormal white noise), float32."""
    return np.random.default_rng(42).lognormal(sigma=0.5, size=(256, 300)).astype(np.float32)


@pytest.fixture
def fits_map_path(tmp_path, lognormal_map):
    """A FITS map with a celestial WCS and BUNIT, on disk."""
    from astropy.io import fits

    header = make_celestial_wcs(lognormal_map.shape).to_header()
    header["BUNIT"] = "cm-2"
    path = tmp_path / "map.fits"
    fits.PrimaryHDU(lognormal_map * 1e21, header=header).writeto(path)
    return path


@pytest.fixture
def spectral_cube_path(tmp_path):
    """A (velocity, dec, ra) = (6, 160, 170) FITS cube with a spectral axis, K units."""
    from astropy.io import fits

    cube = np.random.default_rng(7).lognormal(sigma=0.4, size=(6, 160, 170)).astype(np.float32)
    header = make_celestial_wcs(cube.shape[1:]).to_header()
    header["NAXIS"] = 3
    header["CTYPE3"] = "VRAD"
    header["CRVAL3"] = 0.0
    header["CDELT3"] = 500.0
    header["CRPIX3"] = 1.0
    header["CUNIT3"] = "m/s"
    header["BUNIT"] = "K"
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(cube, header=header).writeto(path)
    return path


@pytest.fixture(scope="session")
def regression_model_folder(tmp_path_factory):
    """A folder holding the tiny map regressor of `tests.regression_nets` (exported once)."""
    from tests.regression_nets import write_spectral_index_model

    folder = tmp_path_factory.mktemp("regression_models")
    write_spectral_index_model(folder)
    return folder


@pytest.fixture
def regression_model(regression_model_folder, monkeypatch):
    """The tiny map regressor on ``GLUE_TURBML_MODEL_PATH``; its registry name."""
    from tests.regression_nets import MODEL_NAME

    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(regression_model_folder))
    return MODEL_NAME
