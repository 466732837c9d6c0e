"""Saliency graphs of regressors and U-Nets (onnxruntime, no torch) against Captum.

Issue 4, items 1-2 for the card tasks ``regression`` and ``image_to_image``: on inputs that are
not the tracing example (``(b, 1, 32, 40)``), at two batch sizes and two tile sizes, the ONNX
maps equal Captum's ``Saliency(abs=False)`` and ``GuidedBackprop`` to
max|diff| <= 1e-5 * max|ref|, with a non-degenerate reference. A U-Net's ``target`` is a
per-output-pixel weight map; Captum explains it through a module returning
``sum(target * output)`` per sample.
"""

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from captum.attr import GuidedBackprop, Saliency
from torch import nn

from glue_turbml.models import ALLOWED_OP_DOMAINS, load_model_file, load_saliency_graph
from training.saliency.export import SaliencyExportError, export_saliency_graph

from tests.saliency_nets import TASK_NET_METHODS, equalized_tiles
from tests.saliency_task_nets import WeightedOutput, region_targets

BATCH_SIZES = (1, 6)
#: Multiples of 4 (the U-Nets pool twice), neither of them the tracing example's 32 or 40.
TILE_SIZES = (24, 44)
CASES = [(kind, method) for kind, methods in TASK_NET_METHODS.items() for method in methods]


def _captum(net, method, images, target, task):
    inputs = torch.from_numpy(images).requires_grad_(True)
    if task == "regression":
        explained, captum_target = net, [int(row.argmax()) for row in target]
    else:
        explained, captum_target = WeightedOutput(net, torch.from_numpy(target)), None
    if method == "vanilla":
        attribution = Saliency(explained).attribute(inputs, target=captum_target, abs=False)
    else:
        attribution = GuidedBackprop(explained).attribute(inputs, target=captum_target)
    return attribution.detach().numpy()


def _session(path, method):
    graph = load_saliency_graph(load_model_file(path), method)
    return onnxruntime.InferenceSession(graph.model_bytes, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("kind,method", CASES)
def test_onnx_saliency_equals_captum(exported_task_nets, kind, method):
    exported = exported_task_nets[kind]
    session = _session(exported.path, method)
    rng = np.random.default_rng(17)
    checked = 0
    for tile_size in TILE_SIZES:
        for batch_size in BATCH_SIZES:
            images = equalized_tiles(batch_size, tile_size, seed=200 + tile_size + batch_size)
            with torch.no_grad():
                expected = exported.net(torch.from_numpy(images)).numpy()
            if exported.task == "regression":
                target = np.eye(expected.shape[1], dtype=np.float32)[
                    np.arange(batch_size) % expected.shape[1]]
            else:
                assert expected.shape == (batch_size, 2, tile_size, tile_size)
                target = region_targets(expected.shape, rng)
            output, saliency = session.run(None, {"image": images, "target": target})
            reference = _captum(exported.net, method, images, target, exported.task)
            scale = np.abs(reference).max()
            assert saliency.shape == images.shape
            assert scale > 1e-6
            assert np.count_nonzero(reference) > 0.2 * reference.size
            assert np.abs(saliency - reference).max() <= 1e-5 * scale, (tile_size, batch_size)
            assert np.abs(output - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())
            checked += 1
    assert checked == 4


def test_unet_target_weights_each_channel_and_pixel(exported_task_nets):
    """Per-channel targets give different maps, and the graph is linear in ``target``."""
    exported = exported_task_nets["unet"]
    session = _session(exported.path, "vanilla")
    images = equalized_tiles(3, 36, seed=41)
    mean_only = np.zeros((3, 2, 36, 36), dtype=np.float32)
    mean_only[:, 0] = 1.0
    log_variance_only = mean_only[:, ::-1].copy()
    corner = np.zeros_like(mean_only)
    corner[:, 0, :8, :8] = 1.0
    maps = {}
    for name, target in (("mean", mean_only), ("log_variance", log_variance_only),
                         ("both", mean_only + log_variance_only), ("corner", corner)):
        maps[name] = session.run(["saliency"], {"image": images, "target": target})[0]
    scale = np.abs(maps["mean"]).max()
    assert np.abs(maps["mean"] - maps["log_variance"]).max() > 0.1 * scale
    np.testing.assert_allclose(maps["both"], maps["mean"] + maps["log_variance"],
                               atol=1e-5 * np.abs(maps["both"]).max())
    # A region in the top-left corner only reaches pixels within the receptive field of it.
    far = np.abs(maps["corner"][:, :, 28:, 28:]).max()
    assert far == 0.0 and np.abs(maps["corner"][:, :, :8, :8]).max() > 0


def test_task_graphs_are_portable_and_the_card_describes_them(exported_task_nets):
    for kind, exported in exported_task_nets.items():
        assert max(record["relative_diff"] for record in exported.parity) <= 1e-5
        card = load_model_file(exported.path).card
        assert sorted(card["saliency"]["graphs"]) == sorted(TASK_NET_METHODS[kind])
        for method, entry in card["saliency"]["graphs"].items():
            assert entry["outputs"] == ["prediction", "saliency"]
            assert card["task"] in ("regression", "image_to_image")
            model = onnx.load(exported.path.parent / entry["file"])
            ops = {node.op_type for node in model.graph.node}
            assert {node.domain for node in model.graph.node} <= ALLOWED_OP_DOMAINS
            if kind in ("unet", "unet_issue5"):
                # Nearest upsampling's backward is a block sum, not ScatterND(add), which
                # onnxruntime's CPU provider computes with a data race; max-pool backward is a
                # ScatterElements of unique indices.
                reductions = {onnx.helper.get_attribute_value(attribute)
                              for node in model.graph.node if node.op_type == "ScatterND"
                              for attribute in node.attribute if attribute.name == "reduction"}
                assert reductions <= {b"none"} and "ReduceSum" in ops
                assert "ScatterElements" in ops
            if kind == "unet_transpose":
                assert "ConvTranspose" in ops and "Conv" in ops
            image, target = model.graph.input
            image_dims = image.type.tensor_type.shape.dim
            target_dims = target.type.tensor_type.shape.dim
            fixed = [dim.HasField("dim_value") for dim in image_dims]
            assert fixed == [False, True, False, False]
            expected_rank = 2 if card["task"] == "regression" else 4
            assert len(target_dims) == expected_rank
            assert not target_dims[0].HasField("dim_value")


class FunctionalUpsampleNet(nn.Module):
    """Upsamples with ``F.interpolate`` in ``forward``: its backward would need a racy scatter."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, images):
        pooled = nn.functional.max_pool2d(self.relu(self.conv(images)), 2)
        return nn.functional.interpolate(pooled, scale_factor=2, mode="nearest")


def test_export_refuses_a_racy_accumulating_scatter(tmp_path):
    with pytest.raises(SaliencyExportError, match="use an nn.Upsample"):
        export_saliency_graph(FunctionalUpsampleNet().eval(), tmp_path / "x.onnx", "vanilla",
                              task="image_to_image", tile_size=16, min_size=4,
                              spatial_multiple=2)
    assert not (tmp_path / "x.onnx").exists()
