"""Driven runs: snapshots with full headers, bit-for-bit restart, forcing, clear failures."""

import pytest
import torch

from training.sim.cli import main
from training.sim.config import RunConfig, load_toml
from training.sim.forcing import OUForcing, solenoidal_residual
from training.sim.run import CHECKPOINT_NAME, Simulation, run_simulation
from training.sim.snapshots import read_snapshot
from training.sim.solver import NonPhysicalStateError


def small_config(tmp_path, **changes):
    values = dict(cells=8, sound_speed=0.1, mean_field=1.0, target_mach=2.0, seed=5,
                  end_turnovers=0.04, snapshot_turnovers=[0.02, 0.04], checkpoint_every=3,
                  dtype="float64", output_dir=str(tmp_path / "run"))
    values.update(changes)
    return RunConfig(**values)


def test_run_writes_fits_snapshots_with_parameters(tmp_path):
    config = small_config(tmp_path)
    simulation = run_simulation(config, progress=False, log=lambda message: None)
    assert simulation.step > 0
    density, velocity, field, header = read_snapshot(tmp_path / "run" / "snapshot_001.fits")
    assert density.shape == (8, 8, 8) and velocity.shape == (3, 8, 8, 8)
    assert field.shape == (3, 8, 8, 8)
    assert header["SEED"] == 5
    assert header["HIERARCH PAR sound_speed"] == pytest.approx(0.1)
    assert header["HIERARCH PAR riemann"] == "hlld"
    assert header["CODEVER"]
    assert header["MS"] > 0 and header["MAMEAN"] > 0 and header["MATOTAL"] > 0
    assert header["TTURN"] == pytest.approx(0.04, rel=1e-9)
    # the mean field stays B0 along z (CT conserves the face-averaged flux)
    assert field[2].mean() == pytest.approx(1.0, abs=1e-12)


def test_restart_from_checkpoint_is_bit_for_bit(tmp_path):
    straight = Simulation.start(small_config(tmp_path))
    for _ in range(8):
        straight.advance()

    first_half = Simulation.start(small_config(tmp_path))
    for _ in range(4):
        first_half.advance()
    first_half.checkpoint(tmp_path / "half.pt")
    resumed = Simulation.restore(tmp_path / "half.pt")
    for _ in range(4):
        resumed.advance()
    assert resumed.state.equal(straight.state)
    assert resumed.time == straight.time


def test_same_seed_same_forcing_different_seed_different(tmp_path):
    from training.sim.grid import Grid

    grid = Grid((8, 8, 8))
    patterns = []
    for seed in (1, 1, 2):
        forcing = OUForcing(grid, energy_injection_rate=1.0, correlation_time=1.0, seed=seed)
        forcing.advance(0.1)
        patterns.append(forcing.acceleration_pattern())
    assert torch.equal(patterns[0], patterns[1])
    assert not torch.equal(patterns[0], patterns[2])
    assert solenoidal_residual(patterns[0], grid) < 1e-12


def test_non_physical_run_stops_naming_step_time_cell_and_keeps_checkpoint(tmp_path,
                                                                           monkeypatch):
    config = small_config(tmp_path, end_turnovers=0.2, snapshot_turnovers=[])
    original_step = Simulation.advance

    def poisoned(self, max_dt=float("inf")):
        if self.step == 7:
            self.state.density[2, 3, 4] = float("nan")
        return original_step(self, max_dt)

    monkeypatch.setattr(Simulation, "advance", poisoned)
    messages = []
    with pytest.raises(NonPhysicalStateError) as caught:
        run_simulation(config, progress=False, log=messages.append)
    text = str(caught.value)
    assert "step 7" in text and "t = " in text and "(2, 3, 4)" in text
    assert "last good checkpoint" in messages[-1]
    saved = Simulation.restore(tmp_path / "run" / CHECKPOINT_NAME)
    assert saved.step == 6
    assert torch.isfinite(saved.state.density).all()


def test_cli_run_with_toml_and_resume(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(f"cells = 8\nsound_speed = 0.1\ntarget_mach = 2.0\nend_turnovers = 0.02\n"
                      f"snapshot_turnovers = [0.02]\ndtype = 'float64'\n"
                      f"output_dir = '{tmp_path / 'out'}'\n")
    assert load_toml(config).cells == 8
    assert main(["run", "--config", str(config), "--no-progress", "--seed", "3"]) == 0
    assert (tmp_path / "out" / "snapshot_000.fits").exists()
    assert main(["run", "--resume", str(tmp_path / "out" / CHECKPOINT_NAME),
                 "--no-progress"]) == 0


def test_resume_with_a_later_end_extends_the_run_bit_for_bit(tmp_path):
    short = small_config(tmp_path, end_turnovers=0.02, snapshot_turnovers=[0.02])
    run_simulation(short, progress=False, log=lambda message: None)
    assert main(["run", "--resume", str(tmp_path / "run" / CHECKPOINT_NAME), "--no-progress",
                 "--end-turnovers", "0.04"]) == 0
    extended = Simulation.restore(tmp_path / "run" / CHECKPOINT_NAME)
    straight = run_simulation(small_config(tmp_path, snapshot_turnovers=[0.02],
                                           output_dir=str(tmp_path / "straight")),
                              progress=False, log=lambda message: None)
    assert extended.time == pytest.approx(0.04 * extended.config.turnover_time, rel=1e-12)
    assert extended.step == straight.step
    assert extended.state.equal(straight.state)


def test_mach_control_changes_the_rate_restarts_bit_for_bit_and_is_in_headers(tmp_path):
    # T = L / (M c_s) = 5; the control acts at 1 T, 1.5 T, ... on the interval-averaged M_s
    config = small_config(tmp_path, end_turnovers=1.6, snapshot_turnovers=[1.6],
                          checkpoint_every=10_000)
    straight = run_simulation(config, progress=False, log=lambda message: None)
    history = straight.controller.history
    assert [round(entry["time"] / config.turnover_time, 1) for entry in history] == [1.0, 1.5]
    # spin-up from rest is slower than the target: both updates raise the rate
    assert all(entry["rate_after"] > entry["rate_before"] for entry in history)
    assert straight.forcing.energy_injection_rate == history[-1]["rate_after"]
    _, _, _, header = read_snapshot(tmp_path / "run" / "snapshot_000.fits")
    assert header["EPSINJ"] == pytest.approx(history[-1]["rate_after"], rel=1e-12)
    assert header["HIERARCH PAR energy_injection_rate"] == "none"

    interrupted = Simulation.start(config)
    while interrupted.time < 1.2 * config.turnover_time:
        interrupted.advance()
    interrupted.checkpoint(tmp_path / "mid.pt")
    resumed = Simulation.restore(tmp_path / "mid.pt")
    while resumed.step < straight.step:
        resumed.advance(straight.end_time - resumed.time)
    assert resumed.controller.history == history
    assert resumed.state.equal(straight.state)
