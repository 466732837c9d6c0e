"""The tensors an ONNX model holds: external-data pointers anywhere, and the weights it reads."""

import numpy as np

__all__ = [
    "ExternalDataError",
    "uses_external_data",
    "find_external_data",
    "walk_messages",
    "embedded_array",
    "is_constant_node",
    "constant_node_arrays",
    "further_weight_arrays",
]


class ExternalDataError(ValueError):
    """A tensor names a file for its bytes; reading it would open a file the user did not give."""


def uses_external_data(tensor):
    """True when a ``TensorProto`` points to a file instead of holding its bytes.

    Either marker counts: onnxruntime and `onnx.numpy_helper` do not agree on which one they
    look at, so a tensor with only one of them set is refused as well.
    """
    from onnx import TensorProto

    return tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data) > 0


def find_external_data(message, *, where="model"):
    """Every tensor stored in external data, anywhere inside an ONNX protobuf message.

    The walk goes through every message field that is set, by protobuf reflection, rather than
    through a list of the fields known to hold tensors: dense and sparse initializers, node
    attributes, subgraphs of ``If``/``Loop``/``Scan``, function bodies, training information and
    any field a later ONNX version adds are all covered.

    Parameters
    ----------
    message : google.protobuf.message.Message
        Usually an ``onnx.ModelProto``; any ONNX message works.
    where : str
        Name of ``message`` at the start of each reported location.

    Returns
    -------
    list of (str, str)
        ``(location, tensor name)`` pairs in file order, e.g.
        ``("model.graph.sparse_initializer[0].values", "head.bias")``; empty if none.

    Examples
    --------
    >>> import onnx
    >>> find_external_data(onnx.ModelProto())
    []
    """
    from onnx import TensorProto

    return [(location, current.name) for location, current in walk_messages(message, where=where)
            if isinstance(current, TensorProto) and uses_external_data(current)]


def walk_messages(message, *, where="model"):
    """Yield ``(location, message)`` for a protobuf message and every message inside it.

    The walk goes through every message field that is set, by protobuf reflection (see
    `find_external_data` for why), in file order.

    Parameters
    ----------
    message : google.protobuf.message.Message
    where : str
        Name of ``message`` at the start of each location.

    Yields
    ------
    location : str
        E.g. ``"model.graph.node[3].attribute[0].t"``.
    message : google.protobuf.message.Message
    """
    from google.protobuf.message import Message

    pending = [(where, message)]
    while pending:  # a stack, not recursion: subgraphs may nest deeply
        location, current = pending.pop()
        yield location, current
        children = []
        for field, value in current.ListFields():
            if isinstance(value, Message):
                children.append((f"{location}.{field.name}", value))
            elif field.message_type is not None:  # repeated messages (ONNX has no map fields)
                children.extend((f"{location}.{field.name}[{index}]", item)
                                for index, item in enumerate(value))
        pending.extend(reversed(children))


def embedded_array(tensor):
    """The numpy array of a ``TensorProto``'s own bytes.

    Raises
    ------
    ExternalDataError
        If the tensor uses external data: `onnx.numpy_helper.to_array` would open the file it
        names, relative to the working directory.
    """
    from onnx import numpy_helper

    if uses_external_data(tensor):
        raise ExternalDataError(f"tensor {tensor.name!r} is stored in external data")
    return numpy_helper.to_array(tensor)


def is_constant_node(node):
    """True for a standard-domain ``Constant`` node (every attribute of which is a weight)."""
    return node.op_type == "Constant" and node.domain in ("", "ai.onnx")


def _sparse_arrays(key, sparse):
    yield key + ":values", embedded_array(sparse.values)
    yield key + ":indices", embedded_array(sparse.indices)
    yield key + ":dims", np.asarray(sparse.dims, dtype=np.int64)


def _attribute_arrays(key, attribute, *, every_kind):
    """Arrays of a tensor-valued attribute; of any other kind too when ``every_kind``."""
    from onnx import AttributeProto, helper

    if attribute.type == AttributeProto.TENSOR:
        yield key, embedded_array(attribute.t)
    elif attribute.type == AttributeProto.SPARSE_TENSOR:
        yield from _sparse_arrays(key, attribute.sparse_tensor)
    elif attribute.type == AttributeProto.TENSORS:
        for index, tensor in enumerate(attribute.tensors):
            yield f"{key}[{index}]", embedded_array(tensor)
    elif attribute.type == AttributeProto.SPARSE_TENSORS:
        for index, sparse in enumerate(attribute.sparse_tensors):
            yield from _sparse_arrays(f"{key}[{index}]", sparse)
    elif every_kind and attribute.type not in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
        yield key, np.asarray(helper.get_attribute_value(attribute))


def constant_node_arrays(graph):
    """``(key, array)`` pairs for the values held by one graph's own ``Constant`` nodes.

    Keys are ``Constant:<output>:<attribute>`` (``:values``, ``:indices``, ``:dims`` added for a
    sparse value): the historical part of `glue_turbml.models.weights_sha256`, kept as it was.
    """
    for node in graph.node:
        if not is_constant_node(node):
            continue
        for attribute in node.attribute:
            key = f"Constant:{node.output[0]}:{attribute.name}"
            yield from _attribute_arrays(key, attribute, every_kind=True)


def further_weight_arrays(model):
    """``(key, array)`` pairs for the weights a model reads besides its main graph's dense
    initializers and ``Constant`` nodes.

    These are the main graph's sparse initializers, tensor-valued attributes of its other nodes
    (``ConstantOfShape``'s ``value``, ...), and everything held inside subgraphs (``If``,
    ``Loop``, ``Scan``, recursively) and model-local function bodies: their initializers,
    ``Constant`` nodes and tensor-valued attributes. Models without such tensors yield nothing.

    Raises
    ------
    ExternalDataError
        If one of these tensors uses external data.
    """
    yield from _sparse_initializer_arrays("graph", model.graph)
    yield from _node_arrays("graph", model.graph.node, main_graph=True)
    for function in model.functions:
        scope = f"function {function.domain}.{function.name}"
        if function.overload:
            scope += f":{function.overload}"
        for attribute in function.attribute_proto:  # default values of the function's attributes
            yield from _attribute_arrays(f"{scope}/default:{attribute.name}", attribute,
                                         every_kind=False)
        yield from _node_arrays(scope, function.node, main_graph=False)


def _sparse_initializer_arrays(scope, graph):
    for sparse in graph.sparse_initializer:
        yield from _sparse_arrays(f"{scope}/sparse_initializer:{sparse.values.name}", sparse)


def _subgraph_arrays(scope, graph):
    for tensor in graph.initializer:
        yield f"{scope}/initializer:{tensor.name}", embedded_array(tensor)
    yield from _sparse_initializer_arrays(scope, graph)
    yield from _node_arrays(scope, graph.node, main_graph=False)


def _node_arrays(scope, nodes, *, main_graph):
    from onnx import AttributeProto

    for index, node in enumerate(nodes):
        node_key = f"{scope}/{node.output[0] if node.output and node.output[0] else f'#{index}'}"
        constant = is_constant_node(node)
        for attribute in node.attribute:
            if attribute.type == AttributeProto.GRAPH:
                yield from _subgraph_arrays(f"{node_key}.{attribute.name}", attribute.g)
            elif attribute.type == AttributeProto.GRAPHS:
                for graph_index, graph in enumerate(attribute.graphs):
                    yield from _subgraph_arrays(f"{node_key}.{attribute.name}[{graph_index}]",
                                                graph)
            elif not (main_graph and constant):  # those are in `constant_node_arrays`
                yield from _attribute_arrays(f"{node_key}:{attribute.name}", attribute,
                                             every_kind=constant)
