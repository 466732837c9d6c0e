"""Saliency speed: exported guided/vanilla graphs vs one forward pass, and a whole-map timing.

Run from the repository root::

    python benchmarks/bench_saliency.py [--model kolmogorov-burgers-fbm] [--map-size 4096]

Measured side by side in one run on this machine (onnxruntime, the device ``--device`` picks):

1. tiles per second of the forward graph and of each saliency graph on the same preprocessed
   tiles, and the ratio forward / saliency (how many forward passes one saliency map costs);
2. wall time of ``glue_turbml.saliency`` (tiling, preprocessing, the class-choice forward pass,
   the saliency graph, stitching) on one ``map_size`` x ``map_size`` map, next to
   ``glue_turbml.classify`` on the same map.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import time_saliency_graphs  # noqa: E402  (benchmarks/ is on the path as a script)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="kolmogorov-burgers-fbm")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--tiles", type=int, default=256, help="tiles for the throughput test")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--map-size", type=int, default=4096)
    parser.add_argument("--method", default="guided", choices=("guided", "vanilla"),
                        help="method of the whole-map timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    import glue_turbml
    from glue_turbml.core import build_pipeline
    from glue_turbml.models import open_model
    from training.common.random_fields import lognormal_field

    runner = open_model(args.model, device=args.device)
    card = runner.card
    tile_size = card["input"]["tile_size"]
    print(f"model {card['name']} {card['version']}; onnxruntime provider {runner.info.describe()}; "
          f"{os.cpu_count()} CPU cores; {platform.processor() or platform.machine()}")
    raw = np.random.default_rng(0).lognormal(size=(args.tiles, tile_size, tile_size))
    tiles = build_pipeline(card["preprocess"])(raw)[:, np.newaxis].astype(np.float32)
    targets = np.zeros((args.tiles, len(card["classes"])), dtype=np.float32)
    targets[:, 0] = 1

    figures = time_saliency_graphs(runner, tiles, targets, device=args.device,
                                   batch_size=args.batch_size, repeats=args.repeats,
                                   heading="[1] ")

    size = args.map_size
    print(f"\n    generating a {size}x{size} lognormal map...", flush=True)
    big_map = lognormal_field((size, size), 11 / 3, sigma_ln=1.0, seed=7).astype(np.float32)
    start = time.perf_counter()
    classified = glue_turbml.classify(big_map, model=args.model, device=args.device,
                                      batch_size=args.batch_size)
    classify_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = glue_turbml.saliency(big_map, model=args.model, method=args.method,
                                  device=args.device, batch_size=args.batch_size)
    saliency_seconds = time.perf_counter() - start
    print(f"\n[2] one {size}x{size} map ({classified.n_tiles_used} tiles, stride "
          f"{card['tiling']['stride']})")
    print(f"    glue_turbml.classify          : {classify_seconds:8.2f} s")
    print(f"    glue_turbml.saliency ({args.method}): {saliency_seconds:8.2f} s   "
          f"(ratio {saliency_seconds / classify_seconds:.2f}x; map of class "
          f"'{result.target_class}')")
    figures.update({"map_size": size, "map_tiles": classified.n_tiles_used,
                    "map_method": args.method, "map_seconds_classify": classify_seconds,
                    "map_seconds_saliency": saliency_seconds})
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
