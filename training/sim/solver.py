"""The VL2 finite-volume update of isothermal ideal MHD (Stone & Gardiner 2009) with CT."""

import math
from dataclasses import dataclass, field

import torch

from .ct import EMF_AVERAGES, cell_centred_emf, curl_update, edge_emfs
from .reconstruct import LIMITERS, donor_cell, piecewise_linear
from .riemann import RIEMANN_SOLVERS, fast_speed, hlld_flux, hlle_flux
from .state import MHDState, primitives, shift

__all__ = ["SolverOptions", "MHDSolver", "NonPhysicalStateError", "DTYPES",
           "DENSITY_RECONSTRUCTIONS", "LOG_DENSITY_CONTRAST"]

DTYPES = {"float64": torch.float64, "float32": torch.float32}
DENSITY_RECONSTRUCTIONS = ("log_where_steep", "linear")
# density ratio across a 3-cell stencil above which 'log_where_steep' reconstructs ln(rho)
LOG_DENSITY_CONTRAST = 2.0

# updates tried by the first-order fallback of one step (each widens the first-order set by the
# neighbours that its previous pass pushed over the limit)
_FALLBACK_PASSES = 4


class NonPhysicalStateError(RuntimeError):
    """The state stopped being physical (non-finite values or a time step that collapsed)."""

    def __init__(self, message, *, cell=None):
        super().__init__(message)
        self.cell = cell


@dataclass(frozen=True)
class SolverOptions:
    """Numerical choices of the solver, checked when created.

    Parameters
    ----------
    sound_speed : float
        Isothermal sound speed, positive.
    riemann : {'hlld', 'hlle', 'hlld_no_order_check'}
        Riemann solver; ``hlld_no_order_check`` is HLLD without the HLLE fallback where its
        Alfven speeds leave the outer fan (`training.sim.riemann.hlld_flux`).
    limiter : {'van_leer', 'mc', 'minmod'}
        PLM slope limiter.
    density_reconstruction : {'log_where_steep', 'linear'}
        'log_where_steep' (default) reconstructs ln(rho) in cells whose 3-cell stencil spans
        more than a factor ``LOG_DENSITY_CONTRAST`` (2) in density, rho elsewhere; 'linear'
        reconstructs rho everywhere. With rho and the MC limiter, a dense cell next to a much
        lighter one extrapolates its face density all the way down to the light cell's value,
        so the light cell trades almost no mass or momentum with its dense neighbours while the
        Lorentz force (independent of density) keeps accelerating it: at beta ~ 0.02 such
        cells drained to near vacuum with |v| ~ 1/rho
        (``docs/results/sim_low_beta_vacuum.txt``). In ln(rho) face densities stay positive
        and a geometric step apart; smooth low-contrast flows (all the verification waves)
        keep the rho reconstruction exactly.
    emf_average : {'contact', 'arithmetic'}
        Edge-EMF average (CT-contact of Gardiner & Stone 2005, or the arithmetic control).
    cfl : float
        Courant number, in (0, 0.5] (VL2 with PLM is stable up to 0.5 in 3D).
    density_floor : float
        Smallest density kept after a step; positive.
    max_density_drop : float
        Largest fraction of a cell's density that one step may remove, in (0, 1]. Where the
        second-order update would remove more (or go below ``density_floor``), that cell's faces
        use first-order HLLE fluxes of the step's starting state instead (positivity-preserving
        for small enough Courant numbers; the floor remains the last net). A safety net for
        sudden drains (huge HLL diffusion speeds acting on a reversed PLM face jump); the slow
        low-beta drain is cured by ``density_reconstruction``
        (``docs/results/sim_low_beta_vacuum.txt``).
    flatten_density_contrast : float or None
        Where a cell's 3-cell stencil spans more than this factor in density, its face states
        are first order (donor cell) for every variable: a shock flattener, off (None) by
        default. At M_s = 7 and beta = 0.02 single light cells wedged between dense sheets
        still drain slowly (a few % a step, below ``max_density_drop``) with |v| ~ 1/rho, up
        to ~190 c_s, and set the time step; flattening at a factor 30 (about 1% of the cells)
        stops it (``docs/results/sim_flatten_trial.txt``).
    dtype : {'float64', 'float32'}
        Floating-point type of the state.
    compile : bool
        Run the step through ``torch.compile`` (inductor; on CPU it needs a C compiler). About
        3x faster on CPU once compiled, but the first steps take tens of seconds to compile and
        results agree with the eager step to rounding, not bit for bit. Off by default.
    """

    sound_speed: float = 1.0
    riemann: str = "hlld"
    limiter: str = "mc"
    density_reconstruction: str = "log_where_steep"
    emf_average: str = "contact"
    cfl: float = 0.3
    density_floor: float = 1.0e-6
    max_density_drop: float = 0.5
    flatten_density_contrast: float = None
    dtype: str = "float64"
    compile: bool = False

    def __post_init__(self):
        if not (isinstance(self.sound_speed, (int, float)) and math.isfinite(self.sound_speed)
                and self.sound_speed > 0.0):
            raise ValueError(f"sound_speed must be a positive number, got {self.sound_speed!r}")
        for name, value, allowed in (("riemann", self.riemann, RIEMANN_SOLVERS),
                                     ("limiter", self.limiter, LIMITERS),
                                     ("density_reconstruction", self.density_reconstruction,
                                      DENSITY_RECONSTRUCTIONS),
                                     ("emf_average", self.emf_average, EMF_AVERAGES),
                                     ("dtype", self.dtype, tuple(DTYPES))):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose one of {allowed}")
        if not 0.0 < self.cfl <= 0.5:
            raise ValueError(f"cfl must be in (0, 0.5], got {self.cfl!r}")
        if not self.density_floor > 0.0:
            raise ValueError(f"density_floor must be positive, got {self.density_floor!r}")
        if not (isinstance(self.max_density_drop, (int, float))
                and 0.0 < self.max_density_drop <= 1.0):
            raise ValueError(f"max_density_drop must be in (0, 1], got "
                             f"{self.max_density_drop!r}")
        if self.flatten_density_contrast is not None and not (
                isinstance(self.flatten_density_contrast, (int, float))
                and not isinstance(self.flatten_density_contrast, bool)
                and self.flatten_density_contrast > 1.0):
            raise ValueError(f"flatten_density_contrast must be a number > 1 or None, got "
                             f"{self.flatten_density_contrast!r}")


@dataclass
class StepCounters:
    """Running totals of the safety nets, reported with every run.

    ``first_order_cells`` counts every cell whose faces fell back to first-order fluxes;
    ``density_drop_cells`` the subset that triggered it by losing more than
    ``max_density_drop`` of its density while staying above the floor.
    """

    steps: int = 0
    first_order_cells: int = 0
    density_drop_cells: int = 0
    floored_cells: int = 0
    hlle_fallback_faces: int = 0

    def as_dict(self):
        return dict(self.__dict__)


# frame rows of the 7 primitives (rho, vx, vy, vz, Bx, By, Bz) for faces normal to each axis:
# (rho, v_n, v_t1, v_t2, B_t1, B_t2) with (n, t1, t2) cyclic; the normal B is never reconstructed
_FRAME_ROWS = [[0, 1 + axis, 1 + (axis + 1) % 3, 1 + (axis + 2) % 3,
                4 + (axis + 1) % 3, 4 + (axis + 2) % 3] for axis in range(3)]


@dataclass
class _FaceFluxes:
    mass_momentum: list = field(default_factory=lambda: [None] * 3)   # (4, ...) per axis
    emf: list = field(default_factory=lambda: [None] * 3)             # {component: E} per axis


class MHDSolver:
    """Advances an :class:`~training.sim.state.MHDState` on a periodic :class:`Grid`.

    Parameters
    ----------
    grid : Grid
        The box.
    options : SolverOptions
        Numerical choices.
    device : str or torch.device
        Where the tensors live ('cpu', 'cuda').

    Examples
    --------
    >>> from training.sim.grid import Grid
    >>> from training.sim.problems import uniform_state
    >>> grid = Grid((8, 8, 1))
    >>> solver = MHDSolver(grid, SolverOptions())
    >>> state = uniform_state(grid, magnetic_field=(0.0, 0.0, 1.0))
    >>> state = solver.step(state, solver.time_step(state))
    """

    def __init__(self, grid, options=None, *, device="cpu"):
        self.grid = grid
        self.options = options if options is not None else SolverOptions()
        self.device = torch.device(device)
        self.dtype = DTYPES[self.options.dtype]
        self.counters = StepCounters()
        self._riemann = hlle_flux if self.options.riemann == "hlle" else hlld_flux
        self._compiled_step = None
        if self.options.compile:
            # the first call compiles with dt as a constant, the second (a new dt) recompiles
            # with dt symbolic; later steps reuse that graph. fullgraph: the second-order step
            # has no data-dependent Python branch, and a graph break would be a regression
            self._compiled_step = torch.compile(self._second_order_step, fullgraph=True)

    @property
    def counters(self):
        """The :class:`StepCounters` so far (reading them waits for pending device counts)."""
        if self._pending_counts is not None:
            hlle_faces, floored = (int(count) for count in self._pending_counts.tolist())
            self._counters.hlle_fallback_faces += hlle_faces
            self._counters.floored_cells += floored
            self._pending_counts = None
        return self._counters

    @counters.setter
    def counters(self, counters):
        self._counters = counters
        self._pending_counts = None

    # -- time step -------------------------------------------------------------------------
    def time_step(self, state):
        """CFL-limited dt: cfl * min over cells and active axes of dx / (|v_n| + c_fast)."""
        primitive = primitives(state)
        inverse_times = []
        for axis in self.grid.active_axes:
            frame = primitive[_FRAME_ROWS[axis]]
            signal = frame[1].abs() + fast_speed(frame, primitive[4 + axis],
                                                 self.options.sound_speed)
            inverse_times.append(signal.max() / self.grid.cell_sizes[axis])
        largest_rate = float(torch.stack(inverse_times).max())
        if not math.isfinite(largest_rate) or largest_rate <= 0.0:
            raise NonPhysicalStateError(f"time step undefined (max signal rate {largest_rate})")
        return self.options.cfl / largest_rate

    # -- fluxes --------------------------------------------------------------------------
    def _face_fluxes(self, state, *, second_order, riemann=None):
        """Face fluxes and EMFs, and the number of faces where HLLD fell back to HLLE (a
        0-d tensor, left on the device)."""
        riemann = riemann or self._riemann
        primitive = primitives(state)
        fluxes = _FaceFluxes()
        hlle_faces = torch.zeros((), dtype=torch.int64, device=state.density.device)
        for axis in self.grid.active_axes:
            frame = primitive[_FRAME_ROWS[axis]]
            if second_order:
                left, right = piecewise_linear(
                    frame, axis, self.options.limiter,
                    log_density_contrast=(LOG_DENSITY_CONTRAST
                                          if self.options.density_reconstruction
                                          == "log_where_steep" else None),
                    flatten_density_contrast=self.options.flatten_density_contrast)
            else:
                left, right = donor_cell(frame, axis)
            normal_field = state.face_field[axis]
            if riemann is hlld_flux:
                flux, fallback = hlld_flux(
                    left, right, normal_field, self.options.sound_speed,
                    density_floor=self.options.density_floor, return_fallback=True,
                    check_wave_order=self.options.riemann != "hlld_no_order_check")
                hlle_faces = hlle_faces + fallback.sum()
            else:
                flux = riemann(left, right, normal_field, self.options.sound_speed)
            first, second = (axis + 1) % 3, (axis + 2) % 3
            mass_momentum = torch.empty((4,) + flux.shape[1:], dtype=flux.dtype,
                                        device=flux.device)
            mass_momentum[0] = flux[0]
            mass_momentum[1 + axis] = flux[1]
            mass_momentum[1 + first] = flux[2]
            mass_momentum[1 + second] = flux[3]
            fluxes.mass_momentum[axis] = mass_momentum
            # F_n(B_t1) = -E_t2 and F_n(B_t2) = +E_t1, from E = -v x B
            fluxes.emf[axis] = {second: -flux[4], first: flux[5]}
        return fluxes, hlle_faces

    def _advance(self, base, fluxes, centred_emf, dt):
        conserved = torch.cat([base.density[None], base.momentum])
        for axis in self.grid.active_axes:
            flux = fluxes.mass_momentum[axis]
            conserved = conserved - (dt / self.grid.cell_sizes[axis]) * (
                shift(flux, -1, axis) - flux)
        mass_fluxes = [None if flux is None else flux[0] for flux in fluxes.mass_momentum]
        emfs = edge_emfs(fluxes.emf, mass_fluxes, centred_emf,
                         average=self.options.emf_average)
        face_field = curl_update(base.face_field, emfs, self.grid.cell_sizes, dt)
        return MHDState(conserved[0], conserved[1:], face_field)

    @staticmethod
    def _mix(high, low, use_low):
        mixed = _FaceFluxes()
        for axis, flux in enumerate(high.mass_momentum):
            if flux is None:
                continue
            # a face is first order when either neighbouring cell went bad
            face_mask = use_low | shift(use_low, 1, axis)
            mixed.mass_momentum[axis] = torch.where(face_mask, low.mass_momentum[axis], flux)
            mixed.emf[axis] = {component: torch.where(face_mask, low.emf[axis][component], value)
                               for component, value in high.emf[axis].items()}
        return mixed

    def _bad_cells(self, state, *, reference=None):
        """Cells at or below the floor (or non-finite), or, given the step's starting state
        ``reference``, cells that lost more than ``max_density_drop`` of their density."""
        limit = self.options.density_floor
        if reference is not None:
            limit = torch.clamp((1.0 - self.options.max_density_drop) * reference.density,
                                min=self.options.density_floor)
        return ~(state.density > limit)

    def _apply_floor(self, state):
        """``state`` with densities at or below the floor raised to it, and how many were
        (a 0-d tensor; selected, not branched on, so it stays inside a compiled graph)."""
        low = self._bad_cells(state) & torch.isfinite(state.density)
        density = torch.where(low, torch.full_like(state.density, self.options.density_floor),
                              state.density)
        return MHDState(density, state.momentum, state.face_field), low.sum()

    def _first_order_fallback(self, base, half, half_centred, corrector_fluxes, updated, bad,
                              dt):
        # mass and momentum fluxes from the step's starting state: a forward-Euler donor-cell
        # HLLE update with Davis speeds is positivity-preserving for small enough Courant
        # numbers (Einfeldt et al. 1991; the 3D unsplit bound is stricter than CFL 0.3 per
        # axis, so the floor stays behind it as the last net), whereas donor-cell
        # fluxes of the half state (which first-order diffusion can have made 2-3x denser than
        # the start in a light cell) can still empty it; EMFs stay at the half time, consistent
        # with the cell-centred EMF they are averaged with
        safe = self._face_fluxes(base, second_order=False, riemann=hlle_flux)[0]
        safe.emf = self._face_fluxes(half, second_order=False, riemann=hlle_flux)[0].emf
        self.counters.density_drop_cells += int((bad & (updated.density
                                                        > self.options.density_floor)).sum())
        use_low = bad
        # a neighbour that shares one first-order face can itself go bad: widen the set a few
        # times, then let the floor catch whatever is left
        for attempt in range(_FALLBACK_PASSES):
            updated = self._advance(base, self._mix(corrector_fluxes, safe, use_low),
                                    half_centred, dt)
            newly_bad = self._bad_cells(updated, reference=base) & ~use_low
            if attempt == _FALLBACK_PASSES - 1 or not bool(newly_bad.any()):
                break
            use_low = use_low | newly_bad
        self.counters.first_order_cells += int(use_low.sum())
        updated, floored = self._apply_floor(updated)
        self.counters.floored_cells += int(floored)
        return updated

    # -- the step --------------------------------------------------------------------------
    def step(self, state, dt):
        """One VL2 step of length ``dt``: donor-cell predictor to dt/2, PLM corrector to dt.

        Where the corrector would leave a density at or below the floor (or non-finite), or
        remove more than ``max_density_drop`` of it, the mass and momentum fluxes on that cell's
        faces are replaced by first-order HLLE fluxes of the starting state (and its face EMFs by
        first-order ones of the half state); a density still too low is raised to the floor.
        All are counted in ``self.counters``.
        """
        second_order_step = self._compiled_step or self._second_order_step
        updated, bad, corrector_fluxes, half, half_centred, counts = second_order_step(state, dt)
        self._pending_counts = (counts if self._pending_counts is None
                                else self._pending_counts + counts)
        # the one data-dependent branch of a step, outside the compiled graph: the fallback is
        # rare, and computing it every step would cost more than the sync
        if bool(bad.any()):
            updated = self._first_order_fallback(state, half, half_centred, corrector_fluxes,
                                                 updated, bad, dt)
        self._counters.steps += 1   # not self.counters: that would wait for the pending counts
        return updated

    def _second_order_step(self, state, dt):
        """The VL2 step without the fallback: the updated state, the cells that went bad, what
        the fallback needs, and the (HLLE faces, floored cells) counts as a device tensor."""
        centred = cell_centred_emf(state.velocity, state.cell_field)
        predictor_fluxes, predictor_hlle = self._face_fluxes(state, second_order=False)
        half, floored = self._apply_floor(self._advance(state, predictor_fluxes, centred,
                                                        0.5 * dt))

        half_centred = cell_centred_emf(half.velocity, half.cell_field)
        corrector_fluxes, corrector_hlle = self._face_fluxes(half, second_order=True)
        updated = self._advance(state, corrector_fluxes, half_centred, dt)
        bad = self._bad_cells(updated, reference=state)
        counts = torch.stack([predictor_hlle + corrector_hlle, floored])
        return updated, bad, corrector_fluxes, half, half_centred, counts
