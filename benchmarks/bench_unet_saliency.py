"""U-Net saliency speed: exported vanilla/guided graphs vs one forward pass, side by side.

Run from the repository root::

    python benchmarks/bench_unet_saliency.py [--model PATH] [--tiles 64] [--tile-size 64]

Without ``--model``, an untrained `training.unet.nets.ProbabilisticUNet` (the shipped U-Nets'
architecture, default widths; speed does not depend on the weights) is exported with its
saliency graphs into a temporary folder. Prints, for the same preprocessed tiles, tiles per
second of the forward graph and of each saliency graph, the ratio (how many forward passes
one saliency map costs), and the ONNX operators that implement the backward of nearest
upsampling (``ScatterND`` with ``reduction="add"``) and of max pooling (``ScatterElements``).
"""

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import time_saliency_graphs  # noqa: E402  (benchmarks/ is on the path as a script)


def _export_untrained_unet(folder, tile_size, seed):
    """Export an untrained ProbabilisticUNet with a card and saliency graphs; return the path."""
    import torch

    from training.saliency.export import add_saliency_graphs
    from training.unet.export import export_unet
    from training.unet.nets import ProbabilisticUNet

    torch.manual_seed(seed)
    net = ProbabilisticUNet().eval()
    path = Path(folder) / "benchmark-unet.onnx"
    card = {
        "schema_version": 1, "name": "benchmark-unet", "version": "0.0.0",
        "task": "image_to_image", "description": "untrained U-Net for speed measurements",
        "input": {"name": "image", "kind": "column density / map mean", "description": "",
                  "tile_size": tile_size, "channels": 1, "dtype": "float32", "units": "",
                  "layout": "NCHW", "spatial_multiple": net.spatial_multiple},
        "outputs": [{"name": "prediction", "description": "mean and log-variance", "units": "",
                     "activation": "none"}],
        "preprocess": [{"op": "log10"}],
        "tiling": {"stride": tile_size // 2, "boundary": "reflect", "combine": "window",
                   "min_valid_fraction": 0.5},
        "saliency": {"methods": ["occlusion"]},
        "provenance": {"training_data": {"summary": "none (untrained)"}, "split": {},
                       "command": "benchmarks/bench_unet_saliency.py", "code_version": "",
                       "date": ""},
        "metrics": {},
    }
    rng = np.random.default_rng(seed)
    images = np.log10(rng.lognormal(size=(4, 1, 2 * tile_size, 2 * tile_size))).astype(np.float32)
    export_unet(net, path, card, tile_size=tile_size, parity_images=images,
                parity_batch_sizes=(2,), parity_tile_sizes=(tile_size,))
    add_saliency_graphs(net, path, images=images, parity_batch_sizes=(2,),
                        parity_tile_sizes=(tile_size,))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported U-Net with saliency graphs")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--tiles", type=int, default=64)
    parser.add_argument("--tile-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    import onnx

    from glue_turbml.core import map_statistics
    from glue_turbml.models import open_model

    with tempfile.TemporaryDirectory() as folder:
        path = args.model or _export_untrained_unet(folder, args.tile_size, args.seed)
        runner = open_model(path, device=args.device)
        card = runner.card
        tile_size = args.tile_size
        print(f"model {card['name']} {card['version']} ({card['task']}); onnxruntime provider "
              f"{runner.info.describe()}; {os.cpu_count()} CPU cores; "
              f"{platform.processor() or platform.machine()}")
        rng = np.random.default_rng(args.seed)
        tiles = np.log10(rng.lognormal(size=(args.tiles, 1, tile_size, tile_size)))
        tiles = tiles.astype(np.float32)
        declared = card["input"].get("map_statistics")
        # a model that reads its map's statistics: those of the first tile stand for the map
        statistics = map_statistics(tiles[0, 0], declared["names"]) if declared else None
        outputs = runner.run(tiles[:1], map_statistics=statistics)
        targets = np.zeros((args.tiles,) + outputs.shape[1:], dtype=np.float32)
        targets[:, 0] = 1.0  # the mean channel over the whole tile, the runtime's default

        def scatter_operators(method, graph):
            operators = sorted({node.op_type for node in onnx.load_model_from_string(
                graph.loaded.model_bytes).graph.node})
            scatter = [name for name in operators if name.startswith("Scatter")]
            return {f"{method}_scatter_operators": scatter}, f"; scatter ops {scatter}"

        figures = time_saliency_graphs(runner, tiles, targets, device=args.device,
                                       batch_size=args.batch_size, repeats=args.repeats,
                                       graph_details=scatter_operators,
                                       map_statistics=statistics)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return figures


if __name__ == "__main__":
    main()
