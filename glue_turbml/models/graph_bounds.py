"""Graph "memory bombs": declared sizes an ONNX model would allocate, checked before a session.

The file size cap bounds the bytes a model carries, not the memory it asks for: a sparse
initializer declares its dense shape (onnxruntime densifies it at load), a ``ConstantOfShape``
or ``Expand`` fed a constant shape allocates whatever that shape says, a ``Loop`` runs as often
as its constant trip count says. These checks read only the protobuf (no tensor is densified,
no session built), so such a file is refused at load with the node or tensor named.
"""

import math

import numpy as np

__all__ = [
    "MAX_ELEMENTS",
    "MAX_IO_DIM",
    "MAX_GROWTH",
    "MAX_PAD",
    "MAX_LOOP_TRIPS",
    "graph_bound_problems",
]

#: Elements one tensor may be declared or made to have. The largest activation of a real model
#: at the largest tile (1024 px, 64 channels, one tile) is 2**26; 2**28 (1 GiB of float32) leaves
#: a factor four.
MAX_ELEMENTS = 2**28
#: A fixed dimension of a graph input or output: tiles are at most 1024 px and spectral models
#: take at most 64 features, so 4096 only refuses declarations no tiler could feed.
MAX_IO_DIM = 4096
#: How much one node may multiply its input by constant factors (``Tile`` repeats, ``Resize`` and
#: ``Upsample`` scales, ``ConvTranspose`` strides). Real upsampling doubles each axis (4 in 2D);
#: 4096 allows 64x per axis.
MAX_GROWTH = 4096
#: Padding added to one side of one axis: real networks pad by a few pixels, at most half a
#: tile; 1024 is the largest tile.
MAX_PAD = 1024
#: Constant trip count of a ``Loop``: exported image and spectral models have no loops at all;
#: 65536 bounds the time one such node can spin.
MAX_LOOP_TRIPS = 65536
#: Constants longer than this are weights, not shapes: never converted to arrays here.
_SHAPE_LENGTH = 64


def graph_bound_problems(model, *, max_bytes):
    """Yield one message per declared size of ``model`` outside the bounds of this module.

    Parameters
    ----------
    model : onnx.ModelProto
        A parsed model without external data (see
        `glue_turbml.models.loader.refuse_external_data`).
    max_bytes : int
        The size cap of model files: the declared dense bytes of all tensors together may not
        exceed it either.

    Yields
    ------
    str
        Naming the tensor, graph input or node, e.g. ``"graph node 'bomb' (ConstantOfShape):
        its constant shape input makes 10,000,000,000 elements, over 268,435,456 (...)"``.
    """
    from .graph_tensors import walk_messages

    messages = list(walk_messages(model))
    yield from _tensor_size_problems(messages, max_bytes)
    yield from _io_dim_problems(model.graph)
    yield from _shape_problems(messages)
    constants = _small_constants(messages)
    for _, node in _nodes(messages):
        rule = _NODE_RULES.get(node.op_type)
        if rule is not None and node.domain in ("", "ai.onnx"):
            yield from rule(node, constants)


def _itemsize(data_type):
    from onnx import helper

    try:
        return max(1, np.dtype(helper.tensor_dtype_to_np_dtype(data_type)).itemsize)
    except (KeyError, TypeError, ValueError):
        return 1  # undefined or exotic types: count one byte an element


def _count(dims):
    """Elements of a shape (a Python int: products of hostile dims overflow int64)."""
    return math.prod(int(dim) for dim in dims)


def _tensor_size_problems(messages, max_bytes):
    from onnx import SparseTensorProto, TensorProto

    total, largest = 0, None
    for location, message in messages:
        if isinstance(message, SparseTensorProto):
            dims, data_type, name = message.dims, message.values.data_type, message.values.name
            location += " (sparse: dense at load)"
        elif isinstance(message, TensorProto):
            dims, data_type, name = message.dims, message.data_type, message.name
        else:
            continue
        if any(dim < 0 for dim in dims):
            yield f"graph tensor {name!r} at {location} declares a negative dimension {list(dims)}"
            return
        size = _count(dims) * _itemsize(data_type)
        total += size
        if largest is None or size > largest[0]:
            largest = (size, name, location)
    if total > max_bytes:
        size, name, location = largest
        yield (f"graph tensors declare {total / 2**20:,.1f} MiB once dense, over the "
               f"{max_bytes / 2**20:,.0f} MiB cap for model files (largest: {name!r} at "
               f"{location}, {size / 2**20:,.1f} MiB); a sparse or truncated tensor expands to "
               "that at load. If you trust the model, raise the cap with "
               "GLUE_TURBML_MAX_MODEL_MB")


def _dim_values(shape):
    return [dim.dim_value if dim.HasField("dim_value") else None for dim in shape.dim]


def _io_dim_problems(graph):
    for kind, values in (("input", graph.input), ("output", graph.output)):
        for value in values:
            if not value.type.HasField("tensor_type"):
                continue
            for axis, dim in enumerate(_dim_values(value.type.tensor_type.shape)):
                if dim is not None and dim > MAX_IO_DIM:
                    yield (f"graph {kind} {value.name!r} declares dimension {axis} = {dim:,}, "
                           f"over {MAX_IO_DIM} (tiles are at most 1024 px and spectral models "
                           "take at most 64 features)")


def _shape_problems(messages):
    """Fixed shapes declared anywhere (inputs, outputs, value_info, in subgraphs too)."""
    from onnx import TensorShapeProto

    for location, message in messages:
        if not isinstance(message, TensorShapeProto):
            continue
        dims = _dim_values(message)
        if any(dim is not None and dim < 0 for dim in dims):
            yield f"graph shape at {location} declares a negative dimension"
            continue
        count = _count(dim for dim in dims if dim is not None)
        if count > MAX_ELEMENTS:
            yield (f"graph shape at {location} declares {count:,} elements, over "
                   f"{MAX_ELEMENTS:,} ({_ELEMENTS_WHY})")


_ELEMENTS_WHY = ("2**28: 1 GiB of float32, four times the largest activation of a 1024 px, "
                 "64-channel tile")


def _nodes(messages):
    from onnx import FunctionProto, GraphProto

    for location, message in messages:
        if isinstance(message, (GraphProto, FunctionProto)):
            for node in message.node:
                yield location, node


def _small_constants(messages):
    """Values of the short constant tensors (initializers and ``Constant`` nodes), by name:
    the shapes, repeats, scales and pads that the node rules read."""
    from onnx import AttributeProto, GraphProto, helper, numpy_helper

    constants = {}

    def keep(name, tensor):
        if _count(tensor.dims) <= _SHAPE_LENGTH:
            try:
                constants[name] = numpy_helper.to_array(tensor)
            except (ValueError, TypeError):
                pass  # malformed: onnxruntime refuses it; nothing to bound here

    for _, message in messages:
        if isinstance(message, GraphProto):
            for tensor in message.initializer:
                keep(tensor.name, tensor)
    for _, node in _nodes(messages):
        if node.op_type != "Constant" or not node.output:
            continue
        for attribute in node.attribute:
            if attribute.type == AttributeProto.TENSOR:
                keep(node.output[0], attribute.t)
            elif attribute.type in (AttributeProto.INTS, AttributeProto.INT,
                                    AttributeProto.FLOATS, AttributeProto.FLOAT):
                value = np.asarray(helper.get_attribute_value(attribute))
                if value.size <= _SHAPE_LENGTH:
                    constants[node.output[0]] = value
    return constants


def _label(node):
    name = node.name or (node.output[0] if node.output else "?")
    return f"graph node {name!r} ({node.op_type})"


def _input(node, constants, index):
    """The constant value of a node's input, or None (absent, computed, or a long tensor)."""
    if len(node.input) <= index or not node.input[index]:
        return None
    value = constants.get(node.input[index])
    return None if value is None else np.asarray(value).ravel()


def _attribute(node, name):
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return None


def _elements_problem(node, what, count):
    if count > MAX_ELEMENTS:
        return (f"{_label(node)}: {what} makes {count:,} elements, over {MAX_ELEMENTS:,} "
                f"({_ELEMENTS_WHY})")
    return None


def _growth_problem(node, what, factor):
    if not math.isfinite(factor) or factor > MAX_GROWTH:
        return (f"{_label(node)}: {what} multiplies its input by {factor:,.6g}, over "
                f"{MAX_GROWTH} (real upsampling doubles each axis)")
    return None


def _shape_input_rule(index, what):
    """A node whose constant input ``index`` is an output shape (``ConstantOfShape``, ``Expand``,
    ``Reshape``; -1 and 0 entries of a ``Reshape`` copy the input and add nothing)."""
    def rule(node, constants):
        shape = _input(node, constants, index)
        if shape is not None and shape.dtype.kind in "iu":
            problem = _elements_problem(node, what, _count(dim for dim in shape if dim > 0))
            if problem:
                yield problem
    return rule


def _shape_attribute_rule(name):
    def rule(node, constants):
        shape = _attribute(node, name)
        if shape:
            problem = _elements_problem(node, f"its {name} attribute", _count(shape))
            if problem:
                yield problem
    return rule


def _range_rule(node, constants):
    start, limit, delta = (_input(node, constants, index) for index in range(3))
    if any(value is None or value.size != 1 for value in (start, limit, delta)):
        return
    start, limit, delta = float(start[0]), float(limit[0]), float(delta[0])
    if not all(math.isfinite(value) for value in (start, limit, delta)) or delta == 0:
        yield f"{_label(node)}: constant start, limit and delta {start}, {limit}, {delta} " \
              "give no finite number of elements"
        return
    problem = _elements_problem(node, "its constant limits",
                                max(0, math.ceil((limit - start) / delta)))
    if problem:
        yield problem


def _tile_rule(node, constants):
    repeats = _input(node, constants, 1)
    if repeats is None or repeats.dtype.kind not in "iu":
        return
    factor = _count(max(int(repeat), 0) for repeat in repeats)
    source = _input(node, constants, 0)
    if source is not None:
        problem = _elements_problem(node, "its constant input and repeats", factor * source.size)
    else:
        problem = _growth_problem(node, "its constant repeats", factor)
    if problem:
        yield problem


def _resize_rule(node, constants):
    # Resize: X, roi, scales, sizes (opset 11+); X, scales (opset 10); Upsample: X, scales,
    # or a scales attribute (opset 7-8).
    scales = _input(node, constants, 2 if node.op_type == "Resize" and len(node.input) > 2
                    else 1)
    if scales is None and _attribute(node, "scales"):
        scales = np.asarray(_attribute(node, "scales"), dtype=np.float64)
    if scales is not None and scales.size and scales.dtype.kind == "f":
        if not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            yield f"{_label(node)}: constant scales {scales.tolist()} are not finite and positive"
            return
        problem = _growth_problem(node, "its constant scales", float(np.prod(scales)))
        if problem:
            yield problem
    sizes = _input(node, constants, 3) if node.op_type == "Resize" else None
    if sizes is not None and sizes.dtype.kind in "iu":
        problem = _elements_problem(node, "its constant sizes", _count(max(int(size), 0)
                                                                       for size in sizes))
        if problem:
            yield problem


def _pads_problem(node, pads):
    widest = max((int(pad) for pad in pads), default=0)
    if widest > MAX_PAD:
        return (f"{_label(node)}: pads {widest:,} px on one side, over {MAX_PAD} (networks pad "
                "by a few pixels, at most half a tile)")
    return None


def _pad_rule(node, constants):
    pads = _input(node, constants, 1)
    if pads is None:
        pads = _attribute(node, "pads")  # opsets before 11
    elif pads.dtype.kind not in "iu":
        return
    problem = _pads_problem(node, pads) if pads is not None else None
    if problem:
        yield problem


def _window_rule(node, constants):
    """Convolutions and pools: their pads, and a transposed convolution's strides and shape."""
    problem = _pads_problem(node, _attribute(node, "pads") or [])
    if problem:
        yield problem
    if node.op_type != "ConvTranspose":
        return
    strides = _attribute(node, "strides")
    if strides:
        problem = _growth_problem(node, "its strides", _count(strides))
        if problem:
            yield problem
    yield from _shape_attribute_rule("output_shape")(node, constants)


def _loop_rule(node, constants):
    trips = _input(node, constants, 0)
    if trips is not None and trips.size == 1 and int(trips[0]) > MAX_LOOP_TRIPS:
        yield (f"{_label(node)}: constant trip count {int(trips[0]):,}, over {MAX_LOOP_TRIPS} "
               "(image and spectral models have no loops)")


_NODE_RULES = {
    "ConstantOfShape": _shape_input_rule(0, "its constant shape input"),
    "Expand": _shape_input_rule(1, "its constant shape input"),
    "Reshape": _shape_input_rule(1, "its constant shape input"),
    "RandomNormal": _shape_attribute_rule("shape"),
    "RandomUniform": _shape_attribute_rule("shape"),
    "Range": _range_rule,
    "Tile": _tile_rule,
    "Resize": _resize_rule,
    "Upsample": _resize_rule,
    "Pad": _pad_rule,
    "Conv": _window_rule,
    "ConvTranspose": _window_rule,
    "MaxPool": _window_rule,
    "AveragePool": _window_rule,
    "LpPool": _window_rule,
    "Loop": _loop_rule,
}
