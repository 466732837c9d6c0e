"""The cost of running a model per megapixel: network passes and floating-point operations."""

import math
from dataclasses import dataclass

__all__ = ["MAX_FLOPS_PER_MEGAPIXEL", "ModelCost", "estimate_flops_per_pass", "model_cost",
           "cost_problems"]

#: Floating-point operations per megapixel (per million spectra for spectral models). The
#: heaviest shipped model, the mass-weighted-density U-Net, needs about 1.1e12 (1.06 GFLOP per
#: 128 px tile, 977 tiles per megapixel); 1e14 is a hundred times that: a few seconds per
#: megapixel on a large GPU, a quarter of an hour on a CPU doing 1e11 a second.
MAX_FLOPS_PER_MEGAPIXEL = 1e14
#: Constants longer than this are weights: shape inference gets their shape, not their bytes.
_SHAPE_LENGTH = 64


@dataclass(frozen=True)
class ModelCost:
    """What one megapixel of map (one million spectra for a spectral model) costs a model.

    Attributes
    ----------
    passes_per_megapixel : float
        Network passes: ``1e6 / stride**2`` tiles, or 1e6 spectra.
    input_values_per_megapixel : float
        Values fed to the network: passes times ``channels * tile_size**2`` (or ``channels``).
    flops_per_pass : float or None
        Floating-point operations of one pass at the card's tile size, counted over the
        ``Conv``, ``ConvTranspose``, ``Gemm`` and ``MatMul`` nodes whose shapes ONNX shape
        inference resolves (a lower bound); None when inference fails.
    """

    passes_per_megapixel: float
    input_values_per_megapixel: float
    flops_per_pass: float = None

    @property
    def flops_per_megapixel(self):
        """``passes_per_megapixel * flops_per_pass``, or None when the latter is unknown."""
        if self.flops_per_pass is None:
            return None
        return self.passes_per_megapixel * self.flops_per_pass

    def describe(self):
        """One line for people, e.g. ``"977 passes, 1.04e+12 FLOP per megapixel"``."""
        flops = self.flops_per_megapixel
        return (f"{self.passes_per_megapixel:,.0f} passes, "
                + (f"{flops:.3g} FLOP" if flops is not None else "unknown FLOP")
                + " per megapixel")


def _count(dims):
    return math.prod(int(dim) for dim in dims)


def _stub(model, card):
    """The model's graph with large initializers reduced to their shapes and the input fixed to
    one pass of the card: ``(1, channels, tile_size, tile_size)`` or ``(1, channels)``."""
    import onnx

    stub = onnx.ModelProto(ir_version=model.ir_version)
    stub.opset_import.extend(model.opset_import)
    stub.functions.extend(model.functions)
    graph = model.graph
    stub.graph.name = graph.name
    stub.graph.node.extend(graph.node)
    stub.graph.output.extend(graph.output)
    for tensor in graph.initializer:
        if _count(tensor.dims) <= _SHAPE_LENGTH:
            stub.graph.initializer.append(tensor)
        else:
            stub.graph.initializer.add(name=tensor.name, data_type=tensor.data_type,
                                       dims=tensor.dims)
    spec = card["input"]
    one_pass = [1, spec["channels"]] + ([spec["tile_size"]] * 2 if spec["layout"] != "NC" else [])
    for value in graph.input:
        copy = stub.graph.input.add()
        copy.CopyFrom(value)
        if value.name != spec["name"]:
            continue
        dims = copy.type.tensor_type.shape.dim
        for dim, size in zip(dims, one_pass):
            dim.Clear()
            dim.dim_value = size
    return stub


def estimate_flops_per_pass(model, card):
    """Floating-point operations of one network pass at the card's tile size (a lower bound).

    Parameters
    ----------
    model : onnx.ModelProto
    card : dict
        Its validated card.

    Returns
    -------
    float or None
        Two operations per multiply-add of the ``Conv``, ``ConvTranspose``, ``Gemm`` and
        ``MatMul`` nodes of the main graph whose shapes are known; None if shape inference fails.
    """
    from onnx import shape_inference

    try:
        inferred = shape_inference.infer_shapes(_stub(model, card), strict_mode=False,
                                                data_prop=True)
    except Exception:  # noqa: BLE001 - any failure only means the estimate is unknown
        return None
    graph = inferred.graph
    shapes = {tensor.name: list(tensor.dims) for tensor in graph.initializer}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        if value.type.HasField("tensor_type") and all(dim.HasField("dim_value") for dim in dims):
            shapes[value.name] = [dim.dim_value for dim in dims]
    return float(sum(_node_flops(node, shapes) for node in graph.node))


def _node_flops(node, shapes):
    def shape(index, outputs=False):
        names = node.output if outputs else node.input
        return shapes.get(names[index]) if len(names) > index else None

    if node.op_type in ("Conv", "ConvTranspose"):
        weight = shape(1)
        # Conv: each output value sums C_in/group * kernel products; ConvTranspose: each input
        # value is spread over C_out/group * kernel outputs. Weights are (out|in, in|out/g, k...).
        counted = shape(0, outputs=True) if node.op_type == "Conv" else shape(0)
        if weight and counted:
            return 2 * _count(counted) * _count(weight[1:])
    elif node.op_type in ("Gemm", "MatMul"):
        left, output = shape(0), shape(0, outputs=True)
        if left and output:
            transposed = node.op_type == "Gemm" and any(
                attribute.name == "transA" and attribute.i for attribute in node.attribute)
            inner = left[0] if transposed else left[-1]
            return 2 * _count(output) * inner
    return 0


def model_cost(model, card):
    """The `ModelCost` of a model with its validated card."""
    from .card_bounds import input_values_per_megapixel, passes_per_megapixel

    return ModelCost(passes_per_megapixel(card), input_values_per_megapixel(card),
                     estimate_flops_per_pass(model, card))


def cost_problems(cost, card):
    """Yield a message if ``cost`` is over `MAX_FLOPS_PER_MEGAPIXEL`."""
    flops = cost.flops_per_megapixel
    if flops is None or flops <= MAX_FLOPS_PER_MEGAPIXEL:
        return
    spec = card["input"]
    unit = ("spectrum" if spec["layout"] == "NC"
            else f"{spec['tile_size']}x{spec['tile_size']} tile")
    yield (f"the graph needs {cost.flops_per_pass:.3g} floating-point operations per {unit}, "
           f"{cost.passes_per_megapixel:,.0f} of them per megapixel: {flops:.3g} per megapixel, "
           f"over {MAX_FLOPS_PER_MEGAPIXEL:.0e} (a hundred times the heaviest shipped model); "
           "a larger tiling.stride or a smaller network brings it down")
