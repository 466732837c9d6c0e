"""Export vanilla-gradient and guided-backpropagation saliency of a classifier as ONNX graphs.

How: the gradient of the target score ``sum(logits * target)`` with respect to the input image
is traced with ``make_fx(torch.func.grad(...))`` (symbolic shapes, core ATen decompositions)
and the traced graph is exported with `torch.onnx.export` and the backward-op translations of
`training.onnx_backward_ops`. Guided backpropagation (Springenberg et al. 2014) swaps every
``nn.ReLU`` module for a guided ReLU (`guided_relu_function`), whose backward is
``relu(g) * (x > 0)``. The target class is a one-hot (or any weighting) input chosen at run
time; batch, height and width are dynamic.

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
    "SaliencyExportError",
    "guided_relu_function",
    "guided_copy",
    "trace_saliency",
    "export_saliency_graph",
    "reference_saliency",
    "check_saliency_parity",
    "add_saliency_graphs",
]

#: Gradient methods that get an ONNX graph; occlusion needs none (forward passes only).
SALIENCY_GRAPH_METHODS = ("vanilla", "guided")
#: Metadata key of a saliency file naming the model it belongs to.
SALIENCY_OF_KEY = "glue_turbml.saliency_of"


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


def _score_gradient_function(model):
    """``f(image, target) -> (logits, d sum(logits * target) / d image)``."""
    from torch.func import grad

    def score(images, target):
        logits = model(images)
        return (logits * target).sum(), logits

    def logits_and_saliency(images, target):
        gradient, logits = grad(score, has_aux=True)(images, target)
        return logits, gradient

    return logits_and_saliency


def _example_shape(n_classes, in_channels, tile_size):
    # Symbolic tracing gives equal sizes one symbol ("duck sizing"): keep batch, classes,
    # channels, height and width all different so that none is specialised to another.
    height, width = int(tile_size), int(tile_size) + 8
    batch = 3
    while batch in (n_classes, in_channels, height, width):
        batch += 1
    return batch, in_channels, height, width


def trace_saliency(model, method, *, n_classes, in_channels=1, tile_size=64):
    """Trace ``(image, target) -> (logits, saliency)`` for one method as an FX graph.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (eval mode; BatchNorm uses its running statistics).
    method : {"vanilla", "guided"}
    n_classes, in_channels, tile_size : int
        Shape of the tracing example.

    Returns
    -------
    torch.fx.GraphModule
    """
    import torch
    from torch._decomp import core_aten_decompositions
    from torch.fx.experimental.proxy_tensor import make_fx

    if method not in SALIENCY_GRAPH_METHODS:
        raise SaliencyExportError(f"method must be one of {SALIENCY_GRAPH_METHODS}, got {method!r}")
    model = model.cpu().eval()
    if method == "guided":
        model = guided_copy(model)
    batch, channels, height, width = _example_shape(n_classes, in_channels, tile_size)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand((batch, channels, height, width), generator=generator)
    target = torch.nn.functional.one_hot(torch.arange(batch) % n_classes, n_classes).float()
    function = _score_gradient_function(model)
    traced = make_fx(function, tracing_mode="symbolic", _allow_non_fake_inputs=True,
                     decomposition_table=core_aten_decompositions())(images, target)
    return traced.eval(), (images, target)


def export_saliency_graph(model, path, method, *, n_classes, in_channels=1, tile_size=64,
                          min_size=8, opset_version=18, owner=None):
    """Write one saliency graph (``image``, ``target`` -> ``logits``, ``saliency``) to ``path``.

    Parameters
    ----------
    model : torch.nn.Module
    path : str or os.PathLike
    method : {"vanilla", "guided"}
    n_classes, in_channels, tile_size : int
    min_size : int
        Smallest height and width the graph accepts (three 2x2 max-pools need 8).
    opset_version : int
    owner : dict, optional
        JSON-friendly description of the model file this graph belongs to (stored under
        ``glue_turbml.saliency_of`` in the file's metadata).

    Returns
    -------
    str
        sha256 of the written file's bytes.
    """
    import onnx
    import torch
    from torch.export import Dim

    from .export import check_portable, strip_metadata
    from .onnx_backward_ops import BACKWARD_TRANSLATIONS

    traced, example = trace_saliency(model, method, n_classes=n_classes, in_channels=in_channels,
                                     tile_size=tile_size)
    batch = Dim("batch", min=1)
    dynamic_shapes = ({0: batch, 2: Dim("height", min=min_size), 3: Dim("width", min=min_size)},
                      {0: batch})
    try:
        program = torch.onnx.export(traced, example, dynamo=True, opset_version=opset_version,
                                    input_names=["image", "target"],
                                    output_names=["logits", "saliency"],
                                    dynamic_shapes=dynamic_shapes, external_data=False,
                                    custom_translation_table=BACKWARD_TRANSLATIONS,
                                    verbose=False)
    except Exception as error:  # noqa: BLE001 - re-raised with the method named
        raise SaliencyExportError(f"{method} saliency graph export failed: {error}") from error
    model_proto = program.model_proto
    strip_metadata(model_proto)
    check_portable(model_proto)
    onnx.checker.check_model(model_proto, full_check=True)
    entry = model_proto.metadata_props.add()
    entry.key = SALIENCY_OF_KEY
    entry.value = json.dumps({"method": method, **(owner or {})}, sort_keys=True)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    onnx.save_model(model_proto, path, save_as_external_data=False)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def reference_saliency(model, images, target, method):
    """Saliency by torch autograd, independently of the traced graphs (for parity checks).

    Guided backpropagation uses backward hooks on the ``nn.ReLU`` modules that replace the
    input gradient by its positive part, as Captum's ``GuidedBackprop`` does.

    Parameters
    ----------
    model : torch.nn.Module
    images : numpy.ndarray
        ``(n, c, H, W)``.
    target : numpy.ndarray
        ``(n, n_classes)`` weights of the logits (one-hot for one class).
    method : {"vanilla", "guided"}

    Returns
    -------
    numpy.ndarray
        ``(n, c, H, W)`` float32.
    """
    import torch
    from torch import nn

    model = copy.deepcopy(model).cpu().eval()
    handles = []
    if method == "guided":
        for module in model.modules():
            if isinstance(module, nn.ReLU):
                handles.append(module.register_full_backward_hook(
                    lambda module, grad_input, grad_output: tuple(
                        torch.relu(gradient) for gradient in grad_input)))
    try:
        inputs = torch.tensor(np.asarray(images, dtype=np.float32), requires_grad=True)
        score = (model(inputs) * torch.as_tensor(np.asarray(target, dtype=np.float32))).sum()
        (gradient,) = torch.autograd.grad(score, inputs)
    finally:
        for handle in handles:
            handle.remove()
    return gradient.numpy()


def check_saliency_parity(model, path, method, *, images, n_classes, batch_sizes=(1, 5),
                          tile_sizes=(64, 96), relative_tolerance=1e-5, seed=2024):
    """Compare an exported saliency graph (onnxruntime CPU) with torch autograd.

    Inputs are random crops of ``images`` at every (batch size, tile size) pair, never the
    tracing example; each tile's target is its predicted class (one-hot).

    Returns
    -------
    list of dict
        ``batch_size``, ``tile_size``, ``max_abs_diff``, ``max_abs_reference``,
        ``relative_diff`` and ``max_logit_diff`` per shape.

    Raises
    ------
    SaliencyExportError
        If any relative difference exceeds ``relative_tolerance`` or a reference is all zero.
    """
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    images = np.asarray(images, dtype=np.float32)
    records = []
    for tile_size in tile_sizes:
        for batch_size in batch_sizes:
            chosen = rng.choice(len(images), size=batch_size, replace=batch_size > len(images))
            y0, x0 = (int(rng.integers(0, size - tile_size + 1)) for size in images.shape[-2:])
            batch = np.ascontiguousarray(images[chosen, :, y0:y0 + tile_size, x0:x0 + tile_size])
            with torch.no_grad():
                expected_logits = model.eval()(torch.from_numpy(batch)).numpy()
            # Explain the predicted class, as users do: guided backpropagation of a class the
            # net rejects can be exactly zero (every positive path is cut), a degenerate check.
            target = np.eye(n_classes, dtype=np.float32)[expected_logits.argmax(axis=1)]
            logits, saliency = session.run(None, {"image": batch, "target": target})
            reference = reference_saliency(model, batch, target, method)
            scale = float(np.abs(reference).max())
            difference = float(np.abs(saliency - reference).max())
            records.append({"method": method, "batch_size": int(batch_size),
                            "tile_size": int(tile_size), "max_abs_diff": difference,
                            "max_abs_reference": scale,
                            "relative_diff": difference / scale if scale > 0 else float("inf"),
                            "max_logit_diff": float(np.abs(logits - expected_logits).max())})
    failures = [record for record in records if not record["relative_diff"] <= relative_tolerance]
    if failures:
        raise SaliencyExportError(f"{os.fspath(path)}: onnxruntime and torch saliency differ by "
                                  f"more than {relative_tolerance} (relative): {failures}")
    return records


def add_saliency_graphs(model, model_path, *, images, methods=SALIENCY_GRAPH_METHODS,
                        note=None, parity_batch_sizes=(1, 5), parity_tile_sizes=None,
                        relative_tolerance=1e-5):
    """Export saliency graphs next to an exported model and reference them from its card.

    The model file keeps its graph and weights (so its forward outputs and ``weights_sha256``
    are unchanged); only its card changes: ``saliency.methods`` gains the graph methods and
    ``"occlusion"``, and ``saliency.graphs`` names each file with its sha256 and interface.

    Parameters
    ----------
    model : torch.nn.Module
        The network the file was exported from (or rebuilt from it, see
        `training.export.torch_classifier_from_onnx`).
    model_path : str or os.PathLike
        The model's ``.onnx`` file (with a card); rewritten with the new card.
    images : numpy.ndarray
        ``(n, c, H, W)`` realistic preprocessed inputs for the parity check (not training data
        is best), with ``H, W`` at least the largest parity tile size.
    methods : sequence of {"vanilla", "guided"}
    note : str, optional
        Recorded as ``saliency.notes`` in the card (e.g. how the graphs were added).
    parity_batch_sizes, parity_tile_sizes : sequence of int, optional
        Shapes of the parity check; tile sizes default to the card's tile size and 3/4 of it.
    relative_tolerance : float

    Returns
    -------
    dict
        ``card`` (as written) and ``parity`` (records of `check_saliency_parity`).
    """
    import onnx

    from glue_turbml.models import read_card, write_card
    from glue_turbml.models.saliency_graphs import saliency_graph_filename

    model_path = Path(model_path)
    model_proto = onnx.load(os.fspath(model_path))
    card = read_card(model_proto, source=os.fspath(model_path))
    if card["task"] != "classification":
        raise SaliencyExportError(f"{model_path}: saliency graphs are exported for classifiers; "
                                  f"this card's task is {card['task']!r}")
    n_classes = len(card["classes"])
    in_channels = card["input"]["channels"]
    tile_size = card["input"]["tile_size"]
    tile_sizes = parity_tile_sizes or (tile_size, 3 * tile_size // 4)
    min_size = max(8, card["input"].get("spatial_multiple", 8))
    owner = {"model": card["name"], "version": card["version"],
             "weights_sha256": card["weights_sha256"]}
    graphs, parity = {}, []
    for method in methods:
        filename = saliency_graph_filename(model_path.name, method)
        digest = export_saliency_graph(model, model_path.parent / filename, method,
                                       n_classes=n_classes, in_channels=in_channels,
                                       tile_size=tile_size, min_size=min_size, owner=owner)
        parity += check_saliency_parity(model, model_path.parent / filename, method,
                                        images=images, n_classes=n_classes,
                                        batch_sizes=parity_batch_sizes, tile_sizes=tile_sizes,
                                        relative_tolerance=relative_tolerance)
        graphs[method] = {"file": filename, "sha256": digest,
                          "inputs": [card["input"]["name"], "target"],
                          "outputs": ["logits", "saliency"],
                          "score": "sum over the batch of logits * target; target is one-hot "
                                   "(batch, n_classes), so each map is d logit[class] / d image",
                          "reference": {"vanilla": "Simonyan et al. 2013, plain gradient",
                                        "guided": "Springenberg et al. 2014, guided "
                                                  "backpropagation through every ReLU"}[method]}
    saliency = dict(card["saliency"])
    listed = [name for name in saliency.get("methods", []) if name not in graphs]
    saliency["methods"] = list(graphs) + [name for name in listed if name != "occlusion"] \
        + ["occlusion"]
    saliency["graphs"] = {**saliency.get("graphs", {}), **graphs}
    if note:
        saliency["notes"] = note
    card = dict(card, saliency=saliency)
    written = write_card(model_proto, card)
    onnx.save_model(model_proto, os.fspath(model_path), save_as_external_data=False)
    return {"card": written, "parity": parity}
