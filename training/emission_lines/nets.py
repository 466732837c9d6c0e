"""Small MLPs predicting arcsinh(EW) of ten emission lines from 11 continuum colours."""

import torch
from torch import nn

__all__ = ["ColourMLP", "EmissionLineNet", "EquivalentWidthGraph"]


class ColourMLP(nn.Module):
    """``n_in -> hidden -> ... -> n_out`` with ReLU modules between linear layers.

    Parameters
    ----------
    n_in : int
    n_out : int
    hidden : sequence of int
    """

    def __init__(self, n_in, n_out, hidden=(64, 64, 64)):
        super().__init__()
        layers, width = [], n_in
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, n_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, features):
        """``(batch, n_in)`` -> ``(batch, n_out)``."""
        return self.layers(features)


class EmissionLineNet(nn.Module):
    """Standardise the colours, then one multi-output MLP or one MLP per line.

    The standardisation constants are buffers, so the exported graph takes raw colours and the
    runtime needs no extra numbers beyond the card's binning contract.

    Parameters
    ----------
    colour_mean, colour_std : torch.Tensor
        ``(n_colours,)`` training-set statistics.
    n_lines : int
    per_line : bool
        One MLP per line (outputs concatenated) instead of one shared multi-output MLP.
    hidden : sequence of int
    """

    def __init__(self, colour_mean, colour_std, *, n_lines, per_line, hidden=(64, 64, 64)):
        super().__init__()
        self.register_buffer("colour_mean", torch.as_tensor(colour_mean, dtype=torch.float32))
        self.register_buffer("colour_std", torch.as_tensor(colour_std, dtype=torch.float32))
        n_in = int(self.colour_mean.numel())
        self.per_line = bool(per_line)
        if self.per_line:
            self.heads = nn.ModuleList(ColourMLP(n_in, 1, hidden) for _ in range(n_lines))
        else:
            self.heads = nn.ModuleList([ColourMLP(n_in, n_lines, hidden)])

    def forward(self, colours):
        """``(batch, n_colours)`` raw colours -> ``(batch, n_lines)`` arcsinh(EW / Angstrom)."""
        standardized = (colours - self.colour_mean) / self.colour_std
        return torch.cat([head(standardized) for head in self.heads], dim=1)


class EquivalentWidthGraph(nn.Module):
    """What is exported: the net followed by ``sinh``, so the graph returns EW in Angstrom."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, colours):
        """``(batch, n_colours)`` -> ``(batch, n_lines)`` EW in Angstrom, positive = emission."""
        return torch.sinh(self.net(colours))
