"""Line masking, bin means and colours: the features training and inference share."""

import numpy as np
import pytest

from glue_turbml.core.continuum_bins import (DESI_BIN_EDGES_ANGSTROM, ContinuumBinError,
                                             bin_means, colours_from_bin_fluxes, line_mask,
                                             mask_emission_lines)

from tests.spectra_builders import emission_lines, galaxy_bin_fluxes, piecewise_constant_spectra

REST = np.arange(3350.0, 7050.0, 0.8)


def test_piecewise_constant_spectrum_gives_back_its_bins_and_colours():
    bin_fluxes = galaxy_bin_fluxes(6, seed=1)
    spectra = piecewise_constant_spectra(REST, bin_fluxes)
    spectra = spectra + emission_lines(REST, np.linspace(0.0, 20.0, 6))
    means, covered = bin_means(REST, mask_emission_lines(REST, spectra))
    assert covered.all()
    np.testing.assert_allclose(means, bin_fluxes, rtol=1e-6)
    np.testing.assert_allclose(colours_from_bin_fluxes(means),
                               np.log10(bin_fluxes[:, 1:] / bin_fluxes[:, :-1]), atol=1e-6)


def test_smooth_continuum_bin_means_are_the_analytic_means():
    # A linear continuum with strong lines: masking must leave exactly the continuum's means.
    continuum = (1.0 + 2e-4 * (REST - 3400.0))[None, :]
    spectra = continuum + emission_lines(REST, [30.0])
    unmasked, _ = bin_means(REST, spectra)
    masked, _ = bin_means(REST, mask_emission_lines(REST, spectra))
    edges = np.asarray(DESI_BIN_EDGES_ANGSTROM)
    expected = np.array([continuum[0, (REST >= low) & (REST < high)].mean()
                         for low, high in zip(edges[:-1], edges[1:])])
    np.testing.assert_allclose(masked[0], expected, rtol=1e-6)
    # Without masking the H-alpha bin is biased by the lines by far more than the tolerance.
    assert unmasked[0, 10] > expected[10] * 1.02


def test_nan_pixels_mostly_nan_bins_and_user_data_untouched():
    spectra = piecewise_constant_spectra(REST, galaxy_bin_fluxes(3, seed=2))
    spectra[1, ::10] = np.nan                      # a few NaN pixels: still a valid mean
    spectra[2, (REST > 4000) & (REST < 4250)] = np.nan  # 83% of one bin: that bin is NaN
    before = spectra.copy()
    spectra.flags.writeable = False
    means, covered = bin_means(REST, mask_emission_lines(REST, spectra))
    np.testing.assert_array_equal(spectra, before)
    assert covered.all()
    assert np.isfinite(means[:2]).all()
    assert np.isnan(means[2, 2]) and np.isfinite(np.delete(means[2], 2)).all()


def test_grid_missing_a_bin_is_reported_as_uncovered():
    short = REST[REST > 3699.5]                  # first pixel 3700.4 A: bin 2 is spanned
    means, covered = bin_means(short, np.ones((2, short.size)))
    assert covered.tolist() == [False] + [True] * 11
    assert np.isnan(means[:, 0]).all() and np.isfinite(means[:, 1:]).all()


def test_masked_run_at_the_grid_end_becomes_nan():
    grid = np.arange(6560.0, 6700.0, 1.0)          # starts inside the H-alpha window
    masked = mask_emission_lines(grid, np.ones((1, grid.size)))
    window = line_mask(grid)
    assert np.isnan(masked[0, :5]).all()
    assert np.isfinite(masked[0, ~window]).all()


def test_non_positive_bins_give_nan_colours():
    colours = colours_from_bin_fluxes([[1.0, 2.0, 0.0, 4.0], [1.0, 10.0, 100.0, np.nan]])
    np.testing.assert_allclose(colours[0, 0], np.log10(2.0))
    assert np.isnan(colours[0, 1:]).all()
    np.testing.assert_allclose(colours[1, :2], [1.0, 1.0])
    assert np.isnan(colours[1, 2])


@pytest.mark.parametrize("grid, flux, match", [
    (REST[::-1], np.ones((1, REST.size)), "increase strictly"),
    (REST, np.ones((1, REST.size - 1)), "to match the wavelength grid"),
    (REST[:, None], np.ones((1, REST.size)), "must be 1D"),
])
def test_bad_grids_are_refused(grid, flux, match):
    with pytest.raises(ContinuumBinError, match=match):
        bin_means(grid, flux)
