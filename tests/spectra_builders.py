"""Galaxy-like spectra and IFU-like FITS cubes with known continuum bins, written to tmp_path.

Shared by the emission-line, continuum-bin and training tests (conftests import the fixtures).
"""

from pathlib import Path

import numpy as np
import pytest

from glue_turbml.core.continuum_bins import (DESI_BIN_EDGES_ANGSTROM,
                                             EMISSION_LINE_WAVELENGTHS_VACUUM)
from tests.conftest import make_celestial_wcs

#: ../shared/data/desi_sv3_emission_lines.npz beside the repository.
DESI_DATA_PATH = (Path(__file__).resolve().parents[2] / "shared" / "data"
                  / "desi_sv3_emission_lines.npz")

#: Redshift of the test cubes, and their observed sampling (MUSE-like 1.25 A pixels).
CUBE_REDSHIFT = 0.03
# The start keeps every bin edge between pixels: a pixel on an edge would fall on either side
# by rounding alone.
OBSERVED_START, OBSERVED_STEP, N_CHANNELS = 3480.37, 1.25, 3300


def galaxy_bin_fluxes(n, *, seed):
    """``(n, 12)`` positive bin fluxes shaped like galaxy continua.

    A 4000 A break of random strength on a power law in wavelength: from blue star-forming
    (weak break, falling red continuum) to red passive (strong break, flat), the range the DESI
    bright galaxies span.
    """
    rng = np.random.default_rng(seed)
    centres = 0.5 * (np.asarray(DESI_BIN_EDGES_ANGSTROM[:-1]) + DESI_BIN_EDGES_ANGSTROM[1:])
    slope = rng.uniform(-1.5, 0.5, size=(n, 1))
    break_strength = rng.uniform(1.1, 2.2, size=(n, 1))
    blue_of_break = centres[None, :] < 4000.0
    return (rng.uniform(0.5, 5.0, size=(n, 1)) * (centres[None, :] / 5500.0) ** slope
            / np.where(blue_of_break, break_strength, 1.0))


def piecewise_constant_spectra(rest_wavelength, bin_fluxes):
    """Spectra equal to each bin's flux inside it (and the end bins' fluxes beyond the edges)."""
    index = np.clip(np.searchsorted(DESI_BIN_EDGES_ANGSTROM, rest_wavelength, side="right") - 1,
                    0, len(DESI_BIN_EDGES_ANGSTROM) - 2)
    return np.asarray(bin_fluxes)[:, index]


def emission_lines(rest_wavelength, amplitudes, *, sigma=2.0):
    """``(n, n_pixels)`` Gaussian lines (rest sigma in A) at every masked line centre."""
    centres = [c for values in EMISSION_LINE_WAVELENGTHS_VACUUM.values() for c in values]
    profile = sum(np.exp(-0.5 * ((rest_wavelength - centre) / sigma) ** 2) for centre in centres)
    return np.asarray(amplitudes)[:, None] * profile[None, :]


def cube_wavelengths():
    """Observed vacuum wavelengths (A) of the test cubes' channels."""
    return OBSERVED_START + OBSERVED_STEP * np.arange(N_CHANNELS)


@pytest.fixture
def cube_spaxels():
    """``(n_channels, 4, 5)`` galaxy spectra with emission lines and their known bin fluxes.

    Spaxel roles (row, column): (0, 0) all NaN; (0, 1) 70% NaN channels (mostly NaN);
    (0, 2) a negative continuum in the first bin; (0, 3) a few NaN channels (still usable);
    every other spaxel is a clean galaxy spectrum.
    """
    rest = cube_wavelengths() / (1 + CUBE_REDSHIFT)
    bin_fluxes = galaxy_bin_fluxes(20, seed=3)
    lines = emission_lines(rest, np.random.default_rng(4).uniform(0.0, 8.0, size=20))
    spectra = piecewise_constant_spectra(rest, bin_fluxes) + lines
    spectra[0] = np.nan
    spectra[1, np.random.default_rng(5).random(N_CHANNELS) < 0.7] = np.nan
    spectra[2, rest < 3700] = -0.1
    spectra[3, ::97] = np.nan
    cube = spectra.T.reshape(N_CHANNELS, 4, 5).astype(np.float32)
    return cube, bin_fluxes


def cube_header(spatial_shape, *, ctype="WAVE", unit="1e-20 erg / (s cm2 Angstrom)"):
    """A FITS header with a celestial WCS and a linear spectral axis in Angstrom."""
    header = make_celestial_wcs(spatial_shape, pixel_arcsec=0.2).to_header()
    header["NAXIS"] = 3
    header["CTYPE3"] = ctype
    header["CRVAL3"] = OBSERVED_START
    header["CDELT3"] = OBSERVED_STEP
    header["CRPIX3"] = 1.0
    header["CUNIT3"] = "Angstrom"
    header["BUNIT"] = unit
    return header


@pytest.fixture
def galaxy_cube_path(tmp_path, cube_spaxels):
    """The `cube_spaxels` cube as a FITS file with celestial and spectral WCS."""
    from astropy.io import fits

    cube, _ = cube_spaxels
    path = tmp_path / "galaxy_cube.fits"
    fits.PrimaryHDU(cube, header=cube_header(cube.shape[1:])).writeto(path)
    return path


@pytest.fixture
def desi_data_path():
    """The shared DESI data file; tests using it carry ``needs_shared_data``."""
    if not DESI_DATA_PATH.is_file():
        pytest.skip(f"{DESI_DATA_PATH} is absent")
    return DESI_DATA_PATH
