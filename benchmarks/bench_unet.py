"""U-Net speed: 128x128 regions per second, onnxruntime vs PyTorch eager, vs the seed's 3.5/s.

Run from the repository root::

    python benchmarks/bench_unet.py [--model mass-weighted-density] [--threads 1] \\
        [--out docs/results/bench_unet.txt]

Measured side by side in one run on this machine, ratios printed:

1. network throughput in regions/s (128x128 network inputs, as in Ribeiro & Hily-Blant, whose
   U-Net ran 3.5 regions/s on an RTX 2070 SUPER) for the onnxruntime session glue_turbml uses
   and for the same weights in PyTorch eager (``torch.inference_mode``), same thread count,
   batch 1 and a larger batch; onnxruntime with CUDA too when a GPU is available;
2. wall time of ``glue_turbml.map_image`` on a ``map_size`` x ``map_size`` map (tiling with
   overlap, normalisation, network, windowed blending), and its throughput in map pixels/s.

The seed's figure is a GPU figure for a 13e7-weight network; ours is a 1.3e5-weight network, so
the ratio compares end-user throughput, not hardware or architectures.
"""

import argparse
import io
import os
import platform
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import best_time  # noqa: E402  (benchmarks/ is on the path when run as a script)

SEED_REGIONS_PER_SECOND = 3.5


def _regions_per_second(run, regions, repeats):
    return regions / best_time(run, repeats)


def _benchmark(args):
    import onnxruntime
    import torch

    import glue_turbml
    from glue_turbml.core import map_statistics
    from glue_turbml.models import open_model
    from training.common.random_fields import lognormal_field
    from training.unet.export import torch_unet_from_onnx

    torch.set_num_threads(args.threads)
    runner = open_model(args.model, device="cpu")
    card = runner.card
    net = torch_unet_from_onnx(runner.loaded.path)
    region = 128
    print(f"model {card['name']} {card['version']} ({card['provenance']['training']['n_weights']}"
          f" weights); onnxruntime {onnxruntime.__version__} {runner.info.describe()}; torch "
          f"{torch.__version__} eager on CPU; {args.threads} thread(s) each; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible")
    rng = np.random.default_rng(0)
    regions = np.log10(rng.lognormal(sigma=1.0, size=(args.regions, 1, region, region))
                       ).astype(np.float32)
    tensor = torch.from_numpy(regions)
    # a model that reads its maps' statistics gets each region's own, in both runtimes
    declared = card["input"].get("map_statistics")
    feeds = {}
    extra = ()
    if declared:
        statistics = np.stack([map_statistics(image[0], declared["names"]) for image in regions])
        feeds = {declared["input"]: statistics}
        extra = (torch.from_numpy(statistics),)

    # onnxruntime sessions use all cores by default; pin threads to compare like with like.
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(runner.loaded.model_bytes, options,
                                           providers=["CPUExecutionProvider"])

    rows = []
    for batch in (1, args.batch_size):
        def run_onnx(batch=batch):
            return [session.run(None, {"image": regions[start:start + batch],
                                       **{name: values[start:start + batch]
                                          for name, values in feeds.items()}})[0]
                    for start in range(0, len(regions), batch)]

        def run_torch(batch=batch):
            with torch.inference_mode():
                return [net(tensor[start:start + batch],
                            *(values[start:start + batch] for values in extra)).numpy()
                        for start in range(0, len(regions), batch)]

        difference = max(float(np.abs(a - b).max()) for a, b in zip(run_onnx(), run_torch()))
        onnx_rate = _regions_per_second(run_onnx, len(regions), args.repeats)
        torch_rate = _regions_per_second(run_torch, len(regions), args.repeats)
        rows.append((batch, onnx_rate, torch_rate, difference))
    print(f"\n[1] network only, {args.regions} regions of {region}x{region}")
    print("    batch  onnxruntime/s  torch eager/s  ort/eager  ort/seed(3.5/s)  max|diff|")
    for batch, onnx_rate, torch_rate, difference in rows:
        print(f"    {batch:5d}  {onnx_rate:13.1f}  {torch_rate:13.1f}  "
              f"{onnx_rate / torch_rate:8.2f}x  {onnx_rate / SEED_REGIONS_PER_SECOND:14.1f}x  "
              f"{difference:.1e}")

    from glue_turbml.models import DeviceError

    try:
        # glue_turbml's own device choice: raises instead of falling back to the CPU.
        cuda_runner = open_model(args.model, device="cuda")
    except DeviceError as error:
        print(f"    no usable CUDA here ({str(error).splitlines()[0][:100]}): CPU figures only")
    else:
        batch = args.batch_size

        def run_cuda():
            return cuda_runner.run(regions, batch_size=batch,
                                   **({"map_statistics": statistics[0]} if declared else {}))
        cuda_rate = _regions_per_second(run_cuda, len(regions), args.repeats)
        print(f"    CUDA onnxruntime ({cuda_runner.info.describe()}), batch {batch}: "
              f"{cuda_rate:.1f} regions/s, {cuda_rate / SEED_REGIONS_PER_SECOND:.1f}x the "
              "seed's RTX 2070 SUPER figure")

    size = args.map_size
    column = lognormal_field((size, size), 3.7, sigma_ln=1.0, seed=1).astype(np.float32)
    result = {}

    def run_map():
        result["map"] = glue_turbml.map_image(column, model=args.model, device="cpu")
    seconds = best_time(run_map, 1)
    mapped = result["map"]
    print(f"\n[2] glue_turbml.map_image on a {size}x{size} map: {seconds:.2f} s "
          f"({mapped.n_tiles} tiles of {mapped.tile_size}^2, stride {mapped.stride}; "
          f"{size * size / seconds / 1e6:.3f} Mpixel/s; onnxruntime default threads)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mass-weighted-density")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--regions", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--map-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the printed report here")
    args = parser.parse_args(argv)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        _benchmark(args)
    text = buffer.getvalue()
    print(text, end="")
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
