"""Adebayo et al. (2018) model-parameter randomization test of saliency methods, as a tool.

A saliency method that explains the *trained* network must give different maps once the
network's weights are destroyed. Starting from the output layer, layers are re-initialised one
after another (cascading randomization) and, after each step, every method's maps of held-out
tiles are compared with the trained network's maps by Spearman rank correlation (per tile, of
the absolute maps and of the signed maps, averaged over tiles). High correlation after the
whole network is randomised means the method shows the input's structure, not what the network
learned. Guided backpropagation is known to fail this test (Adebayo et al. 2018, Fig. 2).

Run from the repository root::

    python -m training.saliency.sanity onnx_models/kolmogorov-burgers-fbm.onnx \\
        --report docs/results/kolmogorov_burgers_sanity.json --write-card

``--write-card`` records the result in the model card (``saliency.sanity_checks``), so users
see which maps survive; the model's graph and weights are not touched.

Per-spectrum models (card input layout ``"NC"``, e.g. the DESI emission-line regressors on 11
colours) are compared over held-out galaxies (the DESI test split), one map of ``n_features``
values per galaxy. Occlusion is not run for them: the runtime's occlusion slides a window over
image tiles, and a feature vector has no neighbourhood to occlude (removing one colour is a
different method, feature ablation, that the runtime does not offer); the card says so
(``not_applicable``).
"""

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..common.provenance import command_line, write_report_if_asked

__all__ = ["randomization_test", "sanity_check_file", "describe", "main", "PASS_THRESHOLD",
           "DEFAULT_TILES", "DEFAULT_SPECTRA", "OCCLUSION_STRIDE_FRACTION",
           "NOT_APPLICABLE_TO_FEATURES"]

#: A method passes when the mean Spearman correlation (absolute maps) between the trained and
#: the fully randomised network's maps is below this value.
PASS_THRESHOLD = 0.5


def _layers_top_down(net):
    from torch import nn

    return [(name, module) for name, module in reversed(list(net.named_modules()))
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]


def _maps(net, method, tiles, targets, occlusion_window, occlusion_stride):
    import torch

    from glue_turbml.saliency_maps import occlusion_saliency

    from .export import reference_saliency

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


def _explained_targets(task, outputs):
    """What each method explains: the predicted class, the first output, or the first output
    channel (an image-to-image model's predicted mean) summed over the whole tile."""
    if task == "classification":
        return np.eye(outputs.shape[1], dtype=np.float32)[outputs.argmax(axis=1)], \
            "class predicted by the trained network"
    targets = np.zeros(outputs.shape, dtype=np.float32)
    targets[:, 0] = 1.0
    if task == "regression":
        return targets, "the first output"
    return targets, "the first output channel summed over the tile"


def randomization_test(net, tiles, *, methods=("vanilla", "guided", "occlusion"), seed=0,
                       task="classification", occlusion_window=None, occlusion_stride=None):
    """Cascading model-parameter randomization test.

    Parameters
    ----------
    net : torch.nn.Module
        The trained classifier, regressor or image-to-image model (not modified).
    tiles : numpy.ndarray
        ``(n, C, T, T)`` held-out preprocessed tiles, or ``(n, n_features)`` held-out feature
        rows (then ``methods`` must not include ``"occlusion"``).
    methods : sequence of {"vanilla", "guided", "occlusion"}
    seed : int
        Seed of the re-initialisation.
    task : {"classification", "regression", "image_to_image"}
        Chooses the explained score (see the ``target`` entry of the result).
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
    if tiles.ndim == 2 and "occlusion" in methods:
        raise ValueError("occlusion slides a window over image tiles; for (n, n_features) "
                         "inputs run methods=('vanilla', 'guided')")
    tile_size = tiles.shape[-1]
    window = int(occlusion_window or tile_size // 4)
    step = int(occlusion_stride or max(1, window // 2))
    net = copy.deepcopy(net).eval()
    with torch.no_grad():
        outputs = net(torch.from_numpy(tiles)).numpy()
    targets, explained = _explained_targets(task, outputs)
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
        "n_tiles": int(len(tiles)), "seed": int(seed),
        "target": explained, "task": task,
        **({"tile_size": int(tile_size)} if tiles.ndim == 4 else
           {"n_features": int(tiles.shape[1])}),
        **({"occlusion": {"window_px": window, "stride_px": step, "baseline": "tile mean"}}
           if "occlusion" in methods else {}),
        "stages": stages, "methods": results,
    }


#: Held-out tiles compared, and occlusion stride as a fraction of the window, per card task:
#: a U-Net's occlusion maps cost a forward pass of a whole tile per window position and stage.
DEFAULT_TILES = {"classification": 12, "regression": 12, "image_to_image": 6}
OCCLUSION_STRIDE_FRACTION = {"classification": 0.5, "regression": 0.5, "image_to_image": 1.0}
#: Held-out spectra (feature rows) compared for a card whose input layout is ``"NC"``: a map is
#: only ``n_features`` values, so many are cheap.
DEFAULT_SPECTRA = 256
#: Why a method is not run for feature inputs (recorded in the card).
NOT_APPLICABLE_TO_FEATURES = {
    "occlusion": "not applicable: occlusion slides a window over image tiles; a per-spectrum "
                 "feature vector (colours) has no spatial neighbourhood to occlude, and removing "
                 "single colours is feature ablation, which the runtime does not offer",
}


def sanity_check_file(path, *, n_tiles=None, seed=0, write_card=False, command=""):
    """Run `randomization_test` on an exported classifier and optionally record it in its card.

    Parameters
    ----------
    path : str or os.PathLike
        Exported classifier or U-Net (``.onnx`` with a card), rebuilt in torch with
        `training.saliency.add.rebuild_torch_net`.
    n_tiles : int, optional
        Held-out tiles compared (fresh fields, seeds unlike every training stream);
        `DEFAULT_TILES` of the card's task by default.
    seed : int
        Seed of the tile choice and of the re-initialisation.
    write_card : bool
        Record the result in the card (``saliency.sanity_checks``); the model's graph and
        weights are not touched.
    command : str
        Command line recorded with the result.

    Returns
    -------
    dict
        The `randomization_test` result with ``command``, ``code_version``, ``date``,
        ``weights_sha256`` and ``seconds``.
    """
    import onnx

    from glue_turbml.models import load_model_file, write_card as store_card

    from .add import held_out_inputs, rebuild_torch_net
    from ..common.provenance import code_version, utc_timestamp

    start = time.perf_counter()
    loaded = load_model_file(path)
    net = rebuild_torch_net(loaded)
    task = loaded.card["task"]
    features = loaded.card["input"].get("layout", "NCHW") == "NC"
    if features:
        # Seed 2025 draws other test-split galaxies than add_saliency's parity check.
        tiles = held_out_inputs(loaded.card, count=n_tiles or DEFAULT_SPECTRA, seed=2025)
        result = randomization_test(net, tiles, seed=seed, task=task,
                                    methods=("vanilla", "guided"))
        result["not_applicable"] = dict(NOT_APPLICABLE_TO_FEATURES)
        first = loaded.card["outputs"][0].get("channels", [{}])[0].get("name")
        if task == "regression" and first:
            result["target"] = f"the first output ({first})"
    else:
        n_tiles = DEFAULT_TILES[task] if n_tiles is None else int(n_tiles)
        tiles = held_out_inputs(loaded.card, count=4, seed=(2024, 12))
        tiles = tiles[np.random.default_rng(seed).permutation(len(tiles))[:n_tiles]]
        window = tiles.shape[-1] // 4
        result = randomization_test(
            net, tiles, seed=seed, task=task, occlusion_window=window,
            occlusion_stride=max(1, int(window * OCCLUSION_STRIDE_FRACTION[task])))
    result.update({"command": command, "code_version": code_version(),
                   "date": utc_timestamp(), "weights_sha256": loaded.card["weights_sha256"],
                   "seconds": round(time.perf_counter() - start, 1)})
    if write_card:
        model_proto = onnx.load(os.fspath(path))
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
            "explained": result["target"],
            **({"not_applicable": result["not_applicable"]}
               if "not_applicable" in result else {}),
            "command": result["command"], "date": result["date"],
            "advice": "use maps only of methods that pass: a method that fails shows the "
                      "input's structure whatever the network learned",
        }
        store_card(model_proto, card)
        onnx.save_model(model_proto, os.fspath(path), save_as_external_data=False)
    return result


def describe(result):
    """One line per method: Spearman after each cumulative randomization step, pass/fail."""
    lines = []
    for method, record in result["methods"].items():
        stages = ", ".join(f"{stage} {value:+.2f}" for stage, value in
                           zip(result["stages"], record["spearman_abs"]))
        lines.append(f"{method:>9}: Spearman |trained| vs |randomized| after each cumulative "
                     f"step: {stages}  ->  {'PASSES' if record['passes'] else 'FAILS'} "
                     f"(signed, fully randomized: "
                     f"{record['spearman_signed_fully_randomized']:+.2f})")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path,
                        help="exported classifier or U-Net (.onnx with a card)")
    parser.add_argument("--tiles", type=int, default=None,
                        help="held-out tiles to compare (12; 6 for U-Nets; 256 spectra for "
                             "per-spectrum models)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--write-card", action="store_true",
                        help="record the result in the model card (saliency.sanity_checks)")
    args = parser.parse_args(argv)
    command = command_line("training.saliency.sanity", sys.argv[1:] if argv is None else argv)
    result = sanity_check_file(args.model, n_tiles=args.tiles, seed=args.seed,
                               write_card=args.write_card, command=command)
    print(describe(result))
    if args.write_card:
        print(f"recorded in the card of {args.model}")
    write_report_if_asked(args.report, result)
    return result


if __name__ == "__main__":
    main()
