"""ONNX export: single file, default domain, stripped metadata, card, torch/onnxruntime parity."""

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from glue_turbml.models import CARD_KEY, read_card, weights_sha256
from training.common.export import (ExportError, ParityError, check_parity, check_portable,
                                    export_classifier, strip_metadata)
from training.common.nets import TurbulenceCNN


def _untrained_net(seed=3):
    """A small net with non-trivial BatchNorm statistics, as after training."""
    torch.manual_seed(seed)
    net = TurbulenceCNN(widths=(4, 8, 8), hidden=8)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.05, 0.05)
                module.running_var.uniform_(0.01, 0.2)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, make_card):
    net = _untrained_net()
    path = tmp_path_factory.mktemp("export") / "test-net.onnx"
    result = export_classifier(net, path, make_card(tile_size=64), tile_size=64,
                               parity_batch_sizes=(1, 4), parity_tile_sizes=(32, 64, 48))
    return net, result


def test_export_writes_one_self_contained_default_domain_file(exported):
    _, result = exported
    model = onnx.load(result.path, load_external_data=False)
    onnx.checker.check_model(model, full_check=True)
    assert [opset.domain for opset in model.opset_import] == [""]
    assert {opset.version for opset in model.opset_import} == {18}
    assert all(node.domain in ("", "ai.onnx") for node in model.graph.node)
    assert not any(tensor.external_data for tensor in model.graph.initializer)
    assert not model.functions
    assert not any(node.metadata_props or node.doc_string for node in model.graph.node)
    for value in list(model.graph.input) + list(model.graph.output):
        assert not value.metadata_props and not value.doc_string
    assert [value.name for value in model.graph.input] == ["image"]
    assert [value.name for value in model.graph.output] == ["logits"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [dim.dim_param or dim.dim_value for dim in dims] == ["batch", 1, "height", "width"]


def test_card_is_stored_and_hash_matches_weights(exported):
    _, result = exported
    model = onnx.load(result.path)
    card = read_card(model, source=result.path)
    assert card == result.card
    assert card["weights_sha256"] == weights_sha256(model)
    assert [prop.key for prop in model.metadata_props].count(CARD_KEY) == 1


def test_parity_torch_vs_onnxruntime_at_several_batch_and_tile_sizes(exported):
    net, result = exported
    shapes = {(record["batch_size"], record["tile_size"]) for record in result.parity}
    assert shapes == {(b, t) for b in (1, 4) for t in (32, 64, 48)}
    assert all(record["max_abs_diff"] <= 1e-5 for record in result.parity)
    # An independent check on other shapes and inputs, straight through onnxruntime.
    session = onnxruntime.InferenceSession(result.path, providers=["CPUExecutionProvider"])
    images = np.random.default_rng(99).random((7, 1, 80, 72), dtype=np.float32)
    (ort_logits,) = session.run(["logits"], {"image": images})
    with torch.no_grad():
        torch_logits = net(torch.from_numpy(images)).numpy()
    assert ort_logits.shape == (7, 2)
    np.testing.assert_allclose(ort_logits, torch_logits, rtol=0, atol=1e-5)
    # The check also passes on realistic images and fails when the weights differ.
    records = check_parity(net, result.path, images=images, batch_sizes=(2, 3),
                           tile_sizes=(64, 40))
    assert len(records) == 4
    other = _untrained_net(seed=4)
    with pytest.raises(ParityError):
        check_parity(other, result.path, batch_sizes=(2,), tile_sizes=(32,))


def test_reexport_is_byte_identical(exported, tmp_path, make_card):
    net, result = exported
    again = export_classifier(net, tmp_path / "again.onnx", make_card(tile_size=64), tile_size=64,
                              parity_batch_sizes=(2,), parity_tile_sizes=(64,))
    with open(result.path, "rb") as first, open(again.path, "rb") as second:
        assert first.read() == second.read()


def test_invalid_card_is_refused(tmp_path, make_card):
    card = make_card(tile_size=64)
    del card["classes"]
    with pytest.raises(ValueError, match="classes"):
        export_classifier(_untrained_net(), tmp_path / "bad.onnx", card, tile_size=64)
    assert not (tmp_path / "bad.onnx").exists()


def test_check_portable_rejects_custom_domains_and_strip_metadata_clears_nodes():
    node = onnx.helper.make_node("Relu", ["x"], ["y"], name="relu", doc_string="from here")
    entry = node.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.stack_trace", "file.py:1"
    custom = onnx.helper.make_node("Mystery", ["y"], ["z"], domain="com.example")
    value_info = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph([node, custom], "g",
                                   [value_info("x", onnx.TensorProto.FLOAT, [1])],
                                   [value_info("z", onnx.TensorProto.FLOAT, [1])])
    opsets = [onnx.helper.make_opsetid("", 18), onnx.helper.make_opsetid("com.example", 1)]
    model = onnx.helper.make_model(graph, opset_imports=opsets)
    strip_metadata(model)
    assert not model.graph.node[0].metadata_props and not model.graph.node[0].doc_string
    with pytest.raises(ExportError, match="com.example::Mystery"):
        check_portable(model)
    del model.graph.node[1]
    model.graph.output[0].name = "y"
    check_portable(model)  # unused foreign opset import is dropped, not an error
    assert [opset.domain for opset in model.opset_import] == [""]
    assert json.loads(json.dumps([opset.version for opset in model.opset_import])) == [18]


def test_dihedral_average_exports_and_is_rebuilt_from_the_file(tmp_path, make_card):
    from training.common.export import torch_classifier_from_onnx
    from training.common.nets import DihedralAverage, fold_batch_norm

    net = _untrained_net(seed=5)
    images = torch.rand(6, 1, 40, 40)
    folded = fold_batch_norm(net)
    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in folded.modules())
    assert any(isinstance(module, torch.nn.BatchNorm2d) for module in net.modules())
    with torch.no_grad():
        torch.testing.assert_close(folded(images), net(images), rtol=1e-5, atol=1e-5)
    model = DihedralAverage(folded).eval()
    card = make_card(tile_size=40)
    card["provenance"]["training"] = {"net": dict(model.config)}
    result = export_classifier(model, tmp_path / "d4.onnx", card, tile_size=40,
                               parity_batch_sizes=(1, 3), parity_tile_sizes=(40, 24))
    graph = onnx.load(result.path).graph
    # the trunk runs twice on shared weights, the head once
    assert len([node for node in graph.node if node.op_type == "Conv"]) == 6
    assert len([node for node in graph.node if node.op_type == "Gemm"]) == 2
    rebuilt = torch_classifier_from_onnx(result.path)
    assert isinstance(rebuilt, DihedralAverage)
    session = onnxruntime.InferenceSession(result.path, providers=["CPUExecutionProvider"])
    onnx_logits = session.run(None, {"image": images.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(rebuilt(images).numpy(), onnx_logits, rtol=0, atol=1e-5)
        np.testing.assert_allclose(model(images).numpy(), onnx_logits, rtol=0, atol=1e-5)
