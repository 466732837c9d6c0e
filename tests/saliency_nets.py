"""Small real networks exported with saliency graphs, shared by the runtime and training saliency
tests (their conftests import the fixtures).

Two architectures, as issue 4 asks: one with max pooling (and three classes), one with strided
convolutions (odd kernel/stride combinations that drop input rows, and eval-mode BatchNorm).
Each is exported once per test session with `training.common.export.export_classifier` and
`training.saliency.export.add_saliency_graphs`, into a temporary folder.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import torch
from torch import nn

from tests.card_builders import untrained_classifier_card

#: Tile size of the cards (and of the tracing example); parity runs at other sizes too.
TILE_SIZE = 32


class MaxPoolCNN(nn.Module):
    """conv-relu-maxpool x2, conv-relu, global mean, dense head; three classes."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, images):
        return self.head(self.features(images).mean(dim=(2, 3)))


class StridedCNN(nn.Module):
    """Strided convolutions only (no pooling), one with BatchNorm; two classes."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(16, 16, 3, stride=2), nn.ReLU())
        self.head = nn.Linear(16, 2)

    def forward(self, images):
        return self.head(self.features(images).mean(dim=(2, 3)))


def make_net(kind, seed=0):
    """An untrained net with seeded weights (and non-trivial BatchNorm statistics), eval mode."""
    torch.manual_seed(seed)
    net = {"maxpool": MaxPoolCNN, "strided": StridedCNN}[kind]()
    generator = torch.Generator().manual_seed(seed + 1)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            with torch.no_grad():
                features = module.num_features
                module.running_mean.copy_(torch.rand(features, generator=generator) - 0.5)
                module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=generator))
                module.weight.copy_(0.5 + torch.rand(module.num_features, generator=generator))
                module.bias.copy_(0.2 * torch.randn(module.num_features, generator=generator))
    return net.eval()


def make_card(name, n_classes, *, tile_size=TILE_SIZE):
    """A schema-valid classification card for a test net."""
    return untrained_classifier_card(name=name, n_classes=n_classes, tile_size=tile_size)


def equalized_tiles(count, size, seed):
    """``(count, 1, size, size)`` float32 tiles like the runtime feeds: equalized lognormal maps."""
    from glue_turbml.core import build_pipeline

    rng = np.random.default_rng(seed)
    raw = np.exp(rng.normal(size=(count, size, size)))
    pipeline = build_pipeline([{"op": "log10"}, {"op": "equalize_hist", "nbins": 256}])
    return pipeline(raw)[:, np.newaxis].astype(np.float32)


@dataclass
class ExportedNet:
    """A test net, its exported model file (with saliency graphs) and the export report."""

    kind: str
    net: nn.Module
    path: Path
    n_classes: int
    parity: list


def _export(kind, folder):
    from training.common.export import export_classifier
    from training.saliency.export import add_saliency_graphs

    net = make_net(kind)
    n_classes = 3 if kind == "maxpool" else 2
    path = Path(folder) / f"{kind}-net.onnx"
    export_classifier(net, path, make_card(f"{kind}-net", n_classes), tile_size=TILE_SIZE,
                      parity_batch_sizes=(2,), parity_tile_sizes=(TILE_SIZE,))
    report = add_saliency_graphs(net, path, images=equalized_tiles(8, 64, seed=5),
                                 parity_batch_sizes=(2,), parity_tile_sizes=(TILE_SIZE,))
    return ExportedNet(kind, net, path, n_classes, report["parity"])


@pytest.fixture(scope="session")
def exported_nets(tmp_path_factory):
    """``{"maxpool": ExportedNet, "strided": ExportedNet}``, exported once per session."""
    folder = tmp_path_factory.mktemp("saliency_models")
    return {kind: _export(kind, folder) for kind in ("maxpool", "strided")}


#: Which graphs each regression / image-to-image test net gets: both methods where the
#: architecture is new to the exporter, one where only an upsampling variant is new (exports
#: take seconds each; the test suite must stay fast).
TASK_NET_METHODS = {"regressor": ("vanilla", "guided"), "unet": ("vanilla", "guided"),
                    "unet_transpose": ("guided",), "unet_issue5": ("guided",)}


@pytest.fixture(scope="session")
def exported_task_nets(tmp_path_factory):
    """``{kind: ExportedTaskNet}`` for the nets of `tests.saliency_task_nets`, once a session."""
    from tests.saliency_task_nets import export_task_net

    folder = tmp_path_factory.mktemp("saliency_task_models")
    images = equalized_tiles(6, 48, seed=6)
    return {kind: export_task_net(kind, folder, images, methods=methods)
            for kind, methods in TASK_NET_METHODS.items()}
