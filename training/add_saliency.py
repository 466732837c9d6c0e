"""Add saliency graphs to an exported classifier without retraining it.

Run from the repository root::

    python -m training.add_saliency onnx_models/kolmogorov-burgers.onnx \\
        --report docs/results/kolmogorov_burgers_saliency.json

The torch network is rebuilt from the file's own initializers
(`training.export.torch_classifier_from_onnx`); its logits are checked against the file's
(max |diff| <= 1e-5) on realistic preprocessed tiles before anything is written. Then the
vanilla-gradient and guided-backpropagation graphs are exported next to the file
(`training.saliency_export.add_saliency_graphs`), checked against torch autograd at two batch
sizes and two tile sizes, and the card gains ``saliency.graphs`` and a
``provenance.saliency_export`` note. The model's graph and weights are not touched, so its
``weights_sha256`` and its outputs stay the same; the metrics stay as measured in training.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["realistic_tiles", "add_saliency_to_file", "main"]


def realistic_tiles(card, *, n_maps=2, map_size=256, seed=(2024, 11)):
    """Preprocessed tiles of fresh lognormal fields (both spectral slopes), ``(n, 1, S, S)``.

    Seeds differ from every training stream, so these tiles are not training data.
    """
    from glue_turbml.core import build_pipeline, extract_tiles, make_tile_grid

    from .fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field

    pipeline = build_pipeline(card["preprocess"])
    tile_size = card["input"]["tile_size"]
    tiles = []
    for number in range(n_maps):
        slope = (KOLMOGOROV_SLOPE, BURGERS_SLOPE)[number % 2]
        field = lognormal_field((map_size, map_size), slope, sigma_ln=1.0,
                                seed=[*seed, number])
        grid = make_tile_grid(field.shape, tile_size, stride=tile_size // 2)
        tiles.append(pipeline(extract_tiles(field, grid)))
    return np.concatenate(tiles)[:, np.newaxis].astype(np.float32)


def add_saliency_to_file(path, *, command="", logit_tolerance=1e-5, relative_tolerance=1e-5):
    """Rebuild the net, check its logits, export and check saliency graphs, update the card.

    Returns
    -------
    dict
        JSON-friendly report: forward check, parity records, files and the new card.
    """
    import onnxruntime
    import torch

    from glue_turbml.models import load_model_file

    from .export import ExportError, torch_classifier_from_onnx
    from .provenance import code_version, utc_timestamp
    from .saliency_export import add_saliency_graphs

    start = time.perf_counter()
    loaded = load_model_file(path)
    card = loaded.card
    net = torch_classifier_from_onnx(loaded)
    images = realistic_tiles(card)
    session = onnxruntime.InferenceSession(loaded.model_bytes, providers=["CPUExecutionProvider"])
    (onnx_logits,) = session.run(None, {loaded.input_name: images})
    with torch.no_grad():
        torch_logits = net(torch.from_numpy(images)).numpy()
    logit_diff = float(np.abs(onnx_logits - torch_logits).max())
    if not logit_diff <= logit_tolerance:
        raise ExportError(f"{path}: the rebuilt torch net's logits differ from the file's by "
                          f"{logit_diff:.2e} > {logit_tolerance}; not adding saliency graphs")
    date = utc_timestamp()
    note = (f"saliency graphs added on {date} to the trained weights without retraining: "
            "the torch net was rebuilt from this file's initializers (BatchNorm folded into the "
            f"convolutions at export), its logits matched the file's to {logit_diff:.1e} on "
            f"{len(images)} held-out tiles, and the graphs matched torch autograd (Captum "
            f"semantics) to {relative_tolerance:g} relative")
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
    parser.add_argument("model", type=Path, help="exported classifier (.onnx with a card)")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    args = parser.parse_args(argv)
    command = "python -m training.add_saliency " + " ".join(
        argv if argv is not None else sys.argv[1:])
    report = add_saliency_to_file(args.model, command=command)
    worst = max(record["relative_diff"] for record in report["saliency_parity"])
    print(f"{report['model']}: rebuilt net's logits match the file's to "
          f"{report['forward_max_abs_logit_diff']:.1e}; "
          f"saliency graphs {sorted(report['graphs'])} match torch autograd to {worst:.1e} "
          f"relative over {len(report['saliency_parity'])} checks; {report['seconds']} s")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        print(f"wrote {args.report}")
    return report


if __name__ == "__main__":
    main()
