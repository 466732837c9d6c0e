"""A synthetic IFU cube with galaxy continua and an H-alpha line of known EW, for the glue tests."""

import numpy as np

from glue_turbml.core.continuum_bins import EMISSION_LINE_WAVELENGTHS_VACUUM
from tests.spectra_builders import (CUBE_REDSHIFT, N_CHANNELS, cube_wavelengths,
                                    galaxy_bin_fluxes, piecewise_constant_spectra)

__all__ = ["HALPHA_SIGMA", "halpha_cube_array"]

#: Rest-frame Gaussian sigma (A) of the synthetic H-alpha line.
HALPHA_SIGMA = 2.0


def halpha_cube_array(shape=(4, 5), *, seed=11):
    """``(n_channels, *shape)`` galaxy continua with an H-alpha line of known rest EW.

    The continuum is constant across the H-alpha side bands (one 300 A bin), so the side-band
    measurement must return the EW put in. Spaxel (0, 0) is all NaN.
    """
    n = shape[0] * shape[1]
    rest = cube_wavelengths() / (1 + CUBE_REDSHIFT)
    continuum = piecewise_constant_spectra(rest, galaxy_bin_fluxes(n, seed=seed))
    known_ew = np.random.default_rng(seed).uniform(2.0, 60.0, size=n)
    centre = EMISSION_LINE_WAVELENGTHS_VACUUM["HALPHA"][0]
    # Continuum at the line times EW over the Gaussian's area: a line of exactly that EW.
    level = continuum[:, np.argmin(np.abs(rest - centre))]
    amplitude = known_ew * level / (HALPHA_SIGMA * np.sqrt(2 * np.pi))
    spectra = continuum + amplitude[:, None] * np.exp(
        -0.5 * ((rest[None, :] - centre) / HALPHA_SIGMA) ** 2)
    spectra[0] = np.nan
    known_ew[0] = np.nan
    cube = spectra.T.reshape((N_CHANNELS,) + shape).astype(np.float32)
    return cube, known_ew.reshape(shape)
