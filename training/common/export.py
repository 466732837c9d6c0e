"""Export trained torch models to single-file ONNX with a model card, and check parity."""

import os
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ExportError",
    "ParityError",
    "ExportResult",
    "strip_metadata",
    "check_portable",
    "export_onnx_with_card",
    "export_classifier",
    "check_parity",
    "torch_classifier_from_onnx",
]

#: Operator domains the runtime accepts: the default ONNX domain under either of its names.
DEFAULT_DOMAINS = ("", "ai.onnx")


class ExportError(RuntimeError):
    """The exported graph is not a portable single-file, default-domain ONNX model."""


class ParityError(AssertionError):
    """onnxruntime and torch disagree on the exported model's outputs."""


@dataclass
class ExportResult:
    """What `export_classifier` returns.

    Attributes
    ----------
    path : str
        The written ONNX file.
    card : dict
        The model card as written (with ``weights_sha256``).
    parity : list of dict
        One record per checked input shape (see `check_parity`).
    """

    path: str
    card: dict
    parity: list = field(default_factory=list)


def strip_metadata(model_proto):
    """Remove per-node and per-value metadata the exporter adds (in place).

    The dynamo exporter records stack traces, source file paths and module names in every node;
    they make files differ between machines and checkouts without changing the computation.

    Parameters
    ----------
    model_proto : onnx.ModelProto

    Returns
    -------
    onnx.ModelProto
        The same object, for chaining.
    """
    graph = model_proto.graph
    for node in graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        del value.metadata_props[:]
        value.doc_string = ""
    for initializer in graph.initializer:
        del initializer.metadata_props[:]
        initializer.doc_string = ""
    graph.doc_string = ""
    model_proto.doc_string = ""
    return model_proto


def check_portable(model_proto):
    """Check a model is self-contained and uses only default-domain ONNX operators.

    Opset imports of other domains that no node uses (exporters sometimes leave them behind)
    are dropped; anything that would need a custom runtime raises.

    Parameters
    ----------
    model_proto : onnx.ModelProto
        Modified in place only to drop unused opset imports.

    Raises
    ------
    ExportError
        For external tensor data, local functions, or nodes outside the default domain.
    """
    from onnx import TensorProto

    graph = model_proto.graph
    external = [tensor.name for tensor in graph.initializer
                if tensor.data_location == TensorProto.EXTERNAL or tensor.external_data]
    if external:
        raise ExportError(f"initializers stored as external data: {external[:5]}; the model must "
                          "be one self-contained file")
    if len(model_proto.functions):
        raise ExportError(f"the graph holds {len(model_proto.functions)} local functions; inline "
                          "them so plain onnxruntime can run it")
    foreign = sorted({f"{node.domain}::{node.op_type}" for node in graph.node
                      if node.domain not in DEFAULT_DOMAINS})
    if foreign:
        raise ExportError(f"nodes outside the default ONNX domain: {foreign}")
    kept = [opset for opset in model_proto.opset_import if opset.domain in DEFAULT_DOMAINS]
    if len(kept) != len(model_proto.opset_import):
        del model_proto.opset_import[:]
        model_proto.opset_import.extend(kept)


def check_parity(model, onnx_path, *, images=None, batch_sizes=(1, 5, 16),
                 tile_sizes=(64, 128, 96), in_channels=1, tolerance=1e-5, seed=12345,
                 record_max_abs_logit=True, statistics=None):
    """Compare torch and onnxruntime (CPU provider) outputs on inputs not used for tracing.

    Parameters
    ----------
    model : torch.nn.Module
        The exported model (evaluated in eval mode without gradients).
    onnx_path : str or os.PathLike
    images : numpy.ndarray, optional
        ``(n, channels, H, W)`` realistic network inputs (preprocessed tiles) with ``H, W`` at
        least the largest tile size; each check draws a batch of them and a random crop. Without
        them, inputs are uniform noise in [0, 1), the range of histogram-equalized tiles, which
        real nets may map to logits so large that float32 rounding alone nears ``tolerance``.
    batch_sizes, tile_sizes : sequence of int
        Every combination is checked; include shapes other than the tracing example.
    in_channels : int, optional
    tolerance : float, optional
        Largest allowed absolute difference of any output value.
    seed : int, optional
        Seed of the batch choice, the crops and the noise inputs.
    record_max_abs_logit : bool, optional
        Record ``max_abs_logit``, the largest absolute torch output of each shape (the scale
        the difference is measured against for classifiers).
    statistics : numpy.ndarray, optional
        ``(n, k)`` second input of a model that reads one (a U-Net's map statistics), a row
        per image of ``images``; fed beside the chosen images.

    Returns
    -------
    list of dict
        ``batch_size``, ``tile_size``, ``max_abs_diff`` and (with ``record_max_abs_logit``)
        ``max_abs_logit`` for each shape.

    Raises
    ------
    ParityError
        Naming every shape whose difference exceeds ``tolerance``.
    """
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(os.fspath(onnx_path),
                                           providers=["CPUExecutionProvider"])
    input_names = [argument.name for argument in session.get_inputs()]
    input_name = input_names[0]
    if (statistics is not None) != (len(input_names) == 2) or len(input_names) > 2:
        raise ParityError(f"{os.fspath(onnx_path)} reads {input_names}; parity was given "
                          f"{'images and statistics' if statistics is not None else 'images'}")
    if statistics is not None and images is None:
        raise ValueError("parity statistics need the images they belong to")
    rng = np.random.default_rng(seed)
    model.eval()
    records = []
    if images is not None:
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or min(images.shape[-2:]) < max(tile_sizes):
            raise ValueError(f"parity images must be (n, c, H, W) with H, W >= "
                             f"{max(tile_sizes)}, got {images.shape}")
    for tile_size in tile_sizes:
        for batch_size in batch_sizes:
            if images is None:
                batch = rng.random((batch_size, in_channels, tile_size, tile_size),
                                   dtype=np.float32)
            else:
                chosen = rng.choice(len(images), size=batch_size, replace=batch_size > len(images))
                y0, x0 = (int(rng.integers(0, size - tile_size + 1))
                          for size in images.shape[-2:])
                batch = np.ascontiguousarray(
                    images[chosen, :, y0:y0 + tile_size, x0:x0 + tile_size])
            feeds = {input_name: batch}
            arguments = [torch.from_numpy(batch)]
            if statistics is not None:
                feeds[input_names[1]] = np.ascontiguousarray(statistics[chosen],
                                                             dtype=np.float32)
                arguments.append(torch.from_numpy(feeds[input_names[1]]))
            with torch.no_grad():
                expected = model(*arguments).numpy()
            # the first output: a card may add others later (the domain check's embedding)
            actual = session.run([session.get_outputs()[0].name], feeds)[0]
            if actual.shape != expected.shape:
                raise ParityError(f"output shape {actual.shape} from onnxruntime, "
                                  f"{expected.shape} from torch, for input {batch.shape}")
            record = {"batch_size": int(batch_size), "tile_size": int(tile_size),
                      "max_abs_diff": float(np.max(np.abs(actual - expected)))}
            if record_max_abs_logit:
                record["max_abs_logit"] = float(np.max(np.abs(expected)))
            records.append(record)
    failures = [record for record in records if not record["max_abs_diff"] <= tolerance]
    if failures:
        raise ParityError(f"torch and onnxruntime differ by more than {tolerance} on "
                          f"{os.fspath(onnx_path)}: {failures}")
    return records


def export_onnx_with_card(module, example_inputs, path, card, *, input_names, output_names,
                          dynamic_shapes, opset_version=18):
    """Export a torch module with ``torch.onnx`` (dynamo), check it, add its card and save it.

    The one export pipeline of every shipped model (classifiers, U-Nets, emission-line
    regressors): dynamo export, `strip_metadata`, `check_portable`, the full ONNX checker, then
    `glue_turbml.models.write_card`, then one self-contained file (no external data).

    Parameters
    ----------
    module : torch.nn.Module
        In eval mode on the CPU (the caller prepares it).
    example_inputs : tuple of torch.Tensor
        Tracing inputs.
    path : str or os.PathLike
        Output ``.onnx`` file; its folder is created.
    card : dict
        Model card without ``weights_sha256`` (validated and completed by ``write_card``).
    input_names, output_names : list of str
        Graph input and output names.
    dynamic_shapes : dict
        As for ``torch.onnx.export``, keyed by the forward argument names.
    opset_version : int, optional

    Returns
    -------
    path : str
        The written file.
    written_card : dict
        The card as written (with ``weights_sha256``).

    Raises
    ------
    ExportError, glue_turbml.models.ModelCardError
    """
    import onnx
    import torch

    from glue_turbml.models import write_card

    program = torch.onnx.export(module, tuple(example_inputs), dynamo=True,
                                opset_version=opset_version, input_names=list(input_names),
                                output_names=list(output_names), dynamic_shapes=dynamic_shapes,
                                external_data=False, verbose=False)
    model_proto = program.model_proto
    strip_metadata(model_proto)
    check_portable(model_proto)
    onnx.checker.check_model(model_proto, full_check=True)
    written_card = write_card(model_proto, card)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    onnx.save_model(model_proto, path, save_as_external_data=False)
    return path, written_card


def export_classifier(model, path, card, *, tile_size, in_channels=1, opset_version=18,
                      parity_images=None, parity_batch_sizes=(1, 5, 16),
                      parity_tile_sizes=(64, 128, 96), tolerance=1e-5, seed=0):
    """Export a tile classifier to one ONNX file with its model card, then check parity.

    The graph takes ``image`` ``(batch, channels, height, width)`` float32 with all three of
    batch, height and width dynamic, and returns ``logits`` ``(batch, n_classes)``.

    Parameters
    ----------
    model : torch.nn.Module
        Trained model; exported in eval mode on the CPU (it is moved there).
    path : str or os.PathLike
        Output ``.onnx`` file; its folder is created.
    card : dict
        Model card without ``weights_sha256`` (filled in by
        `glue_turbml.models.write_card`, which also validates it).
    tile_size : int
        Side of the tracing example (the card's tile size).
    in_channels : int, optional
    opset_version : int, optional
    parity_images : numpy.ndarray, optional
        Realistic inputs for `check_parity` (preprocessed tiles not used in training).
    parity_batch_sizes, parity_tile_sizes : sequence of int, optional
        Shapes for `check_parity`.
    tolerance : float, optional
        Parity tolerance on logits.
    seed : int, optional
        Seed of the tracing example (parity uses different inputs).

    Returns
    -------
    ExportResult

    Raises
    ------
    ExportError, ParityError, glue_turbml.models.ModelCardError
    """
    import torch
    from torch.export import Dim

    model = model.cpu().eval()
    generator = torch.Generator().manual_seed(int(seed))
    example = torch.rand((2, in_channels, tile_size, tile_size), generator=generator)
    forward_argument = next(iter(_forward_parameters(model)))
    # Three max-pools need at least 8 pixels a side; a lower bound keeps torch.export from
    # specialising on sizes 0 and 1.
    dynamic_shapes = {forward_argument: {0: Dim("batch", min=1),
                                         2: Dim("height", min=8),
                                         3: Dim("width", min=8)}}
    path, written_card = export_onnx_with_card(
        model, (example,), path, card, input_names=["image"], output_names=["logits"],
        dynamic_shapes=dynamic_shapes, opset_version=opset_version)
    parity = check_parity(model, path, images=parity_images, batch_sizes=parity_batch_sizes,
                          tile_sizes=parity_tile_sizes, in_channels=in_channels,
                          tolerance=tolerance, seed=int(seed) + 12345)
    return ExportResult(path=path, card=written_card, parity=parity)


def _forward_parameters(model):
    import inspect

    return inspect.signature(model.forward).parameters


def _model_proto(source):
    """``(onnx.ModelProto, name for messages)`` of a path, bytes, ModelProto or LoadedModel."""
    import onnx

    if isinstance(source, onnx.ModelProto):
        return source, "model"
    if isinstance(source, (bytes, bytearray)):
        return onnx.load_model_from_string(bytes(source)), "model bytes"
    if hasattr(source, "model_bytes"):  # glue_turbml.models.LoadedModel
        return onnx.load_model_from_string(source.model_bytes), str(source.path)
    return onnx.load(os.fspath(source)), os.fspath(source)


def torch_classifier_from_onnx(source):
    """Rebuild a `training.common.nets.TurbulenceCNN` from an exported file (checks, fine-tuning).

    The one place that turns an exported classifier back into torch: the shipped-model tests,
    the inference benchmark and the saliency re-export (`training.saliency.add`) all use it.
    The exporter folds each BatchNorm into the convolution before it (initializers
    ``features.N.weight`` and ``features.N.weight_bias``), so the rebuilt net has no
    normalisation layers and biased convolutions; it computes the same function as the trained
    net in evaluation mode. The architecture comes from the card (``provenance.training.net``);
    the weights are matched to the layers by the graph's node order (``Conv`` and ``Gemm``,
    the first node of each weight tensor). A card net with ``dihedral_average`` is rebuilt
    inside a `training.common.nets.DihedralAverage`.

    Parameters
    ----------
    source : str, os.PathLike, bytes, onnx.ModelProto or glue_turbml.models.LoadedModel
        A classifier written by `export_classifier`.

    Returns
    -------
    training.common.nets.TurbulenceCNN or training.common.nets.DihedralAverage
        In eval mode.

    Raises
    ------
    glue_turbml.models.ModelCardError
        If the card is missing or invalid.
    ExportError
        If the card has no net description or the graph does not match it.
    """
    import onnx
    import torch
    from onnx import numpy_helper

    from glue_turbml.models import read_card

    from .nets import DihedralAverage, TurbulenceCNN

    model_proto, path = _model_proto(source)
    card = read_card(model_proto, source=path)
    net_config = card["provenance"].get("training", {}).get("net")
    if not net_config:
        raise ExportError(f"{path}: the card has no provenance.training.net description")
    net = TurbulenceCNN(in_channels=net_config["in_channels"], n_classes=net_config["n_classes"],
                        widths=net_config["widths"],
                        convs_per_block=net_config["convs_per_block"],
                        hidden=net_config["hidden"], norm="none")
    weights = {tensor.name: numpy_helper.to_array(tensor)
               for tensor in model_proto.graph.initializer}
    layers = {"Conv": [module for module in net.modules() if isinstance(module, torch.nn.Conv2d)],
              "Gemm": [module for module in net.modules() if isinstance(module, torch.nn.Linear)]}
    for op_type, modules in layers.items():
        # a dihedral average calls the net twice: each layer's nodes share one weight tensor
        nodes, seen = [], set()
        for node in model_proto.graph.node:
            if node.op_type == op_type and node.input[1:2] and node.input[1] not in seen:
                seen.add(node.input[1])
                nodes.append(node)
        if len(nodes) != len(modules):
            raise ExportError(f"{path}: {len(nodes)} {op_type} nodes in the graph, "
                              f"{len(modules)} matching layers in the card's net")
        for node, module in zip(nodes, modules):
            attributes = {attribute.name: onnx.helper.get_attribute_value(attribute)
                          for attribute in node.attribute}
            if op_type == "Gemm" and attributes.get("transB", 0) != 1:
                raise ExportError(f"{path}: Gemm node {node.name} is not in torch Linear layout")
            if len(node.input) < 3:
                raise ExportError(f"{path}: {op_type} node {node.name} has no bias input")
            with torch.no_grad():
                module.weight.copy_(torch.tensor(weights[node.input[1]]))
                module.bias.copy_(torch.tensor(weights[node.input[2]]))
    if net_config.get("dihedral_average"):
        net = DihedralAverage(net)
    return net.eval()
