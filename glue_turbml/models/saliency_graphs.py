"""Saliency graphs shipped next to a model file: finding, checking and running them.

A model whose card lists ``saliency.graphs`` has one companion ONNX file per gradient method,
``<model stem>.saliency-<method>.onnx`` in the model's folder (see `training.saliency.export`
for why these are separate files). Each takes the model's input and a ``target`` weighting of
the model's output (``(batch, n_classes)`` or ``(batch, n_outputs)``; for ``image_to_image``
models a per-pixel weight map of the output's shape) and returns the output and the saliency map
(the gradient of ``sum(output * target)`` with respect to the input, of the input's shape: for
a per-spectrum model, card input layout ``"NC"``, one weight per feature, ``(batch,
n_features)``). The card records each
file's sha256; a file that differs, or whose inputs or outputs differ from the card, is refused.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .loader import (LoadedModel, ModelLoadError, check_graph_bounds, check_structure,
                     read_model_bytes)

__all__ = [
    "SALIENCY_GRAPH_METHODS",
    "SaliencyGraphRunner",
    "saliency_graph_filename",
    "is_saliency_graph_file",
    "load_saliency_graph",
    "open_saliency_graph",
]

#: Methods computed by an exported gradient graph.
SALIENCY_GRAPH_METHODS = ("vanilla", "guided")
_COMPANION = re.compile(r"\.saliency-[a-z0-9_]+\.onnx$")


def saliency_graph_filename(model_filename, method):
    """``alfven.onnx`` -> ``alfven.saliency-guided.onnx``."""
    stem = model_filename[:-5] if model_filename.endswith(".onnx") else model_filename
    return f"{stem}.saliency-{method}.onnx"


def is_saliency_graph_file(path):
    """True for a companion saliency file (the registry skips these: they are not models)."""
    return bool(_COMPANION.search(Path(path).name))


def _check_saliency_interface(model, card, entry, source):
    import onnx

    initializer_names = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initializer_names]
    if [value.name for value in inputs] != list(entry["inputs"]):
        raise ModelLoadError(f"{source}: the graph's inputs {[value.name for value in inputs]} "
                             f"differ from the card's {entry['inputs']}")
    outputs = [value.name for value in model.graph.output]
    if outputs != list(entry["outputs"]):
        raise ModelLoadError(f"{source}: the graph's outputs {outputs} differ from the card's "
                             f"{entry['outputs']}")
    statistics = card["input"].get("map_statistics")
    if len(inputs) != 2 + bool(statistics):
        raise ModelLoadError(f"{source}: the graph has {len(inputs)} inputs; a saliency graph of "
                             f"this model takes image, target"
                             + (" and map statistics" if statistics else ""))
    if statistics:
        from .loader import _check_statistics_input

        _check_statistics_input(inputs[2], len(statistics["names"]), source)
    image, target = inputs[:2]
    target_rank = 4 if card["task"] == "image_to_image" else 2
    image_rank = 2 if card["input"].get("layout", "NCHW") == "NC" else 4
    for value, rank in ((image, image_rank), (target, target_rank)):
        tensor_type = value.type.tensor_type
        if tensor_type.elem_type != onnx.TensorProto.FLOAT or len(tensor_type.shape.dim) != rank:
            raise ModelLoadError(f"{source}: input {value.name!r} must be float32 of rank {rank} "
                                 f"for a {card['task']} model")
    if card["task"] == "classification":
        n_classes = len(card["classes"])
        class_dim = target.type.tensor_type.shape.dim[1]
        if class_dim.HasField("dim_value") and class_dim.dim_value != n_classes:
            raise ModelLoadError(f"{source}: input {target.name!r} has {class_dim.dim_value} "
                                 f"classes, the card lists {n_classes}")


def load_saliency_graph(loaded, method, *, max_mb=None):
    """Find and check the saliency graph of one method for a loaded model.

    Parameters
    ----------
    loaded : glue_turbml.models.LoadedModel
    method : {"vanilla", "guided"}
    max_mb : float, optional
        Size cap, as for `glue_turbml.models.load_model_file`.

    Returns
    -------
    LoadedModel
        For the companion file: its path and bytes, the model's card, ``input_name`` (the
        image) and ``output_names`` ``("logits", "saliency")``.

    Raises
    ------
    ModelLoadError
        If the card has no graph for ``method``, or the file is missing, differs from the sha256
        in the card, uses non-standard operators, declares sizes over the bounds of
        `glue_turbml.models.loader.check_graph_bounds` or has inputs/outputs other than the
        card's.
    """
    card = loaded.card
    graphs = card["saliency"].get("graphs", {})
    if method not in graphs:
        available = ", ".join(graphs) or "none"
        raise ModelLoadError(
            f"{loaded.path}: model {card['name']!r} ships no {method!r} saliency graph (graphs: "
            f"{available}); use --method occlusion (method='occlusion' in Python), which "
            "works with any model, or "
            "re-export the model with training.saliency.export")
    entry = graphs[method]
    path = Path(loaded.path).parent / entry["file"]
    source = str(path)
    model_bytes, model = read_model_bytes(path, max_mb=max_mb)
    digest = hashlib.sha256(model_bytes).hexdigest()
    if digest != entry["sha256"]:
        raise ModelLoadError(
            f"{source}: sha256 {digest[:12]}... differs from the {card['name']!r} card's "
            f"{entry['sha256'][:12]}...; the saliency file does not belong to this model file: "
            "re-export or re-download both")
    check_structure(model, source)
    check_graph_bounds(model, source, max_mb=max_mb)
    _check_saliency_interface(model, card, entry, source)
    return LoadedModel(path=path.resolve(), card=card, model_bytes=model_bytes,
                       input_name=entry["inputs"][0], output_names=tuple(entry["outputs"]))


@dataclass
class SaliencyGraphRunner:
    """A checked saliency graph with its onnxruntime session.

    Attributes
    ----------
    loaded : LoadedModel
        The companion file (see `load_saliency_graph`).
    target_name : str
    session : onnxruntime.InferenceSession
    info : glue_turbml.models.SessionInfo
    """

    loaded: LoadedModel
    target_name: str
    session: object
    info: object

    def run(self, tiles, targets, *, batch_size=32, on_batch=None, map_statistics=None):
        """Outputs and saliency maps of ``(n, C, T, T)`` tiles (or ``(n, n_features)`` rows for
        a card whose input layout is ``"NC"``).

        Parameters
        ----------
        tiles : numpy.ndarray
        targets : numpy.ndarray
            Weights of the output, of its shape: ``(n, n_classes)`` or ``(n, n_outputs)``;
            ``(n, C_out, T, T)`` for image-to-image models.
        batch_size : int
        on_batch : callable, optional
        map_statistics : numpy.ndarray, optional
            As for `glue_turbml.models.ModelRunner.run`.

        Returns
        -------
        outputs : numpy.ndarray
            The model's output (logits for classifiers).
        saliency : numpy.ndarray
            The shape of ``tiles``: d sum(targets * output) / d tile, per tile.
        """
        tiles = np.ascontiguousarray(tiles, dtype=np.float32)
        targets = np.ascontiguousarray(targets, dtype=np.float32)
        from .statistics_feed import statistics_feed

        statistics = statistics_feed(self.loaded.card, map_statistics)
        logits, maps = [], []
        for start in range(0, len(tiles), batch_size):
            batch = tiles[start:start + batch_size]
            feeds = {self.loaded.input_name: batch,
                     self.target_name: targets[start:start + batch_size]}
            if statistics is not None:
                feeds[statistics[0]] = np.repeat(statistics[1], len(batch), axis=0)
            batch_logits, batch_maps = self.session.run(list(self.loaded.output_names), feeds)
            logits.append(batch_logits)
            maps.append(batch_maps)
            if on_batch is not None:
                on_batch(len(batch))
        return np.concatenate(logits), np.concatenate(maps)


def open_saliency_graph(loaded, method, *, device="auto"):
    """Load (or reuse) a model's saliency graph and its cached session.

    Returns
    -------
    SaliencyGraphRunner
    """
    from .session import get_session

    graph = load_saliency_graph(loaded, method)
    session, info = get_session(graph, device=device)
    return SaliencyGraphRunner(graph, loaded.card["saliency"]["graphs"][method]["inputs"][1],
                               session, info)
