"""Wall-clock timing shared by the benchmark scripts."""

import time

__all__ = ["best_time"]


def best_time(function, repeats):
    """Smallest wall time of ``repeats`` calls (after one warm-up call)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
