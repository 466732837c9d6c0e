"""Verification checks on a short 3D driven run: div B, mass, solenoidal forcing, energy
injection and seed determinism."""

import time

from .check_result import CheckResult
from .config import RunConfig
from .forcing import solenoidal_residual
from .run import Simulation

__all__ = ["check_driven_run"]


def _driven_config(cells, device):
    return RunConfig(cells=cells, sound_speed=0.1, mean_field=1.0, target_mach=2.0, seed=7,
                     dtype="float64", device=device, mach_control=False, end_turnovers=1.0,
                     snapshot_turnovers=[], output_dir="unused")


def check_driven_run(results, device, quick):
    """Append the driven-run rows to ``results`` (list of CheckResult)."""
    cells, steps = (16, 12) if quick else (32, 40)
    started = time.perf_counter()
    simulation = Simulation.start(_driven_config(cells, device))
    initial_mass = simulation.diagnostics()["mass"]
    worst_divergence, worst_injection, worst_solenoidal = 0.0, 0.0, 0.0
    for _ in range(steps):
        dt = simulation.solver.time_step(simulation.state)
        simulation.state = simulation.solver.step(simulation.state, dt)
        after_hydro = simulation.diagnostics()["kinetic_energy"]
        simulation.forcing.advance(dt)
        pattern = simulation.forcing.acceleration_pattern()
        worst_solenoidal = max(worst_solenoidal, solenoidal_residual(pattern,
                                                                     simulation.solver.grid))
        injected = simulation.forcing.kick(simulation.state, dt)
        after_kick = simulation.diagnostics()["kinetic_energy"]
        requested = simulation.forcing.energy_injection_rate * dt * 1.0  # unit box volume
        worst_injection = max(worst_injection, abs(after_kick - after_hydro - requested)
                              / requested, abs(injected - requested) / requested)
        worst_divergence = max(worst_divergence, simulation.diagnostics()["divergence"])
    mass_change = abs(simulation.diagnostics()["mass"] / initial_mass - 1.0)
    seconds = time.perf_counter() - started
    label = f"driven 3D {cells}^3, {steps} steps"
    results.append(CheckResult(f"{label}: max over steps of max|div B| dx/|B|",
                               worst_divergence, 1.0e-12, "<", "issue 3", seconds))
    results.append(CheckResult(f"{label}: relative mass change", mass_change, 1.0e-13, "<",
                               "issue 3 (round-off)"))
    results.append(CheckResult(f"{label}: forcing sum|k.f|/sum|k||f|", worst_solenoidal,
                               1.0e-12, "<", "issue 3"))
    results.append(CheckResult(f"{label}: |injected - requested| / requested", worst_injection,
                               1.0e-9, "<", "issue 3"))

    started = time.perf_counter()
    runs = []
    for _ in range(2):
        twin = Simulation.start(_driven_config(cells, device))
        for _ in range(4):
            twin.advance()
        runs.append(twin.state)
    difference = max(float((a - b).abs().max()) for a, b in
                     zip(runs[0].state_dict().values(), runs[1].state_dict().values()))
    results.append(CheckResult("driven 3D: same seed, max |difference| after 4 steps",
                               difference, 1.0e-300, "<", "issue 3 (bit-for-bit)",
                               time.perf_counter() - started))
