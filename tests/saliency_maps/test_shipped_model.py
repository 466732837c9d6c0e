"""The shipped kolmogorov-burgers-fbm model's saliency graphs against Captum on its torch
rebuild."""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from captum.attr import GuidedBackprop, Saliency

import glue_turbml
from glue_turbml.core import build_pipeline, extract_tiles, make_tile_grid
from glue_turbml.models import load_saliency_graph, resolve_model
from training.common.export import torch_classifier_from_onnx
from training.common.random_fields import BURGERS_SLOPE, lognormal_field

from .shipped_graphs import check_pinned_graph_files

REPOSITORY = Path(__file__).resolve().parents[2]
MODEL_PATH = REPOSITORY / "onnx_models" / "kolmogorov-burgers-fbm.onnx"


@pytest.fixture(scope="module")
def shipped():
    loaded = resolve_model("kolmogorov-burgers-fbm")
    return loaded, torch_classifier_from_onnx(loaded)


def test_card_references_both_graphs_and_weights_are_the_trained_ones(shipped):
    loaded, _ = shipped
    graph_files = check_pinned_graph_files(loaded, folder=MODEL_PATH.parent)
    for method, (path, _) in graph_files.items():
        owner = json.loads({prop.key: prop.value for prop in onnx.load(path).metadata_props}[
            "glue_turbml.saliency_of"])
        assert owner["weights_sha256"] == loaded.card["weights_sha256"]
        assert owner["method"] == method
        assert owner["model"] == loaded.card["name"]
    export = loaded.card["provenance"]["saliency_export"]
    assert export["forward_max_abs_logit_diff"] <= 1e-5
    assert export["max_relative_saliency_diff"] <= 1e-5
    assert loaded.card["metrics"]["test_accuracy"] > 0.95  # metrics kept from training


@pytest.mark.parametrize("method", ["vanilla", "guided"])
def test_shipped_graphs_equal_captum(shipped, method):
    loaded, net = shipped
    session = onnxruntime.InferenceSession(load_saliency_graph(loaded, method).model_bytes,
                                           providers=["CPUExecutionProvider"])
    field = lognormal_field((256, 256), BURGERS_SLOPE, sigma_ln=1.0, seed=[31, 7])
    pipeline = build_pipeline(loaded.card["preprocess"])
    explainer = Saliency(net) if method == "vanilla" else GuidedBackprop(net)
    kwargs = {"abs": False} if method == "vanilla" else {}
    for tile_size in (128, 96):
        for batch_size in (1, 4):
            grid = make_tile_grid(field.shape, tile_size, stride=tile_size // 2)
            tiles = pipeline(extract_tiles(field, grid))[:batch_size, None].astype(np.float32)
            with torch.no_grad():
                targets = net(torch.from_numpy(tiles)).argmax(dim=1).tolist()
            one_hot = np.eye(2, dtype=np.float32)[targets]
            _, saliency = session.run(None, {"image": tiles, "target": one_hot})
            reference = explainer.attribute(torch.from_numpy(tiles), target=targets,
                                            **kwargs).detach().numpy()
            scale = np.abs(reference).max()
            assert scale > 1e-3 and np.count_nonzero(reference) > 0.2 * reference.size
            assert np.abs(saliency - reference).max() <= 1e-5 * scale


def test_demo_map_guided_saliency(shipped):
    result = glue_turbml.saliency(REPOSITORY / "glue_turbml" / "data" / "demo_two_regimes.fits",
                                  model="kolmogorov-burgers-fbm", method="guided")
    assert result.saliency_map.shape == (512, 1024)
    assert result.wcs is not None and result.wcs.has_celestial
    finite = np.isfinite(result.saliency_map)
    assert finite.mean() > 0.99 and np.abs(result.saliency_map[finite]).max() > 0
    assert np.isfinite(result.overlay()[1])
