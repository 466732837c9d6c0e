"""Low-beta health check: do driven sub-Alfvenic runs keep every cell away from vacuum?

``python -m training.sim.low_beta_check`` runs the configuration that used to drain single cells
to near vacuum (B0 = 1, c_s = 0.1, target M_s = 3, float64; ``docs/results/
sim_low_beta_vacuum.txt``) for each Riemann solver and density reconstruction asked for, and
prints, per run, how far it got, the lowest density and highest |v|/c_s seen at any step, and the
safety-net counters.
"""

import argparse
import math
import time

__all__ = ["check_run", "main", "DRAINED_DENSITY"]

# a run counts as drained (and stops) once any cell falls below this density
DRAINED_DENSITY = 1.0e-3


def check_run(*, cells, seed, riemann, density_reconstruction, end_turnovers, mean_field=1.0,
              dtype="float64"):
    """Run one driven configuration, tracking its extremes at every step.

    Returns
    -------
    dict
        ``reached_turnovers``, ``steps``, ``drained``, ``min_density`` and its step,
        ``max_cell_mach``, the solver counters, ``hlle_face_fraction`` (HLLE fallback faces over
        all Riemann problems solved) and ``seconds``.
    """
    from .config import RunConfig
    from .run import Simulation

    config = RunConfig(cells=cells, sound_speed=0.1, mean_field=mean_field, target_mach=3.0,
                       seed=seed, riemann=riemann,
                       density_reconstruction=density_reconstruction, dtype=dtype,
                       end_turnovers=end_turnovers, snapshot_turnovers=[],
                       output_dir="unused")
    simulation = Simulation.start(config)
    lowest, lowest_step, fastest = math.inf, 0, 0.0
    started = time.perf_counter()
    while simulation.time < simulation.end_time * (1.0 - 1.0e-12):
        simulation.advance(simulation.end_time - simulation.time)
        density = simulation.state.density.double()
        found = float(density.min())
        if found < lowest:
            lowest, lowest_step = found, simulation.step
        speed = (simulation.state.momentum.double() / density).norm(dim=0).max()
        fastest = max(fastest, float(speed) / config.sound_speed)
        if found < DRAINED_DENSITY:
            break
    counters = simulation.solver.counters.as_dict()
    # two flux stages per step, one Riemann problem per cell and active axis
    problems = 2 * 3 * simulation.solver.grid.n_cells * max(counters["steps"], 1)
    return {"cells": cells, "seed": seed, "riemann": riemann,
            "density_reconstruction": density_reconstruction,
            "reached_turnovers": simulation.time / config.turnover_time,
            "steps": simulation.step, "drained": lowest < DRAINED_DENSITY,
            "min_density": lowest, "min_density_step": lowest_step,
            "max_cell_mach": fastest, "counters": counters,
            "hlle_face_fraction": counters["hlle_fallback_faces"] / problems,
            "seconds": time.perf_counter() - started}


def format_row(result):
    """One line of the printed table."""
    status = (f"DRAINED at {result['reached_turnovers']:.3f} T" if result["drained"]
              else f"healthy to {result['reached_turnovers']:.3f} T")
    counters = result["counters"]
    return (f"{result['cells']:>3}^3 seed {result['seed']} {result['riemann']:4} "
            f"{result['density_reconstruction']:15} {status:24} steps {result['steps']:5d}  "
            f"min rho {result['min_density']:.3g} (step {result['min_density_step']})  "
            f"max |v|/c_s {result['max_cell_mach']:.4g}  first-order cells "
            f"{counters['first_order_cells']} (density drop {counters['density_drop_cells']}), "
            f"floored {counters['floored_cells']}, HLLE faces "
            f"{result['hlle_face_fraction']:.1%}  [{result['seconds']:.0f} s]")


def main(argv=None):
    """Command line; returns 0."""
    import torch

    parser = argparse.ArgumentParser(prog="python -m training.sim.low_beta_check",
                                     description=__doc__)
    parser.add_argument("--cells", type=int, default=24)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--riemann", nargs="+", default=["hlld", "hlle"])
    parser.add_argument("--density-reconstruction", nargs="+",
                        default=["linear", "log_where_steep"])
    parser.add_argument("--end-turnovers", type=float, default=0.6)
    parser.add_argument("--mean-field", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)
    print(f"B0 = {arguments.mean_field}, c_s = 0.1, target M_s = 3, float64, to "
          f"{arguments.end_turnovers} T (stops once min rho < {DRAINED_DENSITY:g})", flush=True)
    for seed in arguments.seeds:
        for reconstruction in arguments.density_reconstruction:
            for riemann in arguments.riemann:
                print(format_row(check_run(
                    cells=arguments.cells, seed=seed, riemann=riemann,
                    density_reconstruction=reconstruction,
                    end_turnovers=arguments.end_turnovers,
                    mean_field=arguments.mean_field)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
