"""Export vanilla-gradient and guided-backpropagation saliency of a model as ONNX graphs.

How: the gradient of the target score ``sum(output * target)`` with respect to the input image
is traced with ``make_fx(torch.func.grad(...))`` (symbolic shapes, core ATen decompositions)
and the traced graph is exported with `torch.onnx.export` and the backward-op translations of
`training.saliency.backward_ops`. Guided backpropagation (Springenberg et al. 2014) swaps every
``nn.ReLU`` module for a guided ReLU (`guided_relu_function`), whose backward is
``relu(g) * (x > 0)``. The ``target`` input weights the model's output and is chosen at run
time; batch, height and width are dynamic. Per card task:

- ``classification`` and ``regression``: output ``(batch, n_outputs)``, ``target`` of the same
  shape (one-hot: d output[k] / d image);
- per-spectrum models (card ``input.layout`` ``"NC"``, e.g. the DESI emission-line MLPs on 11
  colours): input ``(batch, n_features)``, only the batch is dynamic, and the saliency has the
  input's shape, d sum(target * output) / d features;
- ``image_to_image`` (U-Nets): output ``(batch, C_out, H, W)``, ``target`` a per-output-pixel
  weight map of the output's shape, so the graph returns d sum(target * output) / d image
  (e.g. the mask of a region of interest in one output channel). Height and width are
  multiples of the card's ``input.spatial_multiple`` (skip connections need it).

Nearest-neighbour upsampling, measured with torch 2.13 and onnxruntime 1.31: ``nn.Upsample`` is
decomposed (CompositeImplicitAutograd) into an index gather before autograd sees it, so a
translation of ``upsample_nearest2d_backward`` (average pooling times s^2) is never reached; its
backward becomes an accumulating ``index_put``, exported as ``ScatterND(reduction="add")``. That
exports cleanly, but onnxruntime's CPU provider may add the duplicate indices of ScatterND from
several threads at once: under load we saw repeated runs of the same graph disagree at a few
pixels (two parity-test failures of the shipped U-Net that did not recur;
``benchmarks/saliency_determinism.py`` did not reproduce it in 40 runs,
``docs/results/saliency_determinism.txt``). To be safe rather than lucky, before tracing, every
integer-scale nearest ``nn.Upsample`` is replaced by the same copy written as expand + reshape
(`NearestUpsample`), whose backward is the Reshape/ReduceSum form (a sum over each s x s block),
deterministic and scatter-free; the exporter refuses a graph that still holds an accumulating
``ScatterND`` (e.g. from a functional ``F.interpolate``). What a U-Net saliency map costs in
forward passes is measured by ``benchmarks/bench_unet_saliency.py``
(``docs/results/bench_unet_saliency.txt``).

Why companion files and not extra outputs of the model file: onnxruntime runs every node of a
graph whatever outputs are fetched, and requires every graph input. Measured on this repo's
``TurbulenceCNN`` (64 tiles of 128x128, CPU, 2 threads): the forward-only file takes 0.043 s,
the same file with a saliency output added takes 0.385 s even when only ``logits`` is fetched
(and needs a dummy ``target``). Extra outputs would make every ``classify`` call ~9x slower, so
each saliency method gets its own file next to the model, ``<model>.saliency-<method>.onnx``
(inputs ``image`` and ``target``; outputs ``logits`` and ``saliency``), referenced from the
model card's ``saliency.graphs`` with the file's sha256. The model file's weights, and so its
forward outputs and ``weights_sha256``, stay exactly as they were.
"""

import copy
import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

__all__ = [
    "SALIENCY_GRAPH_METHODS",
    "FLOAT32_ARITHMETIC_SCALE",
    "KINK_SPREAD_CAP",
    "float32_spread",
    "SaliencyExportError",
    "guided_relu_function",
    "guided_copy",
    "NearestUpsample",
    "replace_nearest_upsampling",
    "saliency_example",
    "trace_saliency",
    "export_saliency_graph",
    "reference_saliency",
    "parity_target",
    "check_saliency_parity",
    "add_saliency_graphs",
    "statistics_count",
    "statistics_rows",
]

#: Gradient methods that get an ONNX graph; occlusion needs none (forward passes only).
SALIENCY_GRAPH_METHODS = ("vanilla", "guided")
#: Metadata key of a saliency file naming the model it belongs to.
SALIENCY_OF_KEY = "glue_turbml.saliency_of"
#: Card tasks whose models get saliency graphs.
SALIENCY_TASKS = ("classification", "regression", "image_to_image")
#: Input layouts: image tiles, or one feature vector per sample (e.g. colours of a spectrum).
LAYOUTS = ("NCHW", "NC")


class SaliencyExportError(RuntimeError):
    """The model cannot be exported with saliency graphs, or the graphs disagree with torch."""


@functools.lru_cache(maxsize=None)
def guided_relu_function():
    """The guided ReLU ``torch.autograd.Function`` (built on first use: no torch at import).

    Forward is ``relu(x)``; backward is ``relu(g) * (x > 0)``: only positive gradients pass,
    and only through positive inputs (Springenberg et al. 2014).
    """
    import torch

    class GuidedReLU(torch.autograd.Function):
        """ReLU whose backward passes only positive gradients through positive inputs."""

        @staticmethod
        def forward(inputs):
            return torch.relu(inputs)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad_output):
            (inputs,) = ctx.saved_tensors
            return torch.relu(grad_output) * (inputs > 0).to(grad_output.dtype)

    return GuidedReLU


def guided_copy(model):
    """A deep copy of ``model`` with every ``nn.ReLU`` module replaced by a guided ReLU.

    Raises
    ------
    SaliencyExportError
        If the model has no ``nn.ReLU`` module (guided backpropagation would silently equal the
        plain gradient) or an in-place one.
    """
    from torch import nn

    guided_relu = guided_relu_function()

    class GuidedReLUModule(nn.Module):
        def forward(self, inputs):
            return guided_relu.apply(inputs)

    model = copy.deepcopy(model)
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU):
                if child.inplace:
                    raise SaliencyExportError(f"in-place ReLU {name!r}: use nn.ReLU() modules, "
                                              "not in-place ones, for guided backpropagation")
                setattr(parent, name, GuidedReLUModule())
                replaced += 1
    if not replaced:
        raise SaliencyExportError(
            "the model has no nn.ReLU modules; guided backpropagation needs them (functional "
            "relu calls and other activations are not guided and would equal the plain gradient)")
    return model


def _nearest_upsample_class():
    from torch import nn

    class NearestUpsampleModule(nn.Module):
        """Nearest-neighbour upsampling by an integer factor, as expand + reshape.

        The same values as ``nn.Upsample(scale_factor=s, mode="nearest")``; its gradient is a
        sum over each ``s x s`` block (Reshape + ReduceSum in ONNX), not a scatter.
        """

        def __init__(self, scale):
            super().__init__()
            self.scale = int(scale)

        def forward(self, inputs):
            batch, channels, height, width = inputs.shape
            scale = self.scale
            expanded = inputs[:, :, :, None, :, None].expand(batch, channels, height, scale,
                                                             width, scale)
            return expanded.reshape(batch, channels, height * scale, width * scale)

    return NearestUpsampleModule


def NearestUpsample(scale):  # noqa: N802 - a module factory, named like the class it builds
    """An ``nn.Module`` upsampling by the integer ``scale`` with nearest neighbours (expand +
    reshape; see the module docstring for why)."""
    return _nearest_upsample_class()(scale)


def _integer_scale(module):
    """The integer scale of a 2D nearest ``nn.Upsample`` given by ``scale_factor``, else None."""
    if module.mode != "nearest" or module.size is not None or module.scale_factor is None:
        return None
    factors = module.scale_factor
    factors = tuple(factors) if isinstance(factors, (tuple, list)) else (factors, factors)
    if len(set(factors)) != 1 or float(factors[0]) != int(factors[0]) or int(factors[0]) < 1:
        return None
    return int(factors[0])


def replace_nearest_upsampling(model):
    """A deep copy of ``model`` with each integer-scale nearest ``nn.Upsample`` replaced by
    `NearestUpsample` (same forward values; scatter-free backward).

    Returns
    -------
    model : torch.nn.Module
    replaced : int
        How many modules were replaced.
    """
    from torch import nn

    model = copy.deepcopy(model)
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Upsample):
                scale = _integer_scale(child)
                if scale is not None:
                    setattr(parent, name, NearestUpsample(scale))
                    replaced += 1
    return model, replaced


def _score_gradient_function(model):
    """``f(image, target[, map statistics]) -> (output, d sum(output * target) / d image)``;
    the statistics of the whole map (a U-Net's, `statistics_count`) are read, not explained."""
    from torch.func import grad

    def score(images, target, *statistics):
        output = model(images, *statistics)
        return (output * target).sum(), output

    def output_and_saliency(images, target, *statistics):
        gradient, output = grad(score, argnums=0, has_aux=True)(images, target, *statistics)
        return output, gradient

    return output_and_saliency


def statistics_count(model):
    """How many statistics of the whole map the model reads beside its image (0 for most;
    `training.unet.nets.ProbabilisticUNet` with ``map_statistics``)."""
    return len(getattr(model, "map_statistics", ()))


def statistics_rows(model, count):
    """``(count, k)`` float32 map statistics at the model's training average (its
    ``statistics_centre``): what a parity check feeds the graph while torch is given none."""
    return np.repeat(model.statistics_centre.detach().numpy()[None].astype(np.float32),
                     count, axis=0)


def _round_up(value, multiple):
    return -(-int(value) // multiple) * multiple


def saliency_example(model, *, task="classification", in_channels=1, tile_size=64,
                     spatial_multiple=1, layout="NCHW", seed=0):
    """The tracing example ``(images, target)`` of a model, and its output size.

    Symbolic tracing gives equal sizes one symbol ("duck sizing"): batch, channels, height and
    width are all different, so that none is specialised to another.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode.
    task : {"classification", "regression", "image_to_image"}
    in_channels, tile_size : int
    spatial_multiple : int
        Height and width are multiples of this (``image_to_image``).
    layout : {"NCHW", "NC"}
        ``"NC"``: the input is ``(batch, in_channels)`` features (``tile_size`` is ignored).
    seed : int
        Seed of the example values.

    Returns
    -------
    images, target : torch.Tensor
        ``target`` has the output's shape: one-hot rows for ``(batch, n)`` outputs, uniform
        weights in [0, 1) for image outputs.

    Raises
    ------
    SaliencyExportError
        For an unknown task, an output that is not a tensor, or one whose shape does not fit
        the task (``(batch, n)``; ``(batch, C, H, W)`` with the input's height and width).
    """
    import torch

    if task not in SALIENCY_TASKS:
        raise SaliencyExportError(f"task must be one of {SALIENCY_TASKS}, got {task!r}")
    if layout not in LAYOUTS:
        raise SaliencyExportError(f"input layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "NC" and task == "image_to_image":
        raise SaliencyExportError("an image_to_image model needs the input layout NCHW")
    multiple = max(1, int(spatial_multiple))
    generator = torch.Generator().manual_seed(int(seed))
    if layout == "NC":
        height = width = None
        sample_shape = (in_channels,)
    else:
        height = _round_up(tile_size, multiple)
        width = _round_up(height + 8, multiple)
        sample_shape = (in_channels, height, width)
    probe = torch.rand((1, *sample_shape), generator=generator)
    with torch.no_grad():
        output = model(probe)
    if not isinstance(output, torch.Tensor):
        raise SaliencyExportError(f"the model returns {type(output).__name__}, not one tensor; "
                                  "saliency graphs explain a model with a single output")
    sizes = {in_channels, height, width, *output.shape[1:]}
    batch = 3
    while batch in sizes:
        batch += 1
    images = torch.rand((batch, *sample_shape), generator=generator)
    if task == "image_to_image":
        if output.ndim != 4 or tuple(output.shape[2:]) != (height, width):
            raise SaliencyExportError(
                f"an image_to_image model must map (n, C, H, W) to (n, C_out, H, W); it maps "
                f"{tuple(probe.shape)} to {tuple(output.shape)}")
        target = torch.rand((batch, *output.shape[1:]), generator=generator)
    else:
        if output.ndim != 2:
            raise SaliencyExportError(f"a {task} model must return (batch, n_outputs); it "
                                      f"returns shape {tuple(output.shape)}")
        n_outputs = output.shape[1]
        target = torch.nn.functional.one_hot(torch.arange(batch) % n_outputs, n_outputs).float()
    return images, target


def trace_saliency(model, method, *, task="classification", in_channels=1, tile_size=64,
                   spatial_multiple=1, layout="NCHW"):
    """Trace ``(image, target) -> (output, saliency)`` for one method as an FX graph.

    Parameters
    ----------
    model : torch.nn.Module
        The model (eval mode; BatchNorm uses its running statistics).
    method : {"vanilla", "guided"}
    task, in_channels, tile_size, spatial_multiple, layout
        As for `saliency_example`.

    Returns
    -------
    graph : torch.fx.GraphModule
    example : tuple of torch.Tensor
        ``(images, target)`` used for tracing, and the map statistics for a model that reads
        them (`statistics_count`).
    """
    import torch
    from torch._decomp import core_aten_decompositions
    from torch.fx.experimental.proxy_tensor import make_fx

    if method not in SALIENCY_GRAPH_METHODS:
        raise SaliencyExportError(f"method must be one of {SALIENCY_GRAPH_METHODS}, got {method!r}")
    model, _ = replace_nearest_upsampling(model.cpu().eval())
    if method == "guided":
        model = guided_copy(model)
    images, target = saliency_example(model, task=task, in_channels=in_channels,
                                      tile_size=tile_size, spatial_multiple=spatial_multiple,
                                      layout=layout)
    example = (images, target)
    if statistics_count(model):
        example += (torch.as_tensor(statistics_rows(model, images.shape[0])),)
    function = _score_gradient_function(model)
    traced = make_fx(function, tracing_mode="symbolic", _allow_non_fake_inputs=True,
                     decomposition_table=core_aten_decompositions())(*example)
    return traced.eval(), example


def _dynamic_shapes(task, *, min_size, spatial_multiple, layout="NCHW"):
    """``dynamic_shapes`` of ``(image, target)``: batch, height and width are free (only the
    batch for ``NC`` feature inputs)."""
    from torch.export import Dim

    batch = Dim("batch", min=1)
    if layout == "NC":
        return {0: batch}, {0: batch}
    multiple = max(1, int(spatial_multiple))
    if task == "image_to_image" and multiple > 1:
        # Skip connections join a pooled-then-upsampled map with the full one: the sizes must
        # be multiples, or the export fails on the guard that they match.
        blocks = max(1, -(-int(min_size) // multiple))
        height = multiple * Dim("height_blocks", min=blocks)
        width = multiple * Dim("width_blocks", min=blocks)
    else:
        height, width = Dim("height", min=min_size), Dim("width", min=min_size)
    image = {0: batch, 2: height, 3: width}
    target = dict(image) if task == "image_to_image" else {0: batch}
    return image, target


def export_saliency_graph(model, path, method, *, task="classification", in_channels=1,
                          tile_size=64, min_size=8, spatial_multiple=1, output_name="logits",
                          input_name="image", opset_version=18, owner=None, layout="NCHW",
                          statistics_input=None):
    """Write one saliency graph (``image``, ``target`` -> output, ``saliency``) to ``path``.

    Parameters
    ----------
    model : torch.nn.Module
    path : str or os.PathLike
    method : {"vanilla", "guided"}
    task : {"classification", "regression", "image_to_image"}
    in_channels, tile_size : int
    min_size : int
        Smallest height and width the graph accepts (three 2x2 max-pools need 8).
    spatial_multiple : int
        ``image_to_image``: height and width must be multiples of this.
    output_name, input_name : str
        Names of the model's output and input (the card's), kept in the saliency graph.
    opset_version : int
    owner : dict, optional
        JSON-friendly description of the model file this graph belongs to (stored under
        ``glue_turbml.saliency_of`` in the file's metadata).
    layout : {"NCHW", "NC"}
        The card's ``input.layout``; ``"NC"`` inputs are ``(batch, in_channels)`` features.
    statistics_input : str, optional
        For a model that reads statistics of the whole map (`statistics_count`): the card's
        name of that input, the graph's third.

    Returns
    -------
    str
        sha256 of the written file's bytes.

    Raises
    ------
    SaliencyExportError
        If tracing or export fails (the message names the method and the cause).
    """
    import onnx
    import torch

    from ..common.export import check_portable, strip_metadata
    from .backward_ops import BACKWARD_TRANSLATIONS

    traced, example = trace_saliency(model, method, task=task, in_channels=in_channels,
                                     tile_size=tile_size, spatial_multiple=spatial_multiple,
                                     layout=layout)
    dynamic_shapes = _dynamic_shapes(task, min_size=min_size, spatial_multiple=spatial_multiple,
                                     layout=layout)
    input_names = [input_name, "target"]
    if len(example) == 3:   # the map statistics share the batch dimension
        if not statistics_input:
            raise SaliencyExportError("the model reads map statistics: name the card's "
                                      "input.map_statistics.input as statistics_input")
        dynamic_shapes += ({0: dynamic_shapes[0][0]},)
        input_names.append(statistics_input)
    try:
        program = torch.onnx.export(traced, example, dynamo=True, opset_version=opset_version,
                                    input_names=input_names,
                                    output_names=[output_name, "saliency"],
                                    dynamic_shapes=dynamic_shapes, external_data=False,
                                    custom_translation_table=BACKWARD_TRANSLATIONS,
                                    verbose=False)
    except Exception as error:  # noqa: BLE001 - re-raised with the method named
        hint = (" (for a U-Net, set the card's input.spatial_multiple to 2**levels)"
                if task == "image_to_image" else "")
        raise SaliencyExportError(f"{method} saliency graph export failed{hint}: "
                                  f"{error}") from error
    model_proto = program.model_proto
    strip_metadata(model_proto)
    check_portable(model_proto)
    onnx.checker.check_model(model_proto, full_check=True)
    _refuse_accumulating_scatter_nd(model_proto, method)
    entry = model_proto.metadata_props.add()
    entry.key = SALIENCY_OF_KEY
    entry.value = json.dumps({"method": method, **(owner or {})}, sort_keys=True)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    onnx.save_model(model_proto, path, save_as_external_data=False)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _refuse_accumulating_scatter_nd(model_proto, method):
    """Raise if the graph holds ``ScatterND`` with a reduction (racy on onnxruntime CPU)."""
    import onnx

    for node in model_proto.graph.node:
        if node.op_type != "ScatterND":
            continue
        reduction = next((onnx.helper.get_attribute_value(attribute) for attribute in
                          node.attribute if attribute.name == "reduction"), b"none")
        if reduction not in (b"none", "none"):
            raise SaliencyExportError(
                f"the {method} saliency graph needs ScatterND(reduction={reduction!r}), which "
                "onnxruntime's CPU provider computes with a data race (results vary between "
                "runs). It comes from the backward of an indexing operation, usually "
                "F.interpolate(mode='nearest') called in forward(): use an "
                "nn.Upsample(scale_factor=<integer>, mode='nearest') module instead")


def reference_saliency(model, images, target, method):
    """Saliency by torch autograd, independently of the traced graphs (for parity checks).

    Guided backpropagation uses backward hooks on the ``nn.ReLU`` modules that replace the
    input gradient by its positive part, as Captum's ``GuidedBackprop`` does. The reference is
    computed in float64: where two values in a max-pool window differ by float32 round-off,
    float32 torch and onnxruntime may route the gradient through different pixels. On the
    dihedral-averaged ``alfven`` net (8 copies, so 8 times the pool windows) float32 torch
    missed the float64 saliency by up to 0.36% of its peak in 2 of 30 random batches, where the
    exported graph matched float64 to 1.5e-7 in all
    (``docs/results/saliency_reference_precision.txt``).

    Parameters
    ----------
    model : torch.nn.Module
    images : numpy.ndarray
        ``(n, c, H, W)``, or ``(n, n_features)`` for feature inputs.
    target : numpy.ndarray
        Weights of the output, of the output's shape (``(n, n_classes)`` one-hot for one
        class; ``(n, C_out, H, W)`` for image-to-image models).
    method : {"vanilla", "guided"}

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``images``.
    """
    import torch
    from torch import nn

    model = copy.deepcopy(model).cpu().eval().double()
    handles = []
    if method == "guided":
        for module in model.modules():
            if isinstance(module, nn.ReLU):
                handles.append(module.register_full_backward_hook(
                    lambda module, grad_input, grad_output: tuple(
                        torch.relu(gradient) for gradient in grad_input)))
    try:
        inputs = torch.tensor(np.asarray(images, dtype=np.float32), dtype=torch.float64,
                              requires_grad=True)
        score = (model(inputs) * torch.as_tensor(np.asarray(target, dtype=np.float64))).sum()
        (gradient,) = torch.autograd.grad(score, inputs)
    finally:
        for handle in handles:
            handle.remove()
    return gradient.numpy().astype(np.float32)


def parity_target(task, output, rng):
    """The ``target`` of a parity check for a batch whose model output is ``output``.

    Classifiers explain their predicted class, as users do (guided backpropagation of a class
    the net rejects can be exactly zero, a degenerate check); regressors explain output
    ``i % n_outputs`` of tile ``i``; image-to-image models explain the sum of channel
    ``i % C_out`` over a random rectangle of at least half the tile's side (a region of
    interest).

    Parameters
    ----------
    task : {"classification", "regression", "image_to_image"}
    output : numpy.ndarray
        The model's output for the batch.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``output``.
    """
    output = np.asarray(output)
    count = len(output)
    if task == "classification":
        return np.eye(output.shape[1], dtype=np.float32)[output.argmax(axis=1)]
    if task == "regression":
        return np.eye(output.shape[1], dtype=np.float32)[np.arange(count) % output.shape[1]]
    target = np.zeros(output.shape, dtype=np.float32)
    height, width = output.shape[2:]
    for number in range(count):
        rows = int(rng.integers(-(-height // 2), height + 1))
        columns = int(rng.integers(-(-width // 2), width + 1))
        y0 = int(rng.integers(0, height - rows + 1))
        x0 = int(rng.integers(0, width - columns + 1))
        target[number, number % output.shape[1], y0:y0 + rows, x0:x0 + columns] = 1.0
    return target


#: Relative size of the input changes standing in for float32 arithmetic in a parity check:
#: a 3x3 convolution over 32 channels sums 288 products, whose rounding (2^-24 each) adds up
#: to about sqrt(288) * 2^-24 = 1e-6 of a layer's values.
FLOAT32_ARITHMETIC_SCALE = 1e-6

#: Cap on the spread that excuses a parity miss: the jumps move the ``alfven`` nets' saliency
#: by up to 0.12 of its peak (``docs/results/saliency_parity_kinks.txt``); an exported graph
#: that computes the wrong thing misses by the order of the peak itself.
KINK_SPREAD_CAP = 0.5


def float32_spread(model, images, target, method, *, rng, draws=4,
                   scale=FLOAT32_ARITHMETIC_SCALE):
    """How far the float64 saliency moves when the input moves by float32 arithmetic's error.

    A ReLU and max-pool net's gradient jumps where a unit crosses zero or two values of a pool
    window swap: changes of the input as small as the rounding of one float32 convolution
    (``scale``, relative) move the saliency of the ``alfven`` nets by up to a few percent of its
    peak (``docs/results/saliency_parity_kinks.txt``). onnxruntime's float32 arithmetic may
    land on the other side of such a jump from the float64 reference, so a difference of that
    size says nothing about the exported graph.

    Returns
    -------
    float
        The largest difference from the unmoved reference over ``draws`` random moves,
        relative to the reference's peak.
    """
    images = np.asarray(images, dtype=np.float64)
    reference = reference_saliency(model, images, target, method)
    peak = float(np.abs(reference).max())
    spread = 0.0
    for _ in range(draws):
        moved = images * (1.0 + scale * rng.uniform(-1.0, 1.0, size=images.shape))
        spread = max(spread, float(np.abs(reference_saliency(model, moved, target, method)
                                          - reference).max()))
    return spread / peak if peak > 0 else float("inf")


def check_saliency_parity(model, path, method, *, images, task="classification",
                          batch_sizes=(1, 5), tile_sizes=(64, 96), relative_tolerance=1e-5,
                          seed=2024):
    """Compare an exported saliency graph (onnxruntime CPU) with torch autograd.

    Inputs are random crops of ``images`` at every (batch size, tile size) pair, never the
    tracing example; targets are those of `parity_target`. Feature inputs ``(n, n_features)``
    (card layout ``NC``) are drawn as random rows at every batch size; ``tile_sizes`` is then
    ignored and each record's ``tile_size`` is None.

    A shape whose difference exceeds ``relative_tolerance`` still passes where the float64
    reference itself moves as much under input changes the size of float32 arithmetic's
    error (`float32_spread`, at most `KINK_SPREAD_CAP`): the batch then sits at a jump of the
    gradient, and either side is the net's saliency.

    Returns
    -------
    list of dict
        ``batch_size``, ``tile_size``, ``max_abs_diff``, ``max_abs_reference``,
        ``relative_diff``, ``max_output_diff`` and ``float32_spread`` (None where the
        difference is within ``relative_tolerance``) per shape.

    Raises
    ------
    SaliencyExportError
        If a relative difference exceeds both ``relative_tolerance`` and the float32 spread,
        or a reference is all zero.
    """
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    image_name, target_name, *statistics_name = (value.name for value in session.get_inputs())
    rng = np.random.default_rng(seed)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        tile_sizes = (None,)
    elif images.ndim != 4 or min(images.shape[-2:]) < max(tile_sizes):
        raise ValueError(f"parity images must be (n, c, H, W) with H, W >= {max(tile_sizes)}, "
                         f"got {images.shape}")
    records = []
    for tile_size in tile_sizes:
        for batch_size in batch_sizes:
            chosen = rng.choice(len(images), size=batch_size, replace=batch_size > len(images))
            if tile_size is None:
                batch = np.ascontiguousarray(images[chosen])
            else:
                y0, x0 = (int(rng.integers(0, size - tile_size + 1))
                          for size in images.shape[-2:])
                batch = np.ascontiguousarray(images[chosen, :, y0:y0 + tile_size,
                                                    x0:x0 + tile_size])
            with torch.no_grad():
                expected_output = model.eval()(torch.from_numpy(batch)).numpy()
            target = parity_target(task, expected_output, rng)
            feeds = {image_name: batch, target_name: target}
            if statistics_name:   # at the training average, which torch reads when given none
                feeds[statistics_name[0]] = statistics_rows(model, len(batch))
            output, saliency = session.run(None, feeds)
            reference = reference_saliency(model, batch, target, method)
            scale = float(np.abs(reference).max())
            difference = float(np.abs(saliency - reference).max())
            records.append({"method": method, "batch_size": int(batch_size),
                            "tile_size": None if tile_size is None else int(tile_size),
                            "max_abs_diff": difference,
                            "max_abs_reference": scale,
                            "relative_diff": difference / scale if scale > 0 else float("inf"),
                            "max_output_diff": float(np.abs(output - expected_output).max()),
                            "float32_spread": None})
            if not records[-1]["relative_diff"] <= relative_tolerance and scale > 0:
                records[-1]["float32_spread"] = float32_spread(model, batch, target, method,
                                                               rng=rng)
    failures = [record for record in records if not record["relative_diff"] <= max(
        relative_tolerance, min(record["float32_spread"] or 0.0, KINK_SPREAD_CAP))]
    if failures:
        raise SaliencyExportError(f"{os.fspath(path)}: onnxruntime and torch saliency differ by "
                                  f"more than {relative_tolerance} (relative): {failures}")
    return records


#: What the ``target`` input means, per card task (recorded in the card's graph entries).
_SCORE_TEXT = {
    "classification": "sum over the batch of logits * target; target is one-hot "
                      "(batch, n_classes), so each map is d logit[class] / d image",
    "regression": "sum over the batch of output * target; target (batch, n_outputs) weights "
                  "the outputs (one-hot: d output[k] / d image)",
    "regression_NC": "sum over the batch of output * target; target (batch, n_outputs) weights "
                     "the outputs (one-hot: d output[k] / d features); the map has the input's "
                     "shape (batch, n_features)",
    "classification_NC": "sum over the batch of logits * target; target is one-hot "
                         "(batch, n_classes), so each map is d logit[class] / d features, "
                         "of the input's shape (batch, n_features)",
    "image_to_image": "sum over the batch and every output pixel of output * target; target "
                      "has the output's shape (batch, channels, H, W) and weights each output "
                      "pixel (e.g. a region-of-interest mask in one channel), so each map is "
                      "d sum(target * output) / d image",
}


def add_saliency_graphs(model, model_path, *, images, methods=SALIENCY_GRAPH_METHODS,
                        note=None, parity_batch_sizes=(1, 5), parity_tile_sizes=None,
                        relative_tolerance=1e-5):
    """Export saliency graphs next to an exported model and reference them from its card.

    Works for the card tasks ``classification``, ``regression`` and ``image_to_image`` (see the
    module docstring for what ``target`` means in each). The model file keeps its graph and
    weights (so its forward outputs and ``weights_sha256`` are unchanged); only its card
    changes: ``saliency.methods`` gains the graph methods and ``"occlusion"``, and
    ``saliency.graphs`` names each file with its sha256 and interface.

    Parameters
    ----------
    model : torch.nn.Module
        The network the file was exported from (or rebuilt from it, see
        `training.common.export.torch_classifier_from_onnx`).
    model_path : str or os.PathLike
        The model's ``.onnx`` file (with a card); rewritten with the new card.
    images : numpy.ndarray
        ``(n, c, H, W)`` realistic preprocessed inputs for the parity check (not training data
        is best), with ``H, W`` at least the largest parity tile size; ``(n, n_features)``
        for a card whose input layout is ``"NC"``.
    methods : sequence of {"vanilla", "guided"}
    note : str, optional
        Recorded as ``saliency.notes`` in the card (e.g. how the graphs were added).
    parity_batch_sizes, parity_tile_sizes : sequence of int, optional
        Shapes of the parity check; tile sizes default to the card's tile size and 3/4 of it
        (rounded to the card's ``input.spatial_multiple``).
    relative_tolerance : float

    Returns
    -------
    dict
        ``card`` (as written) and ``parity`` (records of `check_saliency_parity`).

    Raises
    ------
    SaliencyExportError
        For an unsupported task, a failed export or a parity failure.
    """
    import onnx

    from glue_turbml.models import read_card, write_card
    from glue_turbml.models.saliency_graphs import saliency_graph_filename

    model_path = Path(model_path)
    model_proto = onnx.load(os.fspath(model_path))
    card = read_card(model_proto, source=os.fspath(model_path))
    task = card["task"]
    if task not in SALIENCY_TASKS:
        raise SaliencyExportError(f"{model_path}: no saliency graphs for task {task!r}")
    layout = card["input"].get("layout", "NCHW")
    if layout not in LAYOUTS or (layout == "NC" and task == "image_to_image"):
        raise SaliencyExportError(f"{model_path}: saliency graphs are exported for image models "
                                  f"(layout NCHW) and per-sample feature models (layout NC, "
                                  f"classifiers and regressors); this {task} card's layout is "
                                  f"{layout!r}")
    in_channels = card["input"]["channels"]
    tile_size = card["input"].get("tile_size")
    multiple = int(card["input"].get("spatial_multiple", 1))
    if layout == "NC":
        # Only the batch is dynamic: the feature count is fixed by the card.
        min_size, default_tiles = None, (None,)
    elif task == "image_to_image":
        min_size = 2 * multiple
        default_tiles = (tile_size, max(min_size, 3 * tile_size // 4 // multiple * multiple))
    else:
        min_size = max(8, multiple)
        default_tiles = (tile_size, 3 * tile_size // 4)
    tile_sizes = parity_tile_sizes or default_tiles
    output_name = card["outputs"][0]["name"]
    owner = {"model": card["name"], "version": card["version"],
             "weights_sha256": card["weights_sha256"]}
    graphs, parity = {}, []
    for method in methods:
        filename = saliency_graph_filename(model_path.name, method)
        digest = export_saliency_graph(model, model_path.parent / filename, method, task=task,
                                       in_channels=in_channels, tile_size=tile_size,
                                       min_size=min_size, spatial_multiple=multiple,
                                       output_name=output_name,
                                       input_name=card["input"]["name"], owner=owner,
                                       layout=layout, statistics_input=card["input"].get(
                                           "map_statistics", {}).get("input"))
        parity += check_saliency_parity(model, model_path.parent / filename, method,
                                        images=images, task=task,
                                        batch_sizes=parity_batch_sizes, tile_sizes=tile_sizes,
                                        relative_tolerance=relative_tolerance)
        graphs[method] = {"file": filename, "sha256": digest,
                          "inputs": [card["input"]["name"], "target"] + (
                              [card["input"]["map_statistics"]["input"]]
                              if card["input"].get("map_statistics") else []),
                          "outputs": [output_name, "saliency"],
                          "score": _SCORE_TEXT[task if layout == "NCHW" else f"{task}_NC"],
                          "reference": {"vanilla": "Simonyan et al. 2013, plain gradient",
                                        "guided": "Springenberg et al. 2014, guided "
                                                  "backpropagation through every ReLU"}[method]}
    saliency = dict(card["saliency"])
    listed = [name for name in saliency.get("methods", []) if name not in graphs]
    # The runtime's occlusion slides a window over image tiles; a feature vector has none.
    fallback = ["occlusion"] if layout == "NCHW" else []
    saliency["methods"] = list(graphs) + [name for name in listed if name != "occlusion"] \
        + fallback
    saliency["graphs"] = {**saliency.get("graphs", {}), **graphs}
    if note:
        saliency["notes"] = note
    card = dict(card, saliency=saliency)
    written = write_card(model_proto, card)
    onnx.save_model(model_proto, os.fspath(model_path), save_as_external_data=False)
    return {"card": written, "parity": parity}
