"""The driven-turbulence run: solver + forcing + Mach control, with progress, snapshots and
checkpoints."""

import math
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .config import RunConfig
from .diagnostics import turbulence_diagnostics
from .evolve import check_finite
from .forcing import OUForcing
from .problems import uniform_state
from .snapshots import load_checkpoint, save_checkpoint, write_snapshot
from .solver import MHDSolver, NonPhysicalStateError, StepCounters
from .state import MHDState

__all__ = ["Simulation", "run_simulation", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.pt"
# Mach control: rescale the injection rate this often (turnovers), by at most this factor
_CONTROL_INTERVAL_TURNOVERS = 0.5
_CONTROL_MAX_FACTOR = 2.0


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
    next_control_time: float = 0.0
    injected_energy: float = 0.0

    @classmethod
    def start(cls, config):
        """A fresh run at t = 0: uniform density, gas at rest, B = B0 z."""
        grid = config.grid()
        solver = MHDSolver(grid, config.solver_options(), device=config.device)
        state = uniform_state(grid, magnetic_field=(0.0, 0.0, config.mean_field),
                              dtype=solver.dtype, device=config.device)
        forcing = OUForcing(grid, energy_injection_rate=config.injection_rate,
                            correlation_time=config.correlation_time_turnovers
                            * config.turnover_time,
                            seed=config.seed, k_min=config.k_min, k_max=config.k_max,
                            device=config.device, dtype=solver.dtype)
        return cls(config, solver, forcing, state,
                   next_control_time=config.turnover_time)

    @classmethod
    def restore(cls, path, *, device=None):
        """A run continued from a checkpoint, bit-for-bit as if it had never stopped."""
        saved = load_checkpoint(path)
        values = dict(saved["config"])
        if device is not None:
            values["device"] = device
        config = RunConfig(**values)
        simulation = cls.start(config)
        simulation.state = MHDState(**{name: tensor.to(config.device)
                                       for name, tensor in saved["state"].items()})
        simulation.forcing.load_state_dict(saved["forcing"])
        simulation.solver.counters = StepCounters(**saved["counters"])
        for name in ("time", "step", "next_snapshot", "next_control_time", "injected_energy"):
            setattr(simulation, name, saved[name])
        return simulation

    def checkpoint(self, path):
        """Save everything :meth:`restore` needs."""
        return save_checkpoint(path, {
            "config": self.config.as_dict(),
            "state": {name: tensor.cpu() for name, tensor in self.state.state_dict().items()},
            "forcing": self.forcing.state_dict(),
            "counters": self.solver.counters.as_dict(),
            "time": self.time, "step": self.step, "next_snapshot": self.next_snapshot,
            "next_control_time": self.next_control_time,
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
        if self.config.mach_control and self.time >= self.next_control_time:
            measured = self.diagnostics()["mach_sonic"]
            if measured > 0.0:
                # injection ~ v^3 / L, so the rate scales with the cube of the Mach ratio
                factor = (self.config.target_mach / measured) ** 3
                factor = min(max(factor, 1.0 / _CONTROL_MAX_FACTOR), _CONTROL_MAX_FACTOR)
                self.forcing.energy_injection_rate *= factor
            self.next_control_time += _CONTROL_INTERVAL_TURNOVERS * self.config.turnover_time
        return dt


def run_simulation(config=None, *, resume=None, progress=True, output_dir=None, log=print):
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

    simulation = Simulation.restore(resume) if resume else Simulation.start(config)
    config = simulation.config
    out = Path(output_dir or config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / CHECKPOINT_NAME
    snapshot_times = sorted(t * config.turnover_time for t in config.snapshot_turnovers)
    bar = tqdm(total=round(simulation.end_time, 12), initial=round(simulation.time, 12),
               disable=not progress, unit="t", bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} "
               "[{elapsed}<{remaining}{postfix}]")
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
            if simulation.step % config.checkpoint_every == 0:
                simulation.checkpoint(checkpoint_path)
            if progress and simulation.step % 10 == 0:
                found = simulation.diagnostics()
                bar.set_postfix_str(f"t={simulation.time:.4g} dt={dt:.3g} "
                                    f"M_s={found['mach_sonic']:.3g} "
                                    f"M_A={found['mach_alfven_total']:.3g} "
                                    f"divB={found['divergence']:.1e}")
    finally:
        bar.close()
    simulation.checkpoint(checkpoint_path)
    log(f"done: {simulation.step} steps to t = {simulation.time:.6g}; safety nets: "
        f"{simulation.solver.counters.as_dict()}")
    return simulation


def _write_snapshot(simulation, out, index):
    config = simulation.config
    path = out / f"snapshot_{index:03d}.fits"
    write_snapshot(path, simulation.state, parameters=config.as_dict(),
                   diagnostics=simulation.diagnostics(), time=simulation.time,
                   step=simulation.step, turnover_time=config.turnover_time,
                   code_version=__version__, counters=simulation.solver.counters.as_dict())
    return path
