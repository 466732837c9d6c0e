"""Eager results of two code trees are bitwise equal (the branch-free step of training/sim 0.3.1 vs
0.3.0): run with each tree on PYTHONPATH, then compare.

    PYTHONPATH=OLD_TREE python docs/results/sim_branch_free_identity.py run before.pt
    PYTHONPATH=NEW_TREE python docs/results/sim_branch_free_identity.py run after.pt
    python docs/results/sim_branch_free_identity.py compare before.pt after.pt
"""

import sys

import torch


def run(path):
    from training.sim.config import RunConfig
    from training.sim.evolve import evolve
    from training.sim.grid import Grid
    from training.sim.problems import uniform_state
    from training.sim.run import Simulation
    from training.sim.solver import MHDSolver, SolverOptions

    torch.set_num_threads(1)
    results = {}
    for name, extra in (("lowbeta", {"mean_field": 1.0, "target_mach": 3.0}),
                        ("lowbeta_linear", {"mean_field": 1.0, "target_mach": 3.0,
                                            "density_reconstruction": "linear"}),
                        ("hydro", {"mean_field": 0.0, "target_mach": 2.0})):
        config = RunConfig(cells=12, sound_speed=0.1, end_turnovers=0.9, snapshot_turnovers=[],
                           dtype="float64", seed=3, output_dir="unused", **extra)
        simulation = Simulation.start(config)
        while simulation.time < simulation.end_time:
            simulation.advance(simulation.end_time - simulation.time)
        results[name] = (simulation.state.state_dict(), simulation.solver.counters.as_dict())
    # two streams flying apart at Mach 200: the counted first-order fallback runs
    for drop in (0.5, 1.0):
        for riemann in ("hlld", "hlle"):
            grid = Grid((32, 4, 1))
            state = uniform_state(grid, magnetic_field=(0.0, 0.5, 0.0))
            state.momentum[0] = state.density * torch.where(grid.mesh()[0] < 0.5, -200.0, 200.0)
            solver = MHDSolver(grid, SolverOptions(max_density_drop=drop, riemann=riemann))
            final, _ = evolve(solver, state, 0.002)
            results[f"streams_drop{drop}_{riemann}"] = (
                final.state_dict(), solver.counters.as_dict())
    torch.save(results, path)


def compare(before_path, after_path):
    before = torch.load(before_path, weights_only=False)
    after = torch.load(after_path, weights_only=False)
    for name, (state, counters) in before.items():
        state_after, counters_after = after[name]
        bitwise = all(torch.equal(state[key], state_after[key]) for key in state)
        print(f"{name:24s} states bitwise equal: {bitwise}; counters equal: "
              f"{counters == counters_after} {counters_after}")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2])
    else:
        compare(sys.argv[2], sys.argv[3])
