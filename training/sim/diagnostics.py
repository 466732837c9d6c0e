"""Run diagnostics: Mach numbers, energies and the normalised divergence of B (in float64)."""

import torch

from .ct import divergence

__all__ = ["turbulence_diagnostics", "sonic_mach", "state_extremes"]


def turbulence_diagnostics(state, grid, sound_speed):
    """Volume-weighted diagnostics of a state.

    Returns
    -------
    dict
        ``mach_sonic`` (v_rms / c_s), ``mach_alfven_mean`` (v_rms / |<B>|/sqrt(<rho>)),
        ``mach_alfven_total`` (v_rms / sqrt(<B^2>/<rho>)), ``kinetic_energy`` and
        ``magnetic_energy`` (box totals), ``mass``, ``divergence`` (max |div B| dx / max |B|).
    """
    density = state.density.to(torch.float64)
    velocity = state.momentum.to(torch.float64) / density
    cell_field = state.cell_field.to(torch.float64)
    volume = grid.cell_volume
    speed_squared = (velocity ** 2).sum(dim=0)
    v_rms = float(speed_squared.mean().sqrt())
    mean_density = float(density.mean())
    mean_field = float(cell_field.mean(dim=(1, 2, 3)).norm())
    total_field = float((cell_field ** 2).sum(dim=0).mean().sqrt())
    field_max = float(cell_field.norm(dim=0).max())
    div = float(divergence(state.face_field.to(torch.float64), grid.cell_sizes).abs().max())
    inf = float("inf")
    return {
        "mach_sonic": v_rms / sound_speed,
        "mach_alfven_mean": v_rms / (mean_field / mean_density ** 0.5) if mean_field else inf,
        "mach_alfven_total": v_rms / (total_field / mean_density ** 0.5) if total_field else inf,
        "kinetic_energy": 0.5 * float((density * speed_squared).sum()) * volume,
        "magnetic_energy": 0.5 * float((cell_field ** 2).sum()) * volume,
        "mass": float(density.sum()) * volume,
        "divergence": div * min(grid.cell_sizes) / field_max if field_max else div,
    }


def sonic_mach(state, sound_speed):
    """Volume-weighted v_rms / c_s (computed in float64; cheap enough for every step)."""
    momentum = state.momentum.to(torch.float64)
    speed_squared = (momentum * momentum).sum(dim=0) / state.density.to(torch.float64) ** 2
    return float(speed_squared.mean().sqrt()) / sound_speed


def state_extremes(state, sound_speed):
    """Volume- and mass-weighted M_s, the lowest density and the largest cell |v| / c_s (in
    float64): what the run log and the A/B trials watch for draining cells."""
    density = state.density.to(torch.float64)
    momentum = state.momentum.to(torch.float64)
    speed_squared = (momentum * momentum).sum(dim=0) / (density * density)
    return {"mach_sonic": float(speed_squared.mean().sqrt()) / sound_speed,
            "mach_sonic_mass_weighted": float(((density * speed_squared).sum() / density.sum())
                                              .sqrt()) / sound_speed,
            "density_min": float(density.min()),
            "cell_mach_max": float(speed_squared.max().sqrt()) / sound_speed}
