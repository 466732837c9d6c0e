"""map_image and ``turbml map`` with the shipped mass-weighted-density U-Net on real FITS files."""

import os

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

import glue_turbml
from glue_turbml.cli import main as turbml
from glue_turbml.core import (TilingError, blend_window, extract_tiles, map_statistics,
                              stitch_tiles)
from glue_turbml.inputs import InputError
from glue_turbml.mapping import margin_window, mapping_grid
from glue_turbml.models import open_model, resolve_model
from training.common.random_fields import lognormal_field
from training.unet.data import column_and_mass_weighted_density

from ..conftest import make_celestial_wcs

MODEL = "mass-weighted-density"


@pytest.fixture(scope="module")
def runner():
    return open_model(MODEL, device="cpu")


@pytest.fixture(scope="module")
def unseen_cube():
    """A 128^3 lognormal density cube from a seed no training cube used."""
    density = lognormal_field((128, 128, 128), 3.8, sigma_ln=1.2, seed=[2024, 9])
    return density / density.mean()


@pytest.fixture(scope="module")
def column_map(unseen_cube):
    """Its column density along axis 0, in cm-2 (1 pc deep cube of mean density 100 cm-3)."""
    column, _ = column_and_mass_weighted_density(unseen_cube, axis=0)
    cell_cm = (1 * u.pc).to_value(u.cm) / 128
    return (column[0] * 100.0 * cell_cm).astype(np.float32)


@pytest.fixture
def column_fits(tmp_path, column_map):
    header = make_celestial_wcs(column_map.shape).to_header()
    header["BUNIT"] = "cm-2"
    path = tmp_path / "column.fits"
    fits.PrimaryHDU(column_map, header=header).writeto(path)
    return path


def test_shipped_card_describes_tiling_units_and_a_receptive_field_inside_the_margin():
    loaded = resolve_model(MODEL)
    card = loaded.card
    assert card["task"] == "image_to_image"
    assert card["input"]["normalization"] == "map_mean"
    assert "cm-2" in card["input"]["accepted_units"]
    tiling = card["tiling"]
    assert tiling["combine"] == "window"
    assert tiling["stride"] == (card["input"]["tile_size"] - 2 * tiling["window_margin"]) // 2
    assert card["provenance"]["training"]["receptive_field_radius_px"] <= tiling["window_margin"]
    assert card["input"]["tile_size"] % card["input"]["spatial_multiple"] == 0
    metrics = card["metrics"]
    assert {"mse_log10", "accuracy_curve", "fraction_inside_68_interval",
            "fraction_inside_95_interval"} <= set(metrics["unet"])
    assert metrics["unet"]["mse_log10"] < metrics["baseline_constant_depth"]["mse_log10"]
    assert metrics["unet"]["mse_log10"] < metrics["baseline_power_law"]["mse_log10"]
    assert os.path.getsize(loaded.path) < 2 * 1024 ** 2


def test_tiles_reproduce_whole_map_inference_without_seams(runner, column_map):
    result = glue_turbml.map_image(column_map, model=MODEL, device="cpu")
    whole_input = np.log10(column_map / column_map.mean(dtype=np.float64))
    # the statistics of the whole map, which every tile reads too
    statistics = map_statistics(whole_input, runner.card["input"]["map_statistics"]["names"])
    whole = runner.run(whole_input[np.newaxis, np.newaxis].astype(np.float32),
                       map_statistics=statistics)[0]
    # whole-map inference sees zero padding within the receptive field of the map's edges
    reach = max(32, resolve_model(MODEL).card["provenance"]["training"][
        "receptive_field_radius_px"])
    interior = (slice(reach, -reach), slice(reach, -reach))
    assert np.max(np.abs(result.log_density_ratio - whole[0])[interior]) < 1e-4
    assert np.max(np.abs(result.sigma - np.exp(0.5 * whole[1]))[interior]) < 1e-4
    # The same tiles blended with the plain sin^2 window (no margin) do show seams: the test
    # can fail, and the margin is what removes them.
    card = runner.card
    grid = mapping_grid(column_map.shape, card["input"]["tile_size"],
                        margin=card["tiling"]["window_margin"], stride=card["tiling"]["stride"])
    tiles = extract_tiles(whole_input.astype(np.float32), grid)[:, np.newaxis]
    tile_means = runner.run(tiles, map_statistics=statistics)[:, :1]
    plain = stitch_tiles(tile_means, grid, window=blend_window(grid.tile_size))[0]
    margined = stitch_tiles(tile_means, grid, window=margin_window(
        grid.tile_size, card["tiling"]["window_margin"]))[0]
    assert np.max(np.abs(plain - whole[0])[interior]) > 1e-3
    np.testing.assert_allclose(margined, result.log_density_ratio, atol=1e-6)


def test_shipped_model_beats_the_constant_depth_baseline_on_an_unseen_cube(
        unseen_cube, column_map):
    _, weighted = column_and_mass_weighted_density(unseen_cube, axis=0)
    truth = np.log10(weighted[0])
    result = glue_turbml.map_image(column_map * u.cm ** -2, model=MODEL, device="cpu",
                                   depth=1 * u.pc)
    unet_mse = np.mean((result.log_density_ratio - truth) ** 2)
    baseline_mse = np.mean((np.log10(column_map / column_map.mean()) - truth) ** 2)
    # trained on simulations, not on lognormal fields, it still reads N's structure here
    # (0.52 of the baseline's error when it was retrained)
    assert unet_mse < 0.75 * baseline_mse
    # but its intervals are calibrated on its own solver's runs: on this lognormal field they
    # are too narrow (29% inside the 68% interval when it was retrained with the map
    # statistics, 7% before)
    inside_68 = np.mean(np.abs(result.log_density_ratio - truth) < result.sigma)
    assert inside_68 < 0.5
    # <n>_m in cm-3 = 10^log_ratio x mean density (100 cm-3 by construction).
    assert result.density.unit == u.cm ** -3
    np.testing.assert_allclose(result.density.value,
                               10.0 ** result.log_density_ratio.astype(np.float64) * 100.0,
                               rtol=1e-4)


def test_fits_in_fits_out_keeps_wcs_bunit_and_provenance(column_fits, tmp_path):
    result = glue_turbml.map_image(column_fits, model=MODEL, device="cpu", depth=1 * u.pc)
    out = tmp_path / "mapped.fits"
    result.write(out)
    with fits.open(out) as hdulist:
        assert [hdu.name for hdu in hdulist] == ["PRIMARY", "SIGMA", "DENSITY", "FILLED",
                                                 "DOMAIN"]
        primary = hdulist[0].header
        assert primary["BUNIT"] == "dex" and primary["TM_MODEL"] == MODEL
        assert primary["TM_SHA"] == resolve_model(MODEL).card["weights_sha256"]
        assert hdulist["SIGMA"].header["BUNIT"] == "dex"
        assert u.Unit(hdulist["DENSITY"].header["BUNIT"]) == u.cm ** -3
        np.testing.assert_allclose(primary["TM_NMEAN"], np.mean(fits.getdata(column_fits),
                                                                dtype=np.float64), rtol=1e-6)
        original = make_celestial_wcs((128, 128))
        for name in ("PRIMARY", "SIGMA", "DENSITY"):
            written = WCS(hdulist[name].header)
            np.testing.assert_allclose(written.wcs.crval, original.wcs.crval)
            np.testing.assert_allclose(written.wcs.cdelt, original.wcs.cdelt)
        np.testing.assert_array_equal(hdulist[0].data, result.log_density_ratio)


def test_nan_regions_stay_nan_and_the_input_is_not_modified(column_map):
    image = column_map.copy()
    image[:, :60] = np.nan  # a masked region, most of some tiles
    image[100, 5] = np.nan  # a single bad pixel
    before = image.copy()
    result = glue_turbml.map_image(image, model=MODEL, device="cpu")
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(np.isnan(result.log_density_ratio), np.isnan(image))
    np.testing.assert_array_equal(np.isnan(result.sigma), np.isnan(image))
    assert result.filled_mask.sum() == np.isnan(image).sum()
    # Tiles that are mostly NaN are skipped.
    assert result.n_tiles_used < result.n_tiles
    with pytest.raises(TilingError, match="entirely NaN"):
        glue_turbml.map_image(np.full((128, 128), np.nan), model=MODEL, device="cpu")


def test_units_are_converted_or_refused_with_a_clear_message(column_map):
    per_m2 = glue_turbml.map_image(column_map * 1e4 * u.m ** -2, model=MODEL, device="cpu")
    unitless = glue_turbml.map_image(column_map, model=MODEL, device="cpu")
    # Dividing by the map mean makes the prediction independent of the unit's scale.
    np.testing.assert_allclose(per_m2.log_density_ratio, unitless.log_density_ratio, atol=1e-5)
    surface = glue_turbml.map_image(column_map * u.solMass / u.pc ** 2, model=MODEL,
                                    device="cpu", depth=2 * u.pc)
    assert surface.density.unit == u.g / u.cm ** 3
    with pytest.raises(InputError, match="not a column density.*cm-2"):
        glue_turbml.map_image(column_map * u.K * u.km / u.s, model=MODEL, device="cpu")
    with pytest.raises(InputError, match="no column-density unit"):
        glue_turbml.map_image(column_map, model=MODEL, device="cpu", depth=1 * u.pc)
    with pytest.raises(InputError, match="positive length"):
        glue_turbml.map_image(column_map * u.cm ** -2, model=MODEL, device="cpu",
                              depth=3 * u.s)


def test_wrong_model_small_maps_and_bad_tile_sizes_are_refused(column_map):
    with pytest.raises(ValueError, match="image_to_image"):
        glue_turbml.map_image(column_map, model="kolmogorov-burgers-fbm", device="cpu")
    with pytest.raises(TilingError, match="at least 64x64"):
        glue_turbml.map_image(column_map[:40, :80], model=MODEL, device="cpu")
    with pytest.raises(TilingError, match="multiple of 4"):
        glue_turbml.map_image(column_map, model=MODEL, device="cpu", tile_size=130)
    larger = glue_turbml.map_image(column_map, model=MODEL, device="cpu", tile_size=192)
    default = glue_turbml.map_image(column_map, model=MODEL, device="cpu")
    assert larger.stride == 64 and larger.n_tiles < default.n_tiles
    np.testing.assert_allclose(larger.log_density_ratio, default.log_density_ratio, atol=1e-4)


def test_cli_map_writes_fits_and_reports_bad_units(column_fits, tmp_path, capsys):
    out = tmp_path / "out" / "density.fits"
    assert turbml(["map", str(column_fits), "--model", MODEL, "--out", str(out),
                   "--depth", "1 pc", "--device", "cpu"]) == 0
    assert "median <n>_m" in capsys.readouterr().out
    with fits.open(out) as hdulist:
        assert u.Unit(hdulist["DENSITY"].header["BUNIT"]) == u.cm ** -3
    assert turbml(["map", str(column_fits), "--model", MODEL, "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    brightness = tmp_path / "brightness.fits"
    with fits.open(column_fits) as hdulist:
        hdulist[0].header["BUNIT"] = "K km s-1"
        hdulist.writeto(brightness)
    assert turbml(["map", str(brightness), "--model", MODEL, "--out",
                   str(tmp_path / "b.fits")]) == 2
    assert "not a column density" in capsys.readouterr().err
