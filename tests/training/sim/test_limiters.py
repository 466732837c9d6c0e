"""Slope limiters: the minmod limiter added for the numerics levers of issue 13, against mc and
van Leer."""

import pytest
import torch

from training.sim.evolve import evolve
from training.sim.grid import Grid
from training.sim.problems import linear_wave
from training.sim.reconstruct import LIMITERS, limited_slope
from training.sim.solver import MHDSolver, SolverOptions
from training.sim.verify import rms_l1_error


def test_limiters_on_known_differences():
    backward = torch.tensor([1.0, -1.0, 1.0, 0.0, 3.0], dtype=torch.float64)
    forward = torch.tensor([3.0, -3.0, -2.0, 2.0, 1.0], dtype=torch.float64)
    expected = {"minmod": [1.0, -1.0, 0.0, 0.0, 1.0],
                "van_leer": [1.5, -1.5, 0.0, 0.0, 1.5],
                "mc": [2.0, -2.0, 0.0, 0.0, 2.0]}
    for limiter in LIMITERS:
        assert limited_slope(backward, forward, limiter).tolist() == expected[limiter]
    with pytest.raises(ValueError, match="minmod"):
        limited_slope(backward, forward, "superbee")


def test_minmod_is_the_most_diffusive_limiter_everywhere():
    generator = torch.Generator().manual_seed(0)
    backward = torch.randn(10_000, generator=generator, dtype=torch.float64)
    forward = torch.randn(10_000, generator=generator, dtype=torch.float64)
    minmod, van_leer, mc = (limited_slope(backward, forward, name).abs()
                            for name in ("minmod", "van_leer", "mc"))
    # min(a, b) <= 2ab / (a + b) <= min((a + b) / 2, 2 min(a, b)) for a, b > 0
    assert torch.all(minmod <= van_leer * (1 + 1e-12))
    assert torch.all(van_leer <= mc * (1 + 1e-12))
    assert float((minmod < 0.99 * van_leer).double().mean()) > 0.3


def test_minmod_linear_wave_converges_with_a_larger_error_than_van_leer():
    errors = {}
    for limiter in ("van_leer", "minmod"):
        for cells in (32, 64):
            grid = Grid((cells, 1, 1))
            set_up = linear_wave(grid, "fast", direction=1, mode=(1, 0, 0))
            final, _ = evolve(MHDSolver(grid, SolverOptions(limiter=limiter)), set_up.state,
                              set_up.period)
            errors[limiter, cells] = rms_l1_error(final, set_up.state)
    ratio = errors["minmod", 64] / errors["minmod", 32]
    # first order would halve the error (0.5), second order quarter it (0.25); minmod clips the
    # wave's extrema to first order, so it lands between, and above van Leer's
    assert ratio < 0.4
    assert ratio > errors["van_leer", 64] / errors["van_leer", 32]
    assert errors["minmod", 64] > 2.0 * errors["van_leer", 64]
