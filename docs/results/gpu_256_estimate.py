"""What the Alfven recipe would cost at 256^3 on the lent H200 (issue 13 item 1).

Not run: the session's 15 device-minutes could not hold it. The estimate scales the steps each
48^3 run of ``alfven_48_fast`` took (``sim_recipes_alfven.txt``) by 256/48 (the CFL step shrinks
with the cell size at the same velocities) and multiplies by the compiled float32 step time
measured at 256^3 on the H200 (``gpu_sets_h200.txt``, ``benchmarks/bench_sim.py``)::

    python docs/results/gpu_256_estimate.py > docs/results/gpu_256_estimate.txt

The bench's state is a Mach ~1 random flow; a run's step costs the same work per cell (the
HLLD fallback and first-order cells are rare), so the step time carries over.
"""

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
CELLS = 256


def main():
    bench = (HERE / "gpu_sets_h200.txt").read_text()
    step = float(re.search(r"cuda +256\^3 float32 +compiled +\S+ +\S+ +\S+ +([0-9.]+)",
                           bench).group(1))
    runs = {}
    section = None
    for line in (HERE / "sim_recipes_alfven.txt").read_text().splitlines():
        if line.startswith("== "):
            section = line.split(":")[0][3:]
        match = re.match(r"\s+(sub_alfvenic|super_alfvenic)\s+seed_(\d+) (\w+)\s*:\s+(\d+) steps",
                         line)
        if section == "alfven_48_fast" and match and match.group(3) == "cpu":
            runs.setdefault(match.group(1), []).append(int(match.group(4)))
    print(f"compiled float32 step at {CELLS}^3 on the H200: {step:.3f} s")
    total = 0.0
    for label, steps in sorted(runs.items()):
        mean_steps = sum(steps) / len(steps)
        scaled = mean_steps * CELLS / 48
        hours = scaled * step / 3600
        total += hours * len(steps)
        print(f"{label}: {mean_steps:.0f} steps per run at 48^3 (mean of {len(steps)} CPU runs "
              f"to 3.5 T) -> about {scaled:.0f} at {CELLS}^3, {hours:.2f} GPU-hours per run")
    print(f"the recipe's {sum(len(s) for s in runs.values())} runs at {CELLS}^3: about "
          f"{total:.1f} GPU-hours one after another (runs this large fill the GPU, so running "
          "them side by side saves little)")


if __name__ == "__main__":
    main()
