"""Shared set-up of the simulator tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each simulator test on one CPU thread, and restore the count afterwards.

    The grids here are small, and on a shared 2-core machine two OpenMP threads that compete
    with other work spin-wait: steps then take tens of times longer than on one thread.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
