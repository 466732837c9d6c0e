"""Simulator speed: cell-updates per second of the VL2 + PLM + HLLD + CT step.

Run from the repository root::

    python benchmarks/bench_sim.py [--sizes 32 64] [--steps 5] [--dtype float32 float64]

On CPU it times 32^3 and 64^3; when CUDA is available it also times 128^3 and 256^3. A driven
random-velocity state (Mach ~1, B0 = 1 along z) is used so the HLLD branches are all exercised.
Each line prints the ratio to the Athena++ reference of 0.9e6 cell-updates/s (one CPU core,
HLLD, VL2) quoted in issue 3.
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


def random_state(grid, dtype, device):
    from training.sim.problems import uniform_state

    generator = torch.Generator().manual_seed(0)
    state = uniform_state(grid, magnetic_field=(0.0, 0.0, 1.0), dtype=dtype)
    noise = torch.randn(state.momentum.shape, generator=generator, dtype=torch.float64)
    state.momentum = state.momentum + noise.to(dtype)
    return state.to(device=device)


def time_steps(cells, dtype_name, device, steps):
    from training.sim.grid import Grid
    from training.sim.solver import DTYPES, MHDSolver, SolverOptions

    grid = Grid((cells, cells, cells))
    solver = MHDSolver(grid, SolverOptions(dtype=dtype_name), device=device)
    state = random_state(grid, DTYPES[dtype_name], device)
    state = solver.step(state, solver.time_step(state))          # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        state = solver.step(state, solver.time_step(state))
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return grid.n_cells * steps / seconds, seconds / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--cuda-sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
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
    print(f"{'device':<6} {'cells':>6} {'dtype':<8} {'s/step':>8} {'cell-updates/s':>15} "
          f"{'vs Athena++ 0.9e6':>18}")
    for device, size in runs:
        for dtype_name in arguments.dtype:
            rate, per_step = time_steps(size, dtype_name, device, arguments.steps)
            print(f"{device:<6} {size:>5}^3 {dtype_name:<8} {per_step:>8.3f} {rate:>15.3g} "
                  f"{rate / ATHENA_REFERENCE_CELL_UPDATES:>17.2f}x")


if __name__ == "__main__":
    main()
