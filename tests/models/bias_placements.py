"""Tiny classifiers whose ``head.bias`` sits somewhere other than a dense initializer.

Shared by the external-data and the weight-hash tests: each placement (a sparse initializer, a
``Constant`` node, an ``If`` branch, a function body, ...) is a place where a weight can hide from
a check that looks at ``graph.initializer`` only.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from .conftest import make_tiny_classifier

__all__ = ["PLACEMENTS", "LOADABLE_PLACEMENTS", "classifier_without_head_bias", "sparse_bias",
           "model_with_bias_in", "point_at_file"]


def classifier_without_head_bias(*, seed=0):
    """`make_tiny_classifier` without its ``head.bias`` initializer, and that bias."""
    model = make_tiny_classifier(seed=seed)
    bias, = [tensor for tensor in model.graph.initializer if tensor.name == "head.bias"]
    head_bias = numpy_helper.to_array(bias)
    model.graph.initializer.remove(bias)
    return model, head_bias


def sparse_bias(head_bias):
    """``head_bias`` as a sparse tensor (values named ``head.bias``, every index listed)."""
    return helper.make_sparse_tensor(
        numpy_helper.from_array(head_bias, "head.bias"),
        numpy_helper.from_array(np.arange(head_bias.size, dtype=np.int64), "head.bias.indices"),
        list(head_bias.shape))


def _bias_in_sparse_initializer(model, head_bias):
    model.graph.sparse_initializer.append(sparse_bias(head_bias))
    return model.graph.sparse_initializer[0].values


def _bias_in_sparse_initializer_indices(model, head_bias):
    model.graph.sparse_initializer.append(sparse_bias(head_bias))
    return model.graph.sparse_initializer[0].indices


def _bias_in_constant_sparse_value(model, head_bias):
    model.graph.node.insert(0, helper.make_node("Constant", [], ["head.bias"],
                                                sparse_value=sparse_bias(head_bias)))
    return model.graph.node[0].attribute[0].sparse_tensor.values


def _bias_in_constant_value(model, head_bias):
    model.graph.node.insert(0, helper.make_node(
        "Constant", [], ["head.bias"], value=numpy_helper.from_array(head_bias, "bias_value")))
    return model.graph.node[0].attribute[0].t


def _bias_in_constant_of_shape(model, head_bias):
    model.graph.initializer.append(numpy_helper.from_array(np.array([head_bias.size], np.int64),
                                                           "bias_shape"))
    model.graph.node.insert(0, helper.make_node(
        "ConstantOfShape", ["bias_shape"], ["head.bias"],
        value=numpy_helper.from_array(head_bias[:1], "bias_fill")))
    return model.graph.node[0].attribute[0].t


def _if_node(output, head_bias, *, then_nodes=None):
    """``If(true)`` whose branches each make ``output`` from a ``Constant`` node."""
    def branch(name, nodes):
        return helper.make_graph(
            nodes or [helper.make_node("Constant", [], [name],
                                       value=numpy_helper.from_array(head_bias, f"{name}.value"))],
            name, [], [helper.make_tensor_value_info(name, TensorProto.FLOAT, [head_bias.size])])
    return helper.make_node("If", ["use_then"], [output],
                            then_branch=branch(f"{output}.then", then_nodes),
                            else_branch=branch(f"{output}.else", None))


def _branch(if_node, name):
    attribute, = [attribute for attribute in if_node.attribute if attribute.name == name]
    return attribute.g


def _bias_in_if_branch(model, head_bias):
    model.graph.initializer.append(numpy_helper.from_array(np.array(True), "use_then"))
    model.graph.node.insert(0, _if_node("head.bias", head_bias))
    return _branch(model.graph.node[0], "then_branch").node[0].attribute[0].t


def _bias_in_nested_if_branch(model, head_bias):
    model.graph.initializer.append(numpy_helper.from_array(np.array(True), "use_then"))
    inner = _if_node("head.bias.then", head_bias)
    model.graph.node.insert(0, _if_node("head.bias", head_bias, then_nodes=[inner]))
    inner_then = _branch(_branch(model.graph.node[0], "then_branch").node[0], "then_branch")
    return inner_then.node[0].attribute[0].t


def _bias_in_function_body(model, head_bias):
    body = [helper.make_node("Constant", [], ["bias"],
                             value=numpy_helper.from_array(head_bias, "bias_value"))]
    model.functions.append(helper.make_function("local.bias", "HeadBias", [], ["bias"], body,
                                                [helper.make_opsetid("", 18)]))
    model.opset_import.append(helper.make_opsetid("local.bias", 1))
    model.graph.node.insert(0, helper.make_node("HeadBias", [], ["head.bias"],
                                                domain="local.bias"))
    return model.functions[0].node[0].attribute[0].t


#: Where the bias goes, and a function putting it there that returns the tensor holding it
#: (the values of a sparse tensor; for ``*_indices``, its indices).
PLACEMENTS = {
    "sparse_initializer": _bias_in_sparse_initializer,
    "sparse_initializer_indices": _bias_in_sparse_initializer_indices,
    "constant_sparse_value": _bias_in_constant_sparse_value,
    "constant_value": _bias_in_constant_value,
    "constant_of_shape_value": _bias_in_constant_of_shape,
    "if_branch": _bias_in_if_branch,
    "nested_if_branch": _bias_in_nested_if_branch,
    "function_body": _bias_in_function_body,
}
#: Placements that load as they are (calling a local function needs a custom op domain).
LOADABLE_PLACEMENTS = sorted(set(PLACEMENTS) - {"function_body"})


def point_at_file(tensor, location, *, length=None):
    """Replace a tensor's bytes by an external-data pointer to ``location`` (its first
    ``length`` bytes if given, else all of it)."""
    for field in ("raw_data", "float_data", "int64_data"):
        tensor.ClearField(field)
    tensor.data_location = TensorProto.EXTERNAL
    entries = {"location": location, **({} if length is None else {"length": str(length)})}
    for key, value in entries.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def model_with_bias_in(placement, *, seed=0):
    """A tiny classifier with its bias placed by ``placement`` (a key of `PLACEMENTS`).

    Returns
    -------
    model : onnx.ModelProto
    held : onnx.TensorProto
        The tensor holding the bias (inside ``model``), e.g. to point it at a file.
    """
    model, head_bias = classifier_without_head_bias(seed=seed)
    return model, PLACEMENTS[placement](model, head_bias)
