"""Reading an ONNX model file safely: size cap, structure, op domains, card and weight hash."""

import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path

from .card import ModelCardError, read_card, weights_sha256
from .graph_tensors import find_external_data

__all__ = [
    "ModelLoadError",
    "LoadedModel",
    "ALLOWED_OP_DOMAINS",
    "DEFAULT_MAX_MODEL_MB",
    "MAX_MODEL_MB_LIMIT",
    "max_model_bytes",
    "load_model_file",
    "read_model_bytes",
    "check_structure",
    "check_graph_bounds",
    "refuse_external_data",
]

#: Only the standard ONNX operator set: a custom domain would need code we do not ship.
ALLOWED_OP_DOMAINS = frozenset({"", "ai.onnx"})
#: Files above this size are refused unless the caller (or ``GLUE_TURBML_MAX_MODEL_MB``) raises it.
DEFAULT_MAX_MODEL_MB = 256
#: Highest size cap accepted: an ONNX file without external data cannot exceed protobuf's 2 GiB.
MAX_MODEL_MB_LIMIT = 2048
_CAP_VARIABLE = "GLUE_TURBML_MAX_MODEL_MB"


class ModelLoadError(ValueError):
    """A model file cannot be used; the message names the file, the problem and the fix."""


@dataclass(frozen=True)
class LoadedModel:
    """A checked model file, ready for an onnxruntime session.

    Attributes
    ----------
    path : pathlib.Path
        Resolved path of the file.
    card : dict
        The validated model card.
    model_bytes : bytes
        The file's bytes, as checked (sessions are built from these, not by re-reading the file).
    input_name : str
    output_names : tuple of str
    cost : glue_turbml.models.graph_cost.ModelCost or None
        Passes and floating-point operations per megapixel (None for saliency graphs).
    """

    path: Path
    card: dict
    model_bytes: bytes = field(repr=False)
    input_name: str
    output_names: tuple
    cost: object = None

    @property
    def name(self):
        """The model's name from its card."""
        return self.card["name"]


def max_model_bytes(max_mb=None):
    """The size cap of model files, in bytes.

    Parameters
    ----------
    max_mb : float, optional
        The cap in MiB; by default the ``GLUE_TURBML_MAX_MODEL_MB`` environment variable, or
        `DEFAULT_MAX_MODEL_MB` when it is unset or empty.

    Returns
    -------
    int

    Raises
    ------
    ModelLoadError
        If the cap is not a finite number above 0 and at most `MAX_MODEL_MB_LIMIT`
        (``abc``, ``inf``, ``nan``, ``-5`` and ``0`` are refused rather than read as "no cap" or
        "refuse everything"); the message names the variable (or ``max_mb``) and a valid value.
    """
    if max_mb is None:
        text = os.environ.get(_CAP_VARIABLE, "").strip()
        name, given = _CAP_VARIABLE, text
        try:
            max_mb = float(text) if text else DEFAULT_MAX_MODEL_MB
        except ValueError:
            max_mb = None
    else:
        name, given = "max_mb", max_mb
        if isinstance(max_mb, bool) or not isinstance(max_mb, numbers.Real):
            max_mb = None
    if max_mb is None or not (math.isfinite(max_mb) and 0 < max_mb <= MAX_MODEL_MB_LIMIT):
        raise ModelLoadError(
            f"{name}={given!r} is not a usable size cap for model files: give a number of MiB "
            f"above 0 and at most {MAX_MODEL_MB_LIMIT}, e.g. {name}=512 (the default is "
            f"{DEFAULT_MAX_MODEL_MB})")
    return int(max_mb * 2**20)


def _iter_graphs(graph):
    yield graph
    for node in graph.node:
        yield from _iter_node_subgraphs(node)


def _iter_node_subgraphs(node):
    for attribute in node.attribute:
        if attribute.g.ByteSize():
            yield from _iter_graphs(attribute.g)
        for subgraph in attribute.graphs:
            yield from _iter_graphs(subgraph)


def _iter_node_lists(model):
    """The node lists of the main graph, its subgraphs and model-local function bodies."""
    for graph in _iter_graphs(model.graph):
        yield graph.node
    for function in model.functions:
        yield function.node
        for node in function.node:
            for graph in _iter_node_subgraphs(node):
                yield graph.node


def refuse_external_data(model, source):
    """Refuse a model that names any file for tensor bytes, wherever the tensor sits.

    Called on the parsed protobuf before anything else reads the model: onnxruntime (and
    `onnx.numpy_helper`) would open such a file relative to the working directory, so a model
    could read, and leak through its outputs, a file of the user's.

    Raises
    ------
    ModelLoadError
        Naming the first such tensor and where it sits.
    """
    found = find_external_data(model)
    if found:
        where, name = found[0]
        raise ModelLoadError(
            f"{source}: weights are stored in external data files (tensor {name!r} at {where}"
            f"{f', and {len(found) - 1} more' if len(found) > 1 else ''}); glue-turbml loads "
            "single-file models only and opens no file a model names: re-export with the "
            "weights inside the .onnx file"
        )


def check_structure(model, source):
    """Refuse external data, non-standard operator domains (in the graph, its subgraphs and
    function bodies) and graphs failing the checker."""
    import onnx

    refuse_external_data(model, source)
    opset_imports = list(model.opset_import)
    for function in model.functions:
        opset_imports += function.opset_import
    for opset in opset_imports:
        if opset.domain not in ALLOWED_OP_DOMAINS:
            raise ModelLoadError(
                f"{source}: imports the non-standard operator domain {opset.domain!r}; only the "
                "standard ONNX operators are accepted (re-export without custom ops)"
            )
    for nodes in _iter_node_lists(model):
        for node in nodes:
            if node.domain not in ALLOWED_OP_DOMAINS:
                raise ModelLoadError(
                    f"{source}: node {node.name or node.op_type!r} uses the non-standard operator "
                    f"domain {node.domain!r}; only standard ONNX operators are accepted"
                )
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        first_line = str(error).strip().splitlines()[0]
        raise ModelLoadError(f"{source}: fails the ONNX checker: {first_line}") from None


def check_graph_bounds(model, source, *, max_mb=None):
    """Refuse a graph whose declared sizes would allocate or run far beyond any real model's.

    See `glue_turbml.models.graph_bounds`: dense sizes of all tensors (sparse ones included)
    over the size cap, fixed graph input and output dimensions over 4096, constant shapes,
    repeats, scales, pads and loop counts that make huge tensors or endless loops.

    Raises
    ------
    ModelLoadError
        Naming the file and the first tensor, graph input or node over a bound.
    """
    from .graph_bounds import graph_bound_problems

    problem = next(graph_bound_problems(model, max_bytes=max_model_bytes(max_mb)), None)
    if problem is not None:
        raise ModelLoadError(f"{source}: {problem}; this glue-turbml refuses such models")


def _check_statistics_input(value, count, source):
    """The map statistics input must be ``(batch, count)`` float32, as the card names them."""
    import onnx

    tensor_type = value.type.tensor_type
    dims = tensor_type.shape.dim
    if tensor_type.elem_type != onnx.TensorProto.FLOAT or len(dims) != 2 or (
            dims[1].HasField("dim_value") and dims[1].dim_value != count):
        raise ModelLoadError(
            f"{source}: input {value.name!r} must be float32 (batch, {count}), one value per map "
            "statistic the card's input.map_statistics names")


def _check_interface(model, card, source):
    import onnx

    initializer_names = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initializer_names]
    expected_input = card["input"]["name"]
    statistics = card["input"].get("map_statistics")
    expected = [expected_input] + ([statistics["input"]] if statistics else [])
    if [value.name for value in inputs] != expected:
        raise ModelLoadError(
            f"{source}: the graph's inputs {[value.name for value in inputs]} differ from the "
            + (f"card's inputs {expected} (the image and its map statistics)" if statistics
               else f"card's input {expected_input!r}")
            + "; the card does not describe this graph"
        )
    if statistics:
        _check_statistics_input(inputs[1], len(statistics["names"]), source)
    tensor_type = inputs[0].type.tensor_type
    if tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise ModelLoadError(f"{source}: input {expected_input!r} must be float32 as the card says")
    dims = tensor_type.shape.dim
    layout = card["input"]["layout"]
    if len(dims) != len(layout):
        raise ModelLoadError(
            f"{source}: input {expected_input!r} has rank {len(dims)}; the card says {layout} "
            f"(rank {len(layout)})"
        )
    if dims[1].HasField("dim_value") and dims[1].dim_value != card["input"]["channels"]:
        raise ModelLoadError(
            f"{source}: input has {dims[1].dim_value} channels, the card says "
            f"{card['input']['channels']}"
        )
    for axis in range(2, len(dims)):  # a fixed height or width must take the card's tiles
        if dims[axis].HasField("dim_value") and dims[axis].dim_value != card["input"]["tile_size"]:
            raise ModelLoadError(
                f"{source}: input {expected_input!r} has dimension {axis} fixed to "
                f"{dims[axis].dim_value}; the card's tiles are input.tile_size = "
                f"{card['input']['tile_size']} px"
            )
    graph_outputs = [value.name for value in model.graph.output]
    card_outputs = [output["name"] for output in card["outputs"]]
    if graph_outputs[:len(card_outputs)] != card_outputs:
        raise ModelLoadError(
            f"{source}: the graph's outputs {graph_outputs} differ from the card's {card_outputs}"
        )
    if card["task"] == "classification":
        last = model.graph.output[0].type.tensor_type.shape.dim
        n_classes = len(card["classes"])
        if len(last) != 2 or (last[1].HasField("dim_value") and last[1].dim_value != n_classes):
            raise ModelLoadError(
                f"{source}: the first output must be (batch, {n_classes}) class scores as the card "
                f"lists {n_classes} classes"
            )
    channels = card["outputs"][0].get("channels")
    if card["task"] == "regression" and layout != "NC" and channels:
        # a map regressor's first output is one value per channel and tile (glue_turbml.regress)
        last = model.graph.output[0].type.tensor_type.shape.dim
        if len(last) != 2 or (last[1].HasField("dim_value")
                              and last[1].dim_value != len(channels)):
            raise ModelLoadError(
                f"{source}: the first output must be (batch, {len(channels)}), one value per "
                f"tile for each of the {len(channels)} channels the card lists"
            )
    return expected_input, tuple(graph_outputs)


def read_model_bytes(path, *, max_mb=None):
    """Read an ONNX file under the size cap, parse it and refuse external data (no card or
    interface checks).

    Returns
    -------
    model_bytes : bytes
    model : onnx.ModelProto

    Raises
    ------
    ModelLoadError
        If the file is missing, over the size cap, not readable ONNX, or stores any tensor in
        external data (see `refuse_external_data`).
    """
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ModelLoadError(f"{source}: no such model file")
    size = path.stat().st_size
    cap = max_model_bytes(max_mb)
    if size > cap:
        raise ModelLoadError(
            f"{source}: the file is {size / 2**20:.1f} MiB, over the {cap / 2**20:.0f} MiB cap for "
            "model files; if you trust it, raise the cap with GLUE_TURBML_MAX_MODEL_MB"
        )
    model_bytes = path.read_bytes()
    try:
        model = onnx.load_model_from_string(model_bytes)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise ModelLoadError(
            f"{source}: not a readable ONNX file (corrupt or truncated?): {error}"
        ) from None
    if not model.graph.node:
        raise ModelLoadError(f"{source}: not a readable ONNX file (no graph inside; corrupt?)")
    refuse_external_data(model, source)  # first, before a card is shown or a session built
    return model_bytes, model


def load_model_file(path, *, max_mb=None):
    """Read and check one ONNX model file.

    Parameters
    ----------
    path : str or os.PathLike
    max_mb : float, optional
        Size cap in MiB, above 0 and at most `MAX_MODEL_MB_LIMIT` (default
        `DEFAULT_MAX_MODEL_MB`, or the ``GLUE_TURBML_MAX_MODEL_MB`` environment variable); see
        `max_model_bytes`.

    Returns
    -------
    LoadedModel

    Raises
    ------
    ModelLoadError
        If the file is missing, too large, not ONNX, uses external data or non-standard operator
        domains, declares sizes over the bounds of `check_graph_bounds`, has a missing or
        invalid card (values over the bounds of `glue_turbml.models.card_bounds` included),
        weights whose sha256 differs from the card's, inputs/outputs that differ from the card,
        or a cost over `glue_turbml.models.graph_cost.MAX_FLOPS_PER_MEGAPIXEL`. The message
        names the file and the problem (the card field or graph node for bounds).
    """
    from .graph_cost import cost_problems, model_cost

    path = Path(path).expanduser()
    source = str(path)
    model_bytes, model = read_model_bytes(path, max_mb=max_mb)
    check_structure(model, source)
    check_graph_bounds(model, source, max_mb=max_mb)
    try:
        card = read_card(model, source=source)
    except ModelCardError as error:
        raise ModelLoadError(str(error)) from None
    actual_sha256 = weights_sha256(model)
    if actual_sha256 != card["weights_sha256"]:
        raise ModelLoadError(
            f"{source}: the weights' sha256 {actual_sha256[:12]}... does not match the card's "
            f"{card['weights_sha256'][:12]}...; the file was modified after export, or the card "
            "belongs to other weights: re-export or re-download the model"
        )
    input_name, output_names = _check_interface(model, card, source)
    cost = model_cost(model, card)
    problem = next(cost_problems(cost, card), None)
    if problem is not None:
        raise ModelLoadError(f"{source}: {problem}; this glue-turbml refuses such models")
    return LoadedModel(path=path.resolve(), card=card, model_bytes=model_bytes,
                       input_name=input_name, output_names=output_names, cost=cost)
