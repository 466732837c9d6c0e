"""The numerics-sensitive density statistics (issue 13 item 2) on fields whose answer is known."""

import math

import numpy as np
import pytest

from training.sim.cli import main
from training.sim.config import RunConfig
from training.sim.density_spectrum import (density_numerics_statistics,
                                           log_density_anisotropy, shell_summed_spectrum,
                                           small_scale_variance_fraction, spectrum_slope)
from training.sim.random_fields import power_law_field
from training.sim.run import run_simulation

CELLS = 64


def _lattice_expectation(cells, n, k_range=(3, 12)):
    """Expected E(k) of a Gaussian field with P ~ |k|^-n on the FFT lattice of power_law_field
    (band 1 <= |k| <= N/2, no Nyquist planes), and the standard error of the fitted slope.

    Each shell sums M_k modes, i.e. M_k / 2 independent Hermitian pairs whose powers are
    exponentially distributed, so ln E(k) scatters by sqrt(2 / M_k); the least-squares slope
    then scatters by sqrt(sum_i w_i^2 2 / M_i), w_i = (x_i - <x>) / sum (x - <x>)^2.
    """
    axes = np.meshgrid(*[np.fft.fftfreq(cells, 1.0 / cells)] * 3, indexing="ij")
    magnitude = np.sqrt(sum(a * a for a in axes))
    band = (magnitude >= 1) & (magnitude <= cells // 2)
    for a in axes:
        band &= np.abs(a) < cells / 2
    power = np.where(band, np.where(magnitude > 0, magnitude, 1.0) ** (-n), 0.0)
    shell = np.rint(magnitude).astype(int).ravel()
    top = cells // 2
    modes = np.bincount(shell, minlength=top + 1)[1:top + 1]
    k = np.bincount(shell, weights=magnitude.ravel(), minlength=top + 1)[1:top + 1] / modes
    energy = np.bincount(shell, weights=power.ravel(), minlength=top + 1)[1:top + 1]
    fitted = slice(k_range[0] - 1, k_range[1])
    x = np.log(k[fitted])
    weights = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    return spectrum_slope(k, energy, k_range), float(np.sqrt((weights ** 2 * 2.0
                                                              / modes[fitted]).sum()))


@pytest.mark.parametrize("n", [2.5, 3.0])
def test_gaussian_field_gives_its_spectral_slope_within_the_mode_count_error(n):
    expected, error = _lattice_expectation(CELLS, n)
    # the shell sum has slope 2 - n up to the lattice's mode counts per shell (fewer modes than
    # 4 pi k^2 in the low shells): the same for any code analysed this way
    assert expected == pytest.approx(2.0 - n, abs=0.1)
    assert 0.05 < error < 0.1        # ~1,000 modes per shell over k = 3..12
    for seed in (0, 1):
        delta = power_law_field((CELLS,) * 3, n, seed=seed, rms=0.3)
        k, energy, modes = shell_summed_spectrum(1.0 + delta)
        assert spectrum_slope(k, energy) == pytest.approx(expected, abs=4.0 * error)
        # the shells hold the whole variance (the band ends at N/2: no power in the corners)
        assert energy.sum() == pytest.approx(delta.var(), rel=1e-10)


def test_slope_and_fraction_do_not_depend_on_the_density_scale():
    delta = power_law_field((32,) * 3, 3.0, seed=4, rms=0.2)
    a, b = density_numerics_statistics(1.0 + delta), density_numerics_statistics(5.0 + 5.0 * delta)
    assert a["density_slope"] == pytest.approx(b["density_slope"], rel=1e-10)
    assert a["small_scale_fraction"] == pytest.approx(b["small_scale_fraction"], rel=1e-10)


def test_small_scale_fraction_of_two_bands_is_their_variance_share():
    large = power_law_field((CELLS,) * 3, 3.0, seed=1, k_max=15.9, rms=0.2)
    small = power_law_field((CELLS,) * 3, 3.0, seed=2, k_min=16.0, rms=0.1)
    fraction = small_scale_variance_fraction(1.0 + large + small)
    assert fraction == pytest.approx(0.1 ** 2 / (0.1 ** 2 + 0.2 ** 2), rel=1e-9)
    assert small_scale_variance_fraction(1.0 + large) < 1e-20


def test_log_density_anisotropy_of_a_known_field():
    # s = a sin(2 pi x) + b sin(2 pi z): SF2 along z is 2 b^2 sin^2(pi l / N), across it
    # (x and y averaged) a^2 sin^2(pi l / N), so the ratio is 2 b^2 / a^2 at every lag
    z, y, x = np.meshgrid(*[np.arange(CELLS) / CELLS] * 3, indexing="ij")
    a, b = 0.4, 0.2
    density = np.exp(a * np.sin(2 * math.pi * x) + b * np.sin(2 * math.pi * z))
    ratios = log_density_anisotropy(3.0 * density)
    assert set(ratios) == {2, 4, 8}
    for ratio in ratios.values():
        assert ratio == pytest.approx(2 * b * b / (a * a), rel=1e-9)
    with pytest.raises(ValueError, match="lag"):
        log_density_anisotropy(density, lags=(CELLS,))
    with pytest.raises(ValueError, match="positive"):
        log_density_anisotropy(density - 2.0)


def test_stretched_field_is_anisotropic_and_isotropic_one_is_not():
    isotropic = power_law_field((CELLS,) * 3, 3.5, seed=3, rms=0.5)
    along_z = power_law_field((CELLS,) * 3, 3.5, seed=3, rms=0.5, stretch=(3.0, 1.0, 1.0))
    flat = log_density_anisotropy(np.exp(isotropic))
    stretched = log_density_anisotropy(np.exp(along_z))
    for lag in (2, 4, 8):
        assert flat[lag] == pytest.approx(1.0, abs=0.15)
        assert stretched[lag] < 0.6


def test_stats_command_reports_them(tmp_path, capsys):
    config = RunConfig(cells=8, sound_speed=0.1, mean_field=0.1, target_mach=2.0, seed=1,
                       end_turnovers=0.3, snapshot_turnovers=[0.3], dtype="float64",
                       solenoidal_fraction=0.5, output_dir=str(tmp_path / "run"))
    run_simulation(config, progress=False, log=lambda message: None)
    assert main(["stats", str(tmp_path / "run" / "snapshot_000.fits"),
                 "--json", str(tmp_path / "stats.json")]) == 0
    printed = capsys.readouterr().out
    assert "share of var(rho) at |k| >= 16" in printed
    import json

    found = json.loads((tmp_path / "stats.json").read_text())["snapshots"][0]
    # an 8^3 box has no shell beyond k = 4 (slope over 3..12 from two shells) and no |k| >= 16
    assert found["log_density_variance"] > 0
    assert found["density_small_scale_fraction"] == 0.0
    assert set(found["log_density_sf2_par_to_perp"]) == {"2", "4"}
