"""The shipped DESI emission-line regressors' saliency graphs against Captum on their rebuilds.

The graphs are run by the torch-free runtime (`glue_turbml.models.open_saliency_graph`,
onnxruntime); the reference is Captum on the torch net rebuilt from the file's initializers
(`training.saliency.add.torch_emission_line_net_from_onnx`).
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from captum.attr import GuidedBackprop, Saliency

from glue_turbml.models import open_saliency_graph, resolve_model
from training.saliency.add import torch_emission_line_net_from_onnx

REPOSITORY = Path(__file__).resolve().parents[3]
MODELS = ["desi-emission-lines", "desi-emission-lines-red"]


@pytest.fixture(scope="module", params=MODELS)
def shipped(request):
    loaded = resolve_model(request.param)
    return loaded, torch_emission_line_net_from_onnx(loaded)


def _colours(net, count, seed):
    """Colours spread around the training standardisation (not the tracing example)."""
    rng = np.random.default_rng(seed)
    mean, std = net.net.colour_mean.numpy(), net.net.colour_std.numpy()
    return (mean + std * rng.normal(size=(count, mean.size))).astype(np.float32)


def test_card_pins_both_graphs_of_these_weights_and_records_the_sanity_check(shipped):
    loaded, _ = shipped
    saliency = loaded.card["saliency"]
    assert saliency["methods"] == ["vanilla", "guided"]
    for method in ("vanilla", "guided"):
        entry = saliency["graphs"][method]
        path = REPOSITORY / "onnx_models" / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        owner = json.loads({prop.key: prop.value for prop in onnx.load(path).metadata_props}[
            "glue_turbml.saliency_of"])
        assert owner == {"method": method, "model": loaded.card["name"],
                         "version": loaded.card["version"],
                         "weights_sha256": loaded.card["weights_sha256"]}
    export = loaded.card["provenance"]["saliency_export"]
    assert export["forward_max_abs_logit_diff"] <= 1e-3
    assert export["max_relative_saliency_diff"] <= 1e-5
    checks = saliency["sanity_checks"]
    assert set(checks["model_parameter_randomization"]) == {"vanilla", "guided"}
    assert "occlusion" in checks["not_applicable"]


@pytest.mark.parametrize("method", ["vanilla", "guided"])
def test_shipped_graphs_equal_captum(shipped, method):
    loaded, net = shipped
    runner = open_saliency_graph(loaded, method, device="cpu")
    n_lines = len(loaded.card["outputs"][0]["channels"])
    explainer = Saliency(net) if method == "vanilla" else GuidedBackprop(net)
    kwargs = {"abs": False} if method == "vanilla" else {}
    for batch_size, seed in ((1, 41), (6, 42)):
        colours = _colours(net, batch_size, seed)
        lines = [(3 * index + 6) % n_lines for index in range(batch_size)]
        outputs, saliency = runner.run(colours, np.eye(n_lines, dtype=np.float32)[lines])
        reference = explainer.attribute(torch.from_numpy(colours), target=lines,
                                        **kwargs).detach().numpy()
        with torch.no_grad():
            expected = net(torch.from_numpy(colours)).numpy()
        scale = np.abs(reference).max()
        assert saliency.shape == colours.shape
        assert scale > 1e-3 and np.count_nonzero(reference) >= colours.size // 2
        assert np.abs(saliency - reference).max() <= 1e-5 * scale
        assert np.abs(outputs - expected).max() <= 1e-3
