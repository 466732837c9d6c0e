"""The shipped mass-weighted-density U-Net reads statistics of the whole map beside each tile.

Its graph takes them as a second input; the runtime computes them once per map, before tiling,
exactly as training computed them on its whole maps.
"""

import shutil

import numpy as np
import onnx
import pytest

import glue_turbml
from glue_turbml.core import MAP_STATISTICS
from glue_turbml.mapping import mapping_grid
from glue_turbml.models import (ModelLoadError, load_model_file, open_model, read_card,
                                resolve_model, write_card)
from glue_turbml.models.statistics_feed import statistics_feed
from glue_turbml.tiled_input import tiled_input_on_grid
from training.common.random_fields import lognormal_field
from training.unet.data import normalized_input
from training.unet.sim_evaluation import periodic_map_statistics

MODEL = "mass-weighted-density"


@pytest.fixture(scope="module")
def card():
    return resolve_model(MODEL).card


def _column_map(shape, seed, sigma_ln=0.8):
    return lognormal_field(shape, 3.6, sigma_ln=sigma_ln, seed=[2026, 12, seed]) * 1e21


def test_the_card_names_the_statistics_and_the_graph_reads_them(card):
    declared = card["input"]["map_statistics"]
    assert set(declared["names"]) <= set(MAP_STATISTICS)
    loaded = load_model_file(resolve_model(MODEL).path)
    names = [value.name for value in onnx.load_from_string(loaded.model_bytes).graph.input]
    assert names == [card["input"]["name"], declared["input"]]
    # its saliency graphs read them too, after the image and the target
    for entry in card["saliency"]["graphs"].values():
        assert entry["inputs"] == [card["input"]["name"], "target", declared["input"]]


def test_runtime_statistics_are_the_training_ones_for_the_same_map(card):
    column = _column_map((96, 96), seed=1)
    ratio = column / column.mean()
    grid = mapping_grid(ratio.shape, card["input"]["tile_size"],
                        margin=card["tiling"]["window_margin"], stride=card["tiling"]["stride"])
    tiled = tiled_input_on_grid(ratio, np.isfinite(ratio), grid, card, nothing_left="none")
    names = card["input"]["map_statistics"]["names"]
    training = periodic_map_statistics(normalized_input(column)[None, None], names)[0]
    np.testing.assert_allclose(tiled.map_statistics, training, rtol=1e-5, atol=1e-5)


def test_the_mean_reads_its_surroundings_and_sigma_the_whole_map(card):
    column = _column_map((192, 192), seed=2)
    whole = glue_turbml.map_image(column, model=MODEL, device="cpu")
    # the same map with a strip of another, broader field of the same mean beside it: the
    # pixels are divided by the same mean, the whole map is another
    strip = _column_map((192, 96), seed=3, sigma_ln=2.0)
    wider = np.concatenate([column, strip * (column.mean() / strip.mean())], axis=1)
    widened = glue_turbml.map_image(wider, model=MODEL, device="cpu")
    # away from the join (more than the tiling margin) each pixel's mean is the same: the mean
    # reads only the pixel's surroundings
    inner = (slice(40, 150), slice(40, 150))
    np.testing.assert_allclose(widened.log_ratio[inner], whole.log_ratio[inner], atol=1e-4)
    # its sigma follows the statistics of the whole map, which the broad strip changed
    ratio = widened.sigma[inner] / whole.sigma[inner]
    assert np.abs(np.log(ratio)).mean() > 0.01
    # nor does the tiling: other tiles, the same answer
    retiled = glue_turbml.map_image(column, model=MODEL, device="cpu", tile_size=96)
    assert retiled.tile_size == 96 and retiled.stride != whole.stride
    np.testing.assert_allclose(retiled.sigma, whole.sigma, rtol=0, atol=1e-4)
    np.testing.assert_allclose(retiled.log_ratio, whole.log_ratio, atol=1e-4)


def test_a_runner_refuses_missing_or_unwanted_statistics_by_name(card):
    with pytest.raises(ValueError, match="reads the statistics .* of the whole map"):
        statistics_feed(card, None)
    with pytest.raises(ValueError, match="reads 4 map statistics"):
        statistics_feed(card, np.zeros(3))
    classifier = resolve_model("kolmogorov-burgers").card
    with pytest.raises(ValueError, match="reads no map statistics"):
        statistics_feed(classifier, np.zeros(4))
    runner = open_model(MODEL, device="cpu")
    with pytest.raises(ValueError, match="TiledInput.map_statistics"):
        runner.run(np.zeros((1, 1, 128, 128), np.float32))


def test_a_card_and_graph_that_disagree_on_the_statistics_input_are_refused(card, tmp_path):
    source = resolve_model(MODEL).path
    path = tmp_path / source.name
    shutil.copy(source, path)
    model = onnx.load(path)
    edited = read_card(model)
    del edited["input"]["map_statistics"]
    write_card(model, edited)
    onnx.save_model(model, str(path))
    with pytest.raises(ModelLoadError, match=r"inputs \['image', 'map_statistics'\] differ "
                                             "from the card's input 'image'"):
        load_model_file(path)


def test_the_statistics_a_result_read_are_in_its_summary_and_fits_header(card, tmp_path):
    from astropy.io import fits

    column = _column_map((160, 160), seed=4)
    result = glue_turbml.map_image(column, model=MODEL, device="cpu")
    names = card["input"]["map_statistics"]["names"]
    expected = periodic_map_statistics(normalized_input(column)[None, None], names)[0]
    recorded = result.summary()["map_statistics"]
    assert list(recorded) == names
    np.testing.assert_allclose(list(recorded.values()), expected, rtol=1e-5, atol=1e-5)
    result.write(tmp_path / "mapped.fits")
    header = fits.getheader(tmp_path / "mapped.fits")
    for number, name in enumerate(names, start=1):
        assert header[f"TM_MSTA{number}"] == pytest.approx(recorded[name])
        assert name in header.comments[f"TM_MSTA{number}"]
