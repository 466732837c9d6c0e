"""glue_turbml.saliency on whole maps: tiling as classify, stitching, FITS, CLI, card checks."""

import json
import shutil

import numpy as np
import onnx
import pytest
import torch
from astropy.io import fits
from astropy.wcs import WCS
from captum.attr import GuidedBackprop, Saliency

import glue_turbml
from glue_turbml.cli import main as turbml_main
from glue_turbml.core import build_pipeline, extract_tiles, fill_nan_nearest, make_tile_grid
from glue_turbml.core import stitch_tiles
from glue_turbml.models import (ModelCardError, ModelLoadError, load_model_file,
                                load_saliency_graph, read_card, scan_models, validate_card,
                                write_card)
from glue_turbml.models.session import clear_session_cache
from glue_turbml.saliency_maps.result import border_band

from tests.conftest import make_celestial_wcs


#: Width of the NaN strip at the right edge: the last column of 32-px tiles is mostly NaN.
STRIP = 24


def _map_with_holes(shape=(80, 100), seed=3):
    image = np.random.default_rng(seed).lognormal(sigma=0.6, size=shape).astype(np.float32)
    image[10:13, 20:24] = np.nan          # a few NaN pixels: filled
    image[:, -STRIP:] = np.nan            # a NaN strip: tiles mostly NaN there are skipped
    return image


@pytest.mark.parametrize("method", ["guided", "vanilla"])
def test_map_saliency_is_captum_on_classify_tiles_stitched(exported_nets, method):
    exported = exported_nets["maxpool"]
    image = _map_with_holes()
    before = image.copy()
    result = glue_turbml.saliency(image, model=exported.path, method=method, device="cpu")
    np.testing.assert_array_equal(image, before)  # input untouched
    classified = glue_turbml.classify(image, model=exported.path, device="cpu")
    np.testing.assert_allclose(result.probability, classified.probability, atol=1e-6)
    assert result.target_index == int(np.argmax(classified.probability))
    # The same tiles, preprocessing and blending as classify, with Captum per tile.
    card = load_model_file(exported.path).card
    grid = make_tile_grid(image.shape, card["input"]["tile_size"], stride=card["tiling"]["stride"],
                          boundary=card["tiling"]["boundary"])
    filled, _ = fill_nan_nearest(image)
    tiles = build_pipeline(card["preprocess"])(extract_tiles(filled, grid))[:, None]
    tiles = tiles.astype(np.float32)
    used = np.all(np.isfinite(classified.tile_probabilities), axis=1)
    assert not used.all() and used.any()  # the NaN strip really skips tiles
    explainer = (Saliency if method == "vanilla" else GuidedBackprop)(exported.net)
    kwargs = {"abs": False} if method == "vanilla" else {}
    reference_tiles = explainer.attribute(torch.from_numpy(tiles), target=result.target_index,
                                          **kwargs).detach().numpy().astype(np.float64)
    reference_tiles[~used] = np.nan
    reference = stitch_tiles(reference_tiles, grid)[0]
    reference[~np.isfinite(image)] = np.nan
    assert result.saliency_map.shape == image.shape
    np.testing.assert_array_equal(np.isnan(result.saliency_map), np.isnan(reference))
    finite = np.isfinite(reference)
    scale = np.abs(reference[finite]).max()
    assert scale > 1e-6
    assert np.abs(result.saliency_map[finite] - reference[finite]).max() <= 1e-5 * scale
    assert result.tile_used.sum() == used.sum()


def test_target_by_name_and_index_and_errors(exported_nets):
    path = exported_nets["maxpool"].path
    image = _map_with_holes()
    by_name = glue_turbml.saliency(image, model=path, method="vanilla", target="class2")
    by_index = glue_turbml.saliency(image, model=path, method="vanilla", target=2)
    other = glue_turbml.saliency(image, model=path, method="vanilla", target=0)
    assert by_name.target_class == "class2" and by_index.target_index == 2
    np.testing.assert_array_equal(by_name.saliency_map, by_index.saliency_map)
    assert np.nanmax(np.abs(by_name.saliency_map - other.saliency_map)) > 0
    with pytest.raises(ValueError, match="unknown target class"):
        glue_turbml.saliency(image, model=path, target="class9")
    with pytest.raises(ValueError, match="out of range"):
        glue_turbml.saliency(image, model=path, target=3)
    with pytest.raises(ValueError, match="method must be one of"):
        glue_turbml.saliency(image, model=path, method="integrated")


def test_overlay_contour_level_and_fits_keep_wcs_and_provenance(exported_nets, tmp_path):
    path = exported_nets["strided"].path
    image = _map_with_holes((96, 120), seed=8)
    header = make_celestial_wcs(image.shape).to_header()
    fits_path = tmp_path / "map.fits"
    fits.PrimaryHDU(image, header=header).writeto(fits_path)
    result = glue_turbml.saliency(fits_path, model=path, method="guided")
    smoothed, level = result.overlay()
    finite = np.isfinite(smoothed)
    # a reflecting (non-periodic) map: the border band, 3 smoothing sigmas wide, is left out
    assert result.boundary == "reflect" and result.border_px() == 9
    band = border_band(image.shape, 9)
    assert band[8, 50] and not band[9, 50] and band[50, -9] and not band[50, -10]
    np.testing.assert_array_equal(finite, np.isfinite(result.saliency_map) & ~band)
    above = (smoothed[finite] > level).sum() / (smoothed[finite] > 0).sum()
    assert 0.01 <= above <= 0.03  # the top 2% of positive smoothed saliency
    raw, raw_level = result.overlay(sigma_px=0, quantile=0.5)
    # without smoothing the band is one pixel: the edge row, whose tiles read padding
    assert result.border_px(sigma_px=0) == 1
    inner = np.isfinite(result.saliency_map) & ~border_band(image.shape, 1)
    np.testing.assert_array_equal(np.isfinite(raw), inner)
    np.testing.assert_allclose(raw[inner], result.saliency_map[inner], rtol=1e-6)
    assert raw_level == pytest.approx(np.quantile(raw[inner][raw[inner] > 0], 0.5))
    periodic = glue_turbml.saliency(fits_path, model=path, method="guided", boundary="periodic")
    assert periodic.border_px() == 0
    np.testing.assert_array_equal(np.isfinite(periodic.overlay()[0]),
                                  np.isfinite(periodic.saliency_map))
    out = tmp_path / "saliency.fits"
    result.write(out)
    with fits.open(out) as hdul:
        primary, saliency_hdu = hdul[0].header, hdul["SALIENCY"]
        assert primary["TM_MODEL"] == "strided-net"
        assert primary["TM_SHA"] == load_model_file(path).card["weights_sha256"]
        assert primary["TM_METH"] == "guided"
        assert saliency_hdu.header["TM_TARG"] == result.target_class
        assert saliency_hdu.header["TM_CLEV"] == pytest.approx(level)
        assert saliency_hdu.header["TM_SBORD"] == 9
        written_wcs = WCS(saliency_hdu.header)
        assert written_wcs.wcs.ctype[0] == "RA---TAN"
        np.testing.assert_allclose(written_wcs.wcs.crval, [83.8, -5.4])
        np.testing.assert_array_equal(np.isnan(saliency_hdu.data), np.isnan(image))
        np.testing.assert_allclose(saliency_hdu.data, result.saliency_map, equal_nan=True)
        assert hdul["FILLED"].data.sum() == np.isnan(image).sum()


def test_cli_writes_fits_and_a_figure_with_a_red_contour(
        exported_nets, fits_map_path, tmp_path, capsys):
    import matplotlib.image

    out = tmp_path / "out"
    status = turbml_main(["saliency", str(fits_map_path), "--model",
                          str(exported_nets["maxpool"].path), "--method", "guided", "--out",
                          str(out)])
    assert status == 0
    fits_out = out / "map_maxpool-net_saliency-guided.fits"
    png_out = fits_out.with_suffix(".png")
    assert fits_out.is_file() and png_out.is_file()
    assert "guided saliency of class" in capsys.readouterr().out
    pixels = matplotlib.image.imread(png_out)
    red = (pixels[..., 0] > 0.8) & (pixels[..., 1] < 0.25) & (pixels[..., 2] < 0.25)
    assert red.sum() > 50  # the contour is drawn
    status = turbml_main(["saliency", str(fits_map_path), "--model",
                          str(exported_nets["maxpool"].path), "--target", "nope", "--out",
                          str(out), "--overwrite"])
    assert status == 2
    assert "unknown target class" in capsys.readouterr().err


def test_occlusion_works_for_a_model_without_saliency_graphs(tmp_path, lognormal_map):
    from tests.models.conftest import make_tiny_classifier, make_valid_card

    model = make_tiny_classifier(n_classes=2)
    write_card(model, make_valid_card(model, n_classes=2, tile_size=32))
    path = tmp_path / "tiny.onnx"
    onnx.save_model(model, str(path))
    seen = []
    result = glue_turbml.saliency(lognormal_map[:64, :80], model=path, method="occlusion",
                                  occlusion_window=8, progress=lambda done, total: seen.append(
                                      (done, total)))
    assert result.saliency_map.shape == (64, 80)
    assert np.isfinite(result.saliency_map).all() and np.abs(result.saliency_map).max() > 0
    assert result.parameters == {"window_px": 8, "stride_px": 4, "baseline": "mean"}
    assert seen[-1][0] == seen[-1][1] == result.tile_used.sum() * (7 * 7 + 1)
    with pytest.raises(ModelLoadError, match="method='occlusion'"):
        glue_turbml.saliency(lognormal_map, model=path, method="guided")


def test_saliency_files_are_checked_against_the_card(exported_nets, tmp_path, monkeypatch):
    source = exported_nets["strided"].path
    for item in source.parent.glob("strided-net*.onnx"):
        shutil.copy(item, tmp_path / item.name)
    path = tmp_path / source.name
    clear_session_cache()
    # The registry lists the model once and does not mistake its saliency files for models.
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(tmp_path))
    entries, problems = scan_models()
    assert [entry.path.name for entry in entries if entry.path.parent == tmp_path] == [
        "strided-net.onnx"]
    assert not problems
    loaded = load_model_file(path)
    assert load_saliency_graph(loaded, "guided").output_names == ("logits", "saliency")
    # A modified saliency file no longer matches the sha256 in the card.
    guided = tmp_path / loaded.card["saliency"]["graphs"]["guided"]["file"]
    graph = onnx.load(guided)
    graph.doc_string = "edited"
    onnx.save_model(graph, str(guided))
    with pytest.raises(ModelLoadError, match="differs from the 'strided-net' card"):
        load_saliency_graph(loaded, "guided")
    # A card whose interface differs from the file is refused.
    model = onnx.load(path)
    card = read_card(model)
    card["saliency"]["graphs"]["vanilla"]["inputs"] = ["image", "class_weights"]
    write_card(model, card)
    onnx.save_model(model, str(path))
    with pytest.raises(ModelLoadError, match="differ from the card's"):
        load_saliency_graph(load_model_file(path), "vanilla")
    # Card rules: graphs must be listed methods, file names plain names in the same folder.
    bad = json.loads(json.dumps(card))
    bad["saliency"]["methods"] = ["occlusion"]
    with pytest.raises(ModelCardError, match="not listed in saliency.methods"):
        validate_card(bad)
    bad = json.loads(json.dumps(card))
    bad["saliency"]["graphs"]["vanilla"]["file"] = "../elsewhere/x.saliency-vanilla.onnx"
    with pytest.raises(ModelCardError, match="saliency/graphs/vanilla/file"):
        validate_card(bad)
