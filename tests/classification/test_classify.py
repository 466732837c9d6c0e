"""classify() with the shipped model on real FITS files, cubes and glue data."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import glue_turbml
from glue_turbml.core import TilingError
from glue_turbml.inputs import InputError
from glue_turbml.classification import CubeClassificationResult
from training.common.random_fields import lognormal_field

from tests.conftest import make_celestial_wcs

MODEL = "kolmogorov-burgers-fbm"


@pytest.fixture(scope="module")
def kolmogorov_map():
    return lognormal_field((384, 384), 11 / 3, sigma_ln=1.0, seed=1234).astype(np.float32)


@pytest.fixture(scope="module")
def burgers_map():
    return lognormal_field((384, 384), 4.0, sigma_ln=1.0, seed=4321).astype(np.float32)


def test_shipped_model_tells_the_two_spectra_apart(kolmogorov_map, burgers_map):
    kolmogorov = glue_turbml.classify(kolmogorov_map, model=MODEL, device="cpu")
    burgers = glue_turbml.classify(burgers_map, model=MODEL, device="cpu")
    assert kolmogorov.class_names == ["kolmogorov", "burgers"]
    assert kolmogorov.predicted_class == "kolmogorov" and kolmogorov.probability[0] > 0.7
    assert burgers.predicted_class == "burgers" and burgers.probability[1] > 0.7


def test_result_shapes_and_probabilities(kolmogorov_map):
    result = glue_turbml.classify(kolmogorov_map, model=MODEL, device="cpu")
    n_tiles = len(result.tile_origins)
    assert result.tile_probabilities.shape == (n_tiles, 2)
    np.testing.assert_allclose(result.tile_probabilities.sum(axis=1), 1, atol=1e-6)
    assert result.probability_map.shape == (2,) + kolmogorov_map.shape
    np.testing.assert_allclose(np.nansum(result.probability_map, axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(result.probability, result.tile_probabilities.mean(axis=0))
    np.testing.assert_allclose(result.probability_std, result.tile_probabilities.std(axis=0))
    assert result.session_info.provider == "CPUExecutionProvider"
    assert "log10" in result.preprocessing


def test_nan_regions_are_skipped_and_input_untouched(kolmogorov_map):
    image = kolmogorov_map.copy()
    image[:200, :200] = np.nan
    image[300, 300] = np.nan
    before = image.copy()
    result = glue_turbml.classify(image, model=MODEL, device="cpu")
    np.testing.assert_array_equal(image, before)
    skipped = ~np.all(np.isfinite(result.tile_probabilities), axis=1)
    assert skipped.any() and (~skipped).any()
    assert np.all(result.tile_valid_fraction[skipped] < 0.5)
    assert np.all(np.isnan(result.probability_map[:, :200, :200]))
    assert np.isnan(result.probability_map[0, 300, 300])
    assert result.n_filled_pixels == 200 * 200 + 1
    assert np.isfinite(result.probability).all()


def test_small_and_empty_maps_give_clear_errors():
    with pytest.raises(TilingError, match="smaller than the model's 128x128 tile"):
        glue_turbml.classify(np.ones((64, 300)), model=MODEL)
    with pytest.raises(TilingError, match="entirely NaN"):
        glue_turbml.classify(np.full((200, 200), np.nan), model=MODEL)


def test_every_input_type_gives_the_same_answer(tmp_path, kolmogorov_map):
    from glue.core import Data
    from glue.core.coordinates import WCSCoordinates

    wcs = make_celestial_wcs(kolmogorov_map.shape)
    path = tmp_path / "map.fits"
    fits.PrimaryHDU(kolmogorov_map, header=wcs.to_header()).writeto(path)
    reference = glue_turbml.classify(kolmogorov_map, model=MODEL, device="cpu").probability
    with fits.open(path) as hdulist:
        inputs = [(kolmogorov_map, wcs), path, str(path), hdulist, hdulist[0],
                  Data(density=kolmogorov_map, label="d",
                       coords=WCSCoordinates(header=hdulist[0].header))]
        for item in inputs:
            result = glue_turbml.classify(item, model=MODEL, device="cpu")
            np.testing.assert_allclose(result.probability, reference, atol=1e-6)


def test_written_fits_keeps_wcs_and_provenance(tmp_path, kolmogorov_map):
    wcs = make_celestial_wcs(kolmogorov_map.shape)
    result = glue_turbml.classify((kolmogorov_map, wcs), model=MODEL, device="cpu")
    path = tmp_path / "out.fits"
    result.write(path)
    with fits.open(path) as hdulist:
        primary = hdulist[0].header
        assert primary["TM_MODEL"] == MODEL
        assert primary["TM_SHA"] == result.model_card["weights_sha256"]
        assert primary["TM_PROV"] == "CPUExecutionProvider"
        assert "log10" in str(primary["HISTORY"])
        written = WCS(hdulist["PROB_BURGERS"].header)
        np.testing.assert_allclose(written.wcs.crval, wcs.wcs.crval)
        np.testing.assert_allclose(written.wcs.cdelt, wcs.wcs.cdelt)
        np.testing.assert_allclose(hdulist["PROB_BURGERS"].data, result.probability_map[1],
                                   equal_nan=True)
        tiles = hdulist["TILES"].data
        np.testing.assert_allclose(tiles["p_kolmogorov"], result.tile_probabilities[:, 0])


def test_cube_slices_projection_and_spectral_cube(spectral_cube_path):
    from spectral_cube import SpectralCube

    with pytest.raises(InputError, match="slice_index=N"):
        glue_turbml.classify(np.ones((4, 130, 130)), model=MODEL)
    stack = glue_turbml.classify(spectral_cube_path, model=MODEL, slices=True, device="cpu")
    assert isinstance(stack, CubeClassificationResult)
    assert stack.slice_probabilities.shape == (6, 2)
    single = glue_turbml.classify(spectral_cube_path, model=MODEL, slice_index=3, device="cpu")
    np.testing.assert_allclose(stack.slices[3].probability, single.probability)
    cube = SpectralCube.read(spectral_cube_path)
    moment = glue_turbml.classify(cube, model=MODEL, projection="moment0", device="cpu")
    assert moment.wcs.naxis == 2
    projected = glue_turbml.classify(np.asarray(cube.filled_data[:].value), model=MODEL, axis=0,
                                     projection="sum", boundary="periodic", device="cpu")
    assert np.isfinite(projected.probability).all()


def test_periodic_boundary_wraps_simulation_slices(kolmogorov_map):
    shifted = np.roll(kolmogorov_map, (128, 128), axis=(0, 1))
    original = glue_turbml.classify(kolmogorov_map, model=MODEL, boundary="periodic", stride=128)
    rolled = glue_turbml.classify(shifted, model=MODEL, boundary="periodic", stride=128)
    # A periodic box rolled by a whole stride gives the same set of tiles.
    np.testing.assert_allclose(np.sort(original.tile_probabilities[:, 0]),
                               np.sort(rolled.tile_probabilities[:, 0]), atol=1e-5)
