"""A small, saliency-exportable U-Net predicting a per-pixel mean and log-variance."""

import numpy as np
import torch
from torch import nn

__all__ = ["ProbabilisticUNet", "gaussian_nll", "mean_then_variance_loss",
           "receptive_field_radius"]


def _conv_block(in_channels, out_channels, convs):
    layers = []
    for index in range(convs):
        layers += [nn.Conv2d(in_channels if index == 0 else out_channels, out_channels,
                             kernel_size=3, padding=1),
                   # One ReLU module per use, never in-place: saliency hooks attach to each.
                   nn.ReLU()]
    return nn.Sequential(*layers)


class ProbabilisticUNet(nn.Module):
    """U-Net with max-pool down, nearest-neighbour up + conv, and two output channels.

    Channel 0 is the predicted mean of the target, channel 1 its log-variance (natural log of
    the variance of the target), trained with a heteroscedastic Gaussian likelihood
    (`gaussian_nll`). There is no normalisation layer, so each output pixel depends only on the
    input within the receptive field: tiles of a large map give exactly the whole-map answer
    away from their edges. Height and width must be multiples of `spatial_multiple`.

    Parameters
    ----------
    in_channels : int, optional
    widths : sequence of int, optional
        Channels per level, from full resolution down to the bottleneck.
    convs_per_block : int, optional
        3x3 convolutions (each with its own ReLU) per block.
    log_variance_range : tuple of float, optional
        The log-variance is clamped to this range, so the likelihood cannot diverge on
        pixels the net fits exactly.
    detach_variance : bool, optional
        While training, the log-variance channel reads the features with their gradient
        stopped, so the likelihood never reshapes the features the mean is made from. (On
        column-density maps whose target the mean fits to ~0.006 dex^2, the likelihood's
        gradients through the shared features tripled the mean's error.) Evaluation and the
        exported graph are the same either way: one head on the same features.
    variance_hidden : int, optional
        If positive, the log-variance comes from its own small head on the same features, a
        1x1 convolution to this many channels, a ReLU and a 1x1 convolution to one (channel 1
        of ``head`` is then unused), instead of being linear in them: one linear row could not
        give hydro and MHD runs their own error levels.
    variance_context_px : int, optional
        If positive (odd; with ``variance_hidden``), the separate log-variance head also reads
        each feature's mean over this many px square around the pixel: the per-pixel features
        do not tell apart classes of run whose errors differ (hydro runs of shallow and steep
        spectra), their surroundings do. A window, not the whole input, keeps each output
        pixel a function of the input within a fixed radius (`receptive_field_radius`), so
        tiles still give the whole-map answer.
    map_statistics : sequence of str, optional
        Names from `glue_turbml.core.MAP_STATISTICS` (with ``variance_hidden``): the separate
        log-variance head also reads these statistics of the whole map, given to `forward`
        beside the images (one row per image) and broadcast over every pixel. They are
        computed on the whole map before tiling (`glue_turbml.core.map_statistics`), so tiles
        still give the whole-map answer; the classes of run whose errors differ at equal local
        features differ in them (docs/results/mwd_variance_map_statistics_experiment.txt).
        The head reads them standardized by `set_statistics_scaling`.

    Examples
    --------
    >>> net = ProbabilisticUNet(widths=(8, 16, 32))
    >>> net(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 2, 64, 64])
    """

    def __init__(self, *, in_channels=1, widths=(16, 32, 64), convs_per_block=2,
                 log_variance_range=(-12.0, 4.0), detach_variance=False, variance_hidden=0,
                 variance_context_px=0, map_statistics=()):
        super().__init__()
        widths = [int(width) for width in widths]
        self.config = {"in_channels": int(in_channels), "widths": widths,
                       "convs_per_block": int(convs_per_block),
                       "log_variance_range": [float(value) for value in log_variance_range],
                       "detach_variance": bool(detach_variance),
                       "variance_hidden": int(variance_hidden),
                       "variance_context_px": int(variance_context_px),
                       "map_statistics": [str(name) for name in map_statistics]}
        if map_statistics and not variance_hidden:
            raise ValueError("map_statistics are read by the separate log-variance head: "
                             "build the net with variance_hidden > 0")
        self.map_statistics = tuple(self.config["map_statistics"])
        count = len(self.map_statistics)
        self.register_buffer("statistics_centre", torch.zeros(count))
        self.register_buffer("statistics_scale", torch.ones(count))
        if variance_context_px and (not variance_hidden or variance_context_px % 2 == 0):
            raise ValueError("variance_context_px must be odd and needs variance_hidden > 0, "
                             f"got {variance_context_px} with variance_hidden "
                             f"{variance_hidden}")
        self.variance_context_px = int(variance_context_px)
        self.detach_variance = bool(detach_variance)
        self.log_variance_range = tuple(float(value) for value in log_variance_range)
        self.encoders = nn.ModuleList()
        channels = in_channels
        for width in widths:
            self.encoders.append(_conv_block(channels, width, convs_per_block))
            channels = width
        self.pools = nn.ModuleList(nn.MaxPool2d(kernel_size=2) for _ in widths[:-1])
        self.upsamples = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for width in reversed(widths[:-1]):
            self.upsamples.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                                nn.Conv2d(channels, width, kernel_size=3,
                                                          padding=1),
                                                nn.ReLU()))
            self.decoders.append(_conv_block(2 * width, width, convs_per_block))
            channels = width
        self.head = nn.Conv2d(channels, 2, kernel_size=1)
        context_channels = channels if variance_context_px else 0
        self.variance_head = None if not variance_hidden else nn.Sequential(
            nn.Conv2d(channels + context_channels + count, int(variance_hidden), kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(int(variance_hidden), 1, kernel_size=1))
        self.spatial_multiple = 2 ** (len(widths) - 1)

    def set_statistics_scaling(self, statistics):
        """Standardize the map statistics the head reads by their mean and spread over
        ``statistics`` (``(n_maps, len(map_statistics))``, the training maps'); the values
        are kept in `config` so a rebuilt net reads them alike."""
        values = np.asarray(statistics, dtype=np.float64).reshape(-1, len(self.map_statistics))
        centre = values.mean(axis=0)
        scale = np.where(values.std(axis=0) > 0, values.std(axis=0), 1.0)
        self.load_statistics_scaling(centre, scale)

    def load_statistics_scaling(self, centre, scale):
        """Set the statistics' standardization (`set_statistics_scaling`) from known values."""
        with torch.no_grad():
            self.statistics_centre.copy_(torch.as_tensor(np.asarray(centre, dtype=np.float32)))
            self.statistics_scale.copy_(torch.as_tensor(np.asarray(scale, dtype=np.float32)))
        self.config["map_statistics_centre"] = [float(value) for value in centre]
        self.config["map_statistics_scale"] = [float(value) for value in scale]

    def forward(self, images, map_statistics=None):
        """``(n, C, H, W)`` -> ``(n, 2, H, W)``: predicted mean and log-variance.

        ``map_statistics`` ``(n, len(self.map_statistics))`` are the statistics of the whole
        map each image is cut from; a net built with them reads the training maps' average
        when they are not given (as when the crops it trains on are pieces of maps).
        """
        skips = []
        features = images
        for level, encoder in enumerate(self.encoders):
            features = encoder(features)
            if level < len(self.pools):
                skips.append(features)
                features = self.pools[level](features)
        for upsample, decoder, skip in zip(self.upsamples, self.decoders, reversed(skips)):
            features = decoder(torch.cat([upsample(features), skip], dim=1))
        output = self.head(features)
        variance_features = features.detach() if self.training and self.detach_variance \
            else features
        if self.variance_head is not None:
            head_inputs = self.variance_inputs(variance_features)
            if self.map_statistics:
                head_inputs = torch.cat([head_inputs,
                                         self._statistics_planes(map_statistics, features)],
                                        dim=1)
            output = torch.cat([output[:, :1], self.variance_head(head_inputs)], dim=1)
        elif self.training and self.detach_variance:
            output = torch.cat([output[:, :1], self.head(variance_features)[:, 1:]], dim=1)
        mean = output[:, :1]
        log_variance = torch.clamp(output[:, 1:], *self.log_variance_range)
        return torch.cat([mean, log_variance], dim=1)

    def _statistics_planes(self, map_statistics, features):
        """The standardized statistics as constant planes the size of ``features``."""
        count, _, height, width = features.shape
        if map_statistics is None:
            standardized = features.new_zeros((count, len(self.map_statistics)))
        else:
            standardized = (map_statistics.to(features.dtype) - self.statistics_centre) \
                / self.statistics_scale
        return standardized[:, :, None, None].expand(-1, -1, height, width)

    def variance_inputs(self, features):
        """What the separate log-variance head reads: the features, and with
        ``variance_context_px`` their local means too."""
        if not self.variance_context_px:
            return features
        width = self.variance_context_px
        context = nn.functional.avg_pool2d(features, kernel_size=width, stride=1,
                                           padding=width // 2, count_include_pad=False)
        return torch.cat([features, context], dim=1)


def gaussian_nll(prediction, target):
    """Mean heteroscedastic Gaussian negative log-likelihood (without the constant).

    Parameters
    ----------
    prediction : torch.Tensor
        ``(n, 2, H, W)`` mean and log-variance.
    target : torch.Tensor
        ``(n, 1, H, W)``.

    Returns
    -------
    torch.Tensor
        Scalar ``mean(0.5 * (log_var + (target - mean)^2 / var))``.
    """
    mean, log_variance = prediction[:, :1], prediction[:, 1:]
    return 0.5 * torch.mean(log_variance + (target - mean) ** 2 * torch.exp(-log_variance))


def mean_then_variance_loss(prediction, target):
    """Squared error for the mean plus Gaussian NLL for the variance around a frozen mean.

    Minimising the full likelihood lets the net buy loss by inflating the variance where the
    mean is still poor, which slows and destabilises the mean (Seitzer et al. 2022, "On the
    pitfalls of heteroscedastic uncertainty estimation"). Here the mean gets the plain
    squared-error gradient, and the log-variance learns the likelihood of the residuals of that
    mean (gradient stopped through the mean), so it converges to the expected squared error.

    Parameters
    ----------
    prediction : torch.Tensor
        ``(n, 2, H, W)`` mean and log-variance.
    target : torch.Tensor
        ``(n, 1, H, W)``.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    mean = prediction[:, :1]
    frozen = torch.cat([mean.detach(), prediction[:, 1:]], dim=1)
    return torch.mean((mean - target) ** 2) + gaussian_nll(frozen, target)


def receptive_field_radius(model, *, size=None):
    """Largest distance (pixels, Chebyshev) at which an input pixel can change an output pixel.

    Measured on a copy of the net in which every path is open: positive weights and biases
    (no ReLU ever cuts a path) and average instead of max pooling (each pooled value depends on
    its whole window, a superset of the pixel a max-pool picks). The gradient of the centre
    output pixel is then non-zero exactly on the architecture's receptive field, which bounds
    what any trained weights can see.

    Parameters
    ----------
    model : ProbabilisticUNet
    size : int, optional
        Side of the probe image; 8 spatial multiples by default.

    Returns
    -------
    int
    """
    import copy

    size = size or 8 * model.spatial_multiple
    probe_net = copy.deepcopy(model).double()
    with torch.no_grad():
        for module in probe_net.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(1.0 / module.weight[0].numel())
                module.bias.fill_(0.1)
    probe_net.pools = nn.ModuleList(nn.AvgPool2d(kernel_size=2) for _ in probe_net.pools)
    probe = torch.ones((1, model.config["in_channels"], size, size), dtype=torch.float64,
                       requires_grad=True)
    output = probe_net(probe)
    radius = 0
    # Pixels at different positions within a pooling block see slightly different extents.
    for phase in range(model.spatial_multiple):
        centre = size // 2 + phase
        # Channel 0 (the mean) has no clamp, so its gradient is never cut.
        (gradient,) = torch.autograd.grad(output[0, 0, centre, centre], probe, retain_graph=True)
        rows, columns = torch.nonzero(gradient[0].abs().sum(dim=0) > 0, as_tuple=True)
        radius = max(radius, int((rows - centre).abs().max()), int((columns - centre).abs().max()))
    # the log-variance's local means reach half a window further than the features
    return radius + getattr(model, "variance_context_px", 0) // 2
