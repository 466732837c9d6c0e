"""Saliency graphs of per-spectrum regressors (card input layout NC) against Captum.

Issue 4 item 1 for the DESI emission-line models: the graphs take ``(batch, n_features)``
colours and a ``(batch, n_outputs)`` target and return d sum(target * output) / d colours.
"""

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from captum.attr import GuidedBackprop, Saliency

from glue_turbml.models import ModelLoadError, load_model_file, open_saliency_graph
from training.saliency.sanity import randomization_test

from .feature_nets import N_FEATURES, N_LINES, export_feature_net, feature_rows


@pytest.fixture(scope="module", params=[True, False], ids=["per-line", "shared-head"])
def exported(request, tmp_path_factory):
    return export_feature_net(request.param, tmp_path_factory.mktemp("feature_nets"))


def _captum(net, method, rows, lines):
    explainer = Saliency(net) if method == "vanilla" else GuidedBackprop(net)
    kwargs = {"abs": False} if method == "vanilla" else {}
    return explainer.attribute(torch.from_numpy(rows), target=lines,
                               **kwargs).detach().numpy()


@pytest.mark.parametrize("method", ["vanilla", "guided"])
def test_feature_graphs_equal_captum_at_two_batch_sizes(exported, method):
    loaded = load_model_file(exported.path)
    session = onnxruntime.InferenceSession(
        str(exported.path.parent / loaded.card["saliency"]["graphs"][method]["file"]),
        providers=["CPUExecutionProvider"])
    for batch_size, seed in ((3, 11), (8, 12)):
        rows = feature_rows(exported.net, batch_size, seed=seed)  # not the tracing example
        lines = [index % N_LINES for index in range(batch_size)]
        target = np.eye(N_LINES, dtype=np.float32)[lines]
        output, saliency = session.run(None, {"colours": rows, "target": target})
        with torch.no_grad():
            expected = exported.net(torch.from_numpy(rows)).numpy()
        reference = _captum(exported.net, method, rows, lines)
        scale = np.abs(reference).max()
        assert saliency.shape == rows.shape == (batch_size, N_FEATURES)
        assert scale > 1e-3 and np.count_nonzero(reference) >= rows.size // 2
        assert np.abs(saliency - reference).max() <= 1e-5 * scale
        assert np.abs(output - expected).max() <= 1e-4 * np.abs(expected).max()


def test_exporter_parity_records_and_card(exported):
    card = load_model_file(exported.path).card
    saliency = card["saliency"]
    # No occlusion: the runtime's occlusion slides windows over image tiles.
    assert saliency["methods"] == ["vanilla", "guided"]
    assert [record["tile_size"] for record in exported.parity] == [None, None]
    assert all(record["relative_diff"] <= 1e-5 for record in exported.parity)
    for method, entry in saliency["graphs"].items():
        assert entry["inputs"] == ["colours", "target"]
        assert entry["outputs"] == ["equivalent_width", "saliency"]
        assert "d features" in entry["score"]
        graph = onnx.load(exported.path.parent / entry["file"])
        colours, target = graph.graph.input
        dims = [[dim.dim_value or dim.dim_param for dim in value.type.tensor_type.shape.dim]
                for value in (colours, target)]
        assert isinstance(dims[0][0], str) and dims[0][1] == N_FEATURES  # dynamic batch only
        assert isinstance(dims[1][0], str) and dims[1][1] == N_LINES
        assert {node.domain for node in graph.graph.node} <= {"", "ai.onnx"}


def test_runtime_runs_the_graphs_and_target_weights_the_outputs(exported):
    loaded = load_model_file(exported.path)
    runner = open_saliency_graph(loaded, "vanilla", device="cpu")
    rows = feature_rows(exported.net, 5, seed=21)
    halpha, oiii = 6, 4
    one = np.zeros((5, N_LINES), np.float32)
    one[:, halpha] = 1.0
    other = np.zeros_like(one)
    other[:, oiii] = 1.0
    outputs, first = runner.run(rows, one, batch_size=2)
    _, second = runner.run(rows, other, batch_size=2)
    _, both = runner.run(rows, 2.0 * one - 0.5 * other, batch_size=5)
    assert outputs.shape == (5, N_LINES) and first.shape == (5, N_FEATURES)
    # The map is linear in the target: weights combine the outputs' gradients.
    assert np.allclose(both, 2.0 * first - 0.5 * second, rtol=1e-5,
                       atol=1e-6 * np.abs(both).max())
    assert not np.allclose(first, second)


def test_runtime_refuses_a_graph_whose_file_changed(exported, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(exported.path.parent, folder)
    loaded = load_model_file(folder / exported.path.name)
    graphs = loaded.card["saliency"]["graphs"]
    # A valid ONNX file, but not the one the card pins: the vanilla graph under the guided name.
    (folder / graphs["guided"]["file"]).write_bytes(
        (folder / graphs["vanilla"]["file"]).read_bytes())
    with pytest.raises(ModelLoadError, match="sha256"):
        open_saliency_graph(loaded, "guided", device="cpu")


def test_randomization_test_on_feature_rows(exported):
    rows = feature_rows(exported.net, 40, seed=31)
    result = randomization_test(exported.net, rows, methods=("vanilla", "guided"),
                                task="regression", seed=3)
    n_linear = sum(isinstance(module, torch.nn.Linear) for module in exported.net.modules())
    assert len(result["stages"]) == n_linear and result["n_features"] == N_FEATURES
    assert "occlusion" not in result
    for record in result["methods"].values():
        assert len(record["spearman_abs"]) == n_linear
        assert -1 <= record["spearman_abs_fully_randomized"] <= 1
    # Output 0 depends on every layer of a shared head, so randomizing it all changes the map.
    assert result["methods"]["vanilla"]["spearman_abs_fully_randomized"] < 0.99
    with pytest.raises(ValueError, match="occlusion"):
        randomization_test(exported.net, rows, methods=("vanilla", "occlusion"),
                           task="regression")
