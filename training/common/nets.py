"""Compact, size-agnostic CNN classifiers for single-channel turbulence tiles."""

import torch
from torch import nn

__all__ = ["PixelDifferences", "TurbulenceCNN", "fold_batch_norm", "DihedralAverage",
           "count_weights"]


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


def fold_batch_norm(net):
    """A copy of a `TurbulenceCNN` in evaluation mode with each BatchNorm folded into its conv.

    The copy computes the same function as ``net.eval()`` (up to round-off) with biased
    convolutions and no normalisation layers (each BatchNorm becomes an ``nn.Identity``), the
    form the ONNX exporter writes for a net called once. A net called several times in one
    graph (`DihedralAverage`) shares its weights between the calls, and the exporter then
    leaves the BatchNorms unfolded; folding them first keeps every exported classifier in the
    one layout `training.common.export.torch_classifier_from_onnx` reads.

    Parameters
    ----------
    net : TurbulenceCNN

    Returns
    -------
    TurbulenceCNN
        In eval mode; ``net`` is not changed.
    """
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(net).eval()
    layers = list(folded.features)
    for index, layer in enumerate(layers[:-1]):
        if isinstance(layer, nn.Conv2d) and isinstance(layers[index + 1], nn.BatchNorm2d):
            folded.features[index] = fuse_conv_bn_eval(layer, layers[index + 1])
            folded.features[index + 1] = nn.Identity()
    return folded


class DihedralAverage(nn.Module):
    """A classifier that averages its pooled features over the 8 rotations and reflections of
    its input.

    The statistics of a density slice perpendicular to the mean field do not depend on how the
    slice is turned or mirrored, and the classifiers are trained with the same 8 copies
    (``augment="dihedral"``); a trained net is nevertheless not exactly invariant, and on the
    held-out Alfven runs its errors were maps whose 8 copies it did not agree on. Averaging
    makes the answer invariant by construction. The features are averaged, not the logits, so
    the head reads one pooled vector per tile: the embedding the domain check reads
    (`training.evaluation.add_domain.add_embedding_output`) is then the tile's, of shape
    ``(n, d)``. The conv trunk runs twice, once on the 4 copies of the input's shape (itself
    and its flips) and once on their transposes, so height and width may differ. It costs 8
    trunk passes per tile.

    Parameters
    ----------
    net : TurbulenceCNN
        Trained; export it with its BatchNorms folded (`fold_batch_norm`).

    Examples
    --------
    >>> net = DihedralAverage(TurbulenceCNN())
    >>> image = torch.rand(1, 1, 32, 40)
    >>> torch.allclose(net(image), net(image.flip(-1).transpose(-2, -1)), atol=1e-6)
    True
    """

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.config = dict(net.config, dihedral_average=True)
        self.spatial_multiple = net.spatial_multiple

    def forward(self, images):
        """Logits ``(n, K)``: the net's head on its pooled features averaged over 8 copies."""
        upright = torch.cat([images, images.flip(-1), images.flip(-2), images.flip(-2, -1)])
        pooled = torch.cat([self.net.forward_features(copies).mean(dim=(2, 3))
                            for copies in (upright, upright.transpose(-2, -1))])
        return self.net.head(pooled.reshape(8, -1, pooled.shape[-1]).mean(dim=0))


def count_weights(model):
    """Number of trainable parameters of a torch module."""
    return int(sum(parameter.numel() for parameter in model.parameters()
                   if parameter.requires_grad))
