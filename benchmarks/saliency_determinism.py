"""Do repeated runs of a saliency graph give the same map? (onnxruntime CPU, several threads)

Run from the repository root::

    python benchmarks/saliency_determinism.py GRAPH.onnx [GRAPH2.onnx ...] [--runs 40]

Each graph runs ``--runs`` times on the same input (``--tiles`` lognormal tiles of the size
``--tile-size``, target all ones) with ``--threads`` intra-op threads while ``--load``
background processes do the same, to expose data races (e.g. ``ScatterND(reduction="add")``
with duplicate indices); prints how many runs differ from the first by more than 1e-5 of the
map's peak, and the graph's accumulating scatter operators.
"""

import argparse
import multiprocessing
import sys

import numpy as np


def _repeat(path, threads, runs, tiles, tile_size, seed):
    import onnx
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    image_input, target_input = session.get_inputs()
    rng = np.random.default_rng(seed)
    images = np.log10(rng.lognormal(sigma=0.8, size=(tiles, 1, tile_size, tile_size)))
    images = images.astype(np.float32)
    target_shape = [tiles if isinstance(dim, str) or dim is None else dim
                    for dim in target_input.shape]
    if len(target_shape) == 4:
        target_shape[2:] = [tile_size, tile_size]
    feeds = {image_input.name: images,
             target_input.name: np.ones(target_shape, dtype=np.float32)}
    first = session.run(["saliency"], feeds)[0]
    scale = float(np.abs(first).max())
    differing = sum(float(np.abs(session.run(["saliency"], feeds)[0] - first).max()) > 1e-5 * scale
                    for _ in range(runs))
    model = onnx.load(str(path))
    scatters = sorted({f"{node.op_type}({attribute.s.decode()})" for node in model.graph.node
                       if node.op_type.startswith("Scatter") for attribute in node.attribute
                       if attribute.name == "reduction"})
    return differing, scatters


def _background(path, threads, tile_size, stop):
    while not stop.is_set():
        _repeat(path, threads, 2, 4, tile_size, seed=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graphs", nargs="+", help="saliency graph files")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--tiles", type=int, default=4)
    parser.add_argument("--tile-size", type=int, default=128)
    parser.add_argument("--load", type=int, default=2, help="background processes")
    args = parser.parse_args(argv)
    for path in args.graphs:
        stop = multiprocessing.Event()
        workers = [multiprocessing.Process(target=_background,
                                           args=(path, args.threads, args.tile_size, stop))
                   for _ in range(args.load)]
        for worker in workers:
            worker.start()
        try:
            differing, scatters = _repeat(path, args.threads, args.runs, args.tiles,
                                          args.tile_size, seed=0)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        print(f"{path}: {differing} of {args.runs} runs differ from the first by > 1e-5 of the "
              f"peak ({args.threads} threads, {args.load} loaded background processes); "
              f"scatter ops {scatters}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
