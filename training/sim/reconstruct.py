"""Interface states from cell averages: donor cell (first order) and limited PLM (second order)."""

import torch

from .state import shift

__all__ = ["LIMITERS", "donor_cell", "piecewise_linear", "limited_slope",
           "density_stencil_extremes"]

# from sharpest to most diffusive: mc, van_leer, minmod (minmod is RAMSES's default slope limiter;
# it is here to bracket the dissipation range of other codes, issue 13)
LIMITERS = ("van_leer", "mc", "minmod")


def limited_slope(backward, forward, limiter):
    """Limited cell slope from backward and forward differences (zero at extrema).

    Parameters
    ----------
    backward, forward : torch.Tensor
        ``q[i] - q[i-1]`` and ``q[i+1] - q[i]``.
    limiter : {'van_leer', 'mc', 'minmod'}
        van Leer's harmonic mean, the monotonized-central limiter (sharper, less diffusive), or
        minmod, the smaller of the two one-sided differences (the most diffusive of the three).

    Returns
    -------
    torch.Tensor
        The slope times the cell width (a difference, like the inputs).
    """
    product = backward * forward
    same_sign = product > 0.0
    if limiter == "van_leer":
        # where the signs differ the harmonic mean is zero; the guard keeps 0/0 out of it
        total = torch.where(same_sign, backward + forward, torch.ones_like(product))
        return torch.where(same_sign, 2.0 * product / total, torch.zeros_like(product))
    if limiter == "mc":
        central = 0.5 * (backward + forward)
        bound = 2.0 * torch.minimum(backward.abs(), forward.abs())
        magnitude = torch.minimum(central.abs(), bound)
        return torch.where(same_sign, torch.sign(central) * magnitude, torch.zeros_like(product))
    if limiter == "minmod":
        magnitude = torch.minimum(backward.abs(), forward.abs())
        return torch.where(same_sign, torch.sign(backward) * magnitude, torch.zeros_like(product))
    raise ValueError(f"unknown limiter {limiter!r}; choose one of {LIMITERS}")


def density_stencil_extremes(density, axis):
    """Largest and smallest density over each cell's 3-cell stencil along ``axis`` (what the
    ln(rho) reconstruction and the flattener compare with their contrast thresholds)."""
    lower, upper = shift(density, 1, axis), shift(density, -1, axis)
    return (torch.maximum(torch.maximum(lower, upper), density),
            torch.minimum(torch.minimum(lower, upper), density))


def donor_cell(primitive, axis):
    """First-order states on the lower ``axis``-faces: (left, right) = (cell i-1, cell i)."""
    return shift(primitive, 1, axis), primitive


def piecewise_linear(primitive, axis, limiter, *, log_density_contrast=None,
                     flatten_density_contrast=None):
    """Limited linear states on the lower ``axis``-faces of every cell.

    Parameters
    ----------
    primitive : torch.Tensor
        Cell-centred primitives, shape (n_variables, nx, ny, nz); row 0 is the density.
    axis : int
        Direction of the faces.
    limiter : {'van_leer', 'mc', 'minmod'}
        Slope limiter.
    log_density_contrast : float, optional
        Reconstruct ln(rho) instead of rho in cells whose 3-cell stencil along ``axis`` spans
        more than this factor in density (row 0 must then be positive); None: rho everywhere.
        At a strong contrast the MC bound 2 min(|drho|) brings a dense cell's face density all
        the way down to its light neighbour's value, and the light cell stops exchanging mass
        and momentum with its dense neighbours (the low-beta drain of
        ``docs/results/sim_low_beta_vacuum.txt``); in ln(rho) the face stays a geometric step
        above it, and is positive. Low-contrast cells keep the rho reconstruction exactly.
    flatten_density_contrast : float, optional
        Use first-order (donor-cell) states for every variable in cells whose 3-cell stencil
        spans more than this factor in density (a shock flattener); None: never.

    Returns
    -------
    left, right : torch.Tensor
        States just left (from cell i-1) and right (from cell i) of face i-1/2.
    """
    backward = primitive - shift(primitive, 1, axis)
    slope = limited_slope(backward, shift(backward, -1, axis), limiter)
    left, right = shift(primitive + 0.5 * slope, 1, axis), primitive - 0.5 * slope
    if log_density_contrast is None and flatten_density_contrast is None:
        return left, right
    density = primitive[0]
    highest, lowest = density_stencil_extremes(density, axis)
    if log_density_contrast is not None:
        steep = highest > log_density_contrast * lowest
        # computed everywhere and selected (no data-dependent branch): a compiled step stays
        # one graph, and on CUDA the step never waits for the device to answer "any steep
        # cell?"
        log_density = torch.log(density)
        log_backward = log_density - shift(log_density, 1, axis)
        log_slope = limited_slope(log_backward, shift(log_backward, -1, axis), limiter)
        left[0] = torch.where(shift(steep, 1, axis),
                              shift(torch.exp(log_density + 0.5 * log_slope), 1, axis), left[0])
        right[0] = torch.where(steep, torch.exp(log_density - 0.5 * log_slope), right[0])
    if flatten_density_contrast is not None:
        flat = highest > flatten_density_contrast * lowest
        left = torch.where(shift(flat, 1, axis), shift(primitive, 1, axis), left)
        right = torch.where(flat, primitive, right)
    return left, right
