"""Physics sanity statistics of a turbulence snapshot: Mach numbers, log-density width, power
spectra and anisotropy along vs across the mean field (z)."""

import math

import numpy as np

from .correlations import autocorrelation, structure_function_along_axes

__all__ = ["snapshot_statistics", "shell_power_spectrum", "fit_slope", "autocorrelation",
           "structure_function_along_axes", "half_correlation_length", "format_statistics",
           "SOLENOIDAL_B", "read_snapshot_statistics", "alfven_ordering"]

# density-variance--Mach relation sigma_s^2 = ln(1 + b^2 M_s^2); b ~ 1/3 for solenoidal driving
# (Federrath et al. 2008, 2010)
SOLENOIDAL_B = 1.0 / 3.0

# numpy arrays here are (z, y, x): axis 0 is z, along the mean field
_AXIS_Z, _AXIS_Y, _AXIS_X = 0, 1, 2


def _wavenumber_magnitude(shape):
    # integer wavenumbers (cycles per box side) of a cubic or rectangular periodic box
    grids = np.meshgrid(*[np.fft.fftfreq(n, d=1.0 / n) for n in shape], indexing="ij")
    return np.sqrt(sum(g * g for g in grids))


def shell_power_spectrum(field):
    """Shell-averaged 3D power spectrum P(k) of a periodic field (or of a vector field).

    Parameters
    ----------
    field : numpy.ndarray
        (nz, ny, nx) scalar field or (3, nz, ny, nx) vector field (component powers summed). The
        mean is removed first.

    Returns
    -------
    wavenumber : numpy.ndarray
        Mean |k| of the modes in each shell ``[k - 1/2, k + 1/2)``, k = 1 .. min(shape) // 2, in
        cycles per box side.
    power : numpy.ndarray
        Mean ``|FFT|^2 / N^2`` over each shell. A field with P(k) ~ k^-n has slope -n here; the
        shell-integrated spectrum E(k) ~ 4 pi k^2 P(k) has slope 2 - n (Kolmogorov: P ~ k^-11/3,
        E ~ k^-5/3).
    """
    values = np.asarray(field, dtype=np.float64)
    components = values if values.ndim == 4 else values[None]
    shape = components.shape[1:]
    power = np.zeros(shape)
    for component in components:
        power += np.abs(np.fft.fftn(component - component.mean())) ** 2
    power /= float(np.prod(shape)) ** 2
    magnitude = _wavenumber_magnitude(shape)
    shell = np.rint(magnitude).astype(int).ravel()
    k_max = min(shape) // 2
    counts = np.bincount(shell, minlength=k_max + 1)[1:k_max + 1]
    k_sum = np.bincount(shell, weights=magnitude.ravel(), minlength=k_max + 1)[1:k_max + 1]
    p_sum = np.bincount(shell, weights=power.ravel(), minlength=k_max + 1)[1:k_max + 1]
    return k_sum / counts, p_sum / counts


def fit_slope(wavenumber, power, k_range):
    """Least-squares slope of log P against log k over ``k_range`` = (k_min, k_max), inclusive."""
    k = np.asarray(wavenumber, dtype=float)
    p = np.asarray(power, dtype=float)
    keep = (k >= k_range[0] - 0.5) & (k <= k_range[1] + 0.5) & (p > 0)
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(k[keep]), np.log(p[keep]), 1)[0])


def half_correlation_length(correlation_line):
    """Lag (in cells, linearly interpolated) where C(l) / C(0) first falls to 1/2; nan if never."""
    if not correlation_line[0] > 0:        # a uniform field has no correlation length
        return math.nan
    normalised = np.asarray(correlation_line, dtype=float) / correlation_line[0]
    below = np.nonzero(normalised <= 0.5)[0]
    if len(below) == 0:
        return math.nan
    i = below[0]
    return float(i - 1 + (normalised[i - 1] - 0.5) / (normalised[i - 1] - normalised[i]))


def _correlation_lengths(field):
    """(parallel, perpendicular, parallel lower bound): where the correlation along z never
    falls to 1/2 within the half box searched (a field elongated along B beyond N/2), the
    parallel length is nan but at least the largest lag searched, which the bound keeps."""
    correlation = autocorrelation(field)
    half = min(correlation.shape) // 2 + 1
    parallel = half_correlation_length(correlation[:half, 0, 0])
    perpendicular = 0.5 * (half_correlation_length(correlation[0, :half, 0])
                           + half_correlation_length(correlation[0, 0, :half]))
    at_least = parallel
    if math.isnan(parallel) and correlation[0, 0, 0] > 0:
        at_least = float(half - 1)
    return parallel, perpendicular, at_least


def _ratio(numerator, denominator):
    # nan where the ratio is undefined (a uniform field at t = 0, a length that was not found)
    numerator, denominator = float(numerator), float(denominator)
    return numerator / denominator if denominator > 0 and math.isfinite(numerator) else math.nan


def _column_density_slopes(density, fit_range):
    # 2D spectra of the projections along z (line of sight along B) and along x (across B)
    from glue_turbml.core import fit_power_law_slope, radial_power_spectrum

    slopes = []
    for axis in (_AXIS_Z, _AXIS_X):
        k, power = radial_power_spectrum(density.sum(axis=axis))
        try:
            slopes.append(float(fit_power_law_slope(k, power, k_min=fit_range[0] - 0.5,
                                                    k_max=fit_range[1] + 0.5)))
        except ValueError:          # no power to fit (a uniform density, e.g. at t = 0)
            slopes.append(math.nan)
    return slopes


def snapshot_statistics(density, velocity, magnetic_field, *, sound_speed, fit_range=None,
                        anisotropy_lag=None, b_parameter=SOLENOIDAL_B):
    """Physics sanity statistics of one snapshot.

    Parameters
    ----------
    density : numpy.ndarray
        (nz, ny, nx) mass density.
    velocity, magnetic_field : numpy.ndarray
        (3, nz, ny, nx) cell-centred (vx, vy, vz) and (Bx, By, Bz); B in units with the
        1/sqrt(4 pi) absorbed (v_A = |B| / sqrt(rho)). A zero field gives infinite M_A.
    sound_speed : float
        Isothermal sound speed.
    fit_range : tuple of float, optional
        Wavenumbers (cycles per box) of the power-law fits; default (4, N/4), clipped to
        (2, N/2) on small grids.
    anisotropy_lag : int, optional
        Lag in cells at which the structure-function ratio is reported; default N/16 (>= 1).
    b_parameter : float
        Forcing parameter b of sigma_s^2 = ln(1 + b^2 M_s^2).

    Returns
    -------
    dict
        JSON-friendly statistics: ``mach_sonic`` (volume-weighted v_rms / c_s),
        ``mach_sonic_mass_weighted``, ``mach_alfven_mean`` (v_rms / (|<B>| / sqrt(<rho>))),
        ``mach_alfven_total`` (v_rms / sqrt(<B^2> / <rho>)), ``alfven_regime``,
        ``log_density_variance`` (variance of s = ln(rho / <rho>)),
        ``log_density_variance_expected`` (ln(1 + b^2 M_s^2)), their ratio,
        ``density_spectrum_slope`` and ``velocity_spectrum_slope`` (of the shell-averaged P(k);
        E(k) slope = this + 2), the spectra themselves, the fit range, the 2D column-density
        slopes (lines of sight along z and x), and for velocity and density the structure-function
        ratio SF2(across) / SF2(along z) at ``anisotropy_lag`` and half-correlation lengths along
        and across z (in cells) with their ratio (> 1: structures elongated along B).
    """
    density = np.asarray(density, dtype=np.float64)
    velocity = np.asarray(velocity, dtype=np.float64)
    magnetic_field = np.asarray(magnetic_field, dtype=np.float64)
    if density.ndim != 3 or velocity.shape != (3,) + density.shape \
            or magnetic_field.shape != (3,) + density.shape:
        raise ValueError(f"need density (nz, ny, nx) and velocity, B (3, nz, ny, nx); got "
                         f"{density.shape}, {velocity.shape}, {magnetic_field.shape}")
    if not sound_speed > 0:
        raise ValueError(f"sound_speed must be positive, got {sound_speed!r}")
    if not np.all(density > 0):
        raise ValueError("density must be positive everywhere")
    cells = min(density.shape)
    if fit_range is None:
        fit_range = (4.0, cells / 4) if cells >= 32 else (2.0, cells / 2)
    lag = anisotropy_lag or max(1, cells // 16)

    speed_squared = (velocity ** 2).sum(axis=0)
    v_rms = math.sqrt(speed_squared.mean())
    mean_density = density.mean()
    mean_field = float(np.linalg.norm(magnetic_field.mean(axis=(1, 2, 3))))
    total_field = math.sqrt((magnetic_field ** 2).sum(axis=0).mean())
    mach = v_rms / sound_speed
    mach_alfven_mean = (v_rms / (mean_field / math.sqrt(mean_density))
                        if mean_field > 0 else math.inf)
    mach_alfven_total = (v_rms / (total_field / math.sqrt(mean_density))
                         if total_field > 0 else math.inf)
    log_density = np.log(density / mean_density)
    variance = float(log_density.var())
    expected = math.log(1.0 + b_parameter ** 2 * mach ** 2)

    k_density, p_density = shell_power_spectrum(density)
    k_velocity, p_velocity = shell_power_spectrum(velocity)
    sf_parallel, sf_perpendicular = structure_function_along_axes(velocity)
    sfd_parallel, sfd_perpendicular = structure_function_along_axes(log_density)
    column_slopes = _column_density_slopes(density, fit_range)
    l_parallel, l_perpendicular, l_parallel_at_least = _correlation_lengths(velocity)
    ld_parallel, ld_perpendicular, _ = _correlation_lengths(log_density)
    if mach_alfven_total == math.inf:
        regime = "hydro (B = 0)"
    else:
        regime = "sub-Alfvenic" if mach_alfven_total < 1.0 else "super-Alfvenic"
    return {
        "cells": list(density.shape),
        "mach_sonic": mach,
        "mach_sonic_mass_weighted": math.sqrt((density * speed_squared).sum() / density.sum())
        / sound_speed,
        "mach_alfven_mean": mach_alfven_mean,
        "mach_alfven_total": mach_alfven_total,
        "alfven_regime": regime,
        "density_min": float(density.min()),
        "density_max": float(density.max()),
        "cell_mach_max": math.sqrt(speed_squared.max()) / sound_speed,
        "log_density_variance": variance,
        "log_density_variance_expected": expected,
        "log_density_variance_ratio": variance / expected if expected > 0 else math.nan,
        "b_parameter": b_parameter,
        "fit_range": [float(fit_range[0]), float(fit_range[1])],
        "density_spectrum_slope": fit_slope(k_density, p_density, fit_range),
        "velocity_spectrum_slope": fit_slope(k_velocity, p_velocity, fit_range),
        "density_spectrum": {"k": k_density.tolist(), "power": p_density.tolist()},
        "velocity_spectrum": {"k": k_velocity.tolist(), "power": p_velocity.tolist()},
        "column_density_spectrum_slope_los_z": column_slopes[0],
        "column_density_spectrum_slope_los_x": column_slopes[1],
        "anisotropy_lag_cells": lag,
        "velocity_sf2_ratio_perp_to_par": _ratio(sf_perpendicular[lag], sf_parallel[lag]),
        "log_density_sf2_ratio_perp_to_par": _ratio(sfd_perpendicular[lag], sfd_parallel[lag]),
        "velocity_correlation_length_par": l_parallel,
        "velocity_correlation_length_perp": l_perpendicular,
        "velocity_correlation_length_ratio": _ratio(l_parallel, l_perpendicular),
        # equals the ratio where that is measured; a lower bound where the parallel length
        # exceeds the half box (nan above)
        "velocity_correlation_length_ratio_at_least": _ratio(l_parallel_at_least,
                                                             l_perpendicular),
        "log_density_correlation_length_par": ld_parallel,
        "log_density_correlation_length_perp": ld_perpendicular,
        "log_density_correlation_length_ratio": _ratio(ld_parallel, ld_perpendicular),
        # the numerics-sensitive statistics of issue 13 (training.sim.density_spectrum)
        **_numerics_statistics(density),
    }


def _numerics_statistics(density):
    from .density_spectrum import ANISOTROPY_LAGS, density_numerics_statistics

    lags = [lag for lag in ANISOTROPY_LAGS if lag <= min(density.shape) // 2]
    found = density_numerics_statistics(density, lags=lags)
    return {"density_energy_slope": found["density_slope"],
            "density_energy_slope_range": found["slope_range"],
            "density_small_scale_fraction": found["small_scale_fraction"],
            "density_small_scale_k": found["k_cut"],
            # string keys: JSON has no integer keys
            "log_density_sf2_par_to_perp": {str(lag): ratio
                                            for lag, ratio in found["sf_anisotropy"].items()}}


def read_snapshot_statistics(path, *, sound_speed=None, **options):
    """:func:`snapshot_statistics` of a FITS snapshot written by ``training.sim run``; the sound
    speed comes from its header unless given."""
    from .snapshots import read_snapshot

    density, velocity, magnetic_field, header = read_snapshot(path)
    if sound_speed is None:
        sound_speed = float(header["HIERARCH PAR sound_speed"])
    found = snapshot_statistics(density, velocity, magnetic_field, sound_speed=sound_speed,
                                **options)
    found["path"] = str(path)
    for key, name in (("TTURN", "time_turnovers"), ("MS", "header_mach_sonic"),
                      ("EPSINJ", "injection_rate")):
        if key in header:
            found[name] = header[key]
    return found


def format_statistics(found):
    """A readable multi-line report of :func:`snapshot_statistics` output."""
    parallel = f"{found['velocity_correlation_length_par']:.3g}"
    ratio = f"{found['velocity_correlation_length_ratio']:.3g}"
    at_least = found.get("velocity_correlation_length_ratio_at_least", math.nan)
    if math.isnan(found["velocity_correlation_length_par"]) and math.isfinite(at_least):
        # the correlation along z stays above 1/2 over the whole half box searched
        reach = at_least * found["velocity_correlation_length_perp"]
        parallel, ratio = f">={reach:.3g}", f">={at_least:.3g}"
    lines = [f"{found.get('path', 'snapshot')}  ({'x'.join(map(str, found['cells'][::-1]))}"
             + (f", t = {found['time_turnovers']:.3g} T" if "time_turnovers" in found else "")
             + ")",
             f"  M_s (volume-weighted)        {found['mach_sonic']:.4g}"
             f"   (mass-weighted {found['mach_sonic_mass_weighted']:.4g})",
             f"  extremes: density {found['density_min']:.3g} .. {found['density_max']:.3g}, "
             f"max cell |v|/c_s {found['cell_mach_max']:.4g}",
             f"  M_A mean field / total field {found['mach_alfven_mean']:.4g} / "
             f"{found['mach_alfven_total']:.4g}   -> {found['alfven_regime']}",
             f"  sigma_s^2 = var ln(rho/<rho>) {found['log_density_variance']:.4g}   vs "
             f"ln(1 + b^2 M_s^2) = {found['log_density_variance_expected']:.4g} "
             f"(b = {found['b_parameter']:.3g}); ratio {found['log_density_variance_ratio']:.3g}",
             f"  P(k) slopes over k = {found['fit_range'][0]:g}..{found['fit_range'][1]:g}: "
             f"density {found['density_spectrum_slope']:.3f}, velocity "
             f"{found['velocity_spectrum_slope']:.3f}  (E(k) slope = P slope + 2; "
             f"Kolmogorov P ~ k^-3.67, Burgers k^-4)",
             f"  column density 2D P(k) slopes: line of sight along z "
             f"{found['column_density_spectrum_slope_los_z']:.3f}, along x "
             f"{found['column_density_spectrum_slope_los_x']:.3f}",
             f"  anisotropy (z = mean-field axis): SF2 across/along at "
             f"{found['anisotropy_lag_cells']} cells: velocity "
             f"{found['velocity_sf2_ratio_perp_to_par']:.3g}, ln rho "
             f"{found['log_density_sf2_ratio_perp_to_par']:.3g}",
             f"  half-correlation length along/across z (cells): velocity "
             f"{parallel}/{found['velocity_correlation_length_perp']:.3g} "
             f"(ratio {ratio}), ln rho "
             f"{found['log_density_correlation_length_par']:.3g}/"
             f"{found['log_density_correlation_length_perp']:.3g} "
             f"(ratio {found['log_density_correlation_length_ratio']:.3g})"]
    if "density_energy_slope" in found:     # absent from statistics saved by older code
        low, high = found["density_energy_slope_range"]
        lines.append(f"  density E(k) (shell-summed) slope over k = {low}..{high} "
                     f"{found['density_energy_slope']:.3f}; share of var(rho) at |k| >= "
                     f"{found['density_small_scale_k']:g}: "
                     f"{found['density_small_scale_fraction']:.3f}; ln rho SF2 along/across z "
                     "(lag: ratio) " + ", ".join(
                         f"{lag}: {ratio:.3g}"
                         for lag, ratio in found["log_density_sf2_par_to_perp"].items()))
    return "\n".join(lines)


def alfven_ordering(found):
    """Compare the sub- and super-Alfvenic snapshots among ``found`` (statistics dicts).

    Returns None unless both regimes are present; otherwise a dict with ``holds`` (True when every
    sub-Alfvenic snapshot has a lower M_A on both definitions and a larger velocity
    correlation-length ratio along/across B than every super-Alfvenic one) and a ``text`` line.
    """
    sub = [f for f in found if f["alfven_regime"] == "sub-Alfvenic"]
    sup = [f for f in found if f["alfven_regime"] == "super-Alfvenic"]
    if not sub or not sup:
        return None
    key = "velocity_correlation_length_ratio"
    # a sub-Alfvenic length along B beyond the half box only strengthens the ordering, so its
    # lower bound may stand in; super-Alfvenic ratios must be measured
    sub_ratios = [f.get(f"{key}_at_least", f[key]) for f in sub]
    mach_ordered = (max(f["mach_alfven_total"] for f in sub)
                    < min(f["mach_alfven_total"] for f in sup)
                    and max(f["mach_alfven_mean"] for f in sub)
                    < min(f["mach_alfven_mean"] for f in sup))
    super_ratios = [f[key] for f in sup]
    anisotropy_ordered = (all(math.isfinite(r) for r in sub_ratios + super_ratios)
                          and min(sub_ratios) > max(super_ratios))
    holds = bool(mach_ordered and anisotropy_ordered)
    text = (f"sub- vs super-Alfvenic ordering: M_A(total) sub <= "
            f"{max(f['mach_alfven_total'] for f in sub):.3g} < super >= "
            f"{min(f['mach_alfven_total'] for f in sup):.3g}; velocity correlation-length "
            f"ratio along/across B: sub >= {min(sub_ratios):.3g} vs super <= "
            f"{max(f[key] for f in sup):.3g} -> {'holds' if holds else 'DOES NOT HOLD'}")
    return {"holds": holds, "mach_ordered": bool(mach_ordered),
            "anisotropy_ordered": bool(anisotropy_ordered), "text": text}
