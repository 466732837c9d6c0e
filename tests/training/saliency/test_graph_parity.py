"""Exported saliency graphs (onnxruntime, no torch) against Captum on the torch nets.

Issue 4, item 2: on inputs that are not the tracing example, at two batch sizes and two tile
sizes, the ONNX maps equal Captum's ``Saliency(abs=False)`` and ``GuidedBackprop`` to
max|diff| <= 1e-5 * max|ref|, with a non-degenerate reference, for a CNN with max pooling and
for one with strided convolutions.
"""

import hashlib

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from captum.attr import GuidedBackprop, Saliency

from glue_turbml.models import ALLOWED_OP_DOMAINS, load_model_file, load_saliency_graph

from tests.saliency_nets import TILE_SIZE, equalized_tiles

BATCH_SIZES = (1, 6)
#: The tracing example is (3, 1, 32, 40); 45 is odd, so strided layers drop rows.
TILE_SIZES = (TILE_SIZE, 45)


def _captum(net, method, images, targets):
    inputs = torch.from_numpy(images).requires_grad_(True)
    if method == "vanilla":
        attribution = Saliency(net).attribute(inputs, target=targets, abs=False)
    else:
        attribution = GuidedBackprop(net).attribute(inputs, target=targets)
    return attribution.detach().numpy()


@pytest.mark.parametrize("method", ["vanilla", "guided"])
@pytest.mark.parametrize("kind", ["maxpool", "strided"])
def test_onnx_saliency_equals_captum(exported_nets, kind, method):
    exported = exported_nets[kind]
    graph = load_saliency_graph(load_model_file(exported.path), method)
    session = onnxruntime.InferenceSession(graph.model_bytes, providers=["CPUExecutionProvider"])
    checked = 0
    for tile_size in TILE_SIZES:
        for batch_size in BATCH_SIZES:
            images = equalized_tiles(batch_size, tile_size, seed=100 + tile_size + batch_size)
            with torch.no_grad():
                predicted = exported.net(torch.from_numpy(images)).argmax(dim=1)
            targets = predicted.tolist()
            one_hot = np.eye(exported.n_classes, dtype=np.float32)[targets]
            logits, saliency = session.run(None, {"image": images, "target": one_hot})
            reference = _captum(exported.net, method, images, targets)
            scale = np.abs(reference).max()
            assert saliency.shape == images.shape
            # A non-degenerate reference: not all zero, and nonzero on many pixels.
            assert scale > 1e-6
            assert np.count_nonzero(reference) > 0.2 * reference.size
            assert np.abs(saliency - reference).max() <= 1e-5 * scale, (tile_size, batch_size)
            with torch.no_grad():
                expected_logits = exported.net(torch.from_numpy(images)).numpy()
            assert np.abs(logits - expected_logits).max() <= 1e-5
            checked += 1
    assert checked == 4


@pytest.mark.parametrize("kind", ["maxpool", "strided"])
def test_guided_differs_from_vanilla_and_targets_select_the_class(exported_nets, kind):
    """Guided is not the plain gradient, and the target input picks the explained class."""
    exported = exported_nets[kind]
    loaded = load_model_file(exported.path)
    images = equalized_tiles(4, 40, seed=9)
    maps = {}
    for method in ("vanilla", "guided"):
        graph = load_saliency_graph(loaded, method)
        session = onnxruntime.InferenceSession(graph.model_bytes,
                                               providers=["CPUExecutionProvider"])
        per_class = []
        for index in range(exported.n_classes):
            one_hot = np.zeros((4, exported.n_classes), dtype=np.float32)
            one_hot[:, index] = 1
            per_class.append(session.run(["saliency"], {"image": images, "target": one_hot})[0])
        maps[method] = per_class
        reference = _captum(exported.net, method, images, [1] * 4)
        assert np.abs(per_class[1] - reference).max() <= 1e-5 * np.abs(reference).max()
        assert np.abs(per_class[0] - per_class[1]).max() > 0.1 * np.abs(per_class[1]).max()
    vanilla, guided = maps["vanilla"][0], maps["guided"][0]
    assert np.abs(vanilla - guided).max() > 0.1 * np.abs(vanilla).max()


def test_export_parity_records_and_portable_graphs(exported_nets):
    for exported in exported_nets.values():
        assert {record["method"] for record in exported.parity} == {"vanilla", "guided"}
        assert max(record["relative_diff"] for record in exported.parity) <= 1e-5
        card = load_model_file(exported.path).card
        assert card["saliency"]["methods"] == ["vanilla", "guided", "occlusion"]
        for method, entry in card["saliency"]["graphs"].items():
            path = exported.path.parent / entry["file"]
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            model = onnx.load(path)
            assert {node.domain for node in model.graph.node} <= ALLOWED_OP_DOMAINS
            assert {"ConvTranspose", "Slice"} <= {node.op_type for node in model.graph.node}
            if exported.kind == "maxpool":
                assert "ScatterElements" in {node.op_type for node in model.graph.node}
            # batch, height and width are dynamic (named, not fixed) in the graph's input.
            dims = model.graph.input[0].type.tensor_type.shape.dim
            assert [dim.HasField("dim_value") for dim in dims] == [False, True, False, False]


def test_a_parity_miss_at_a_gradient_jump_is_told_from_a_wrong_graph(exported_nets):
    from training.saliency.export import (SaliencyExportError, check_saliency_parity,
                                          float32_spread)

    net = exported_nets["maxpool"].net
    target = np.eye(3, dtype=np.float32)[[0]]
    rng = np.random.default_rng(0)
    # a flat map ties every max-pool window: float32-sized input changes reroute the gradient
    flat = np.ones((1, 1, TILE_SIZE, TILE_SIZE), dtype=np.float32)
    assert float32_spread(net, flat, target, "vanilla", rng=rng) > 1e-3
    # a map with distinct values moves the reference only by rounding
    tile = equalized_tiles(1, TILE_SIZE, seed=9).astype(np.float32)
    assert float32_spread(net, tile, target, "vanilla", rng=rng) < 1e-5
    # the vanilla graph checked against the guided reference misses by far more than any jump
    # of the reference explains: a wrong graph still fails
    path = exported_nets["maxpool"].path
    with pytest.raises(SaliencyExportError, match="differ by more than"):
        check_saliency_parity(net, path.with_name(f"{path.stem}.saliency-vanilla.onnx"),
                              "guided", images=equalized_tiles(8, 64, seed=5),
                              batch_sizes=(2,), tile_sizes=(TILE_SIZE,))
