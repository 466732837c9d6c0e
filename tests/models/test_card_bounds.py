"""Card values that would make a model's cost absurd are refused at load, naming the field."""

import copy
import json
import math

import onnx
import pytest

from glue_turbml.cli import main as turbml
from glue_turbml.models import (ModelCardError, ModelLoadError, load_model_file, shipped_models_dir,
                                summarize_card, validate_card, write_card)
from glue_turbml.models.card import CARD_KEY, weights_sha256
from glue_turbml.models.card_bounds import (NBINS_RANGE, TILE_SIZE_RANGE, card_bound_problems,
                                            input_values_per_megapixel, passes_per_megapixel)
from glue_turbml.models.saliency_graphs import is_saliency_graph_file

SHIPPED_MODELS = sorted(path for path in shipped_models_dir().glob("*.onnx")
                        if not is_saliency_graph_file(path))
EQUALIZE = [{"op": "log10"}, {"op": "ffp"}, {"op": "equalize_hist", "nbins": 256}]


def _write_unchecked(model, card, path):
    """Store ``card`` (with the model's real weights hash) without `write_card`'s validation,
    as a hand-edited or hostile file would."""
    card = dict(card, weights_sha256=weights_sha256(model))
    entry = model.metadata_props.add()
    entry.key, entry.value = CARD_KEY, json.dumps(card)
    onnx.save_model(model, str(path))
    return path


@pytest.fixture
def spectral_card():
    """The shipped desi-emission-lines card: a per-spectrum (input layout "NC") model."""
    return copy.deepcopy(load_model_file(shipped_models_dir() / "desi-emission-lines.onnx").card)


# --- what real models need stays accepted ----------------------------------------------------

def test_the_shipped_folder_holds_models_of_each_kind():
    layouts = {load_model_file(path).card["input"]["layout"] for path in SHIPPED_MODELS}
    assert layouts == {"NCHW", "NC"}


@pytest.mark.parametrize("path", SHIPPED_MODELS, ids=lambda path: path.stem)
def test_every_shipped_model_is_within_the_bounds(path):
    loaded = load_model_file(path)
    assert list(card_bound_problems(loaded.card)) == []
    assert loaded.cost.passes_per_megapixel == passes_per_megapixel(loaded.card)
    assert 0 < loaded.cost.flops_per_pass


@pytest.mark.parametrize("tile_size, stride", [(8, 4), (128, 16), (512, 256), (1024, 128)])
def test_tilings_real_models_use_are_accepted(card_factory, tile_size, stride):
    validate_card(card_factory(tile_size=tile_size, stride=stride))


@pytest.mark.parametrize("nbins", NBINS_RANGE)
def test_the_nbins_limits_themselves_are_accepted(card_factory, nbins):
    validate_card(card_factory(preprocess=[{"op": "equalize_hist", "nbins": nbins}]))


# --- each bound, named in the message --------------------------------------------------------

def _with_step(index, **params):
    steps = copy.deepcopy(EQUALIZE)
    steps[index].update(params)
    return {"preprocess": steps}


@pytest.mark.parametrize("fields, message", [
    (_with_step(2, nbins=10**9), r"preprocess\[2\]\.nbins = 1000000000 exceeds 65536"),
    (_with_step(2, nbins=1), r"preprocess\[2\]\.nbins = 1 is below 2"),
    (_with_step(2, nbins=256.5), r"preprocess\[2\]\.nbins = 256\.5 is not an integer"),
    (_with_step(0, floor=-1.0), r"preprocess\[0\]\.floor = -1\.0 must exceed 0"),
    (_with_step(0, floor=math.nan), r"preprocess\[0\]\.floor = nan is not a finite number"),
    (_with_step(1, relative_tolerance=2.0), r"preprocess\[1\]\.relative_tolerance = 2\.0 exceeds"),
    (_with_step(1, edges="wrap"), r"preprocess\[1\]\.edges = 'wrap' is not 'periodic' or"),
    ({"preprocess": [{"op": "log10"}] * 17}, r"preprocess has 17 steps, more than 16"),
    ({"tile_size": 2048, "stride": 1024}, r"input\.tile_size = 2048 exceeds 1024"),
    ({"tile_size": 128, "stride": 1},
     r"tiling\.stride = 1 is below 16 \(1,000,000 network passes of 128x128 tiles "
     r"per megapixel, each map pixel seen 16,384 times"),
    ({"tile_size": 8, "stride": 3}, r"tiling\.stride = 3 is below 4"),
])
def test_out_of_bounds_values_are_refused_naming_the_field(card_factory, fields, message):
    with pytest.raises(ModelCardError, match=r"^bad\.onnx: card field " + message):
        validate_card(card_factory(**fields), source="bad.onnx")


@pytest.mark.parametrize("edit, message", [
    (lambda card: card["input"].update(spatial_multiple=3),
     r"input\.spatial_multiple = 3 does not divide input\.tile_size 32"),
    (lambda card: card["tiling"].update(window_margin=16),
     r"tiling\.window_margin = 16 leaves less than 2 px of a 32 px tile"),
    (lambda card: card["tiling"].update(min_valid_fraction=math.nan),
     r"tiling\.min_valid_fraction = nan is not a finite number"),
    (lambda card: card["saliency"].update(overlay={"smoothing_sigma_px": 1e6}),
     r"saliency\.overlay\.smoothing_sigma_px = 1000000\.0 exceeds 64"),
])
def test_tiling_and_overlay_values_are_refused_naming_the_field(card_factory, edit, message):
    card = card_factory(tile_size=32)
    edit(card)
    with pytest.raises(ModelCardError, match=message):
        validate_card(card)


@pytest.mark.parametrize("edit, message", [
    (lambda spectral: spectral.update(bin_edges=[3000.0 + step for step in range(2000)]),
     r"input\.spectral\.bin_edges has 2000 edges, more than 1024"),
    (lambda spectral: spectral.update(bin_edges=[4000.0, 5000.0, 4500.0]),
     r"input\.spectral\.bin_edges is not a strictly increasing list"),
    (lambda spectral: spectral.update(mask_half_width_angstrom=1e6),
     r"input\.spectral\.mask_half_width_angstrom = 1000000\.0 exceeds 1000"),
    (lambda spectral: spectral["masked_lines"].update(MANY=[5000.0] * 300),
     r"input\.spectral\.masked_lines lists 311 line centres, more than 256"),
    (lambda spectral: spectral["masked_lines"].update(HALPHA=[math.inf]),
     r"input\.spectral\.masked_lines\.HALPHA = inf is not a finite number"),
    (lambda spectral: spectral.update(min_valid_fraction=math.nan),
     r"input\.spectral\.min_valid_fraction = nan is not a finite number"),
])
def test_spectral_values_are_refused_naming_the_field(spectral_card, edit, message):
    edit(spectral_card["input"]["spectral"])
    with pytest.raises(ModelCardError, match=message):
        validate_card(spectral_card)


# --- the cost estimate ------------------------------------------------------------------------

def test_cost_per_megapixel_follows_the_stride(card_factory, spectral_card):
    card = card_factory(tile_size=128, stride=64, channels=2)
    assert passes_per_megapixel(card) == pytest.approx(1e6 / 64**2)
    assert input_values_per_megapixel(card) == pytest.approx(1e6 / 64**2 * 2 * 128**2)
    assert passes_per_megapixel(spectral_card) == 1e6
    assert input_values_per_megapixel(spectral_card) == 1e6 * spectral_card["input"]["channels"]
    assert "cost: 244 network passes (tiles at stride 64) and 8.0 million input values per " \
        "megapixel" in summarize_card(card)


def test_bounds_cap_the_cost_of_any_accepted_tiling(card_factory):
    """At the bounds' worst corner a map pixel is seen at most 64 times."""
    card, accepted = card_factory(), 0
    for tile_size in range(TILE_SIZE_RANGE[0], TILE_SIZE_RANGE[1] + 1, 8):
        for stride in range(1, tile_size + 1):
            card["input"]["tile_size"], card["tiling"]["stride"] = tile_size, stride
            if next(card_bound_problems(card), None) is None:
                accepted += 1
                assert input_values_per_megapixel(card) <= 64e6 * (1 + 1e-12)
                assert passes_per_megapixel(card) <= 1e6 / 16
    assert accepted > 10000  # the sweep did test accepted tilings


# --- at load: file, exporter and the command line --------------------------------------------

def test_a_file_with_an_out_of_bounds_card_is_refused_at_load(tmp_path, tiny_classifier_model,
                                                              card_factory):
    card = card_factory(**_with_step(2, nbins=10**9))
    path = _write_unchecked(tiny_classifier_model, card, tmp_path / "huge-bins.onnx")
    with pytest.raises(ModelLoadError, match=r"huge-bins\.onnx: card field "
                                             r"preprocess\[2\]\.nbins = 1000000000 exceeds 65536"):
        load_model_file(path)


def test_the_exporter_refuses_to_write_such_a_card(tiny_classifier_model, card_factory):
    with pytest.raises(ModelCardError, match=r"tiling\.stride = 1 is below"):
        write_card(tiny_classifier_model, card_factory(tiny_classifier_model, stride=1))


def test_models_info_exits_2_with_one_line(tmp_path, tiny_classifier_model, card_factory,
                                           capsys):
    card = card_factory(tile_size=128, stride=1)
    path = _write_unchecked(tiny_classifier_model, card, tmp_path / "stride-one.onnx")
    assert turbml(["models", "info", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"turbml: error: {path}: card field tiling.stride = 1 is below 16")
