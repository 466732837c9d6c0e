"""Solenoidal Ornstein-Uhlenbeck driving at a fixed energy injection rate.

The random numbers are drawn on the CPU from a seeded generator in float64 and only then moved to
the run's device, so CPU and CUDA runs with the same seed are driven identically.
"""

import itertools
import math

import torch

__all__ = ["OUForcing", "solenoidal_residual", "forcing_modes"]


def forcing_modes(grid, k_min, k_max):
    """Integer mode vectors (m_x, m_y, m_z) with k_min <= |m| <= k_max on the active axes."""
    reach = int(math.floor(k_max))
    ranges = [range(-reach, reach + 1) if cells > 1 else range(1) for cells in grid.shape]
    modes = [mode for mode in itertools.product(*ranges)
             if k_min ** 2 <= sum(m * m for m in mode) <= k_max ** 2]
    for mode in modes:
        for m, cells in zip(mode, grid.shape):
            if cells > 1 and 2 * abs(m) >= cells:
                raise ValueError(f"forcing mode {mode} is not resolved by a grid of "
                                 f"{grid.shape} cells; lower k_max or refine the grid")
    return torch.tensor(modes, dtype=torch.int64)


def solenoidal_residual(field, grid):
    """sum |k . f_k| / sum |k| |f_k| of a real vector field (3, nx, ny, nz): 0 if solenoidal."""
    spectrum = torch.fft.fftn(field.to(torch.float64), dim=(1, 2, 3))
    wavenumbers = torch.meshgrid(
        *[torch.fft.fftfreq(cells, d=1.0 / cells, dtype=torch.float64, device=field.device)
          * (2.0 * math.pi / length) for cells, length in zip(grid.shape, grid.lengths)],
        indexing="ij")
    k_dot_f = sum(wavenumbers[c] * spectrum[c] for c in range(3))
    k_norm = torch.sqrt(sum(k * k for k in wavenumbers))
    f_norm = spectrum.abs().pow(2).sum(dim=0).sqrt()
    return float(k_dot_f.abs().sum() / (k_norm * f_norm).sum())


class OUForcing:
    """Ornstein-Uhlenbeck acceleration field with modes 1 <= |k| <= 3 (by default), solenoidal.

    Parameters
    ----------
    grid : Grid
        The box.
    energy_injection_rate : float
        Kinetic energy per unit volume and time that each kick adds, exactly.
    correlation_time : float
        OU autocorrelation time of the mode amplitudes.
    seed : int
        Seed of the CPU generator that drives everything random here.
    k_min, k_max : float
        Band of |m| (wavenumber in units of 2 pi / L).
    device : str or torch.device
        Device of the returned fields.
    dtype : torch.dtype
        Dtype of the returned acceleration field.
    slope : float, optional
        Weight mode m by |m|^(-slope / 2), so the pattern's power spectrum goes as |k|^-slope;
        None gives every mode the same variance.
    """

    def __init__(self, grid, *, energy_injection_rate, correlation_time, seed, k_min=1.0,
                 k_max=3.0, device="cpu", dtype=torch.float64, slope=None):
        if not correlation_time > 0.0:
            raise ValueError(f"correlation_time must be positive, got {correlation_time!r}")
        if not energy_injection_rate >= 0.0:
            raise ValueError(f"energy_injection_rate must be >= 0, got {energy_injection_rate!r}")
        self.grid = grid
        self.energy_injection_rate = float(energy_injection_rate)
        self.correlation_time = float(correlation_time)
        self.device = torch.device(device)
        self.dtype = dtype
        self.modes = forcing_modes(grid, k_min, k_max)
        if len(self.modes) == 0:
            raise ValueError(f"no forcing modes with {k_min} <= |k| <= {k_max} on {grid.shape}")
        self.generator = torch.Generator(device="cpu").manual_seed(int(seed))
        wavevectors = self.modes.to(torch.float64) * torch.tensor(
            [2.0 * math.pi / length for length in grid.lengths], dtype=torch.float64)
        self._unit_wavevectors = wavevectors / wavevectors.norm(dim=1, keepdim=True)
        self.slope = slope
        index_norm = self.modes.to(torch.float64).norm(dim=1)
        self._mode_weights = (torch.ones_like(index_norm) if slope is None
                              else index_norm ** (-0.5 * float(slope)))
        # start from the stationary distribution so the driving has no transient
        self.coefficients = self._project(self._noise())

    def _noise(self):
        draws = torch.randn((len(self.modes), 3, 2), generator=self.generator,
                            dtype=torch.float64)
        return torch.complex(draws[..., 0], draws[..., 1])

    def _project(self, coefficients):
        # remove the part along k: what is left has k . f = 0 mode by mode
        unit = self._unit_wavevectors.to(coefficients.dtype)
        along = (coefficients * unit).sum(dim=1, keepdim=True)
        return coefficients - along * unit

    def advance(self, dt):
        """Evolve the mode amplitudes over ``dt`` (exact OU update)."""
        decay = math.exp(-dt / self.correlation_time)
        self.coefficients = self._project(decay * self.coefficients
                                          + math.sqrt(1.0 - decay * decay) * self._noise())

    def acceleration_pattern(self):
        """The real acceleration field (3, nx, ny, nz) of the current amplitudes (unnormalised)."""
        spectrum = torch.zeros((3,) + self.grid.shape, dtype=torch.complex128, device=self.device)
        index = [(self.modes[:, axis] % cells).to(self.device)
                 for axis, cells in enumerate(self.grid.shape)]
        coefficients = (self.coefficients * self._mode_weights[:, None]).to(self.device)
        for component in range(3):
            spectrum[component].index_put_(tuple(index), coefficients[:, component],
                                           accumulate=True)
        # sum_k c_k exp(i k.x): ifftn divides by the number of cells, so multiply it back
        field = torch.fft.ifftn(spectrum, dim=(1, 2, 3)).real * self.grid.n_cells
        return field

    def kick(self, state, dt):
        """Add the forcing impulse for a step ``dt`` to ``state.momentum`` in place.

        The pattern's mass-weighted mean is removed (no net momentum), and its amplitude is the
        positive root of the energy budget sum(m.a dt s + rho a^2 dt^2 s^2 / 2) dV = eps dt V,
        so each kick injects exactly ``energy_injection_rate * dt`` per unit volume.

        Returns
        -------
        float
            The kinetic energy injected (total over the box), computed from the state change.
        """
        if self.energy_injection_rate == 0.0 or dt <= 0.0:
            return 0.0
        density = state.density.to(torch.float64)
        momentum = state.momentum.to(torch.float64)
        pattern = self.acceleration_pattern()
        pattern = pattern - (density * pattern).sum(dim=(1, 2, 3), keepdim=True) / density.sum()
        volume = self.grid.cell_volume
        quadratic = 0.5 * dt * dt * float((density * (pattern * pattern).sum(dim=0)).sum()) * volume
        linear = dt * float((momentum * pattern).sum()) * volume
        target = self.energy_injection_rate * dt * volume * self.grid.n_cells
        scale = ((-linear + math.sqrt(linear * linear + 4.0 * quadratic * target))
                 / (2.0 * quadratic))
        kinetic_before = 0.5 * float(((momentum ** 2).sum(dim=0) / density).sum()) * volume
        new_momentum = momentum + (scale * dt) * density * pattern
        state.momentum = new_momentum.to(state.momentum.dtype)
        kinetic_after = 0.5 * float(((state.momentum.to(torch.float64) ** 2).sum(dim=0)
                                     / density).sum()) * volume
        return kinetic_after - kinetic_before

    def state_dict(self):
        """Everything needed to continue the driving bit-for-bit."""
        return {"coefficients": self.coefficients.clone(),
                "generator": self.generator.get_state(),
                "energy_injection_rate": self.energy_injection_rate}

    def load_state_dict(self, saved):
        """Restore :meth:`state_dict` output."""
        self.coefficients = saved["coefficients"].clone()
        self.generator.set_state(saved["generator"])
        self.energy_injection_rate = float(saved["energy_injection_rate"])
