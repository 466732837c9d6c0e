"""The driven-turbulence run: solver + forcing + Mach control, with progress, snapshots and
checkpoints."""

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import __version__
from .config import RunConfig
from .control import CONTROL_INTERVAL_TURNOVERS, MachController
from .diagnostics import sonic_mach, state_extremes, turbulence_diagnostics
from .evolve import check_finite
from .forcing import OUForcing
from .problems import uniform_state
from .random_fields import power_law_field
from .snapshots import load_checkpoint, save_checkpoint, write_snapshot
from .solver import MHDSolver, NonPhysicalStateError, StepCounters
from .state import MHDState

__all__ = ["Simulation", "run_simulation", "initial_velocity", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.pt"


def initial_velocity(config):
    """The seeded solenoidal initial velocity (3, nx, ny, nz) of ``config`` (float64, CPU):
    P(k) ~ k^-initial_velocity_slope over 1 <= |k| < N/2, v_rms = initial_mach c_s (default
    target_mach c_s)."""
    mach = config.target_mach if config.initial_mach is None else config.initial_mach
    field = power_law_field(config.shape, config.initial_velocity_slope, seed=config.seed,
                            components=3, solenoidal=True, rms=mach * config.sound_speed)
    return torch.from_numpy(field)


@dataclass
class Simulation:
    """A driven run in memory; :meth:`advance` takes one step."""

    config: RunConfig
    solver: MHDSolver
    forcing: OUForcing
    state: MHDState
    time: float = 0.0
    step: int = 0
    next_snapshot: int = 0
    injected_energy: float = 0.0
    controller: MachController = None

    @classmethod
    def start(cls, config):
        """A fresh run at t = 0: uniform density, gas at rest, B = B0 z."""
        grid = config.grid()
        solver = MHDSolver(grid, config.solver_options(), device=config.device)
        state = uniform_state(grid, magnetic_field=(0.0, 0.0, config.mean_field),
                              dtype=solver.dtype, device=config.device)
        if config.initial_velocity_slope is not None:
            state.momentum = initial_velocity(config).to(dtype=solver.dtype,
                                                         device=config.device)
        forcing = OUForcing(grid, energy_injection_rate=config.injection_rate,
                            correlation_time=config.correlation_time_turnovers
                            * config.turnover_time,
                            seed=config.seed, k_min=config.k_min, k_max=config.k_max,
                            device=config.device, dtype=solver.dtype,
                            slope=config.forcing_slope,
                            solenoidal_fraction=config.solenoidal_fraction,
                            shape=config.forcing_shape)
        controller = MachController(
            config.target_mach, CONTROL_INTERVAL_TURNOVERS * config.turnover_time,
            enabled=config.mach_controlled,
            first_update=config.mach_control_start_turnovers * config.turnover_time)
        return cls(config, solver, forcing, state, controller=controller)

    @classmethod
    def restore(cls, path, *, device=None, end_turnovers=None, snapshot_turnovers=None):
        """A run continued from a checkpoint, bit-for-bit as if it had never stopped;
        ``end_turnovers`` moves its end (to extend a finished run) and ``snapshot_turnovers``
        adds later snapshots (the saved times must be its first ones: written snapshots keep
        their numbers)."""
        saved = load_checkpoint(path)
        values = dict(saved["config"])
        if device is not None:
            values["device"] = device
        if end_turnovers is not None:
            values["end_turnovers"] = end_turnovers
        if snapshot_turnovers is not None:
            before = list(values["snapshot_turnovers"])
            if list(snapshot_turnovers)[:len(before)] != before:
                raise ValueError(f"snapshot times {list(snapshot_turnovers)} must begin with the "
                                 f"run's own {before}")
            values["snapshot_turnovers"] = list(snapshot_turnovers)
        config = RunConfig(**values)
        simulation = cls.start(config)
        simulation.state = MHDState(**{name: tensor.to(config.device)
                                       for name, tensor in saved["state"].items()})
        simulation.forcing.load_state_dict(saved["forcing"])
        simulation.solver.counters = StepCounters(**saved["counters"])
        for name in ("time", "step", "next_snapshot", "injected_energy"):
            setattr(simulation, name, saved[name])
        if "controller" in saved:
            simulation.controller.load_state_dict(saved["controller"])
        else:   # a checkpoint of code version 0.1.0: only the next control time was kept
            simulation.controller.next_time = saved["next_control_time"]
        return simulation

    def checkpoint(self, path):
        """Save everything :meth:`restore` needs."""
        return save_checkpoint(path, {
            "config": self.config.as_dict(),
            "state": {name: tensor.cpu() for name, tensor in self.state.state_dict().items()},
            "forcing": self.forcing.state_dict(),
            "counters": self.solver.counters.as_dict(),
            "time": self.time, "step": self.step, "next_snapshot": self.next_snapshot,
            "controller": self.controller.state_dict(),
            "injected_energy": self.injected_energy, "code_version": __version__})

    @property
    def end_time(self):
        return self.config.end_turnovers * self.config.turnover_time

    def diagnostics(self):
        return turbulence_diagnostics(self.state, self.solver.grid, self.config.sound_speed)

    def advance(self, max_dt=math.inf):
        """One hydro step (CFL-limited, at most ``max_dt``) followed by one forcing kick."""
        try:
            dt = min(self.solver.time_step(self.state), max_dt)
        except NonPhysicalStateError:
            # name the step, time and cell when the state itself is bad
            check_finite(self.state, step=self.step, time=self.time)
            raise
        self.state = self.solver.step(self.state, dt)
        self.forcing.advance(dt)
        self.injected_energy += self.forcing.kick(self.state, dt)
        self.time += dt
        self.step += 1
        check_finite(self.state, step=self.step, time=self.time)
        self.controller.record(self.time, dt, sonic_mach(self.state, self.config.sound_speed))
        if self.controller.due(self.time):
            self.forcing.energy_injection_rate = self.controller.update(
                self.time, self.forcing.energy_injection_rate)
        return dt


def _print_flushed(message):
    print(message, flush=True)


def run_simulation(config=None, *, resume=None, progress=True, output_dir=None,
                   log=_print_flushed, end_turnovers=None, snapshot_turnovers=None):
    """Run (or continue) a driven simulation, writing snapshots and checkpoints.

    Parameters
    ----------
    config : RunConfig, optional
        Parameters of a fresh run (ignored when ``resume`` is given).
    resume : path, optional
        Checkpoint to continue from.
    progress : bool
        Show a tqdm bar with time, dt, M_s, M_A and div B.
    output_dir : path, optional
        Overrides ``config.output_dir``.
    end_turnovers : float, optional
        With ``resume``: a new end time (in turnovers), to extend a run.
    snapshot_turnovers : sequence of float, optional
        With ``resume``: the run's snapshot times followed by later ones.

    Returns
    -------
    Simulation
        The finished run.

    Raises
    ------
    NonPhysicalStateError
        When the state stops being physical; the message names the step, time and cell, and
        the last checkpoint written before it is left untouched.
    """
    from tqdm import tqdm

    simulation = (Simulation.restore(resume, end_turnovers=end_turnovers,
                                     snapshot_turnovers=snapshot_turnovers) if resume
                  else Simulation.start(config))
    config = simulation.config
    out = Path(output_dir or config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / CHECKPOINT_NAME
    snapshot_times = sorted(t * config.turnover_time for t in config.snapshot_turnovers)
    bar = tqdm(total=round(simulation.end_time, 12), initial=round(simulation.time, 12),
               disable=not progress, unit="t", bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} "
               "[{elapsed}<{remaining}{postfix}]")
    logged_controls = len(simulation.controller.history)
    started = time.perf_counter()   # wall seconds in the log lines, to state what a run costs
    try:
        while True:
            while (simulation.next_snapshot < len(snapshot_times)
                   and simulation.time >= snapshot_times[simulation.next_snapshot] * (1 - 1e-12)):
                _write_snapshot(simulation, out, simulation.next_snapshot)
                simulation.next_snapshot += 1
            if simulation.time >= simulation.end_time * (1 - 1e-12):
                break
            horizon = simulation.end_time
            if simulation.next_snapshot < len(snapshot_times):
                horizon = min(horizon, snapshot_times[simulation.next_snapshot])
            before = simulation.time
            try:
                dt = simulation.advance(horizon - simulation.time)
            except NonPhysicalStateError as error:
                log(f"run stopped: {error}; last good checkpoint: "
                    f"{checkpoint_path if checkpoint_path.exists() else 'none written yet'}")
                raise
            bar.update(simulation.time - before)
            while logged_controls < len(simulation.controller.history):
                entry = simulation.controller.history[logged_controls]
                extremes = state_extremes(simulation.state, config.sound_speed)
                log(f"t = {entry['time'] / config.turnover_time:7.3f} T: <M_s> over the last "
                    f"{CONTROL_INTERVAL_TURNOVERS:g} T = {entry['mean_mach']:.4f} "
                    f"(target {config.target_mach:g}, "
                    f"{entry['mean_mach'] / config.target_mach - 1:+.1%}); "
                    f"injection rate {entry['rate_before']:.5g} -> {entry['rate_after']:.5g}; "
                    f"now: M_s {extremes['mach_sonic']:.4g}, mass-weighted "
                    f"{extremes['mach_sonic_mass_weighted']:.4g}, min rho "
                    f"{extremes['density_min']:.3g}, max |v|/c_s {extremes['cell_mach_max']:.3g}, "
                    f"dt {dt:.3g}, step {simulation.step}; {_safety_nets(simulation)}; "
                    f"{time.perf_counter() - started:.0f} s wall")
                logged_controls += 1
            if simulation.step % config.checkpoint_every == 0:
                simulation.checkpoint(checkpoint_path)
            if progress and simulation.step % 10 == 0:
                found = simulation.diagnostics()
                bar.set_postfix_str(f"t={simulation.time:.4g} dt={dt:.3g} "
                                    f"M_s={found['mach_sonic']:.3g} "
                                    f"M_A={found['mach_alfven_total']:.3g} "
                                    f"divB={found['divergence']:.1e} "
                                    f"fo={simulation.solver.counters.first_order_cells}")
    finally:
        bar.close()
    simulation.checkpoint(checkpoint_path)
    log(f"done: {simulation.step} steps to t = {simulation.time:.6g}; safety nets: "
        f"{simulation.solver.counters.as_dict()}; {time.perf_counter() - started:.0f} s wall")
    return simulation


def _safety_nets(simulation):
    counters = simulation.solver.counters
    return (f"first-order cells {counters.first_order_cells} (density drop "
            f"{counters.density_drop_cells}), floored {counters.floored_cells}, HLLE faces "
            f"{counters.hlle_fallback_faces}")


def _write_snapshot(simulation, out, index):
    config = simulation.config
    path = out / f"snapshot_{index:03d}.fits"
    write_snapshot(path, simulation.state, parameters=config.as_dict(),
                   diagnostics=simulation.diagnostics(), time=simulation.time,
                   step=simulation.step, turnover_time=config.turnover_time,
                   code_version=__version__, counters=simulation.solver.counters.as_dict(),
                   injection_rate=simulation.forcing.energy_injection_rate)
    return path
