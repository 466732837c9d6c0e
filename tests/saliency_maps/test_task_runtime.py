"""glue_turbml.saliency for regressors and image-to-image models (U-Nets), on whole maps."""

import shutil

import numpy as np
import onnx
import pytest
import torch
from astropy.io import fits
from captum.attr import GuidedBackprop, Saliency

import glue_turbml
from glue_turbml.core import build_pipeline, extract_tiles, fill_nan_nearest, make_tile_grid
from glue_turbml.core import stitch_tiles
from glue_turbml.models import load_model_file, read_card, write_card
from glue_turbml.models.session import clear_session_cache

from tests.saliency_task_nets import WeightedOutput

#: U-Net mapping tiles for the whole-map check: the 24-px margin covers the test U-Net's
#: receptive field, so tiles reproduce whole-map inference away from the map edges.
UNET_TILING = {"tile_size": 96, "margin": 24, "stride": 24}


def _lognormal_map(shape, seed):
    return np.random.default_rng(seed).lognormal(sigma=0.6, size=shape).astype(np.float32)


def test_regressor_saliency_is_captum_on_classify_tiles_stitched(exported_task_nets):
    exported = exported_task_nets["regressor"]
    image = _lognormal_map((80, 100), seed=21)
    image[5:8, 30:33] = np.nan
    before = image.copy()
    result = glue_turbml.saliency(image, model=exported.path, method="guided", target=1,
                                  device="cpu")
    np.testing.assert_array_equal(image, before)
    card = load_model_file(exported.path).card
    grid = make_tile_grid(image.shape, card["input"]["tile_size"],
                          stride=card["tiling"]["stride"], boundary=card["tiling"]["boundary"])
    filled, _ = fill_nan_nearest(image)
    tiles = build_pipeline(card["preprocess"])(extract_tiles(filled, grid))[:, None]
    tiles = tiles.astype(np.float32)
    reference_tiles = GuidedBackprop(exported.net).attribute(
        torch.from_numpy(tiles), target=1).detach().numpy().astype(np.float64)
    reference = stitch_tiles(reference_tiles, grid)[0]
    reference[np.isnan(image)] = np.nan
    finite = np.isfinite(reference)
    scale = np.abs(reference[finite]).max()
    assert scale > 1e-6
    np.testing.assert_array_equal(np.isnan(result.saliency_map), ~finite)
    assert np.abs(result.saliency_map[finite] - reference[finite]).max() <= 1e-5 * scale
    with torch.no_grad():
        outputs = exported.net(torch.from_numpy(tiles)).numpy()
    np.testing.assert_allclose(result.probability, outputs.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert result.task == "regression"
    assert result.class_names == ["prediction[0]", "prediction[1]", "prediction[2]"]
    assert result.target_class == "prediction[1]"
    assert "output 'prediction[1]'" in str(result)
    # The first output by default; by name; a region is refused for a regressor.
    default = glue_turbml.saliency(image, model=exported.path, method="vanilla")
    by_name = glue_turbml.saliency(image, model=exported.path, method="vanilla",
                                   target="prediction[0]")
    assert default.target_index == 0
    np.testing.assert_array_equal(default.saliency_map, by_name.saliency_map)
    with pytest.raises(ValueError, match="unknown target output"):
        glue_turbml.saliency(image, model=exported.path, target="density")
    with pytest.raises(ValueError, match="region applies to image_to_image"):
        glue_turbml.saliency(image, model=exported.path, region=np.ones(image.shape, bool))


@pytest.fixture(scope="module")
def unet_mapping_model(exported_task_nets, tmp_path_factory):
    """The test U-Net's file and graphs, with a card tiling like the shipped U-Nets'."""
    exported = exported_task_nets["unet"]
    folder = tmp_path_factory.mktemp("unet_mapping")
    for item in exported.path.parent.glob(f"{exported.path.stem}*.onnx"):
        shutil.copy(item, folder / item.name)
    path = folder / exported.path.name
    model = onnx.load(path)
    card = read_card(model)
    card["input"]["tile_size"] = UNET_TILING["tile_size"]
    card["preprocess"] = [{"op": "log10"}]
    card["tiling"].update(stride=UNET_TILING["stride"], window_margin=UNET_TILING["margin"],
                          boundary="reflect", min_valid_fraction=0.5)
    write_card(model, card)
    onnx.save_model(model, str(path))
    clear_session_cache()
    return exported.net, path


def _whole_map_reference(net, image, region, channel, method):
    """d sum(region * net(log10 map)[channel]) / d log10 map, by Captum on the whole map."""
    inputs = torch.from_numpy(np.log10(image)[None, None].astype(np.float32))
    weights = torch.zeros((1, 2) + image.shape)
    weights[0, channel] = torch.from_numpy(region.astype(np.float32))
    explained = WeightedOutput(net, weights)
    explainer = Saliency(explained) if method == "vanilla" else GuidedBackprop(explained)
    kwargs = {"abs": False} if method == "vanilla" else {}
    attribution = explainer.attribute(inputs.requires_grad_(True), **kwargs)
    with torch.no_grad():
        output = net(inputs)[0, channel].numpy()
    return attribution.detach().numpy()[0, 0].astype(np.float64), output


@pytest.mark.parametrize("method,channel", [("vanilla", "mean"), ("vanilla", "log_variance"),
                                            ("guided", "mean")])
def test_unet_region_saliency_equals_whole_map_autograd(unet_mapping_model, method, channel):
    net, path = unet_mapping_model
    image = _lognormal_map((72, 88), seed=33)
    region = np.zeros(image.shape, dtype=bool)
    region[28:44, 30:58] = True  # further from the edges than the receptive field reaches
    before = image.copy()
    result = glue_turbml.saliency(image, model=path, method=method, target=channel,
                                  region=region, device="cpu")
    np.testing.assert_array_equal(image, before)
    index = ["mean", "log_variance"].index(channel)
    reference, output = _whole_map_reference(net, image, region, index, method)
    scale = np.abs(reference).max()
    assert scale > 1e-6 and np.count_nonzero(reference) > 0.2 * region.sum()
    assert np.isfinite(result.saliency_map).all()
    difference = np.abs(result.saliency_map - reference).max()
    if method == "vanilla":
        # The gradient is linear in the target, so the tile sum is the whole-map gradient.
        assert difference <= 1e-5 * scale
    else:
        # Guided backpropagation is not: where tiles overlap, each tile's ReLUs cut only its
        # own share of the gradient. Close to the whole-map map, but not equal.
        assert 1e-5 * scale < difference <= 0.05 * scale
        assert np.corrcoef(result.saliency_map.ravel(), reference.ravel())[0, 1] > 0.999
    assert result.probability[index] == pytest.approx(output[region].mean(), rel=1e-5)
    assert result.task == "image_to_image" and result.target_class == channel
    assert f"channel '{channel}' summed over a {region.sum()}-pixel region" in str(result)


def test_unet_defaults_nan_handling_errors_and_fits(unet_mapping_model, tmp_path):
    _, path = unet_mapping_model
    image = _lognormal_map((72, 88), seed=34)
    image[10:14, 60:63] = np.nan
    result = glue_turbml.saliency(image, model=path, method="vanilla")
    assert result.target_class == "mean" and result.region is None
    np.testing.assert_array_equal(np.isnan(result.saliency_map), np.isnan(image))
    assert np.nanmax(np.abs(result.saliency_map)) > 0
    out = tmp_path / "unet_saliency.fits"
    result.write(out)
    with fits.open(out) as hdul:
        assert hdul["SALIENCY"].header["TM_TASK"] == "image_to_image"
        assert hdul["SALIENCY"].header["TM_TARG"] == "mean"
    with pytest.raises(ValueError, match="region has shape"):
        glue_turbml.saliency(image, model=path, region=np.ones((10, 10), bool))
    with pytest.raises(ValueError, match="holds no pixel"):
        glue_turbml.saliency(image, model=path, region=np.zeros(image.shape, bool))
    with pytest.raises(ValueError, match="boolean mask"):
        glue_turbml.saliency(image, model=path, region=np.full(image.shape, 0.5))
    with pytest.raises(ValueError, match="unknown target output"):
        glue_turbml.saliency(image, model=path, target="variance")


def test_unet_occlusion_stays_within_reach_of_the_region(unet_mapping_model):
    _, path = unet_mapping_model
    image = _lognormal_map((72, 88), seed=35)
    region = np.zeros(image.shape, dtype=bool)
    region[30:38, 36:44] = True
    result = glue_turbml.saliency(image, model=path, method="occlusion", region=region,
                                  occlusion_window=16, occlusion_stride=16)
    assert result.parameters == {"window_px": 16, "stride_px": 16, "baseline": "mean"}
    near = np.abs(result.saliency_map[26:42, 32:48]).max()
    # A window further than the receptive field (~20 px) from the region cannot change its
    # output, so pixels more than 20 + 16 px away get exactly zero.
    assert near > 0 and np.abs(result.saliency_map[:, 80:]).max() == 0.0


def test_cli_explains_a_region_given_as_a_box_or_a_fits_mask(unet_mapping_model, tmp_path,
                                                             capsys):
    from glue_turbml.cli import main

    _, path = unet_mapping_model
    image = _lognormal_map((72, 88), seed=35)
    map_path = tmp_path / "column.fits"
    fits.PrimaryHDU(image).writeto(map_path)
    box_region = np.zeros(image.shape, dtype=bool)
    box_region[28:44, 30:58] = True
    expected = glue_turbml.saliency(image, model=path, method="vanilla", region=box_region,
                                    device="cpu")
    mask_path = tmp_path / "mask.fits"
    fits.PrimaryHDU(box_region.astype(np.int16)).writeto(mask_path)
    common = ["saliency", str(map_path), "--model", str(path), "--method", "vanilla",
              "--device", "cpu", "--no-png", "--overwrite"]
    for option in (["--region-box", "30", "58", "28", "44"], ["--region-mask", str(mask_path)]):
        assert main(common + ["--out", str(tmp_path / option[0][2:])] + option) == 0
        assert "summed over a 448-pixel region" in capsys.readouterr().out
        written, = (tmp_path / option[0][2:]).glob("*.fits")
        with fits.open(written) as hdul:
            assert hdul["SALIENCY"].header["TM_REGN"] == 448
            np.testing.assert_allclose(hdul["SALIENCY"].data, expected.saliency_map,
                                       rtol=1e-5, atol=1e-7 * np.abs(expected.saliency_map).max())
    assert main(common + ["--out", str(tmp_path), "--region-box", "30", "99", "28", "44"]) == 2
    assert "not a non-empty box inside the 88 x 72" in capsys.readouterr().err
    fits.PrimaryHDU(np.ones((10, 10))).writeto(tmp_path / "small.fits")
    assert main(common + ["--out", str(tmp_path), "--region-mask",
                          str(tmp_path / "small.fits")]) == 2
    assert "has shape (10, 10), the map (72, 88)" in capsys.readouterr().err
