"""Adebayo et al. (2018) model-parameter randomization test of saliency methods, as a tool.

A saliency method that explains the *trained* network must give different maps once the
network's weights are destroyed. Starting from the output layer, layers are re-initialised one
after another (cascading randomization) and, after each step, every method's maps of held-out
tiles are compared with the trained network's maps by Spearman rank correlation (per tile, of
the absolute maps and of the signed maps, averaged over tiles). High correlation after the
whole network is randomised means the method shows the input's structure, not what the network
learned. Guided backpropagation is known to fail this test (Adebayo et al. 2018, Fig. 2).

Run from the repository root::

    python -m training.saliency_sanity onnx_models/kolmogorov-burgers.onnx \\
        --report docs/results/kolmogorov_burgers_sanity.json --write-card

``--write-card`` records the result in the model card (``saliency.sanity_checks``), so users
see which maps survive; the model's graph and weights are not touched.
"""

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["randomization_test", "main", "PASS_THRESHOLD"]

#: A method passes when the mean Spearman correlation (absolute maps) between the trained and
#: the fully randomised network's maps is below this value.
PASS_THRESHOLD = 0.5


def _layers_top_down(net):
    from torch import nn

    return [(name, module) for name, module in reversed(list(net.named_modules()))
            if isinstance(module, (nn.Conv2d, nn.Linear))]


def _maps(net, method, tiles, targets, occlusion_window, occlusion_stride):
    import torch

    from glue_turbml.saliency_maps import occlusion_saliency

    from .saliency_export import reference_saliency

    if method == "occlusion":
        def forward(batch, *, batch_size):
            with torch.no_grad():
                return net(torch.from_numpy(batch)).numpy()
        return occlusion_saliency(forward, tiles, targets, window=occlusion_window,
                                  stride=occlusion_stride, baseline="mean", batch_size=256)
    return reference_saliency(net, tiles, targets, method)


def _spearman(first, second):
    from scipy.stats import spearmanr

    values = []
    for a, b in zip(first, second):
        a, b = np.ravel(a), np.ravel(b)
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            values.append(0.0)  # a constant map has no ranking (e.g. guided maps cut to zero)
        else:
            values.append(float(spearmanr(a, b).statistic))
    return float(np.mean(values))


def randomization_test(net, tiles, *, methods=("vanilla", "guided", "occlusion"), seed=0,
                       occlusion_window=None, occlusion_stride=None):
    """Cascading model-parameter randomization test.

    Parameters
    ----------
    net : torch.nn.Module
        The trained classifier (not modified).
    tiles : numpy.ndarray
        ``(n, C, T, T)`` held-out preprocessed tiles.
    methods : sequence of {"vanilla", "guided", "occlusion"}
    seed : int
        Seed of the re-initialisation.
    occlusion_window, occlusion_stride : int, optional
        Default ``T // 4`` and half of it (coarse, to keep the test quick).

    Returns
    -------
    dict
        ``stages`` (layer randomised last, cumulative from the top), and per method the mean
        Spearman correlations at each stage (``spearman_abs``, ``spearman_signed``), the
        fully randomised values and ``passes`` (``spearman_abs_fully_randomized <
        PASS_THRESHOLD``).
    """
    import torch

    tiles = np.ascontiguousarray(tiles, dtype=np.float32)
    tile_size = tiles.shape[-1]
    window = int(occlusion_window or tile_size // 4)
    step = int(occlusion_stride or max(1, window // 2))
    net = copy.deepcopy(net).eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(tiles)).numpy()
    n_classes = logits.shape[1]
    targets = np.eye(n_classes, dtype=np.float32)[logits.argmax(axis=1)]
    trained = {method: _maps(net, method, tiles, targets, window, step) for method in methods}
    results = {method: {"spearman_abs": [], "spearman_signed": []} for method in methods}
    stages = []
    torch.manual_seed(seed)
    for name, module in _layers_top_down(net):
        module.reset_parameters()
        stages.append(name)
        for method in methods:
            randomized = _maps(net, method, tiles, targets, window, step)
            results[method]["spearman_abs"].append(
                _spearman(np.abs(trained[method]), np.abs(randomized)))
            results[method]["spearman_signed"].append(_spearman(trained[method], randomized))
    for method in methods:
        record = results[method]
        record["spearman_abs_fully_randomized"] = record["spearman_abs"][-1]
        record["spearman_signed_fully_randomized"] = record["spearman_signed"][-1]
        record["passes"] = bool(record["spearman_abs_fully_randomized"] < PASS_THRESHOLD)
    return {
        "test": "model-parameter randomization (Adebayo et al. 2018), cascading from the output "
                "layer; Spearman rank correlation between trained and randomized maps, per tile, "
                "mean over tiles",
        "pass_rule": f"mean Spearman of absolute maps after randomizing every layer < "
                     f"{PASS_THRESHOLD}",
        "n_tiles": int(len(tiles)), "tile_size": int(tile_size), "seed": int(seed),
        "target": "class predicted by the trained network",
        "occlusion": {"window_px": window, "stride_px": step, "baseline": "tile mean"},
        "stages": stages, "methods": results,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="exported classifier (.onnx with a card)")
    parser.add_argument("--tiles", type=int, default=12, help="held-out tiles to compare")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--write-card", action="store_true",
                        help="record the result in the model card (saliency.sanity_checks)")
    args = parser.parse_args(argv)

    import onnx

    from glue_turbml.models import load_model_file, write_card

    from .add_saliency import realistic_tiles
    from .export import torch_classifier_from_onnx
    from .provenance import code_version, utc_timestamp

    start = time.perf_counter()
    loaded = load_model_file(args.model)
    net = torch_classifier_from_onnx(loaded)
    tiles = realistic_tiles(loaded.card, n_maps=4, seed=(2024, 12))
    tiles = tiles[np.random.default_rng(args.seed).permutation(len(tiles))[:args.tiles]]
    result = randomization_test(net, tiles, seed=args.seed)
    result.update({"command": "python -m training.saliency_sanity " + " ".join(
        argv if argv is not None else sys.argv[1:]), "code_version": code_version(),
        "date": utc_timestamp(), "weights_sha256": loaded.card["weights_sha256"],
        "seconds": round(time.perf_counter() - start, 1)})
    for method, record in result["methods"].items():
        stages = ", ".join(f"{stage} {value:+.2f}" for stage, value in
                           zip(result["stages"], record["spearman_abs"]))
        print(f"{method:>9}: Spearman |trained| vs |randomized| after each cumulative step: "
              f"{stages}  ->  {'PASSES' if record['passes'] else 'FAILS'} "
              f"(signed, fully randomized: {record['spearman_signed_fully_randomized']:+.2f})")
    if args.write_card:
        model_proto = onnx.load(os.fspath(args.model))
        card = json.loads(json.dumps(loaded.card))
        card["saliency"]["sanity_checks"] = {
            "model_parameter_randomization": {
                method: {"spearman_abs_fully_randomized":
                         round(record["spearman_abs_fully_randomized"], 4),
                         "spearman_signed_fully_randomized":
                         round(record["spearman_signed_fully_randomized"], 4),
                         "passes": record["passes"]}
                for method, record in result["methods"].items()},
            "pass_rule": result["pass_rule"], "n_tiles": result["n_tiles"],
            "command": result["command"], "date": result["date"],
            "advice": "use maps only of methods that pass: a method that fails shows the "
                      "input's structure whatever the network learned",
        }
        write_card(model_proto, card)
        onnx.save_model(model_proto, os.fspath(args.model), save_as_external_data=False)
        print(f"recorded in the card of {args.model}")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"wrote {args.report}")
    return result


if __name__ == "__main__":
    main()
