"""Continue a checkpoint for a few steps with other solver options, to compare numerical choices
on the same state (A/B), e.g. the shock flattener on a state with a draining cell::

    python -m training.sim.checkpoint_trial CHECKPOINT --steps 100 --set flatten_density_contrast=30

Prints every 25 steps, then one summary line: steps, mean and last dt, the lowest density and
the largest |v| / c_s met over the steps, and the first-order fallback counters. Eager steps on
one thread; the checkpoint is only read.
"""

import argparse
import dataclasses
import json
import sys
import time

import torch

from .diagnostics import state_extremes
from .reconstruct import density_stencil_extremes
from .run import Simulation
from .solver import MHDSolver

__all__ = ["trial_from_checkpoint", "steep_cell_fraction", "fastest_signal_cells", "main"]


def fastest_signal_cells(state, sound_speed, count):
    """The ``count`` cells with the largest signal speed |v| + sqrt(c_s^2 + v_A^2) (an upper
    bound of |v| + c_fast, which sets the CFL step), fastest first.

    Returns
    -------
    list of dict
        ``cell`` (i, j, k), ``density``, ``speed`` |v|, ``alfven_speed``, ``field`` |B|,
        ``signal`` and ``log_density_sigmas``: ln(rho) minus its box mean, in units of its box
        standard deviation.
    """
    from .state import cell_centred_field

    density = state.density.to(torch.float64)
    speed = (state.momentum.to(torch.float64) / density).norm(dim=0)
    field = cell_centred_field(state.face_field.to(torch.float64)).norm(dim=0)
    alfven_speed = field / density.sqrt()
    signal = speed + (sound_speed ** 2 + alfven_speed ** 2).sqrt()
    log_density = density.log()
    sigmas = (log_density - log_density.mean()) / log_density.std()
    found = []
    for flat in torch.topk(signal.flatten(), count).indices.tolist():
        cell = tuple(int(index)
                     for index in torch.unravel_index(torch.tensor(flat), density.shape))
        found.append({"cell": cell, "density": float(density[cell]),
                      "speed": float(speed[cell]), "alfven_speed": float(alfven_speed[cell]),
                      "field": float(field[cell]), "signal": float(signal[cell]),
                      "log_density_sigmas": float(sigmas[cell])})
    return found


def steep_cell_fraction(density, factor):
    """Fraction of cells whose 3-cell stencil along at least one axis spans more than
    ``factor`` in density (the cells a flattener with that threshold makes first order)."""
    steep = torch.zeros(density.shape, dtype=torch.bool, device=density.device)
    for axis in range(density.dim()):
        highest, lowest = density_stencil_extremes(density, axis)
        steep |= highest > factor * lowest
    return float(steep.to(torch.float64).mean())


def trial_from_checkpoint(path, steps, overrides=None, *, log=print):
    """Advance the run saved at ``path`` by ``steps`` steps with ``overrides`` of its
    :class:`~training.sim.solver.SolverOptions`.

    Returns
    -------
    dict
        ``steps``, ``turnovers`` (time advanced), ``mean_dt``, ``last_dt``, ``min_density``,
        ``max_cell_mach`` (largest |v| / c_s over the steps), ``first_order_cells`` and
        ``density_drop_cells`` added, ``seconds``, ``overrides``.
    """
    overrides = dict(overrides or {})
    simulation = Simulation.restore(path)
    saved = simulation.solver
    simulation.solver = MHDSolver(saved.grid, dataclasses.replace(saved.options, compile=False,
                                                                  **overrides),
                                  device=saved.device)
    simulation.solver.counters = saved.counters
    sound_speed = simulation.config.sound_speed
    before = simulation.solver.counters.as_dict()
    started, start_time = time.perf_counter(), simulation.time
    time_steps, min_density, max_cell_mach = [], float("inf"), 0.0
    for index in range(steps):
        time_steps.append(simulation.advance())
        extremes = state_extremes(simulation.state, sound_speed)
        min_density = min(min_density, extremes["density_min"])
        max_cell_mach = max(max_cell_mach, extremes["cell_mach_max"])
        if index % 25 == 24:
            log(f"  step {simulation.step}: dt {time_steps[-1]:.3g}, min rho "
                f"{extremes['density_min']:.3g}, max |v|/c_s {extremes['cell_mach_max']:.1f}")
    after = simulation.solver.counters.as_dict()
    return {"overrides": overrides, "steps": steps,
            "turnovers": (simulation.time - start_time) / simulation.config.turnover_time,
            "mean_dt": sum(time_steps) / steps, "last_dt": time_steps[-1],
            "min_density": min_density, "max_cell_mach": max_cell_mach,
            "first_order_cells": after["first_order_cells"] - before["first_order_cells"],
            "density_drop_cells": after["density_drop_cells"] - before["density_drop_cells"],
            "seconds": time.perf_counter() - started}


def _describe_state(simulation, factors, fastest):
    density = simulation.state.density.to(torch.float64)
    print(f"step {simulation.step}, t = {simulation.time / simulation.config.turnover_time:.3f} T")
    for factor in factors:
        print(f"cells whose stencil spans more than {factor:g}x in density along some "
              f"axis: {steep_cell_fraction(density, factor):.2%}")
    for entry in fastest_signal_cells(simulation.state, simulation.config.sound_speed, fastest):
        print(f"cell {entry['cell']}: rho {entry['density']:.3g} "
              f"({entry['log_density_sigmas']:+.1f} sigma in ln rho), |v| {entry['speed']:.3g}, "
              f"|B| {entry['field']:.3g}, v_A {entry['alfven_speed']:.3g}, signal "
              f"{entry['signal']:.3g}")


def _parse_override(text):
    name, _, value = text.partition("=")
    if not value:
        raise argparse.ArgumentTypeError(f"--set wants NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training.sim.checkpoint_trial",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--set", dest="overrides", type=_parse_override, action="append",
                        default=[], help="a SolverOptions value, NAME=VALUE (JSON or text)")
    parser.add_argument("--steep-fractions", type=float, nargs="+", metavar="FACTOR",
                        help="only print the fraction of cells of the saved state whose "
                             "stencil spans more than each FACTOR in density")
    parser.add_argument("--fastest", type=int, metavar="N",
                        help="only print the N cells of the saved state with the largest "
                             "signal speed (they set the time step)")
    arguments = parser.parse_args(argv)
    torch.set_num_threads(1)
    if arguments.steep_fractions or arguments.fastest:
        try:
            simulation = Simulation.restore(arguments.checkpoint)
        except (OSError, KeyError) as error:
            print(f"checkpoint_trial: {error}", file=sys.stderr)
            return 2
        _describe_state(simulation, arguments.steep_fractions or [], arguments.fastest or 0)
        return 0
    try:
        result = trial_from_checkpoint(arguments.checkpoint, arguments.steps,
                                       dict(arguments.overrides))
    except (OSError, TypeError, ValueError) as error:
        print(f"checkpoint_trial: {error}", file=sys.stderr)
        return 2
    print(f"{result['overrides'] or 'checkpoint options'}: {result['steps']} steps to "
          f"+{result['turnovers']:.4f} T; mean dt {result['mean_dt']:.3g}, last dt "
          f"{result['last_dt']:.3g}; min rho over the steps {result['min_density']:.3g}, max "
          f"|v|/c_s {result['max_cell_mach']:.1f}; first-order cells "
          f"{result['first_order_cells']} (density drop {result['density_drop_cells']}); "
          f"{result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
