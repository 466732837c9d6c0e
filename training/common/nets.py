"""Compact, size-agnostic CNN classifiers for single-channel turbulence tiles."""

import torch
from torch import nn

__all__ = ["PixelDifferences", "TurbulenceCNN", "count_weights"]


class PixelDifferences(nn.Module):
    """Horizontal and vertical differences of neighbouring pixels, as two channels.

    Histogram-equalized tiles have values near 0.5 while the slope information sits in
    pixel-to-pixel increments about a hundred times smaller. A convolution applied to the raw
    values computes those increments as small sums of large terms, so float32 rounding (which
    differs between torch and onnxruntime kernels) is amplified about a hundredfold. Subtracting
    neighbours first is exact in float32 for nearby values, and every later layer then works on
    well-scaled numbers. The output is one pixel smaller in each direction; the level of the tile
    (its mean, about 0.5 after equalization) is the only thing dropped.

    Examples
    --------
    >>> PixelDifferences()(torch.zeros(3, 1, 16, 16)).shape
    torch.Size([3, 2, 15, 15])
    """

    def forward(self, images):
        """``(n, c, H, W)`` -> ``(n, 2c, H - 1, W - 1)``: x-differences, then y-differences."""
        along_x = images[:, :, 1:, 1:] - images[:, :, 1:, :-1]
        along_y = images[:, :, 1:, 1:] - images[:, :, :-1, 1:]
        return torch.cat([along_x, along_y], dim=1)


class TurbulenceCNN(nn.Module):
    """Small convolutional classifier: conv trunk, global average pooling, dense head.

    The trunk starts from pixel differences (`PixelDifferences`) and keeps full resolution in
    its first block, because the statistics that tell turbulence regimes apart (how increments
    grow from one to a few pixels) live at the smallest scales. Global average pooling, written
    as a mean over H and W, makes the exported graph accept any tile size.

    Parameters
    ----------
    in_channels : int, optional
        Image channels.
    n_classes : int, optional
        Number of output logits.
    widths : sequence of int, optional
        Channels of the conv blocks; every block but the last ends in a 2x2 max-pool.
    convs_per_block : int, optional
        3x3 convolutions (each followed by its own ReLU) per block.
    hidden : int, optional
        Width of the hidden dense layer.
    norm : {"group", "batch", "none"}, optional
        Normalisation between each convolution and its ReLU. Pixel-scale increments of a
        smooth, histogram-equalized map are tiny next to its large-scale values; normalising
        the conv outputs lets them drive the gradients from the start. ``"group"`` (one group:
        each tile's features scaled by their own spread) has no running statistics, so a
        trained net behaves the same in training and in evaluation and on any batch size.

    Examples
    --------
    >>> net = TurbulenceCNN()
    >>> net(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 2])
    """

    def __init__(self, *, in_channels=1, n_classes=2, widths=(16, 32, 32, 64), convs_per_block=1,
                 hidden=32, norm="batch"):
        super().__init__()
        self.config = {"in_channels": int(in_channels), "n_classes": int(n_classes),
                       "widths": [int(width) for width in widths],
                       "convs_per_block": int(convs_per_block), "hidden": int(hidden),
                       "norm": str(norm)}
        if norm not in ("group", "batch", "none"):
            raise ValueError(f"norm must be 'group', 'batch' or 'none', got {norm!r}")
        layers = [PixelDifferences()]
        channels = 2 * in_channels
        for block, width in enumerate(widths):
            for _ in range(convs_per_block):
                layers.append(nn.Conv2d(channels, width, kernel_size=3, padding=1,
                                        bias=norm == "none"))
                if norm == "group":
                    layers.append(nn.GroupNorm(1, width))
                elif norm == "batch":
                    layers.append(nn.BatchNorm2d(width))
                # One ReLU module per use, never in-place, so guided backpropagation and other
                # saliency hooks can attach to each activation separately.
                layers.append(nn.ReLU())
                channels = width
            if block < len(widths) - 1:
                layers.append(nn.MaxPool2d(kernel_size=2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )
        self.feature_channels = channels
        self.spatial_multiple = 2 ** (len(widths) - 1)

    def forward_features(self, images):
        """Feature maps ``(n, C, h, w)``, ``h = (H - 1) // 2^(blocks - 1)``, of ``(n, 1, H, W)``."""
        return self.features(images)

    def forward_head(self, features):
        """Class logits from feature maps: mean over H and W, then the dense layers."""
        pooled = features.mean(dim=(2, 3))
        return self.head(pooled)

    def forward(self, images):
        """Class logits ``(n, n_classes)``; softmax is left to the loss and to the runtime."""
        return self.forward_head(self.forward_features(images))


def count_weights(model):
    """Number of trainable parameters of a torch module."""
    return int(sum(parameter.numel() for parameter in model.parameters()
                   if parameter.requires_grad))
