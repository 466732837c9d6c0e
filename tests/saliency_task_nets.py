"""Small regression and image-to-image test nets, their cards and their exported files.

Issue 4 asks for saliency graphs of every classifier *and regressor*: these nets cover the
card tasks ``regression`` (strided convolutions, global mean, linear head: a vector output)
and ``image_to_image`` (U-Nets with max-pool encoders, skip concatenation and two output
channels, mean and log-variance; upsampling by nearest neighbour + conv, or by
``ConvTranspose2d``). Files are exported with the card's output name, as a trained model's
would be, then given saliency graphs by `training.saliency.export.add_saliency_graphs`.
"""

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tests.card_builders import untrained_classifier_card, untrained_image_to_image_card

__all__ = ["RegressorCNN", "SmallUNet", "make_task_net", "regression_card",
           "image_to_image_card", "export_model_file", "ExportedTaskNet", "export_task_net",
           "UNET_MULTIPLE", "TASK_TILE_SIZE", "WeightedOutput", "region_targets"]

#: Tile size of the cards; the U-Nets pool twice, so sizes are multiples of 4.
TASK_TILE_SIZE = 32
UNET_MULTIPLE = 4


class RegressorCNN(nn.Module):
    """Strided convolutions (one dropping input rows at odd sizes), global mean, linear head."""

    def __init__(self, n_outputs=3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, stride=2), nn.ReLU())
        self.head = nn.Linear(16, n_outputs)

    def forward(self, images):
        return self.head(self.features(images).mean(dim=(2, 3)))


class SmallUNet(nn.Module):
    """Two-level U-Net: max-pool down, nearest (+ conv) or transposed-conv up, skip concat.

    Output channel 0 is a mean, channel 1 a log-variance (as the issue-5 U-Nets predict).
    """

    def __init__(self, upsample="nearest"):
        super().__init__()
        self.encoder1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.pool1 = nn.MaxPool2d(2)
        self.encoder2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.pool2 = nn.MaxPool2d(2)
        self.bottleneck = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.up2 = self._upsample(upsample, 16, 16)
        self.decoder2 = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1), nn.ReLU())
        self.up1 = self._upsample(upsample, 16, 8)
        self.decoder1 = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(8, 2, 1)

    @staticmethod
    def _upsample(kind, in_channels, out_channels):
        if kind == "nearest":
            return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                 nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU())
        if kind == "transpose":
            return nn.Sequential(nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2),
                                 nn.ReLU())
        raise ValueError(f"upsample must be 'nearest' or 'transpose', got {kind!r}")

    def forward(self, images):
        skip1 = self.encoder1(images)
        skip2 = self.encoder2(self.pool1(skip1))
        features = self.bottleneck(self.pool2(skip2))
        features = self.decoder2(torch.cat([self.up2(features), skip2], dim=1))
        features = self.decoder1(torch.cat([self.up1(features), skip1], dim=1))
        return self.head(features)


def _issue5_unet():
    from training.unet.nets import ProbabilisticUNet

    return ProbabilisticUNet(widths=(4, 8, 8), convs_per_block=1)


def make_task_net(kind, seed=0):
    """A seeded test net in eval mode.

    ``"regressor"`` (3 outputs), ``"unet"`` (nearest upsampling), ``"unet_transpose"``
    (``ConvTranspose2d`` upsampling) or ``"unet_issue5"`` (a small untrained
    `training.unet.nets.ProbabilisticUNet`, the architecture of the shipped U-Nets).
    """
    torch.manual_seed(seed)
    net = {"regressor": lambda: RegressorCNN(3), "unet": lambda: SmallUNet("nearest"),
           "unet_transpose": lambda: SmallUNet("transpose"), "unet_issue5": _issue5_unet}[kind]()
    return net.eval()


def regression_card(name, n_outputs, *, tile_size=TASK_TILE_SIZE):
    """A schema-valid ``regression`` card with one ``(batch, n_outputs)`` output."""
    card = copy.deepcopy(untrained_classifier_card(name=name, tile_size=tile_size))
    del card["classes"]
    card["task"] = "regression"
    card["outputs"] = [{"name": "prediction", "units": "",
                        "description": f"{n_outputs} regressed quantities",
                        "activation": "none"}]
    return card


def image_to_image_card(name, *, tile_size=TASK_TILE_SIZE):
    """A schema-valid ``image_to_image`` card: two output channels, mean and log-variance."""
    card = untrained_image_to_image_card(
        name=name, tile_size=tile_size, output_description="per-pixel mean and log-variance",
        channels=[{"name": "mean", "description": "predicted mean", "units": ""},
                  {"name": "log_variance", "description": "ln of the variance", "units": ""}])
    card["input"]["spatial_multiple"] = UNET_MULTIPLE
    return card


def export_model_file(net, path, card, *, spatial_multiple=1):
    """Export ``net``'s forward pass with the card's input and output names and the card."""
    from torch.export import Dim

    from training.common.export import export_onnx_with_card

    tile_size = card["input"]["tile_size"]
    if spatial_multiple > 1:
        height = spatial_multiple * Dim("height_blocks", min=2)
        width = spatial_multiple * Dim("width_blocks", min=2)
    else:
        height, width = Dim("height", min=8), Dim("width", min=8)
    example = torch.rand((2, 1, tile_size, tile_size), generator=torch.Generator().manual_seed(1))
    export_onnx_with_card(net, (example,), path, card, input_names=[card["input"]["name"]],
                          output_names=[card["outputs"][0]["name"]],
                          dynamic_shapes=({0: Dim("batch", min=1), 2: height, 3: width},))
    return Path(path)


@dataclass
class ExportedTaskNet:
    """A test net, its model file with saliency graphs, and the exporter's parity records."""

    kind: str
    task: str
    net: nn.Module
    path: Path
    parity: list


def export_task_net(kind, folder, images, *, methods=("vanilla", "guided")):
    """Export ``make_task_net(kind)`` with its card and saliency graphs into ``folder``.

    The exporter's own parity check runs at one shape only (the tests check more).
    """
    from training.saliency.export import add_saliency_graphs

    net = make_task_net(kind)
    path = Path(folder) / f"{kind.replace('_', '-')}-net.onnx"
    if kind == "regressor":
        card, multiple = regression_card(path.stem, net.head.out_features), 1
    else:
        card = image_to_image_card(path.stem)
        multiple = getattr(net, "spatial_multiple", UNET_MULTIPLE)
        card["input"]["spatial_multiple"] = multiple
    export_model_file(net, path, card, spatial_multiple=multiple)
    report = add_saliency_graphs(net, path, images=images, methods=methods,
                                 parity_batch_sizes=(2,), parity_tile_sizes=(TASK_TILE_SIZE,))
    return ExportedTaskNet(kind, card["task"], net, path, report["parity"])


class WeightedOutput(nn.Module):
    """``sum(weights * net(images))`` per sample: an image-to-image score Captum can explain
    (``net(images, statistics)`` for a U-Net that reads its maps' statistics)."""

    def __init__(self, net, weights, statistics=None):
        super().__init__()
        self.net = net
        self.weights = weights
        self.statistics = statistics

    def forward(self, images):
        arguments = (images,) if self.statistics is None else (images, self.statistics)
        return (self.net(*arguments) * self.weights).flatten(1).sum(dim=1)


def region_targets(output_shape, rng):
    """One random rectangle (at least half the side) of ones in channel ``i % C`` of tile i."""
    target = np.zeros(output_shape, dtype=np.float32)
    count, channels, height, width = output_shape
    for number in range(count):
        rows, columns = (int(rng.integers(size // 2, size + 1)) for size in (height, width))
        y0, x0 = int(rng.integers(0, height - rows + 1)), int(rng.integers(0, width - columns + 1))
        target[number, number % channels, y0:y0 + rows, x0:x0 + columns] = 1.0
    return target
