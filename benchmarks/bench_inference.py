"""Inference speed: the shipped classifier through glue_turbml (onnxruntime) vs PyTorch eager.

Run from the repository root::

    python benchmarks/bench_inference.py [--model kolmogorov-burgers-fbm] [--map-size 4096]

Everything is measured side by side in one run on this machine, and the ratios are printed:

1. network throughput (tiles/s) on the same preprocessed tiles: onnxruntime session vs the same
   network and weights in PyTorch eager (``torch.inference_mode``), same thread count;
2. end-to-end tiles/s of ``glue_turbml.classify`` (tiling, preprocessing, network, stitching);
3. wall time to classify one ``map_size`` x ``map_size`` map with ``glue_turbml.classify``, and
   the same job with the network step done by PyTorch eager.
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

from timing import best_time  # noqa: E402  (benchmarks/ is on the path when run as a script)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="kolmogorov-burgers-fbm")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--tiles", type=int, default=512, help="tiles for the throughput test")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--map-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    import torch

    import glue_turbml
    from glue_turbml.classification import classify_image
    from glue_turbml.core import build_pipeline
    from glue_turbml.models import open_model
    from training.common.export import torch_classifier_from_onnx
    from training.common.random_fields import lognormal_field

    threads = os.cpu_count()
    torch.set_num_threads(threads)
    runner = open_model(args.model, device=args.device)
    card = runner.card
    tile_size = card["input"]["tile_size"]
    net = torch_classifier_from_onnx(runner.loaded)
    print(f"model {card['name']} {card['version']}; onnxruntime provider "
          f"{runner.info.describe()}; torch {torch.__version__} on CPU, {threads} threads; "
          f"{platform.processor() or platform.machine()}")

    raw = np.random.default_rng(0).lognormal(size=(args.tiles, tile_size, tile_size))
    tiles = build_pipeline(card["preprocess"])(raw)[:, np.newaxis]
    tensor = torch.from_numpy(tiles)

    def run_torch():
        with torch.inference_mode():
            return torch.cat([net(tensor[start:start + args.batch_size])
                              for start in range(0, len(tensor), args.batch_size)]).numpy()

    def run_onnx():
        return runner.run(tiles, batch_size=args.batch_size)

    max_diff = float(np.abs(run_torch() - run_onnx()).max())
    onnx_seconds = best_time(run_onnx, args.repeats)
    torch_seconds = best_time(run_torch, args.repeats)
    onnx_rate, torch_rate = args.tiles / onnx_seconds, args.tiles / torch_seconds
    print(f"\n[1] network only, {args.tiles} tiles of {tile_size}^2, batch {args.batch_size}")
    print(f"    glue_turbml (onnxruntime): {onnx_rate:9.1f} tiles/s")
    print(f"    PyTorch eager            : {torch_rate:9.1f} tiles/s")
    print(f"    ratio onnxruntime / eager: {onnx_rate / torch_rate:9.2f}x   "
          f"(max |logit difference| {max_diff:.2e})")

    field_size = args.map_size
    print(f"\n    generating a {field_size}x{field_size} lognormal map...", flush=True)
    big_map = lognormal_field((field_size, field_size), 11 / 3, sigma_ln=1.0, seed=7)
    big_map = big_map.astype(np.float32)

    class EagerRunner:
        """Stands in for the onnxruntime runner so the same tiling code drives PyTorch."""

        card = runner.card
        info = runner.info

        @staticmethod
        def run(batch, *, batch_size, on_batch=None):
            with torch.inference_mode():
                out = torch.cat([net(torch.from_numpy(batch[start:start + batch_size]))
                                 for start in range(0, len(batch), batch_size)]).numpy()
            if on_batch is not None:
                on_batch(len(batch))
            return out

    start = time.perf_counter()
    result = glue_turbml.classify(big_map, model=args.model, device=args.device,
                                  batch_size=args.batch_size)
    map_onnx_seconds = time.perf_counter() - start
    start = time.perf_counter()
    eager_result = classify_image(big_map, EagerRunner, batch_size=args.batch_size)
    map_torch_seconds = time.perf_counter() - start
    n_tiles = result.n_tiles_used
    agreement = float(np.abs(result.probability - eager_result.probability).max())
    print(f"\n[2] end to end, glue_turbml.classify: {n_tiles / map_onnx_seconds:9.1f} tiles/s "
          "(tiling + preprocessing + network + stitching)")
    print(f"\n[3] classify one {field_size}x{field_size} map ({n_tiles} tiles, stride "
          f"{card['tiling']['stride']})")
    print(f"    glue_turbml (onnxruntime): {map_onnx_seconds:8.2f} s")
    print(f"    same job, PyTorch eager  : {map_torch_seconds:8.2f} s")
    print(f"    ratio eager / glue_turbml: {map_torch_seconds / map_onnx_seconds:8.2f}x   "
          f"(whole-map probabilities agree to {agreement:.1e})")
    figures = {
        "model": card["name"], "provider": runner.info.provider, "threads": threads,
        "network_tiles_per_s_onnxruntime": onnx_rate, "network_tiles_per_s_torch_eager": torch_rate,
        "network_ratio_onnxruntime_over_eager": onnx_rate / torch_rate,
        "end_to_end_tiles_per_s": n_tiles / map_onnx_seconds,
        "map_size": field_size, "map_tiles": n_tiles,
        "map_seconds_glue_turbml": map_onnx_seconds, "map_seconds_torch_eager": map_torch_seconds,
        "map_ratio_eager_over_glue_turbml": map_torch_seconds / map_onnx_seconds,
        "max_logit_difference": max_diff,
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
