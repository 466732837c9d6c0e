"""Add saliency graphs to an exported classifier or U-Net without retraining it.

Run from the repository root::

    python -m training.saliency.add onnx_models/kolmogorov-burgers-fbm.onnx \\
        --report docs/results/kolmogorov_burgers_saliency.json

The torch network is rebuilt from the file's own initializers
(`training.common.export.torch_classifier_from_onnx`, `training.unet.export.torch_unet_from_onnx`
for an ``image_to_image`` card, or `torch_emission_line_net_from_onnx` for the per-spectrum
emission-line regressors, card input layout ``"NC"``); its outputs are checked against the
file's (`FORWARD_TOLERANCE`) on realistic inputs (`held_out_inputs`: preprocessed tiles of fresh
fields, or the colours of the DESI test split) before anything is written. Then the
vanilla-gradient and guided-backpropagation graphs are exported next to the file
(`training.saliency.export.add_saliency_graphs`), checked against torch autograd at two batch
sizes and two tile sizes (two batch sizes for feature inputs), and the card gains
``saliency.graphs`` and a ``provenance.saliency_export`` note. The model's graph and weights
are not touched, so its ``weights_sha256`` and its outputs stay the same; the metrics stay as
measured in training.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..common.provenance import command_line, write_report_if_asked

__all__ = ["realistic_tiles", "held_out_colours", "held_out_inputs",
           "torch_emission_line_net_from_onnx", "rebuild_torch_net", "add_saliency_to_file",
           "FORWARD_TOLERANCE", "main"]


def realistic_tiles(card, *, n_maps=2, map_size=256, seed=(2024, 11)):
    """Preprocessed tiles of fresh lognormal fields (both spectral slopes), ``(n, 1, S, S)``.

    Seeds differ from every training stream, so these tiles are not training data. A card
    whose input ``normalization`` is ``"map_mean"`` gets each field divided by its mean first,
    as the runtime does.
    """
    from glue_turbml.core import build_pipeline, extract_tiles, make_tile_grid

    from ..common.random_fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field

    pipeline = build_pipeline(card["preprocess"])
    tile_size = card["input"]["tile_size"]
    tiles = []
    for number in range(n_maps):
        slope = (KOLMOGOROV_SLOPE, BURGERS_SLOPE)[number % 2]
        field = lognormal_field((map_size, map_size), slope, sigma_ln=1.0,
                                seed=[*seed, number])
        if card["input"].get("normalization", "none") == "map_mean":
            field = field / field.mean()
        grid = make_tile_grid(field.shape, tile_size, stride=tile_size // 2)
        tiles.append(pipeline(extract_tiles(field, grid)))
    return np.concatenate(tiles)[:, np.newaxis].astype(np.float32)


def held_out_colours(card, *, count=256, seed=2024, data_path=None):
    """Colours of DESI test-split galaxies, as a per-spectrum model with this card takes them.

    The test split (by TARGETID, as in training) is never trained on. A card whose bins start
    redward of 3400 A takes the trailing colour columns (`training.emission_lines.data.
    restrict_bins`).

    Parameters
    ----------
    card : dict
        A card with ``input.layout`` ``"NC"`` and ``input.spectral.bin_edges``.
    count : int
        Galaxies drawn (without replacement, seeded).
    seed : int
    data_path : str or os.PathLike, optional
        The npz file; ``../shared/data/desi_sv3_emission_lines.npz`` by default.

    Returns
    -------
    numpy.ndarray
        ``(count, n_features)`` float32.
    """
    from ..emission_lines.data import DEFAULT_DATA_PATH, load_emission_line_data

    spectral = card["input"].get("spectral", {})
    data = load_emission_line_data(data_path or DEFAULT_DATA_PATH)
    edges = [float(edge) for edge in spectral.get("bin_edges", [])]
    full_edges = [float(edge) for edge in data.bin_edges]
    if spectral.get("feature") != "log10_adjacent_bin_ratio" or not edges \
            or full_edges[-len(edges):] != edges:
        raise ValueError(f"{card['name']}: held-out colours exist only for models on the DESI "
                         f"colour bins {full_edges} (or their red end); this card's bins are "
                         f"{edges}")
    first = len(full_edges) - len(edges)
    table = max(data.tables.values(), key=lambda table: int(table.rows("test").sum()))
    colours = table.colours[table.rows("test"), first:]
    chosen = np.random.default_rng(seed).choice(len(colours), size=min(count, len(colours)),
                                                replace=False)
    return np.ascontiguousarray(colours[np.sort(chosen)], dtype=np.float32)


def held_out_inputs(card, *, count=None, seed=None):
    """Realistic inputs that are not training data: `held_out_colours` for a card whose input
    layout is ``"NC"``, else `realistic_tiles` (``count`` maps)."""
    if card["input"].get("layout", "NCHW") == "NC":
        return held_out_colours(card, count=count or 256, seed=2024 if seed is None else seed)
    return realistic_tiles(card, n_maps=count or 2, seed=(2024, 11) if seed is None else seed)


def torch_emission_line_net_from_onnx(loaded):
    """The torch `EquivalentWidthGraph` of an exported emission-line regressor.

    The layout comes from the initializer names (``net.heads.<i>.layers.<j>.weight``: one head
    per line or one multi-output head; hidden widths from the weight shapes) and the graph must
    end in ``Sinh``, as `training.emission_lines.nets.EquivalentWidthGraph` does.

    Raises
    ------
    training.common.export.ExportError
        If the file is not such a net.
    """
    import re

    import onnx
    import torch
    from onnx import numpy_helper

    from ..emission_lines.nets import EmissionLineNet, EquivalentWidthGraph
    from ..common.export import ExportError

    model_proto = onnx.load_model_from_string(loaded.model_bytes)
    weights = {tensor.name: numpy_helper.to_array(tensor)
               for tensor in model_proto.graph.initializer}
    pattern = re.compile(r"^net\.heads\.(\d+)\.layers\.(\d+)\.weight$")
    layers = sorted((int(match[1]), int(match[2])) for match in map(pattern.match, weights)
                    if match)
    ops = [node.op_type for node in model_proto.graph.node]
    if not layers or "net.colour_mean" not in weights or not ops or ops[-1] != "Sinh":
        raise ExportError(f"{loaded.path}: not an exported EquivalentWidthGraph (no "
                          "net.heads.*.layers.* weights, net.colour_mean or final Sinh)")
    n_heads = 1 + max(head for head, _ in layers)
    first_head = [index for head, index in layers if head == 0]
    hidden = tuple(weights[f"net.heads.0.layers.{index}.weight"].shape[0]
                   for index in first_head[:-1])
    n_lines = len(loaded.card["outputs"][0]["channels"])
    net = EmissionLineNet(np.array(weights["net.colour_mean"]),
                          np.array(weights["net.colour_std"]),
                          n_lines=n_lines, per_line=n_heads > 1, hidden=hidden)
    state = {name[len("net."):]: torch.from_numpy(np.array(value))
             for name, value in weights.items() if name.startswith("net.")}
    net.load_state_dict(state, strict=True)
    return EquivalentWidthGraph(net).eval()


#: Largest forward difference, rebuilt torch net vs the file, per card task (each the bound its
#: exporter checks; regression outputs are equivalent widths in Angstrom, amplified by sinh).
FORWARD_TOLERANCE = {"classification": 1e-5, "image_to_image": 1e-4, "regression": 1e-3}


def rebuild_torch_net(loaded):
    """The torch network of an exported classifier (`TurbulenceCNN`), U-Net or per-spectrum
    emission-line regressor (card input layout ``"NC"``)."""
    from ..common.export import ExportError, torch_classifier_from_onnx

    task = loaded.card["task"]
    if task == "regression" and loaded.card["input"].get("layout") == "NC":
        return torch_emission_line_net_from_onnx(loaded)
    if task in ("classification", "regression"):
        # per-map regressors are TurbulenceCNNs with a value and a log-variance output
        return torch_classifier_from_onnx(loaded)
    if task == "image_to_image":
        from ..unet.export import torch_unet_from_onnx

        return torch_unet_from_onnx(loaded.path)
    raise ExportError(f"{loaded.path}: cannot rebuild a torch net for task {task!r}; export "
                      "the saliency graphs from the trained net with "
                      "training.saliency.export.add_saliency_graphs")


def add_saliency_to_file(path, *, command="", logit_tolerance=None, relative_tolerance=1e-5):
    """Rebuild the net, check its outputs, export and check saliency graphs, update the card.

    ``logit_tolerance`` (largest forward difference) defaults to `FORWARD_TOLERANCE` of the
    card's task.

    Returns
    -------
    dict
        JSON-friendly report: forward check, parity records, files and the new card.
    """
    import onnxruntime
    import torch

    from glue_turbml.models import load_model_file

    from ..common.export import ExportError
    from ..common.provenance import code_version, utc_timestamp
    from .export import add_saliency_graphs

    start = time.perf_counter()
    loaded = load_model_file(path)
    card = loaded.card
    net = rebuild_torch_net(loaded)
    if logit_tolerance is None:
        logit_tolerance = FORWARD_TOLERANCE[card["task"]]
    images = held_out_inputs(card)
    session = onnxruntime.InferenceSession(loaded.model_bytes, providers=["CPUExecutionProvider"])
    feeds, arguments = {loaded.input_name: images}, [torch.from_numpy(images)]
    declared = card["input"].get("map_statistics")
    if declared:   # each tile stands for its map here: the check is of the arithmetic
        from glue_turbml.core import map_statistics

        statistics = np.stack([map_statistics(tile[0], declared["names"]) for tile in images])
        feeds[declared["input"]] = statistics
        arguments.append(torch.from_numpy(statistics))
    onnx_logits = session.run([loaded.output_names[0]], feeds)[0]
    with torch.no_grad():
        torch_logits = net(*arguments).numpy()
    logit_diff = float(np.abs(onnx_logits - torch_logits).max())
    if not logit_diff <= logit_tolerance:
        raise ExportError(f"{path}: the rebuilt torch net's outputs differ from the file's by "
                          f"{logit_diff:.2e} > {logit_tolerance}; not adding saliency graphs")
    date = utc_timestamp()
    folded = (" (BatchNorm folded into the convolutions at export)"
              if card["task"] == "classification" else "")
    held_out = ("DESI test-split galaxies" if images.ndim == 2 else "held-out tiles")
    note = (f"saliency graphs added on {date} to the trained weights without retraining: "
            f"the torch net was rebuilt from this file's initializers{folded}, "
            f"its outputs matched the file's to {logit_diff:.1e} on "
            f"{len(images)} {held_out}, and the graphs matched torch autograd (Captum "
            f"semantics) to {relative_tolerance:g} relative, or, where a check missed that, "
            "to no more than the float64 reference itself moves under float32-sized input "
            "changes (a jump of the gradient; training.saliency.export.float32_spread); the "
            "largest miss is provenance.saliency_export.max_relative_saliency_diff")
    result = add_saliency_graphs(net, path, images=images, note=note,
                                 relative_tolerance=relative_tolerance)
    written = result["card"]
    written["provenance"]["saliency_export"] = {
        "command": command, "code_version": code_version(), "date": date,
        "forward_max_abs_logit_diff": logit_diff, "n_check_tiles": int(len(images)),
        "max_relative_saliency_diff": max(record["relative_diff"]
                                          for record in result["parity"]),
    }
    _rewrite_card(path, written)
    after = load_model_file(path)
    if after.card["weights_sha256"] != card["weights_sha256"]:
        raise ExportError(f"{path}: weights changed while adding saliency graphs")
    return {
        "model": card["name"], "onnx_file": os.fspath(path), "date": date,
        "command": command, "code_version": code_version(),
        "weights_sha256": after.card["weights_sha256"],
        "forward_max_abs_logit_diff": logit_diff,
        "saliency_parity": result["parity"],
        "graphs": after.card["saliency"]["graphs"],
        "card": after.card,
        "seconds": round(time.perf_counter() - start, 1),
    }


def _rewrite_card(path, card):
    import onnx

    from glue_turbml.models import write_card

    model_proto = onnx.load(os.fspath(path))
    write_card(model_proto, card)
    onnx.save_model(model_proto, os.fspath(path), save_as_external_data=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path,
                        help="exported classifier, U-Net or emission-line regressor (.onnx "
                             "with a card)")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    args = parser.parse_args(argv)
    command = command_line("training.saliency.add", sys.argv[1:] if argv is None else argv)
    report = add_saliency_to_file(args.model, command=command)
    worst = max(record["relative_diff"] for record in report["saliency_parity"])
    print(f"{report['model']}: rebuilt net's outputs match the file's to "
          f"{report['forward_max_abs_logit_diff']:.1e}; "
          f"saliency graphs {sorted(report['graphs'])} match torch autograd to {worst:.1e} "
          f"relative over {len(report['saliency_parity'])} checks; {report['seconds']} s")
    write_report_if_asked(args.report, report)
    return report


if __name__ == "__main__":
    main()
