"""The verification suite: standard isothermal MHD tests with measured errors and thresholds."""

import math
import time

import torch

from .check_result import CheckResult
from .ct import divergence
from .evolve import evolve
from .grid import Grid
from .problems import (WAVE_FAMILIES, circularly_polarized_alfven_wave, field_loop,
                       linear_wave, orszag_tang, shock_tube)
from .solver import MHDSolver, SolverOptions

__all__ = ["CheckResult", "run_suite", "format_table", "rms_l1_error",
           "ATHENAK_ISOTHERMAL_THRESHOLDS"]

# AthenaK isothermal linear-wave RMS-L1 error thresholds at 64 cells (amplitude 1e-6, rho = 1,
# B = (1, sqrt 2, 0.5), c_s = 1), as quoted in issue 3
ATHENAK_ISOTHERMAL_THRESHOLDS = {"fast": 1.5e-8, "alfven": 1.7e-8, "slow": 2.5e-8}

# Left- and right-going waves are mirror problems: in exact arithmetic their errors are equal,
# so the check is for a directional defect (one upwind side handled differently), which changes
# the error by a factor of order unity, as does any loss of an order of accuracy (the 64:32 error
# ratio is ~0.25). Round-off is not such a defect, but the kinks of the MC limiter turn it into
# different slope choices: measured 2.3e-4 on one x86-64 CPU and 3.7e-3 on another (issue 14).
# 5% sits an order of magnitude above both and far below a directional defect.
LEFT_RIGHT_TOLERANCE = 0.05


def rms_l1_error(state, reference):
    """Athena's linear-wave error: sqrt of the sum over variables of squared mean |difference|.

    The variables are rho, the three momenta and the three cell-centred field components.
    """
    terms = [(state.density - reference.density).abs().mean()]
    terms += [(state.momentum[c] - reference.momentum[c]).abs().mean() for c in range(3)]
    cell, cell_reference = state.cell_field, reference.cell_field
    terms += [(cell[c] - cell_reference[c]).abs().mean() for c in range(3)]
    return math.sqrt(sum(float(term) ** 2 for term in terms))


def _normalised_divergence(state, grid):
    field_magnitude = state.cell_field.norm(dim=0).max()
    return float(divergence(state.face_field, grid.cell_sizes).abs().max()
                 * min(grid.cell_sizes) / field_magnitude)


def _linear_wave_error(grid, wave, direction, mode, device):
    set_up = linear_wave(grid, wave, direction=direction, mode=mode, device=device)
    final, _ = evolve(MHDSolver(grid, SolverOptions(), device=device), set_up.state,
                      set_up.period)
    return rms_l1_error(final, set_up.state), _normalised_divergence(final, grid)


def _check_linear_waves_1d(results, device):
    for wave in WAVE_FAMILIES:
        started = time.perf_counter()
        errors = {}
        for direction in (1, -1):
            for cells in (32, 64):
                errors[direction, cells], _ = _linear_wave_error(Grid((cells, 1, 1)), wave,
                                                                 direction, (1, 0, 0), device)
        seconds = time.perf_counter() - started
        results.append(CheckResult(f"linear wave {wave} 1D: RMS L1 error at 64", errors[1, 64],
                                   ATHENAK_ISOTHERMAL_THRESHOLDS[wave], "<",
                                   "AthenaK isothermal", seconds))
        results.append(CheckResult(f"linear wave {wave} 1D: error ratio 64:32",
                                   errors[1, 64] / errors[1, 32], 0.35, "<", "issue 3"))
        results.append(CheckResult(
            f"linear wave {wave} 1D: |err_R - err_L| / err_R at 64",
            abs(errors[1, 64] - errors[-1, 64]) / errors[1, 64], LEFT_RIGHT_TOLERANCE, "<",
            "mirror problems: a directional defect is O(1), limiter round-off < 1%"))


def _check_oblique_wave(results, device, quick):
    waves = ("alfven",) if quick else WAVE_FAMILIES
    for wave in waves:
        started = time.perf_counter()
        errors, divergences = {}, []
        for cells in (32, 64):
            grid = Grid((2 * cells, cells, 1), (2.0, 1.0, 1.0))
            errors[cells], normalised = _linear_wave_error(grid, wave, 1, (1, 1, 0), device)
            divergences.append(normalised)
        seconds = time.perf_counter() - started
        results.append(CheckResult(f"linear wave {wave} 2D oblique (2Nx N, k=(1,1)): "
                                   f"error ratio N=64:32", errors[64] / errors[32], 0.35, "<",
                                   "issue 3", seconds))
        results.append(CheckResult(f"linear wave {wave} 2D oblique: RMS L1 error N=64 "
                                   f"(no published threshold; reported)", errors[64], 1.0e-7,
                                   "<", "ours", 0.0))
        results.append(CheckResult(f"linear wave {wave} 2D oblique: max|div B| dx/|B|",
                                   max(divergences), 1.0e-12, "<", "issue 3"))


def _check_cpaw(results, device, quick):
    started = time.perf_counter()
    sizes = (64, 128) if quick else (128, 256)
    errors = {}
    options = SolverOptions(sound_speed=math.sqrt(0.1))
    for cells_y in (sizes[0] // 2, sizes[1] // 2):
        grid = Grid((2 * cells_y, cells_y, 1), (2.0, 1.0, 1.0))
        set_up = circularly_polarized_alfven_wave(grid, device=device)
        final, _ = evolve(MHDSolver(grid, options, device=device), set_up.state, set_up.period)
        errors[2 * cells_y] = rms_l1_error(final, set_up.state)
    seconds = time.perf_counter() - started
    low, high = sizes
    results.append(CheckResult(f"CPAW 2D: error ratio {high}x{high // 2}:{low}x{low // 2}",
                               errors[high] / errors[low], 0.3, "<", "issue 3", seconds))
    if not quick:
        results.append(CheckResult("CPAW 2D: RMS L1 error at 256x128", errors[high], 2.0e-4,
                                   "<", "issue 3"))
    else:
        # second order: the 256x128 threshold scales with the square of the cell size
        scale = (256 / high) ** 2
        results.append(CheckResult(f"CPAW 2D: RMS L1 error at {high}x{high // 2} "
                                   f"(threshold scaled x{scale:g} from 256x128)", errors[high],
                                   2.0e-4 * scale, "<", "issue 3, scaled"))


def _frame_profile(state, axis):
    rows = [state.density.flatten()]
    rows += [state.momentum[(axis + i) % 3].flatten() for i in range(3)]
    rows += [state.cell_field[(axis + i) % 3].flatten() for i in range(3)]
    return torch.stack(rows)


def _check_shock_tube(results, device, quick):
    started = time.perf_counter()
    end_time = 0.1
    profiles = []
    for axis in range(3):
        shape = [1, 1, 1]
        shape[axis] = 64
        grid = Grid(tuple(shape))
        final, _ = evolve(MHDSolver(grid, device=device), shock_tube(grid, axis, device=device),
                          end_time)
        profiles.append(_frame_profile(final, axis))
    difference = max(float((profiles[0] - other).abs().max()) for other in profiles[1:])
    results.append(CheckResult("shock tube: max |difference| between runs along x, y, z",
                               difference, 1.0e-14, "<", "issue 3 (identical)",
                               time.perf_counter() - started))

    started = time.perf_counter()
    sizes, reference_cells = ((64, 128), 512) if quick else ((128, 256, 512), 2048)
    finals = {}
    for cells in sizes + (reference_cells,):
        grid = Grid((cells, 1, 1))
        finals[cells], _ = evolve(MHDSolver(grid, device=device),
                                  shock_tube(grid, 0, device=device), end_time)
    reference = _frame_profile(finals[reference_cells], 0)
    errors = {}
    for cells in sizes:
        averaged = reference.reshape(7, cells, -1).mean(dim=2)
        errors[cells] = float((_frame_profile(finals[cells], 0) - averaged).abs().mean(dim=1)
                              .norm())
    seconds = time.perf_counter() - started
    for low, high in zip(sizes[:-1], sizes[1:]):
        results.append(CheckResult(f"shock tube: self-convergence ratio {high}:{low} "
                                   f"(reference {reference_cells})", errors[high] / errors[low],
                                   0.6, "<", "issue 3", seconds))
        seconds = 0.0


def _check_orszag_tang(results, device, quick):
    started = time.perf_counter()
    cells, end_time = (64, 0.1) if quick else (128, 0.5)
    grid = Grid((cells, cells, 1))
    initial = orszag_tang(grid, device=device)
    final, _ = evolve(MHDSolver(grid, SolverOptions(sound_speed=math.sqrt(0.6)), device=device),
                      initial, end_time)
    seconds = time.perf_counter() - started

    def point_mirror(tensor):
        return torch.flip(tensor, dims=(-3, -2))

    # the vortex is symmetric under (x, y) -> (-x, -y) with v -> -v and B -> -B
    asymmetry = max(
        float((final.density - point_mirror(final.density)).abs().max() / final.density.max()),
        float((final.momentum + point_mirror(final.momentum)).abs().max()
              / final.momentum.abs().max()),
        float((final.cell_field + point_mirror(final.cell_field)).abs().max()
              / final.cell_field.abs().max()))
    results.append(CheckResult(f"Orszag-Tang {cells}^2 t={end_time}: relative asymmetry",
                               asymmetry, 1.0e-12, "<", "issue 3 (round-off)", seconds))
    mass_change = abs(float(final.density.sum() / initial.density.sum()) - 1.0)
    results.append(CheckResult("Orszag-Tang: relative mass change", mass_change, 1.0e-13, "<",
                               "issue 3 (round-off)"))
    momentum_drift = float((final.momentum.sum(dim=(1, 2, 3)) - initial.momentum.sum(
        dim=(1, 2, 3))).abs().max() / initial.momentum.abs().sum())
    results.append(CheckResult("Orszag-Tang: total momentum drift / sum|m|", momentum_drift,
                               1.0e-13, "<", "issue 3 (round-off)"))
    results.append(CheckResult("Orszag-Tang: max|div B| dx/|B|",
                               _normalised_divergence(final, grid), 1.0e-12, "<", "issue 3"))


def _magnetic_energy(state):
    return float((state.cell_field ** 2).sum())


def _check_field_loop(results, device, quick):
    cells_y, end_time = (32, 1.0) if quick else (64, 2.0)
    grid = Grid((2 * cells_y, cells_y, 1), (2.0, 1.0, 1.0), (-1.0, -0.5, -0.5))
    fractions = {}
    for average in ("contact", "arithmetic"):
        started = time.perf_counter()
        initial = field_loop(grid, device=device)
        final, _ = evolve(MHDSolver(grid, SolverOptions(emf_average=average), device=device),
                          initial, end_time)
        fractions[average] = _magnetic_energy(final) / _magnetic_energy(initial)
        results.append(CheckResult(
            f"field loop {2 * cells_y}x{cells_y} t={end_time} ({average} EMF): magnetic "
            f"energy kept", fractions[average], 0.5, ">", "ours (reported)",
            time.perf_counter() - started))
    # Gardiner & Stone (2005): for grid-aligned planar flow the EMF must reduce to the 1D upwind
    # flux; the arithmetic average does not, the CT-contact average does
    for average in ("contact", "arithmetic"):
        started = time.perf_counter()
        planar_grid = Grid((64, 4, 1))
        line_grid = Grid((64, 1, 1))
        planar, _ = evolve(MHDSolver(planar_grid, SolverOptions(emf_average=average),
                                     device=device), shock_tube(planar_grid, 0, device=device),
                           0.1)
        line, _ = evolve(MHDSolver(line_grid, device=device),
                         shock_tube(line_grid, 0, device=device), 0.1)
        mismatch = float((_frame_profile(planar, 0).reshape(7, 64, 4)[:, :, 0]
                          - _frame_profile(line, 0)).abs().max())
        comparison, threshold = ("<", 1.0e-12) if average == "contact" else (">", 1.0e-6)
        results.append(CheckResult(
            f"planar shock tube in 2D vs 1D ({average} EMF): max |difference|"
            + (" (negative control: must differ)" if average == "arithmetic" else ""),
            mismatch, threshold, comparison, "Gardiner & Stone 2005",
            time.perf_counter() - started))


def run_suite(*, quick=False, device="cpu", include_driven=True, progress=None):
    """Run every check and return the list of :class:`CheckResult`.

    Parameters
    ----------
    quick : bool
        Smaller grids and shorter runs (a few minutes on two CPU cores).
    device : str
        'cpu' or 'cuda'; the suite always runs in float64.
    include_driven : bool
        Include the 3D driven-turbulence checks.
    progress : callable, optional
        Called with the name of each group as it starts.
    """
    results = []
    groups = [("linear waves 1D", lambda: _check_linear_waves_1d(results, device)),
              ("oblique linear wave 2D", lambda: _check_oblique_wave(results, device, quick)),
              ("circularly polarized Alfven wave", lambda: _check_cpaw(results, device, quick)),
              ("shock tube", lambda: _check_shock_tube(results, device, quick)),
              ("Orszag-Tang", lambda: _check_orszag_tang(results, device, quick)),
              ("field loop", lambda: _check_field_loop(results, device, quick))]
    if include_driven:
        from .driven_checks import check_driven_run
        groups.append(("driven 3D run", lambda: check_driven_run(results, device, quick)))
    for name, run_group in groups:
        if progress is not None:
            progress(name)
        run_group()
    return results


def format_table(results):
    """The results as a fixed-width text table."""
    width = max(len(result.name) for result in results)
    lines = [f"{'check':<{width}}  {'measured':>11}  {'':1}  {'threshold':>9}  {'result':<6}  "
             f"{'seconds':>7}  source",
             "-" * (width + 62)]
    for result in results:
        lines.append(f"{result.name:<{width}}  {result.measured:>11.4g}  {result.comparison:1}  "
                     f"{result.threshold:>9.3g}  {'PASS' if result.passed else 'FAIL':<6}  "
                     f"{result.seconds:>7.1f}  {result.source}")
    passed = sum(result.passed for result in results)
    lines.append(f"{passed}/{len(results)} checks passed")
    return "\n".join(lines)
