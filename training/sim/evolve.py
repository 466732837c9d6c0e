"""Advance a state to a given time with CFL-limited steps that land exactly on the end time."""

import torch

from .solver import NonPhysicalStateError

__all__ = ["evolve", "check_finite"]


def check_finite(state, *, step, time):
    """Raise :class:`NonPhysicalStateError` naming the step, time and first bad cell, if any."""
    bad = ~torch.isfinite(state.density) | ~(state.density > 0.0)
    for tensor in (state.momentum, state.face_field):
        bad = bad | ~torch.isfinite(tensor).all(dim=0)
    if bool(bad.any()):
        cell = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
        raise NonPhysicalStateError(
            f"non-physical state after step {step} at t = {time:.6g}: first bad cell "
            f"(i, j, k) = {cell} (density {float(state.density[cell]):.6g}); "
            f"{int(bad.sum())} bad cells in all", cell=cell)


def evolve(solver, state, end_time, *, start_time=0.0, max_steps=None):
    """Advance ``state`` from ``start_time`` to ``end_time``.

    Returns
    -------
    state : MHDState
        The state at ``end_time``.
    steps : int
        Number of steps taken.
    """
    time, steps = start_time, 0
    while time < end_time * (1.0 - 1.0e-14):
        dt = min(solver.time_step(state), end_time - time)
        state = solver.step(state, dt)
        time += dt
        steps += 1
        if max_steps is not None and steps >= max_steps:
            break
    check_finite(state, step=steps, time=time)
    return state, steps
