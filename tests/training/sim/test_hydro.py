"""Hydro mode (B = 0): solenoidal power-law initial velocity, decaying runs and power-law
driving."""

import math

import numpy as np
import pytest
import torch

from training.sim.config import RunConfig
from training.sim.forcing import OUForcing, solenoidal_residual
from training.sim.grid import Grid
from training.sim.random_fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, power_law_field
from training.sim.run import Simulation, run_simulation
from training.sim.snapshots import read_snapshot
from training.sim.stats import fit_slope, read_snapshot_statistics, shell_power_spectrum


def hydro_config(tmp_path, **changes):
    values = dict(cells=32, mean_field=0.0, target_mach=1.41, sound_speed=0.1, driving="none",
                  initial_velocity_slope=KOLMOGOROV_SLOPE, seed=2, dtype="float64",
                  snapshot_turnovers=[], end_turnovers=0.02, output_dir=str(tmp_path / "run"))
    values.update(changes)
    return RunConfig(**values)


@pytest.mark.parametrize("slope", [KOLMOGOROV_SLOPE, BURGERS_SLOPE, 3.0])
def test_initial_velocity_has_the_chosen_slope_and_is_solenoidal(tmp_path, slope):
    simulation = Simulation.start(hydro_config(tmp_path, initial_velocity_slope=slope))
    velocity = simulation.state.velocity
    k, power = shell_power_spectrum(velocity.numpy())
    assert fit_slope(k, power, (2, 15)) == pytest.approx(-slope, abs=0.15)
    assert solenoidal_residual(velocity, simulation.solver.grid) < 1e-12
    found = simulation.diagnostics()
    assert found["mach_sonic"] == pytest.approx(1.41, rel=1e-12)
    assert math.isinf(found["mach_alfven_total"]) and found["magnetic_energy"] == 0.0
    assert float(simulation.state.momentum.mean(dim=(1, 2, 3)).abs().max()) < 1e-15


def test_kolmogorov_and_burgers_differ_by_exactly_their_slopes():
    # the same seed draws the same modes: only the amplitudes differ, by k^-(4 - 11/3)/2
    shape = (32, 32, 32)
    slopes = []
    for slope in (KOLMOGOROV_SLOPE, BURGERS_SLOPE):
        field = power_law_field(shape, slope, seed=9, components=3, solenoidal=True)
        slopes.append(fit_slope(*shell_power_spectrum(field), (2, 15)))
    assert slopes[0] - slopes[1] == pytest.approx(BURGERS_SLOPE - KOLMOGOROV_SLOPE, abs=0.02)


def test_decaying_hydro_run_loses_energy_keeps_b_zero_and_writes_snapshots(tmp_path):
    config = hydro_config(tmp_path, cells=16, end_turnovers=0.03, snapshot_turnovers=[0.03])
    simulation = Simulation.start(config)
    energies = [simulation.diagnostics()["kinetic_energy"]]
    for _ in range(6):
        simulation.advance()
        energies.append(simulation.diagnostics()["kinetic_energy"])
    assert all(later < earlier for earlier, later in zip(energies, energies[1:]))
    assert float(simulation.state.face_field.abs().max()) == 0.0
    assert simulation.diagnostics()["mass"] == pytest.approx(1.0, rel=1e-13)
    assert simulation.forcing.energy_injection_rate == 0.0 and simulation.injected_energy == 0.0

    run_simulation(config, progress=False, log=lambda message: None)
    path = tmp_path / "run" / "snapshot_000.fits"
    _, _, field, header = read_snapshot(path)
    assert header["MATOTAL"] == "inf" and header["HIERARCH PAR driving"] == "none"
    assert header["HIERARCH PAR initial_velocity_slope"] == pytest.approx(KOLMOGOROV_SLOPE)
    assert np.all(field == 0.0)
    assert read_snapshot_statistics(path)["alfven_regime"] == "hydro (B = 0)"


def test_power_law_driving_pattern_has_the_slope_and_no_divergence():
    grid = Grid((32, 32, 32))
    powers = []
    for seed in range(4):            # average a few independent draws of the OU amplitudes
        forcing = OUForcing(grid, energy_injection_rate=1.0, correlation_time=1.0, seed=seed,
                            k_min=1.0, k_max=12.0, slope=BURGERS_SLOPE)
        pattern = forcing.acceleration_pattern()
        assert solenoidal_residual(pattern, grid) < 1e-12
        k, power = shell_power_spectrum(pattern.numpy())
        powers.append(power)
    slope = fit_slope(k, np.mean(powers, axis=0), (2, 11))
    assert slope == pytest.approx(-BURGERS_SLOPE, abs=0.3)


def test_driven_hydro_run_injects_the_requested_energy(tmp_path):
    config = hydro_config(tmp_path, cells=16, driving="ou", initial_velocity_slope=None,
                          forcing_slope=KOLMOGOROV_SLOPE, k_max=6.0, mach_control=False,
                          energy_injection_rate=0.01)
    simulation = Simulation.start(config)
    total_dt = 0.0
    for _ in range(5):
        total_dt += simulation.advance()
    assert simulation.injected_energy == pytest.approx(0.01 * total_dt, rel=1e-9)
    assert float(simulation.state.face_field.abs().max()) == 0.0
    assert simulation.diagnostics()["mach_sonic"] > 0.0


@pytest.mark.parametrize("changes, message", [
    ({"driving": "none", "initial_velocity_slope": None}, "initial_velocity_slope"),
    ({"driving": "turbulent"}, "driving"),
    ({"initial_velocity_slope": float("nan")}, "initial_velocity_slope"),
])
def test_bad_hydro_parameters_are_rejected(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        hydro_config(tmp_path, **changes)


def test_same_seed_same_initial_field_different_seed_different(tmp_path):
    fields = [Simulation.start(hydro_config(tmp_path, cells=16, seed=seed)).state.momentum
              for seed in (4, 4, 5)]
    assert torch.equal(fields[0], fields[1]) and not torch.equal(fields[0], fields[2])
