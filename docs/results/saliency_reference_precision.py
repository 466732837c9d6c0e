"""Why the saliency parity reference is computed in float64: the exported vanilla-gradient graph
of the shipped ``alfven`` model against torch autograd in float32 and in float64.

Run from the repository root::

    python docs/results/saliency_reference_precision.py \
        > docs/results/saliency_reference_precision.txt

Random batches of 5 crops of 36 px from the held-out tiles the saliency export checks with
(`training.saliency.add.held_out_inputs`), one-hot targets as in the parity check
(`training.saliency.export.parity_target`). For each batch: the largest difference, relative
to the float64 map's peak, between onnxruntime, float32 torch and float64 torch. Where two
values of a max-pool window differ by float32 round-off, the float32 computations may pick
different winners and route the gradient through different pixels.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

N_BATCHES = 30
BATCH, SIDE = 5, 36


def float32_saliency(net, batch, target):
    """d sum(target * net(batch)) / d batch by torch autograd in float32 (the reference the
    parity check used before it moved to float64)."""
    import torch

    inputs = torch.tensor(batch, requires_grad=True)
    score = (net(inputs) * torch.tensor(target)).sum()
    (gradient,) = torch.autograd.grad(score, inputs)
    return gradient.double().numpy()


def main():
    import onnxruntime
    import torch

    from glue_turbml.models import load_model_file
    from training.saliency.add import held_out_inputs, rebuild_torch_net
    from training.saliency.export import parity_target, reference_saliency

    loaded = load_model_file("onnx_models/alfven.onnx")
    net = rebuild_torch_net(loaded)
    images = held_out_inputs(loaded.card)
    session = onnxruntime.InferenceSession("onnx_models/alfven.saliency-vanilla.onnx",
                                           providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    rows = []
    for trial in range(N_BATCHES):
        chosen = rng.choice(len(images), BATCH)
        y0, x0 = rng.integers(0, images.shape[-1] - SIDE + 1, 2)
        batch = np.ascontiguousarray(images[chosen, :, y0:y0 + SIDE, x0:x0 + SIDE])
        with torch.no_grad():
            output = net(torch.from_numpy(batch)).numpy()
        target = parity_target("classification", output, np.random.default_rng(trial))
        graph = session.run(None, {"image": batch, "target": target})[1].astype(np.float64)
        single = float32_saliency(net, batch, target)
        # the parity check's reference: float64 autograd, returned as float32
        double = reference_saliency(net, batch, target, "vanilla").astype(np.float64)
        peak = float(np.abs(double).max())
        rows.append({"batch": trial,
                     "onnxruntime_vs_float64": float(np.abs(graph - double).max()) / peak,
                     "float32_torch_vs_float64": float(np.abs(single - double).max()) / peak})
    summary = {key: {"largest": max(row[key] for row in rows),
                     "batches_over_1e-5": sum(row[key] > 1e-5 for row in rows)}
               for key in ("onnxruntime_vs_float64", "float32_torch_vs_float64")}
    print(json.dumps({"script": "docs/results/saliency_reference_precision.py",
                      "model": "alfven", "n_batches": N_BATCHES, "batch_size": BATCH,
                      "tile_size": SIDE, "summary": summary, "batches": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
