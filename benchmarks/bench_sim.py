"""Simulator speed: cell-updates per second of the VL2 + PLM + HLLD + CT step.

Run from the repository root::

    python benchmarks/bench_sim.py [--sizes 32 64] [--steps 5] [--dtype float32 float64]
                                   [--modes eager compiled] [--threads 1]
                                   [--density-reconstruction linear log_where_steep]
                                   [--lognormal-density 0 1]

On CPU it times 32^3 and 64^3; when CUDA is available it also times 128^3 and 256^3. A driven
random-velocity state (Mach ~1, B0 = 1 along z) is used so the HLLD branches are all exercised.
Each step is timed eagerly and through ``torch.compile`` (``SolverOptions(compile=True)``): the
compile time (first two calls: compile, then the recompile with a symbolic dt) is printed
apart from the steady step time, with the largest relative difference of the compiled density
from the eager one after the timed steps. Each line prints the ratio to the Athena++ reference
of 0.9e6 cell-updates/s (one CPU core, HLLD, VL2) quoted in issue 3.

``--density-reconstruction`` times the given density reconstructions side by side (ln(rho) where
a stencil spans a factor 2, the default, vs rho everywhere), and ``--lognormal-density SIGMA``
starts from a lognormal density of that width (seeded), so the ln(rho) branch actually runs
(with the default uniform density no stencil is steep).

On a machine shared with other work, pass ``--threads 1``: OpenMP threads that outnumber the
free cores spin and wait, and a step can become tens of times slower.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ATHENA_REFERENCE_CELL_UPDATES = 0.9e6


def random_state(grid, dtype, device, *, lognormal_density=0.0):
    from training.sim.problems import uniform_state

    generator = torch.Generator().manual_seed(0)
    state = uniform_state(grid, magnetic_field=(0.0, 0.0, 1.0), dtype=dtype)
    noise = torch.randn(state.momentum.shape, generator=generator, dtype=torch.float64)
    state.momentum = state.momentum + noise.to(dtype)
    if lognormal_density:
        log_density = torch.randn(state.density.shape, generator=generator, dtype=torch.float64)
        density = torch.exp(lognormal_density * log_density).to(dtype)
        # same velocities, a density with the requested log-width
        state.momentum = state.momentum * density
        state.density = density
    return state.to(device=device)


def _synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def time_steps(cells, dtype_name, device, steps, *, compiled=False,
               density_reconstruction="log_where_steep", lognormal_density=0.0):
    """(cell-updates/s, s/step, warm-up seconds, final density) of ``steps`` timed steps."""
    from training.sim.grid import Grid
    from training.sim.solver import DTYPES, MHDSolver, SolverOptions

    grid = Grid((cells, cells, cells))
    solver = MHDSolver(grid, SolverOptions(dtype=dtype_name, compile=compiled,
                                           density_reconstruction=density_reconstruction),
                       device=device)
    state = random_state(grid, DTYPES[dtype_name], device, lognormal_density=lognormal_density)
    started = time.perf_counter()
    for _ in range(2):        # warm-up; compiled: compile, then recompile with a symbolic dt
        state = solver.step(state, solver.time_step(state))
    _synchronize(device)
    warm_up = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        state = solver.step(state, solver.time_step(state))
    _synchronize(device)
    seconds = time.perf_counter() - started
    return grid.n_cells * steps / seconds, seconds / steps, warm_up, state.density


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[32, 64],
                        help="CPU sizes (none: CUDA sizes only)")
    parser.add_argument("--cuda-sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--modes", nargs="+", default=["eager", "compiled"],
                        choices=["eager", "compiled"])
    parser.add_argument("--density-reconstruction", nargs="+", default=["log_where_steep"],
                        choices=["log_where_steep", "linear"])
    parser.add_argument("--lognormal-density", type=float, nargs="+", default=[0.0],
                        help="log-width(s) of a seeded lognormal starting density (0: uniform)")
    arguments = parser.parse_args(argv)
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs visible, {torch.get_num_threads()} torch threads; "
          f"load average {os.getloadavg()[0]:.2f}")
    runs = [("cpu", size) for size in arguments.sizes]
    if torch.cuda.is_available():
        runs += [("cuda", size) for size in arguments.cuda_sizes]
        print(f"CUDA: {torch.cuda.get_device_name()}")
    print(f"{'device':<6} {'cells':>6} {'dtype':<8} {'mode':<9} {'density':<16} "
          f"{'sigma_ln':>8} {'warm-up s':>9} {'s/step':>8} {'cell-updates/s':>15} "
          f"{'vs Athena++ 0.9e6':>18} {'max rel diff vs eager':>22}", flush=True)
    for device, size in runs:
        for dtype_name in arguments.dtype:
            for reconstruction in arguments.density_reconstruction:
                for width in arguments.lognormal_density:
                    eager_density = None
                    for mode in arguments.modes:
                        rate, per_step, warm_up, density = time_steps(
                            size, dtype_name, device, arguments.steps,
                            compiled=mode == "compiled", density_reconstruction=reconstruction,
                            lognormal_density=width)
                        if mode == "eager":
                            eager_density, difference = density, ""
                        elif eager_density is not None:
                            relative = float((density - eager_density).abs().max()
                                             / eager_density.abs().max())
                            difference = f"{relative:.2e}"
                        else:
                            difference = "n/a"
                        print(f"{device:<6} {size:>5}^3 {dtype_name:<8} {mode:<9} "
                              f"{reconstruction:<16} {width:>8g} {warm_up:>9.1f} "
                              f"{per_step:>8.3f} {rate:>15.3g} "
                              f"{rate / ATHENA_REFERENCE_CELL_UPDATES:>17.2f}x "
                              f"{difference:>22}", flush=True)


if __name__ == "__main__":
    main()
