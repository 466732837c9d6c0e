"""`stats`: Mach numbers, log-density width, spectral slopes and anisotropy on synthetic
snapshots with known answers."""

import json
import math

import numpy as np
import pytest
import torch

from training.sim.cli import main
from training.sim.random_fields import power_law_field
from training.sim.snapshots import write_snapshot
from training.sim.state import MHDState
from training.sim.stats import (alfven_ordering, format_statistics, half_correlation_length,
                                shell_power_spectrum, snapshot_statistics)

CELLS = 32


def _zyx(field):
    # solver/generator arrays are (x, y, z) [+ component first]; snapshots are (z, y, x)
    return np.ascontiguousarray(np.swapaxes(field, -1, -3))


def synthetic_snapshot(*, seed=0, mach=2.0, sound_speed=0.1, mean_field=0.5, field_rms=0.2,
                       log_density_std=0.6, velocity_slope=11 / 3, density_slope=3.0,
                       stretch_z=1.0):
    """(density, velocity, B) in (z, y, x) order with exactly known M_s, M_A and sigma_s."""
    shape = (CELLS,) * 3
    stretch = (1.0, 1.0, stretch_z)
    velocity = power_law_field(shape, velocity_slope, seed=seed, components=3, solenoidal=True,
                               stretch=stretch, rms=mach * sound_speed)
    log_density = power_law_field(shape, density_slope, seed=seed + 1, stretch=stretch,
                                  rms=log_density_std)
    density = np.exp(log_density)
    density /= density.mean()
    fluctuation = power_law_field(shape, 11 / 3, seed=seed + 2, components=3, solenoidal=True,
                                  rms=field_rms)
    field = fluctuation + np.array([0.0, 0.0, mean_field])[:, None, None, None]
    return _zyx(density), _zyx(velocity), _zyx(field)


def test_mach_numbers_and_log_density_width_are_exact():
    density, velocity, field = synthetic_snapshot(mach=2.0, mean_field=0.5, field_rms=0.2)
    found = snapshot_statistics(density, velocity, field, sound_speed=0.1)
    assert found["mach_sonic"] == pytest.approx(2.0, rel=1e-12)
    v_rms, mean_density = 0.2, 1.0
    assert found["mach_alfven_mean"] == pytest.approx(v_rms / 0.5 * mean_density ** 0.5,
                                                      rel=1e-9)
    assert found["mach_alfven_total"] == pytest.approx(v_rms / math.sqrt(0.5 ** 2 + 0.2 ** 2),
                                                       rel=1e-9)
    assert found["alfven_regime"] == "sub-Alfvenic"
    # s = ln(rho/<rho>) is the generated Gaussian field shifted by a constant: variance 0.6^2
    assert found["log_density_variance"] == pytest.approx(0.36, rel=1e-9)
    assert found["log_density_variance_expected"] == pytest.approx(math.log(1 + 4 / 9),
                                                                   rel=1e-12)


@pytest.mark.parametrize("slope", [11 / 3, 4.0, 3.0])
def test_power_spectrum_slopes_are_recovered(slope):
    density, velocity, field = synthetic_snapshot(velocity_slope=slope, density_slope=slope,
                                                  log_density_std=0.05, seed=3)
    found = snapshot_statistics(density, velocity, field, sound_speed=0.1, fit_range=(2, 12))
    assert found["velocity_spectrum_slope"] == pytest.approx(-slope, abs=0.12)
    # density = exp(s) with small s is s to first order: the same slope
    assert found["density_spectrum_slope"] == pytest.approx(-slope, abs=0.15)
    # a projection of a 3D field with P ~ k^-n has a 2D spectrum ~ k^-n too
    assert found["column_density_spectrum_slope_los_z"] == pytest.approx(-slope, abs=0.3)


def test_shell_spectrum_of_a_single_mode():
    z, y, x = np.meshgrid(*[np.arange(16) / 16] * 3, indexing="ij")
    k, power = shell_power_spectrum(np.cos(2 * np.pi * 3 * x))
    assert np.argmax(power) == 2 and 2.5 <= k[2] < 3.5
    # all the power sits in shell 3: <cos^2> = 1/2 over the two modes +-3 of that shell
    assert np.count_nonzero(power > 1e-20) == 1
    shell_modes = 0.5 / power[2]
    assert shell_modes == pytest.approx(round(shell_modes), abs=1e-9) and shell_modes > 2


def test_anisotropy_along_b_is_measured():
    elongated = snapshot_statistics(*synthetic_snapshot(stretch_z=2.0, seed=4), sound_speed=0.1)
    isotropic = snapshot_statistics(*synthetic_snapshot(stretch_z=1.0, seed=4), sound_speed=0.1)
    # a scalar field stretched twice along z: correlation length along/across = 2 (up to the
    # band edges); the solenoidal vector field is elongated too, SF2 across > along
    assert elongated["log_density_correlation_length_ratio"] == pytest.approx(2.0, rel=0.1)
    assert elongated["velocity_correlation_length_ratio"] > 1.8
    assert elongated["velocity_sf2_ratio_perp_to_par"] > 1.8
    assert isotropic["velocity_correlation_length_ratio"] == pytest.approx(1.0, rel=0.15)
    assert isotropic["velocity_sf2_ratio_perp_to_par"] == pytest.approx(1.0, rel=0.15)


def test_half_correlation_length_interpolates():
    assert half_correlation_length(np.array([1.0, 0.75, 0.25, 0.0])) == pytest.approx(1.5)
    assert math.isnan(half_correlation_length(np.array([1.0, 0.9, 0.8])))


def test_sub_super_ordering_and_bad_input():
    sub = snapshot_statistics(*synthetic_snapshot(mean_field=1.0, stretch_z=2.0), sound_speed=0.1)
    sup = snapshot_statistics(*synthetic_snapshot(mean_field=0.05, field_rms=0.05), sound_speed=0.1)
    assert sub["alfven_regime"] == "sub-Alfvenic" and sup["alfven_regime"] == "super-Alfvenic"
    assert alfven_ordering([sub, sup])["holds"] is True
    # swap the anisotropy: the ordering must be reported broken
    sub_isotropic = snapshot_statistics(*synthetic_snapshot(mean_field=1.0), sound_speed=0.1)
    sup_elongated = snapshot_statistics(*synthetic_snapshot(mean_field=0.05, field_rms=0.05,
                                                            stretch_z=2.0), sound_speed=0.1)
    assert alfven_ordering([sub_isotropic, sup_elongated])["holds"] is False
    assert alfven_ordering([sub]) is None
    density, velocity, field = synthetic_snapshot()
    with pytest.raises(ValueError, match="positive"):
        snapshot_statistics(-density, velocity, field, sound_speed=0.1)


def test_correlation_longer_than_the_half_box_gives_a_lower_bound_that_orders():
    # a sub-Alfvenic velocity uniform along z (snapshot axis 0): its correlation along B never
    # falls to 1/2, so the length is only known to exceed the half box
    density, velocity, field = synthetic_snapshot(mean_field=1.0)
    velocity = np.repeat(velocity[:, :1], CELLS, axis=1)
    sub = snapshot_statistics(density, velocity, field, sound_speed=0.1)
    assert math.isnan(sub["velocity_correlation_length_ratio"])
    bound = sub["velocity_correlation_length_ratio_at_least"]
    assert bound == pytest.approx(CELLS / 2 / sub["velocity_correlation_length_perp"])
    assert "(ratio >=" in format_statistics(sub)
    sup = snapshot_statistics(*synthetic_snapshot(mean_field=0.05, field_rms=0.05),
                              sound_speed=0.1)
    assert alfven_ordering([sub, sup])["holds"] is True
    # a super-Alfvenic ratio that is only a bound cannot show the ordering
    unmeasured = dict(sup, velocity_correlation_length_ratio=math.nan)
    assert alfven_ordering([sub, sup, unmeasured])["holds"] is False
    assert alfven_ordering([sub, unmeasured, sup])["holds"] is False


def test_stats_command_reads_a_fits_snapshot(tmp_path, capsys):
    density, velocity, field = synthetic_snapshot(mach=2.0, mean_field=0.5, field_rms=0.0)
    # a uniform field written as face field is its own cell-centred field

    def to_solver(array):
        return torch.from_numpy(np.ascontiguousarray(np.swapaxes(array, -1, -3)))

    state = MHDState(to_solver(density), to_solver(density[None] * velocity), to_solver(field))
    path = tmp_path / "snap.fits"
    write_snapshot(path, state, parameters={"seed": 0, "sound_speed": 0.1},
                   diagnostics={"mach_sonic": 2.0, "mach_alfven_mean": 0.4,
                                "mach_alfven_total": 0.4, "divergence": 0.0},
                   time=1.0, step=1, turnover_time=1.0, code_version="test", counters={},
                   injection_rate=0.25)
    report = tmp_path / "stats.json"
    assert main(["stats", str(path), "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "M_s (volume-weighted)        2" in printed and "sub-Alfvenic" in printed
    saved = json.loads(report.read_text())["snapshots"][0]
    assert saved["mach_sonic"] == pytest.approx(2.0, rel=1e-6)
    assert saved["mach_alfven_mean"] == pytest.approx(0.4, rel=1e-6)
    assert saved["injection_rate"] == pytest.approx(0.25)
    assert main(["stats", str(tmp_path / "missing.fits")]) == 2


def test_uniform_density_gives_nan_slopes_not_errors():
    density, velocity, field = synthetic_snapshot(mach=1.41)
    found = snapshot_statistics(np.ones_like(density), velocity, field, sound_speed=0.1,
                                fit_range=(2, 12))
    assert found["mach_sonic"] == pytest.approx(1.41, rel=1e-12)
    assert found["log_density_variance"] == 0.0
    for key in ("density_spectrum_slope", "column_density_spectrum_slope_los_z",
                "log_density_correlation_length_ratio", "log_density_sf2_ratio_perp_to_par"):
        assert math.isnan(found[key]), key
    assert found["velocity_spectrum_slope"] == pytest.approx(-11 / 3, abs=0.12)
