"""Small per-spectrum regressors (card input layout ``NC``) exported with saliency graphs.

The nets are `training.emission_lines.nets.EquivalentWidthGraph` MLPs (the architecture of the
shipped DESI emission-line models, with small hidden layers and seeded untrained weights); the
card is the shipped ``desi-emission-lines-red`` card under another name, so the test files have
the shipped interface (``colours`` -> ``equivalent_width``). Each file is exported with a
dynamic batch and given saliency graphs by `training.saliency.export.add_saliency_graphs`.
"""

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["N_FEATURES", "N_LINES", "make_feature_net", "feature_card", "feature_rows",
           "ExportedFeatureNet", "export_feature_net"]

#: Colours and lines of the shipped red-bin model, whose card the test files reuse.
N_FEATURES = 7
N_LINES = 10
REPOSITORY = Path(__file__).resolve().parents[3]


def make_feature_net(per_line, *, seed=0):
    """A seeded ``EquivalentWidthGraph``: one head per line, or one multi-output head."""
    from training.emission_lines.nets import EmissionLineNet, EquivalentWidthGraph

    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    mean = generator.normal(0.0, 0.05, size=N_FEATURES)
    std = generator.uniform(0.02, 0.1, size=N_FEATURES)
    net = EmissionLineNet(mean, std, n_lines=N_LINES, per_line=per_line, hidden=(16, 16))
    return EquivalentWidthGraph(net).eval()


def feature_rows(net, count, seed):
    """``(count, N_FEATURES)`` float32 colours around the net's standardisation constants."""
    rng = np.random.default_rng(seed)
    mean = net.net.colour_mean.numpy()
    std = net.net.colour_std.numpy()
    return (mean + std * rng.normal(size=(count, N_FEATURES))).astype(np.float32)


def feature_card(name):
    """The shipped red-bin card renamed, without saliency graphs, checks or metrics."""
    from glue_turbml.models import load_model_file

    card = copy.deepcopy(load_model_file(
        REPOSITORY / "onnx_models" / "desi-emission-lines-red.onnx").card)
    card.update(name=name, version="0.0.1", description="untrained per-spectrum test network",
                saliency={"methods": []}, metrics={})
    card.pop("weights_sha256", None)
    card["provenance"] = {"training_data": {"summary": "none"}, "split": {},
                          "command": "pytest", "code_version": "test",
                          "date": "2000-01-01T00:00:00Z"}
    return card


@dataclass
class ExportedFeatureNet:
    """A test net, its model file with saliency graphs, and the exporter's parity records."""

    net: torch.nn.Module
    path: Path
    parity: list


def export_feature_net(per_line, folder):
    """Export ``make_feature_net(per_line)`` with its card and both saliency graphs."""
    from torch.export import Dim

    from training.common.export import export_onnx_with_card
    from training.saliency.export import add_saliency_graphs

    net = make_feature_net(per_line)
    name = "per-line-net" if per_line else "shared-head-net"
    path = Path(folder) / f"{name}.onnx"
    card = feature_card(name)
    example = torch.from_numpy(feature_rows(net, 2, seed=1))
    export_onnx_with_card(net, (example,), path, card, input_names=[card["input"]["name"]],
                          output_names=[card["outputs"][0]["name"]],
                          dynamic_shapes=({0: Dim("batch", min=1)},))
    report = add_saliency_graphs(net, path, images=feature_rows(net, 20, seed=2),
                                 parity_batch_sizes=(2,))
    return ExportedFeatureNet(net, path, report["parity"])
