"""Run parameters of a driven-turbulence simulation, checked before any work is done."""

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields

from .forcing import check_forcing_shape, check_solenoidal_fraction, forcing_modes
from .grid import Grid
from .solver import SolverOptions

__all__ = ["RunConfig", "load_toml"]


@dataclass
class RunConfig:
    """Everything that defines a driven, isothermal MHD turbulence run.

    Units: rho0 = 1, box length L, times in turnover times T = L / (target_mach * sound_speed)
    where named ``*_turnovers``.

    Parameters
    ----------
    cells : int or list of 3 int
        Cells per side (or along x, y, z).
    box_length : float
        L.
    sound_speed : float
        Isothermal sound speed c_s (> 0).
    mean_field : float
        Uniform field B0 along z (>= 0; 0 gives hydro).
    target_mach : float
        Sonic Mach number the driving aims at.
    energy_injection_rate : float or None
        Injected kinetic energy per unit volume and time; None: 0.5 (target_mach c_s)^3 / L.
    mach_control : bool
        Rescale the injection rate every half turnover toward ``target_mach``.
    mach_control_start_turnovers : float
        Time of the control's first update (its average covers the half turnover before);
        1.0 by default. Later for runs that spin up slowly (sub-Alfvenic): updates during the
        spin-up raise the rate beyond what the saturated flow needs, and M_s overshoots by
        10% or more for turnovers (measured: docs/results/sim_recipes_alfven.txt).
    correlation_time_turnovers : float
        OU correlation time in turnover times.
    k_min, k_max : float
        Driving band in units of 2 pi / L.
    seed : int
        Seed of the driving.
    end_turnovers : float
        Run length in turnover times.
    snapshot_turnovers : list of float
        Times of the FITS snapshots, in turnover times.
    checkpoint_every : int
        Steps between checkpoints.
    riemann, limiter, density_reconstruction, emf_average, cfl, density_floor, max_density_drop,
    flatten_density_contrast, dtype
        Solver options (see :class:`~training.sim.solver.SolverOptions`).
    device : str
        'cpu' or 'cuda'.
    output_dir : str
        Where snapshots and checkpoints go.
    driving : {'ou', 'none'}
        Solenoidal OU forcing, or none (decaying turbulence from ``initial_velocity_slope``).
    initial_velocity_slope : float or None
        Start from a seeded solenoidal Gaussian velocity field with P(k) ~ k^-slope over
        1 <= |k| < N/2 (11/3 Kolmogorov, 4 Burgers, or any value) and v_rms = target_mach c_s;
        None: start at rest.
    forcing_slope : float or None
        Give the OU forcing modes a power spectrum ~ |k|^-slope over [k_min, k_max] (continuous
        driving with that slope; widen k_max to make it matter); None: all modes equal.
        With ``forcing_shape='flat'`` only.
    forcing_shape : {'flat', 'parabola'}
        Spectral shape of the forcing over [k_min, k_max]: 'flat' (all modes equal, or the
        ``forcing_slope`` power law), or 'parabola', amplitude 1 - ((|k| - k_c) / (k_max - k_c))^2
        with k_c = (k_min + k_max) / 2, zero at the edges (peaks at k = 2 for the 1-3 band, as
        in Federrath-style drivers). See :class:`~training.sim.forcing.OUForcing`.
    solenoidal_fraction : float
        Fraction in [0, 1] of the forcing pattern's power in its solenoidal part, held exactly
        every step; 1 (default) is purely solenoidal driving, 0.9 mixes in 10% compressive power
        (Helmholtz decomposition of the OU pattern). The injection rate is honoured either way.
    initial_mach : float or None
        v_rms / c_s of the initial velocity field; None: ``target_mach`` (which also sets the
        time unit T, so a recipe can tune the start amplitude without moving the snapshot times).
    compile : bool
        ``torch.compile`` the solver step (see :class:`~training.sim.solver.SolverOptions`).
    """

    cells: object = 64
    box_length: float = 1.0
    sound_speed: float = 0.1
    mean_field: float = 1.0
    target_mach: float = 7.0
    energy_injection_rate: object = None
    mach_control: bool = True
    mach_control_start_turnovers: float = 1.0
    correlation_time_turnovers: float = 1.0
    k_min: float = 1.0
    k_max: float = 3.0
    seed: int = 0
    end_turnovers: float = 2.0
    snapshot_turnovers: list = field(default_factory=lambda: [1.0, 2.0])
    checkpoint_every: int = 200
    # the solver's own defaults, so a run and a bare MHDSolver cannot drift apart
    riemann: str = SolverOptions.riemann
    limiter: str = SolverOptions.limiter
    density_reconstruction: str = SolverOptions.density_reconstruction
    emf_average: str = SolverOptions.emf_average
    cfl: float = SolverOptions.cfl
    density_floor: float = SolverOptions.density_floor
    max_density_drop: float = SolverOptions.max_density_drop
    flatten_density_contrast: object = SolverOptions.flatten_density_contrast
    dtype: str = "float32"          # production runs; SolverOptions defaults to float64
    device: str = "cpu"
    output_dir: str = "sim_output"
    driving: str = "ou"
    initial_velocity_slope: object = None
    forcing_slope: object = None
    forcing_shape: str = "flat"
    solenoidal_fraction: float = 1.0
    compile: bool = False
    initial_mach: object = None

    def __post_init__(self):
        self.validate()

    # -- derived -------------------------------------------------------------------------
    @property
    def shape(self):
        cells = self.cells
        if isinstance(cells, int):
            return (cells, cells, cells)
        return tuple(cells)

    @property
    def turnover_time(self):
        return self.box_length / (self.target_mach * self.sound_speed)

    @property
    def mach_controlled(self):
        """True when the Mach control rescales the injection rate during the run."""
        return self.mach_control and self.driving == "ou"

    @property
    def injection_rate(self):
        if self.driving == "none":
            return 0.0
        if self.energy_injection_rate is not None:
            return float(self.energy_injection_rate)
        return 0.5 * (self.target_mach * self.sound_speed) ** 3 / self.box_length

    def grid(self):
        return Grid(self.shape, (self.box_length,) * 3)

    def solver_options(self):
        return SolverOptions(sound_speed=self.sound_speed, riemann=self.riemann,
                             limiter=self.limiter,
                             density_reconstruction=self.density_reconstruction,
                             emf_average=self.emf_average, cfl=self.cfl,
                             density_floor=self.density_floor,
                             max_density_drop=self.max_density_drop,
                             flatten_density_contrast=self.flatten_density_contrast,
                             dtype=self.dtype, compile=self.compile)

    def validate(self):
        """Raise ValueError naming the first bad parameter."""
        cells = self.cells
        if isinstance(cells, bool) or not (isinstance(cells, int) or (
                isinstance(cells, (list, tuple)) and len(cells) == 3
                and all(isinstance(c, int) and not isinstance(c, bool) for c in cells))):
            raise ValueError(f"cells must be an int or three ints, got {cells!r}")
        for name in ("box_length", "sound_speed", "target_mach", "correlation_time_turnovers",
                     "end_turnovers"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        start = self.mach_control_start_turnovers
        if not (isinstance(start, (int, float)) and math.isfinite(start) and start >= 0.5):
            # the first update averages the half turnover before it, which must lie after t = 0
            raise ValueError(f"mach_control_start_turnovers must be at least 0.5 (one control "
                             f"interval), got {start!r}")
        if not (isinstance(self.mean_field, (int, float)) and self.mean_field >= 0):
            raise ValueError(f"mean_field must be >= 0, got {self.mean_field!r}")
        if self.energy_injection_rate is not None and not self.energy_injection_rate >= 0:
            raise ValueError(f"energy_injection_rate must be >= 0 or unset, got "
                             f"{self.energy_injection_rate!r}")
        if not (isinstance(self.checkpoint_every, int) and self.checkpoint_every > 0):
            raise ValueError(f"checkpoint_every must be a positive integer, got "
                             f"{self.checkpoint_every!r}")
        if self.device not in ("cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if any(not 0 <= t <= self.end_turnovers for t in self.snapshot_turnovers):
            raise ValueError(f"snapshot_turnovers {self.snapshot_turnovers!r} must lie in "
                             f"[0, end_turnovers={self.end_turnovers}]")
        if self.driving not in ("ou", "none"):
            raise ValueError(f"unknown driving {self.driving!r}; choose one of ('ou', 'none')")
        if self.initial_mach is not None and not (
                isinstance(self.initial_mach, (int, float)) and math.isfinite(self.initial_mach)
                and self.initial_mach > 0):
            raise ValueError(f"initial_mach must be a positive number or unset, got "
                             f"{self.initial_mach!r}")
        for name in ("initial_velocity_slope", "forcing_slope"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float))
                                          and not isinstance(value, bool)
                                          and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number or unset, got {value!r}")
        check_solenoidal_fraction(self.solenoidal_fraction)
        check_forcing_shape(self.forcing_shape, self.forcing_slope)
        if self.driving == "none" and self.initial_velocity_slope is None:
            raise ValueError("driving='none' (decaying turbulence) needs an "
                             "initial_velocity_slope, or nothing would ever move")
        if not 0 < self.k_min <= self.k_max:
            raise ValueError(f"need 0 < k_min <= k_max, got {self.k_min}, {self.k_max}")
        grid = self.grid()                 # checks the cell counts
        self.solver_options()              # checks solver names, cfl, floor, dtype
        forcing_modes(grid, self.k_min, self.k_max)   # checks the grid resolves the driving
        if self.forcing_shape == "parabola" and not self.k_max > self.k_min:
            raise ValueError(f"forcing_shape='parabola' needs k_max > k_min, got {self.k_min}, "
                             f"{self.k_max}")

    def as_dict(self):
        return asdict(self)


def load_toml(path, **overrides):
    """A :class:`RunConfig` from a TOML file (keys = field names), with keyword overrides."""
    with open(path, "rb") as handle:
        values = tomllib.load(handle)
    allowed = {f.name for f in fields(RunConfig)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(f"{path}: unknown parameters {unknown}; allowed: {sorted(allowed)}")
    values.update({key: value for key, value in overrides.items() if value is not None})
    return RunConfig(**values)
