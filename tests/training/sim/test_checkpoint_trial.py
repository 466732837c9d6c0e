"""checkpoint_trial: the same saved state continued with other solver options."""

import pytest

import torch

from training.sim.checkpoint_trial import (fastest_signal_cells, main, steep_cell_fraction,
                                           trial_from_checkpoint)
from training.sim.config import RunConfig
from training.sim.run import CHECKPOINT_NAME, run_simulation


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("trial")
    config = RunConfig(cells=8, sound_speed=0.1, mean_field=1.0, target_mach=2.0, seed=4,
                       dtype="float64", end_turnovers=0.3, snapshot_turnovers=[],
                       output_dir=str(out))
    run_simulation(config, progress=False, log=lambda message: None)
    return out / CHECKPOINT_NAME


def test_trial_continues_the_checkpoint_and_applies_the_overrides(checkpoint):
    before = checkpoint.read_bytes()
    plain = trial_from_checkpoint(checkpoint, 6, log=lambda message: None)
    again = trial_from_checkpoint(checkpoint, 6, log=lambda message: None)
    flattened = trial_from_checkpoint(checkpoint, 6, {"flatten_density_contrast": 1.01},
                                      log=lambda message: None)
    assert checkpoint.read_bytes() == before          # the checkpoint is only read
    assert plain == {**again, "seconds": plain["seconds"]}
    assert plain["steps"] == 6 and plain["turnovers"] > 0 and plain["min_density"] > 0
    # flattening (nearly) everywhere is first order everywhere: another, more diffusive run
    assert flattened["overrides"] == {"flatten_density_contrast": 1.01}
    assert flattened["max_cell_mach"] != plain["max_cell_mach"]


def test_trial_command_line(checkpoint, capsys):
    assert main([str(checkpoint), "--steps", "2", "--set", "max_density_drop=0.1"]) == 0
    assert "{'max_density_drop': 0.1}: 2 steps" in capsys.readouterr().out
    assert main([str(checkpoint), "--steps", "2", "--set", "max_density_drop=2"]) == 2
    assert "max_density_drop must be in (0, 1]" in capsys.readouterr().err


def test_steep_cell_fraction_counts_stencils_along_any_axis(checkpoint, capsys):
    density = torch.ones((4, 4, 4), dtype=torch.float64)
    density[1, 2, 3] = 50.0      # its own stencil and its 6 neighbours' span 50x
    assert steep_cell_fraction(density, 10.0) == 7 / 64
    assert steep_cell_fraction(density, 60.0) == 0.0
    assert main([str(checkpoint), "--steep-fractions", "1.0001", "1e9"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1].endswith("100.00%") and printed[2].endswith(": 0.00%")


def test_fastest_signal_cells_are_the_ones_that_set_the_time_step(checkpoint, capsys):
    from training.sim.run import Simulation
    from training.sim.state import cell_centred_field

    simulation = Simulation.restore(checkpoint)
    state = simulation.state
    state.density[2, 3, 4] = 1.0e-3       # a void cell: v_A = |B| / sqrt(rho) dominates
    found = fastest_signal_cells(state, 0.1, 3)
    assert found[0]["cell"] == (2, 3, 4)
    assert [entry["signal"] for entry in found] == sorted(
        (entry["signal"] for entry in found), reverse=True)
    field = float(cell_centred_field(state.face_field)[:, 2, 3, 4].norm())
    assert found[0]["alfven_speed"] == pytest.approx(field / 1.0e-3 ** 0.5)
    assert found[0]["log_density_sigmas"] < -3
    assert main([str(checkpoint), "--fastest", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and printed[1].startswith("cell (") and "v_A" in printed[1]
