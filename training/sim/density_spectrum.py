"""Density statistics that tell one code's numerics from another's (issue 13 item 2): the slope
of the shell-summed 3D density spectrum, the share of density variance at small scales, and the
ln(rho) structure-function anisotropy along vs across the mean field.

Definitions (all on a periodic (nz, ny, nx) cube, z = axis 0 = mean-field direction):

- the field is delta = rho / <rho> - 1. Both numbers below are unchanged by rescaling the field
  and only k != 0 enters them, so they are the same for rho itself (the issue's "density field");
- E(k) = sum over the modes of shell k (|k| rounded to the nearest integer, cycles per box) of
  |FFT(delta)|^2 / N^2: the shell-*summed* spectrum, so E(k) ~ k^(2 - n) for a shell-averaged
  P(k) ~ k^-n. The slope is the least-squares fit of ln E on ln(mean |k| of the shell) over the
  shells k = 3 .. 12 inclusive. The low shells of the FFT lattice hold fewer modes than
  4 pi k^2, so a field with exactly P ~ k^-n fits a little shallower than 2 - n (by less than 0.1
  at 64^3, checked in the tests); any code's cubes analysed this way share that offset;
- the small-scale fraction is sum over modes with |k| >= 16 (exact |k|, corners of the cube
  included) of |FFT(delta)|^2 divided by the same sum over all k != 0, i.e. the share of
  var(delta) at |k| >= 16;
- the anisotropy is SF2_par(l) / SF2_perp(l) of s = ln(rho / <rho>) at lags l = 2, 4, 8 cells,
  SF2(l) = <(s(x + l e) - s(x))^2>, e along z (parallel) or x and y averaged (perpendicular);
  below 1 means structures elongated along the field.
"""

import math

import numpy as np

from .correlations import structure_function_along_axes

__all__ = ["shell_summed_spectrum", "spectrum_slope", "small_scale_variance_fraction",
           "log_density_anisotropy", "density_numerics_statistics",
           "read_density_numerics_statistics", "SLOPE_RANGE", "SMALL_SCALE_K", "ANISOTROPY_LAGS"]

# the ranges of the comparison with the other code (64^3, M_s ~ 7)
SLOPE_RANGE = (3, 12)
SMALL_SCALE_K = 16.0
ANISOTROPY_LAGS = (2, 4, 8)


def _wavenumbers(shape):
    grids = np.meshgrid(*[np.fft.fftfreq(n, d=1.0 / n) for n in shape], indexing="ij")
    return np.sqrt(sum(g * g for g in grids))


def _fluctuation_power(density):
    density = np.asarray(density, dtype=np.float64)
    if density.ndim != 3:
        raise ValueError(f"need a 3D (nz, ny, nx) density cube, got shape {density.shape}")
    mean = density.mean()
    if not mean > 0:
        raise ValueError(f"need a positive mean density, got {mean!r}")
    power = np.abs(np.fft.fftn(density / mean - 1.0)) ** 2 / float(density.size) ** 2
    return power, _wavenumbers(density.shape)


def shell_summed_spectrum(density):
    """Shell-summed power spectrum E(k) of delta = rho / <rho> - 1.

    Parameters
    ----------
    density : numpy.ndarray
        (nz, ny, nx) periodic cube.

    Returns
    -------
    wavenumber : numpy.ndarray
        Mean |k| of the modes of each shell k = 1 .. min(shape) // 2 (cycles per box side).
    energy : numpy.ndarray
        Sum of |FFT(delta)|^2 / N^2 over the modes of each shell (their sum over all shells and
        the corners beyond is var(delta)).
    modes : numpy.ndarray
        Number of Fourier modes in each shell.
    """
    power, magnitude = _fluctuation_power(density)
    shell = np.rint(magnitude).astype(int).ravel()
    top = min(power.shape) // 2
    modes = np.bincount(shell, minlength=top + 1)[1:top + 1]
    k_sum = np.bincount(shell, weights=magnitude.ravel(), minlength=top + 1)[1:top + 1]
    energy = np.bincount(shell, weights=power.ravel(), minlength=top + 1)[1:top + 1]
    return k_sum / modes, energy, modes


def spectrum_slope(wavenumber, energy, k_range=SLOPE_RANGE):
    """Least-squares slope of ln E against ln k over the shells k_range[0] .. k_range[1]
    (inclusive, by integer shell); nan if fewer than two shells carry power."""
    k = np.asarray(wavenumber, dtype=float)
    e = np.asarray(energy, dtype=float)
    shells = np.arange(1, len(k) + 1)
    keep = (shells >= k_range[0]) & (shells <= k_range[1]) & (e > 0)
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(k[keep]), np.log(e[keep]), 1)[0])


def small_scale_variance_fraction(density, k_cut=SMALL_SCALE_K):
    """Share of var(rho / <rho>) in the modes with |k| >= ``k_cut`` (cycles per box)."""
    power, magnitude = _fluctuation_power(density)
    total = power[magnitude > 0].sum()
    return float(power[magnitude >= k_cut].sum() / total) if total > 0 else math.nan


def log_density_anisotropy(density, lags=ANISOTROPY_LAGS):
    """SF2_par / SF2_perp of ln(rho / <rho>) at each lag (cells); parallel = along z (axis 0)."""
    density = np.asarray(density, dtype=np.float64)
    if not np.all(density > 0):
        raise ValueError("density must be positive everywhere to take its log")
    parallel, perpendicular = structure_function_along_axes(np.log(density / density.mean()))
    ratios = {}
    for lag in lags:
        if not 0 < lag < len(parallel):
            raise ValueError(f"lag {lag} is outside 1 .. {len(parallel) - 1} cells")
        ratios[int(lag)] = (float(parallel[lag] / perpendicular[lag])
                            if perpendicular[lag] > 0 else math.nan)
    return ratios


def density_numerics_statistics(density, *, k_range=SLOPE_RANGE, k_cut=SMALL_SCALE_K,
                                lags=ANISOTROPY_LAGS):
    """All three statistics of one density cube (see the module docstring).

    Returns
    -------
    dict
        ``density_slope`` (E(k) slope over ``k_range``), ``slope_range``,
        ``small_scale_fraction`` (share of the variance at |k| >= ``k_cut``), ``k_cut``,
        ``sf_anisotropy`` ({lag: SF2_par / SF2_perp of ln rho}).
    """
    k, energy, _ = shell_summed_spectrum(density)
    return {"density_slope": spectrum_slope(k, energy, k_range),
            "slope_range": [int(k_range[0]), int(k_range[1])],
            "small_scale_fraction": small_scale_variance_fraction(density, k_cut),
            "k_cut": float(k_cut),
            "sf_anisotropy": log_density_anisotropy(density, lags)}


def read_density_numerics_statistics(path, **options):
    """:func:`density_numerics_statistics` of a FITS snapshot's density, with the snapshot's
    time (``TTURN``), measured M_s (``MS``), M_A on the total field and step from its header."""
    from .snapshots import read_snapshot_density

    density, header = read_snapshot_density(path)
    found = density_numerics_statistics(density, **options)
    found.update(path=str(path), time_turnovers=float(header["TTURN"]),
                 mach_sonic=float(header["MS"]), step=int(header["STEP"]))
    if "MATOTAL" in header:
        found["mach_alfven_total"] = header["MATOTAL"]
    return found
