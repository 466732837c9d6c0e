"""Tiny real simulator run sets laid out as a recipe writes them, for the training tests."""

import torch

from training.sim.config import RunConfig
from training.sim.run import run_simulation


def simulate_set(root, classes, *, seeds=(0, 1, 2), **common):
    """Run every class for every seed into ``root/<class>/seed_NNNN/`` (one thread each).

    Parameters
    ----------
    root : pathlib.Path
    classes : dict
        Class name -> its `training.sim.config.RunConfig` parameters.
    seeds : sequence of int
    **common
        Parameters every run shares (cells, snapshot times, ...).

    Returns
    -------
    pathlib.Path
        ``root``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny grids on a shared machine: one thread is fastest
    try:
        for label, parameters in classes.items():
            for seed in seeds:
                run_simulation(RunConfig(**common, **parameters, seed=seed,
                                         checkpoint_every=1000,
                                         output_dir=str(root / label / f"seed_{seed:04d}")),
                               progress=False, log=lambda message: None)
    finally:
        torch.set_num_threads(threads)
    return root
