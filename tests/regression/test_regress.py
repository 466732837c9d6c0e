"""glue_turbml.regress with a tiny real ONNX regressor: the whole-map combination of the tile
outputs, NaN handling, wrong models in both directions, the FITS form and the domain check."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import glue_turbml
from glue_turbml.core import build_pipeline, extract_tiles, fill_nan_nearest, make_tile_grid
from glue_turbml.core import stitch_tiles
from glue_turbml.models import ModelCardError, ModelLoadError, load_model_file, open_model
from glue_turbml.regression import combine_tile_estimates

from tests.conftest import make_celestial_wcs
from tests.regression_nets import (TILE_SIZE, lognormal_map, write_spectral_index_model,
                                   write_wrong_width_model)


def _tile_outputs(image, model):
    """The network's raw (n_tiles, 2) outputs on the card's tiles, computed here, and the grid."""
    runner = open_model(model, device="cpu")
    card = runner.card
    grid = make_tile_grid(image.shape, card["input"]["tile_size"],
                          stride=card["tiling"]["stride"], boundary=card["tiling"]["boundary"])
    filled, _ = fill_nan_nearest(image)
    tiles = build_pipeline(card["preprocess"])(extract_tiles(filled, grid))[:, None]
    return runner.run(tiles.astype(np.float32)).astype(np.float64), grid


def test_whole_map_value_is_the_inverse_variance_mean_of_the_tiles(regression_model):
    image = lognormal_map((96, 120), seed=3)
    before = image.copy()
    result = glue_turbml.regress(image, model=regression_model, device="cpu")
    np.testing.assert_array_equal(image, before)

    outputs, grid = _tile_outputs(image, regression_model)
    values, sigmas = outputs[:, 0], np.exp(0.5 * outputs[:, 1])
    weights = sigmas ** -2
    expected_value = np.sum(weights * values) / np.sum(weights)
    expected_sigma = np.sqrt(np.mean(sigmas ** 2) + np.var(values))
    assert result.value == pytest.approx(expected_value, rel=1e-6)
    assert result.sigma == pytest.approx(expected_sigma, rel=1e-6)
    # the tiles differ enough that the weighting matters, and the tiles are not independent
    assert abs(expected_value - values.mean()) > 0.01
    assert result.sigma > result.sigma_if_independent * 2
    np.testing.assert_allclose(result.tile_values, values, rtol=1e-6)
    np.testing.assert_allclose(result.tile_sigmas, sigmas, rtol=1e-6)
    # per-pixel maps: values and variances blended with the classifier's window
    blended = stitch_tiles(np.stack([values, sigmas ** 2], axis=1), grid)
    np.testing.assert_allclose(result.value_map, blended[0], rtol=1e-5)
    np.testing.assert_allclose(result.sigma_map, np.sqrt(blended[1]), rtol=1e-5)
    assert result.value_map.shape == image.shape and result.value_map.dtype == np.float32
    text = str(result)
    assert text.startswith(f"image: velocity spectral index = {expected_value:.3f} ± ")
    summary = result.summary()
    assert summary["quantity_name"] == "spectral_index" and summary["n_tiles_used"] == len(values)


def test_one_tile_keeps_its_own_sigma():
    combination = combine_tile_estimates([3.2], [0.4])
    assert combination.value == pytest.approx(3.2) and combination.sigma == pytest.approx(0.4)
    two = combine_tile_estimates([3.0, 4.0], [0.1, 0.3])
    assert two.value == pytest.approx((3.0 / 0.01 + 4.0 / 0.09) / (1 / 0.01 + 1 / 0.09))
    assert two.sigma == pytest.approx(np.sqrt((0.01 + 0.09) / 2 + 0.25))


def test_nan_pixels_are_filled_or_skipped_and_stay_nan(regression_model):
    image = lognormal_map((96, 120), seed=4)
    image[:48, :56] = np.nan
    image[70, 100] = np.nan
    before = image.copy()
    result = glue_turbml.regress(image, model=regression_model, device="cpu")
    np.testing.assert_array_equal(image, before, strict=True)
    skipped = np.isnan(result.tile_values)
    assert skipped.any() and (~skipped).any()
    assert np.all(result.tile_valid_fraction[skipped] < 0.5)
    assert np.isnan(result.tile_sigmas[skipped]).all()
    assert np.isnan(result.value_map[:48, :56]).all() and np.isnan(result.sigma_map[70, 100])
    assert np.isfinite(result.value_map[80:, 60:]).all()
    assert result.n_filled_pixels == 48 * 56 + 1
    used = ~skipped
    expected = combine_tile_estimates(result.tile_values[used], result.tile_sigmas[used])
    assert result.value == expected.value and np.isfinite(result.value)
    assert result.n_tiles_used == int(used.sum())


def test_a_map_regressor_and_a_classifier_each_name_the_other_entry_point(regression_model):
    image = lognormal_map((96, 96), seed=5)
    with pytest.raises(ValueError, match=r"classification model.*`turbml classify`"):
        glue_turbml.regress(image, model="kolmogorov-burgers-fbm", device="cpu")
    with pytest.raises(ValueError, match=r"has task 'regression'.*glue_turbml.regress"):
        glue_turbml.classify(image, model=regression_model, device="cpu")
    with pytest.raises(ValueError, match=r"per-spectrum regression.*`turbml spectra`"):
        glue_turbml.regress(image, model="desi-emission-lines")
    with pytest.raises(ValueError, match=r"image_to_image model.*`turbml map`"):
        glue_turbml.regress(image, model="mass-weighted-density")


def test_regressors_breaking_the_two_channel_contract_are_refused(tmp_path):
    from tests.regression_nets import spectral_index_card

    image = lognormal_map((64, 64), seed=6)
    # a card listing other channels (three regressed numbers): refused before any session
    three = [{"name": name, "units": "", "description": name} for name in ("a", "b", "c")]
    with pytest.raises(ModelLoadError, match=r"must be \(batch, 3\)"):
        write_spectral_index_model(tmp_path, name="two-as-three", channels=three)
        load_model_file(tmp_path / "two-as-three.onnx")
    card = spectral_index_card("no-variance")
    card["outputs"][0]["channels"][1]["name"] = "sigma"
    from glue_turbml.regression import regression_output

    with pytest.raises(ModelCardError, match=r"\['spectral_index', 'sigma'\].*'log_variance'"):
        regression_output(card)
    # a graph whose output width is undeclared and turns out to be 3: refused when run
    wrong = write_wrong_width_model(tmp_path)
    with pytest.raises(ModelLoadError, match=r"shape \(\d+, 3\).*must give \(batch, 2\)"):
        glue_turbml.regress(image, model=wrong, device="cpu")


def test_fits_round_trip_keeps_wcs_units_and_the_whole_map_result(regression_model, tmp_path):
    image = lognormal_map((80, 100), seed=7) * 1e21
    wcs = make_celestial_wcs(image.shape)
    header = wcs.to_header()
    header["BUNIT"] = "cm-2"
    source = tmp_path / "N_H.fits"
    fits.PrimaryHDU(image, header=header).writeto(source)
    result = glue_turbml.regress(source, model=regression_model, device="cpu")
    assert result.input_name == "N_H"
    target = tmp_path / "N_H_spectral-index.fits"
    result.write(target)
    with fits.open(target) as hdulist:
        primary = hdulist[0]
        np.testing.assert_array_equal(primary.data, result.value_map)
        # the header keeps 16 significant digits of CDELT
        assert WCS(primary.header).celestial.wcs.compare(wcs.wcs, tolerance=1e-12)
        assert primary.header["BUNIT"] == ""
        assert primary.header["TM_TASK"] == "regression"
        assert primary.header["TM_MODEL"] == regression_model
        assert primary.header["TM_QNAME"] == "spectral_index"
        assert primary.header["TM_VALUE"] == pytest.approx(result.value)
        assert primary.header["TM_SIGMA"] == pytest.approx(result.sigma)
        assert "velocity spectral index" in primary.header.comments["BUNIT"]
        np.testing.assert_array_equal(hdulist["SIGMA"].data, result.sigma_map)
        assert WCS(hdulist["SIGMA"].header).wcs.compare(wcs.wcs, tolerance=1e-12)
        tiles = hdulist["TILES"].data
        np.testing.assert_allclose(tiles["spectral_index"], result.tile_values)
        np.testing.assert_allclose(tiles["sigma"], result.tile_sigmas)
        assert "DOMAIN" not in hdulist  # the card records no domain
    with pytest.raises(OSError):
        result.write(target)
    result.write(target, overwrite=True)


@pytest.fixture(scope="module")
def domain_model(tmp_path_factory):
    """The tiny regressor with an input-statistics-only domain record (no embedding part) fitted
    on lognormal tiles of slope 11/3."""
    from training.common.random_fields import lognormal_field
    from training.evaluation.domain_record import fit_domain_record

    grid = make_tile_grid((128, 128), TILE_SIZE, stride=TILE_SIZE)

    def tiles(seed, n_maps):  # cut from larger maps, as the runtime cuts them
        return np.concatenate([extract_tiles(lognormal_field((128, 128), 11 / 3, sigma_ln=1.0,
                                                             seed=[seed, number]), grid)
                               for number in range(n_maps)])

    record = fit_domain_record(tiles(1, 10), tiles(2, 20), k_range=(2, 8),
                               false_alarm_rate=0.02)
    folder = tmp_path_factory.mktemp("domain_regressor")
    return write_spectral_index_model(folder, name="domain-index",
                                      domain={"input_statistics": record})


def test_the_domain_check_works_with_input_statistics_only(domain_model, tmp_path):
    inside = glue_turbml.regress(lognormal_map((128, 128), seed=8), model=domain_model,
                                 device="cpu")
    assert inside.domain is not None and inside.domain.embedding_scores is None
    assert inside.domain.verdict == "inside"
    flat = np.random.default_rng(9).lognormal(sigma=1.0, size=(128, 128)).astype(np.float32)
    outside = glue_turbml.regress(flat, model=domain_model, device="cpu")
    assert outside.domain.verdict == "outside"
    assert "OUTSIDE the training domain" in str(outside)
    assert outside.summary()["domain"]["verdict"] == "outside"
    outside.write(tmp_path / "flat.fits")
    with fits.open(tmp_path / "flat.fits") as hdulist:
        assert hdulist[0].header["TM_DOM"] == "outside"
        assert len(hdulist["DOMAIN"].data) == len(outside.tile_values)
