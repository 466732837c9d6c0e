"""Best-of-n wall-clock timing, shared by the benchmark scripts and the training evaluations."""

import time

__all__ = ["best_time"]


def best_time(function, repeats, *, warm_up=True):
    """Smallest wall time of ``repeats`` calls of ``function``.

    Parameters
    ----------
    function : callable
        Called without arguments; its result is discarded.
    repeats : int
        Timed calls.
    warm_up : bool, optional
        Make one untimed call first, so that lazy set-up (allocations, kernel selection) is
        not timed.

    Returns
    -------
    float
        Seconds of the fastest timed call.
    """
    if warm_up:
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
