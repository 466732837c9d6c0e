"""Driving variants (issue 13 item 2): solenoidal fraction and spectral shape of the OU forcing,
recorded with the run, validated, and leaving the default driving exactly as it was."""

import math

import numpy as np
import pytest
import torch

from training.sim.cli import main
from training.sim.config import RunConfig, load_toml
from training.sim.forcing import OUForcing, forcing_modes, helmholtz_power
from training.sim.grid import Grid
from training.sim.run import Simulation, run_simulation
from training.sim.snapshots import read_snapshot

# float64 round-off of a 16^3 FFT against a direct sum over ~100 modes is ~1e-14 relative;
# 1e-10 leaves room for any FFT library while still catching any change of the driving
ROUND_OFF = 1e-10


def _reference_solenoidal_patterns(grid, seed, steps, dt, correlation_time, k_min=1.0,
                                   k_max=3.0):
    """Today's default driving written out independently: seeded complex Gaussian amplitudes
    projected perpendicular to k, an exact OU update, and the pattern as a direct sum
    Re sum_m c_m exp(i k_m . x) over the cell centres."""
    modes = forcing_modes(grid, k_min, k_max).to(torch.float64)
    wavevectors = modes * 2.0 * math.pi          # unit box
    unit = wavevectors / wavevectors.norm(dim=1, keepdim=True)
    generator = torch.Generator().manual_seed(seed)

    def noise():
        draws = torch.randn((len(modes), 3, 2), generator=generator, dtype=torch.float64)
        return torch.complex(draws[..., 0], draws[..., 1])

    def project(c):
        return c - (c * unit).sum(dim=1, keepdim=True) * unit

    # the pattern is sampled where the FFT samples it, at x = i dx (a fixed shift of the cell
    # centres, the same for every run)
    x, y, z = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) / n for n in grid.shape],
                             indexing="ij")
    phases = torch.exp(1j * (wavevectors[:, 0, None, None, None] * x
                             + wavevectors[:, 1, None, None, None] * y
                             + wavevectors[:, 2, None, None, None] * z))

    def pattern(c):
        return torch.einsum("mc,mxyz->cxyz", c, phases).real

    coefficients = project(noise())
    patterns = [pattern(coefficients)]
    decay = math.exp(-dt / correlation_time)
    for _ in range(steps):
        coefficients = project(decay * coefficients + math.sqrt(1 - decay * decay) * noise())
        patterns.append(pattern(coefficients))
    return patterns


def test_default_driving_is_unchanged():
    grid = Grid((16, 16, 16))
    reference = _reference_solenoidal_patterns(grid, seed=3, steps=4, dt=0.07,
                                               correlation_time=0.5)
    default = OUForcing(grid, energy_injection_rate=1.0, correlation_time=0.5, seed=3)
    explicit = OUForcing(grid, energy_injection_rate=1.0, correlation_time=0.5, seed=3,
                         solenoidal_fraction=1.0, shape="flat")
    for step, expected in enumerate(reference):
        if step:
            default.advance(0.07)
            explicit.advance(0.07)
        found = default.acceleration_pattern()
        scale = float(expected.abs().max())
        assert float((found - expected).abs().max()) < ROUND_OFF * scale
        # naming the defaults takes the very same path, bit for bit
        assert torch.equal(explicit.acceleration_pattern(), found)
    config = RunConfig(cells=8, dtype="float64")
    assert config.solenoidal_fraction == 1.0 and config.forcing_shape == "flat"


def test_helmholtz_power_separates_known_fields():
    grid = Grid((8, 8, 8))
    x, y, _ = torch.meshgrid(*[(torch.arange(8, dtype=torch.float64) + 0.5) / 8] * 3,
                             indexing="ij")
    zero = torch.zeros_like(x)
    shear = torch.stack([torch.sin(2 * math.pi * y), zero, zero])        # k perpendicular to f
    sound = torch.stack([torch.sin(2 * math.pi * x), zero, zero])        # k parallel to f
    solenoidal, compressive = helmholtz_power(shear, grid)
    assert compressive < 1e-20 * solenoidal and solenoidal > 0
    solenoidal, compressive = helmholtz_power(sound + 1.0, grid)        # the mean is in neither
    assert solenoidal < 1e-20 * compressive and compressive > 0
    both = helmholtz_power(shear + sound, grid)
    assert both[0] == pytest.approx(both[1], rel=1e-12)


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.9, 0.97])
@pytest.mark.parametrize("shape", ["flat", "parabola"])
def test_solenoidal_fraction_holds_on_the_pattern_at_every_step(fraction, shape):
    grid = Grid((16, 16, 16))
    forcing = OUForcing(grid, energy_injection_rate=1.0, correlation_time=0.5, seed=11,
                        solenoidal_fraction=fraction, shape=shape)
    for step in range(4):
        if step:
            forcing.advance(0.2)
        solenoidal, compressive = helmholtz_power(forcing.acceleration_pattern(), grid)
        assert solenoidal / (solenoidal + compressive) == pytest.approx(fraction, abs=1e-9)


def test_mixed_driving_keeps_the_solenoidal_pattern_of_the_same_seed():
    # same noise draws: the solenoidal part of the mixed pattern is the purely solenoidal
    # pattern, rescaled, so the cosine between the two patterns is sqrt(fraction)
    grid = Grid((16, 16, 16))
    pure = OUForcing(grid, energy_injection_rate=1.0, correlation_time=0.5, seed=4)
    mixed = OUForcing(grid, energy_injection_rate=1.0, correlation_time=0.5, seed=4,
                      solenoidal_fraction=0.9)
    for _ in range(3):
        pure.advance(0.1)
        mixed.advance(0.1)
    a, b = pure.acceleration_pattern(), mixed.acceleration_pattern()
    cosine = float((a * b).sum() / (a.norm() * b.norm()))
    assert cosine == pytest.approx(math.sqrt(0.9), abs=1e-9)


def test_compressive_driving_injects_the_requested_energy(tmp_path):
    config = RunConfig(cells=8, sound_speed=0.1, mean_field=0.1, target_mach=2.0, seed=2,
                       end_turnovers=0.1, snapshot_turnovers=[], dtype="float64",
                       mach_control=False, energy_injection_rate=0.02,
                       solenoidal_fraction=0.8, forcing_shape="parabola",
                       output_dir=str(tmp_path / "run"))
    simulation = Simulation.start(config)
    total_dt = sum(simulation.advance() for _ in range(6))
    box_volume = 1.0
    assert simulation.injected_energy == pytest.approx(0.02 * total_dt * box_volume, rel=1e-9)
    # the compressive push shows up as density fluctuations a solenoidal start would lack
    assert float(simulation.state.density.std()) > 0.0


def test_parabolic_shape_peaks_in_the_middle_of_the_band_and_vanishes_at_its_edges():
    grid = Grid((16, 16, 16))
    k = np.fft.fftfreq(16, 1.0 / 16)
    kx, ky, kz = np.meshgrid(k, k, k, indexing="ij")
    shell = np.rint(kx ** 2 + ky ** 2 + kz ** 2).astype(int)       # |m|^2
    mean_power = {}
    for seed in range(24):           # independent draws, so the shell means are stable
        forcing = OUForcing(grid, energy_injection_rate=1.0, correlation_time=1.0, seed=seed,
                            shape="parabola")
        spectrum = np.fft.fftn(forcing.acceleration_pattern().numpy(), axes=(1, 2, 3))
        power = (np.abs(spectrum) ** 2).sum(axis=0)
        for m2 in (1, 2, 4, 9):
            mean_power[m2] = mean_power.get(m2, 0.0) + power[shell == m2].mean() / 24
    assert mean_power[1] < 1e-20 * mean_power[4] and mean_power[9] < 1e-20 * mean_power[4]
    # amplitude 1 - (|k| - 2)^2: power ratio (1 - (sqrt 2 - 2)^2)^2 = 0.4314 between the
    # |k| = sqrt 2 and |k| = 2 shells; 24 seeds x ~12 modes x 2 polarisations give ~6% scatter
    expected = (1 - (math.sqrt(2) - 2) ** 2) ** 2
    assert mean_power[2] / mean_power[4] == pytest.approx(expected, rel=0.25)


@pytest.mark.parametrize("changes, message", [
    ({"solenoidal_fraction": 1.5}, "solenoidal_fraction"),
    ({"solenoidal_fraction": -0.1}, "solenoidal_fraction"),
    ({"solenoidal_fraction": float("nan")}, "solenoidal_fraction"),
    ({"solenoidal_fraction": True}, "solenoidal_fraction"),
    ({"solenoidal_fraction": "0.9"}, "solenoidal_fraction"),
    ({"forcing_shape": "gaussian"}, "forcing_shape"),
    ({"forcing_shape": "parabola", "forcing_slope": 2.0}, "forcing_slope"),
    ({"forcing_shape": "parabola", "k_min": 2.0, "k_max": 2.0}, "k_max > k_min"),
    ({"forcing_shape": "parabola", "k_min": 1.0, "k_max": 1.2}, "no mode"),
])
def test_bad_driving_variants_are_refused(changes, message):
    values = {"cells": 8, "dtype": "float64", **changes}
    with pytest.raises(ValueError, match=message):
        config = RunConfig(**values)
        Simulation.start(config)         # a shape with no weighted mode is found here


def test_driving_variants_are_recorded_and_read_from_toml_and_command_line(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('cells = 8\nsound_speed = 0.1\nmean_field = 0.1\ntarget_mach = 2.0\n'
                    'end_turnovers = 0.02\nsnapshot_turnovers = [0.02]\ndtype = "float64"\n'
                    'solenoidal_fraction = 0.9\nforcing_shape = "parabola"\n'
                    f'output_dir = "{tmp_path / "run"}"\n')
    config = load_toml(toml)
    assert config.solenoidal_fraction == 0.9 and config.forcing_shape == "parabola"
    simulation = run_simulation(config, progress=False, log=lambda message: None)
    header = read_snapshot(tmp_path / "run" / "snapshot_000.fits")[3]
    assert header["HIERARCH PAR solenoidal_fraction"] == pytest.approx(0.9)
    assert header["HIERARCH PAR forcing_shape"] == "parabola"
    # the checkpoint carries them too, so a resumed run drives the same way
    resumed = Simulation.restore(tmp_path / "run" / "checkpoint.pt")
    assert resumed.forcing.solenoidal_fraction == 0.9 and resumed.forcing.shape == "parabola"
    assert simulation.step > 0
    assert main(["run", "--config", str(toml), "--solenoidal-fraction", "1.2",
                 "--no-progress"]) == 2
    assert main(["run", "--config", str(toml), "--forcing-shape", "gauss",
                 "--no-progress"]) == 2
