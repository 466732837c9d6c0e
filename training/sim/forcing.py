"""Ornstein-Uhlenbeck driving at a fixed energy injection rate: solenoidal by default, or with a
set fraction of compressive power, over a flat or parabolic band of wavenumbers.

The random numbers are drawn on the CPU from a seeded generator in float64 and only then moved to
the run's device, so CPU and CUDA runs with the same seed are driven identically.
"""

import itertools
import math

import torch

__all__ = ["OUForcing", "solenoidal_residual", "forcing_modes", "helmholtz_power",
           "FORCING_SHAPES", "check_solenoidal_fraction", "check_forcing_shape"]

# 'flat': every mode in [k_min, k_max] has the same variance (times |k|^-slope if a slope is set);
# 'parabola': amplitude 1 - ((|k| - k_c) / (k_max - k_c))^2 with k_c the middle of the band,
# zero at its edges (the Federrath et al. 2010 / Athena++-style driver peaking at k = 2 for 1-3)
FORCING_SHAPES = ("flat", "parabola")


def check_solenoidal_fraction(value):
    """Raise ValueError unless ``value`` is a number in [0, 1]."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"solenoidal_fraction must be a number in [0, 1] (1 = purely "
                         f"solenoidal, 0 = purely compressive), got {value!r}")


def check_forcing_shape(shape, slope=None):
    """Raise ValueError for an unknown shape, or a power-law ``slope`` with a parabola."""
    if shape not in FORCING_SHAPES:
        raise ValueError(f"unknown forcing_shape {shape!r}; choose one of {FORCING_SHAPES}")
    if shape == "parabola" and slope is not None:
        raise ValueError("forcing_slope applies to forcing_shape='flat' only; the parabola "
                         "sets the spectrum itself")


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


def helmholtz_power(field, grid):
    """(solenoidal, compressive) power sum |f_k|^2 of a real vector field (3, nx, ny, nz).

    The compressive part of mode k is its projection on k, the solenoidal part the rest; the
    mean (k = 0) is in neither. The two parts are orthogonal, so they add up to the power of the
    field less its mean.
    """
    spectrum = torch.fft.fftn(field.to(torch.float64), dim=(1, 2, 3))
    wavenumbers = torch.meshgrid(
        *[torch.fft.fftfreq(cells, d=1.0 / cells, dtype=torch.float64, device=field.device)
          * (2.0 * math.pi / length) for cells, length in zip(grid.shape, grid.lengths)],
        indexing="ij")
    k_squared = sum(k * k for k in wavenumbers)
    k_dot_f = sum(wavenumbers[c] * spectrum[c] for c in range(3))
    nonzero = k_squared > 0
    compressive = float((k_dot_f.abs() ** 2)[nonzero].div(k_squared[nonzero]).sum())
    total = float(spectrum.abs().pow(2).sum(dim=0)[nonzero].sum())
    return total - compressive, compressive


class OUForcing:
    """Ornstein-Uhlenbeck acceleration field with modes 1 <= |k| <= 3 (by default), solenoidal
    unless ``solenoidal_fraction`` < 1.

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
        None gives every mode the same variance. Only with ``shape='flat'``.
    solenoidal_fraction : float
        Fraction of the pattern's power (sum over modes of |f_k|^2) in its solenoidal part, held
        exactly at every step. 1 (default) projects the OU amplitudes on k-perpendicular
        vectors, as always. Below 1 the amplitudes run unprojected (isotropic OU), and the
        pattern is sqrt(F / P_sol) f_sol + sqrt((1 - F) / P_comp) f_comp, the Helmholtz parts
        scaled to the requested shares (the kick rescales the sum to the injection rate); the
        same seed gives the same solenoidal pattern as with F = 1, up to its normalisation.
    shape : {'flat', 'parabola'}
        Spectral shape of the mode amplitudes (see ``FORCING_SHAPES``); 'parabola' gives zero
        weight to the modes at exactly k_min and k_max.
    """

    def __init__(self, grid, *, energy_injection_rate, correlation_time, seed, k_min=1.0,
                 k_max=3.0, device="cpu", dtype=torch.float64, slope=None,
                 solenoidal_fraction=1.0, shape="flat"):
        check_solenoidal_fraction(solenoidal_fraction)
        check_forcing_shape(shape, slope)
        if shape == "parabola" and not k_max > k_min:
            raise ValueError(f"forcing_shape='parabola' needs k_max > k_min, got {k_min}, {k_max}")
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
        self.solenoidal_fraction = float(solenoidal_fraction)
        self.shape = shape
        index_norm = self.modes.to(torch.float64).norm(dim=1)
        if shape == "parabola":
            centre, half_width = 0.5 * (k_min + k_max), 0.5 * (k_max - k_min)
            self._mode_weights = (1.0 - ((index_norm - centre) / half_width) ** 2).clamp(min=0.0)
        else:
            self._mode_weights = (torch.ones_like(index_norm) if slope is None
                                  else index_norm ** (-0.5 * float(slope)))
        if not bool((self._mode_weights > 0).any()):
            raise ValueError(f"forcing_shape={shape!r} leaves no mode with weight in "
                             f"[{k_min}, {k_max}]: the parabola is zero at the band's edges, "
                             "widen the band")
        # start from the stationary distribution so the driving has no transient
        self.coefficients = self._project(self._noise())

    def _noise(self):
        draws = torch.randn((len(self.modes), 3, 2), generator=self.generator,
                            dtype=torch.float64)
        return torch.complex(draws[..., 0], draws[..., 1])

    def _along_k(self, coefficients):
        unit = self._unit_wavevectors.to(coefficients.dtype)
        return (coefficients * unit).sum(dim=1, keepdim=True) * unit

    def _project(self, coefficients):
        # purely solenoidal driving: remove the part along k, so k . f = 0 mode by mode; a mixed
        # driving keeps both parts and sets their shares in the pattern
        if self.solenoidal_fraction < 1.0:
            return coefficients
        return coefficients - self._along_k(coefficients)

    def advance(self, dt):
        """Evolve the mode amplitudes over ``dt`` (exact OU update)."""
        decay = math.exp(-dt / self.correlation_time)
        self.coefficients = self._project(decay * self.coefficients
                                          + math.sqrt(1.0 - decay * decay) * self._noise())

    def _field(self, coefficients):
        spectrum = torch.zeros((3,) + self.grid.shape, dtype=torch.complex128, device=self.device)
        index = [(self.modes[:, axis] % cells).to(self.device)
                 for axis, cells in enumerate(self.grid.shape)]
        coefficients = (coefficients * self._mode_weights[:, None]).to(self.device)
        for component in range(3):
            spectrum[component].index_put_(tuple(index), coefficients[:, component],
                                           accumulate=True)
        # sum_k c_k exp(i k.x): ifftn divides by the number of cells, so multiply it back
        return torch.fft.ifftn(spectrum, dim=(1, 2, 3)).real * self.grid.n_cells

    def acceleration_pattern(self):
        """The real acceleration field (3, nx, ny, nz) of the current amplitudes (unnormalised)."""
        if self.solenoidal_fraction == 1.0:
            return self._field(self.coefficients)
        along = self._along_k(self.coefficients)
        # projecting each mode on its k commutes with taking the real part (the projector of -k
        # equals that of k), so these are the exact Helmholtz parts of the real field and are
        # orthogonal on the grid: their powers add, and the shares below hold exactly
        solenoidal = self._field(self.coefficients - along)
        compressive = self._field(along)
        field = torch.zeros_like(solenoidal)
        for part, share in ((solenoidal, self.solenoidal_fraction),
                            (compressive, 1.0 - self.solenoidal_fraction)):
            power = float((part * part).sum())
            if share > 0.0 and power > 0.0:
                field = field + math.sqrt(share / power) * part
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
