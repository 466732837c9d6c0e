"""What the Alfven sets cost and whether their classes match: one table per set, from the runs
themselves.

Run from the repository root, after the recipes (``training/sim/recipes/alfven_*.toml``) ran
into ``ROOT/<recipe name>/`` (one folder per recipe, as ``--output-dir``)::

    python docs/results/sim_recipes_alfven.py ROOT > docs/results/sim_recipes_alfven.txt

or ``python docs/results/sim_recipes_alfven.py ROOT SET [SET ...]`` for the named sets only.

For every run: the device it ran on (its snapshots' ``PAR device``), steps, wall seconds of the
process that finished it (its log, ``ROOT/logs/<recipe>_<class>_<seed>.log``, as the work queues
write it; on the CPU one thread on the 2-core machine, the other core busy, so the seconds are
core-seconds; on a GPU (``training/sim/recipes/gpu_sets.sh``) many runs shared one GPU at once),
and its snapshots' M_s and M_A. Per set: CPU core-hours and GPU run-seconds, the classes' mean M_s
over the snapshots and their relative difference (tolerance 5%), over the recipe's seeds and,
where runs of further seeds were added, over all. The first tries of the sub-Alfvenic class,
kept under ``ROOT/tries/``, are listed with the Mach control's record (their runs were stopped
and are not in any set).
"""

import json
import re
import sys
import tomllib
from pathlib import Path

from astropy.io import fits

RECIPES = Path(__file__).resolve().parents[2] / "training" / "sim" / "recipes"
DONE = re.compile(r"done: (\d+) steps to t = ([0-9.]+).*?; ([0-9.]+) s wall")
CONTROL = re.compile(r"t = +([0-9.]+) T: <M_s> over the last 0.5 T = ([0-9.]+) "
                     r"\(target [0-9.]+, ([-+0-9.]+%)\); injection rate ([0-9.]+) -> ([0-9.]+)")


def _run_rows(run_dir, log_path):
    log = log_path.read_text() if log_path.exists() else ""
    done = DONE.findall(log)
    snapshots = sorted(run_dir.glob("snapshot_*.fits"))
    headers = [fits.getheader(path) for path in snapshots]
    # later calls read a finished run back and log it again with ~0 s: the longest is the run
    done = max(done, key=lambda match: float(match[2])) if done else None
    control = CONTROL.findall(log)
    return {"final_rate": float(control[-1][4]) if control else None,
            "steps": int(done[0]) if done else None,
            "seconds": float(done[2]) if done else None,
            "mach": [float(header["MS"]) for header in headers],
            "alfven_mach_total": [float(header["MATOTAL"]) for header in headers],
            "times": [round(float(header["TTURN"]), 3) for header in headers],
            "device": str(headers[0].get("HIERARCH PAR device", "cpu")) if headers else "cpu",
            "finished": bool(done)}


def _mean(values):
    return sum(values) / len(values) if values else float("nan")


def summarize_set(folder):
    recipe = json.loads((folder / "recipe.json").read_text()) if (
        folder / "recipe.json").exists() else {}
    print(f"== {folder.name}: {json.dumps(recipe.get('common', {}), sort_keys=True)}")
    for label, values in recipe.get("classes", {}).items():
        print(f"   class {label}: {json.dumps(values, sort_keys=True)}")
    # recipe.json keeps the run parameters only; the seeds are in the recipe file
    recipe_file = RECIPES / f"{folder.name}.toml"
    recipe_seeds = (set(tomllib.loads(recipe_file.read_text())["seeds"])
                    if recipe_file.exists() else None)
    seconds_by_device, complete = {}, True
    machs = {"recipe": {}, "all": {}}
    for class_dir in sorted(path for path in folder.iterdir() if path.is_dir()):
        for run_dir in sorted(class_dir.glob("seed_*")):
            seed = int(run_dir.name.split("_")[1])
            row = _run_rows(run_dir, folder.parent / "logs"
                            / f"{folder.name}_{class_dir.name}_{seed}.log")
            complete &= row["finished"]
            seconds_by_device[row["device"]] = (seconds_by_device.get(row["device"], 0.0)
                                                + (row["seconds"] or 0.0))
            in_recipe = recipe_seeds is None or seed in recipe_seeds
            for group in ("recipe", "all") if in_recipe else ("all",):
                machs[group].setdefault(class_dir.name, []).extend(row["mach"])
            seconds = "unfinished" if row["seconds"] is None else f"{row['seconds']:7.0f} s"
            rate = ("" if row["final_rate"] is None
                    else f"; final injection rate {row['final_rate']:.3f}")
            extra = "" if in_recipe else " (extra seed)"
            print(f"   {class_dir.name:15s} {run_dir.name} {row['device']:4s}: "
                  f"{row['steps'] or 0:6d} steps {seconds}; "
                  f"M_s {' '.join(f'{m:.2f}' for m in row['mach'])}; "
                  f"M_A(total) {' '.join(f'{m:.2f}' for m in row['alfven_mach_total'])}"
                  f"{rate}{extra}")
    unfinished = "" if complete else " so far (unfinished runs)"
    if "cpu" in seconds_by_device:
        print(f"   CPU core-hours (sum of the CPU runs' wall seconds, one thread each): "
              f"{seconds_by_device.pop('cpu') / 3600:.2f}{unfinished}")
    for device, seconds in seconds_by_device.items():
        print(f"   {device} runs: sum of their wall seconds {seconds:.0f} (they shared one GPU, "
              f"many at once: the batch's wall clock is in logs/gpu_sets.log){unfinished}")
    for group, title in (("recipe", "the recipe's seeds"), ("all", "all seeds")):
        means = {label: _mean(values) for label, values in machs[group].items()}
        if len(means) == 2 and (group == "recipe" or machs["all"] != machs["recipe"]):
            low, high = sorted(means.values())
            print(f"   mean M_s over snapshots, {title}: "
                  f"{', '.join(f'{k} {v:.3f}' for k, v in means.items())}; relative difference "
                  f"{high / low - 1:.1%} (tolerance 5%)")
    print()


def summarize_tries(folder):
    print("== first tries of the sub-Alfvenic class (stopped; not part of any set)")
    for log in sorted(folder.glob("first_tries/*.log")):
        print(f"   {log.name}:")
        for match in CONTROL.findall(log.read_text()):
            time, mach, off, before, after = match
            print(f"     t = {float(time):.1f} T: <M_s> {float(mach):.2f} ({off}), rate "
                  f"{before} -> {after}")
        for line in log.read_text().splitlines():
            if "snapshot M_s" in line:
                print("    ", line.strip())
    print()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[0])
    if len(argv) > 1:
        # only the sets named (e.g. a set or probe added later, into a file of its own)
        for name in argv[1:]:
            summarize_set(root / name)
        return 0
    for folder in sorted(root.glob("alfven_*")):
        if folder.is_dir():
            summarize_set(folder)
    if (root / "tries").is_dir():
        summarize_tries(root / "tries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
