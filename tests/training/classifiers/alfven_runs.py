"""Tiny real sub- and super-Alfvenic simulator runs for the Alfven data and training tests."""

import torch

from training.sim.config import RunConfig
from training.sim.run import run_simulation

CLASSES = ["sub_alfvenic", "super_alfvenic"]


def simulate_alfven_runs(root, *, seeds, snapshot_turnovers, cells=8):
    """``cells``^3 (8 by default) driven MHD runs with B0 = 1 (sub) and 0.1 (super) per seed,
    into ``root/<class>/seed<n>/`` (one thread: the grid is tiny and the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for label, mean_field in zip(CLASSES, (1.0, 0.1)):
            for seed in seeds:
                run_simulation(RunConfig(cells=cells, sound_speed=0.1, mean_field=mean_field,
                                         target_mach=2.0, seed=seed,
                                         end_turnovers=max(snapshot_turnovers),
                                         snapshot_turnovers=list(snapshot_turnovers),
                                         checkpoint_every=1000,
                                         output_dir=str(root / label / f"seed{seed}")),
                               progress=False, log=lambda message: None)
    finally:
        torch.set_num_threads(threads)
    return root
