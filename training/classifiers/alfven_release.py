"""Rebuild and retrain the shipped Alfven family from nothing in one resumable command: the
simulations of every training set, their manifests, the three networks, the run-identity
control carried into their cards, their reports and the generated model catalogues.

Run as::

    python -m training.classifiers.alfven_release ROOT [--workers 2] [--threads 1]
        [--until sims|manifests|train|cards] [--members NAME ...] [--dry-run]

from any folder (it works in the repository root). ``ROOT`` is the folder for the runs, outside
the repository (``ROOT/<recipe>/``, ``ROOT/logs/``, as ``training/sim/recipes/run_queue.sh``).
After a lost machine, or a stopped call, the same command goes on where it stopped: a finished
run (its last snapshot written) is not run again, an unfinished one continues from its
checkpoint, a manifest is written once all of its recipe's runs are there, and a member whose
shipped model was made by this command from the same sets, runs and training options
(``ROOT/release/<name>.json`` holds them and the model file's sha256) is not trained
again; one stopped while training keeps the networks it finished (``ROOT/release/networks/``,
`training.common.network_cache`) and the next call trains only the others. The later
stages are cheap and always run. Before a member is first overwritten its
shipped file is copied to ``ROOT/release/previous/``.

The runs are the lines of `JOBS_FILE` (every seed and class of each training set, slowest
first); the sets are its recipes, so nothing else found in ``ROOT`` enters the training data.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

__all__ = ["JOBS_FILE", "STAGES", "Job", "read_jobs", "run_finished", "pending_jobs",
           "manifest_recipes", "member_command", "set_runs", "stale_members", "main"]

REPOSITORY = Path(__file__).resolve().parents[2]
RECIPE_DIR = REPOSITORY / "training" / "sim" / "recipes"
#: The runs of every set the family trains on, one "recipe class seed" line each.
JOBS_FILE = RECIPE_DIR / "alfven_family_jobs.txt"
#: The stages in order; ``--until`` stops after one of them.
STAGES = ("sims", "manifests", "train", "cards")
IDENTITY_REPORT = "docs/results/alfven_identity_pairs.json"


class Job(NamedTuple):
    """One run of a recipe."""

    recipe: str
    label: str
    seed: int

    def run_dir(self, root):
        """The run's folder under ``root``, as the recipe driver names it."""
        return Path(root) / self.recipe / self.label / f"seed_{self.seed:04d}"

    def log_path(self, root):
        """Its log, named as ``docs/results/sim_recipes_alfven.py`` expects."""
        return Path(root) / "logs" / f"{self.recipe}_{self.label}_{self.seed}.log"


def read_jobs(path=JOBS_FILE):
    """The runs a job file lists.

    Parameters
    ----------
    path : str or pathlib.Path
        Lines ``recipe class seed``; ``#`` comments and blank lines are skipped.

    Returns
    -------
    list of Job
        In the file's order.

    Raises
    ------
    ValueError
        For a line that is not ``recipe class seed``, naming the file and line.
    """
    jobs = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        words = line.split("#")[0].split()
        if not words:
            continue
        if len(words) != 3 or not words[2].isdigit():
            raise ValueError(f"{path}:{number}: expected 'recipe class seed', got {line!r}")
        jobs.append(Job(words[0], words[1], int(words[2])))
    return jobs


def _snapshot_count(recipe, recipe_dir):
    from training.sim.recipes import load_recipe

    return len(load_recipe(Path(recipe_dir) / f"{recipe}.toml")["common"]["snapshot_turnovers"])


def run_finished(root, job, *, recipe_dir=RECIPE_DIR):
    """Whether ``job``'s run under ``root`` has written its last snapshot.

    Parameters
    ----------
    root : str or pathlib.Path
        The runs' folder (``root/<recipe>/<class>/seed_NNNN``).
    job : Job
    recipe_dir : str or pathlib.Path
        Folder of the recipe files (its snapshot times say which snapshot is the last).

    Returns
    -------
    bool
    """
    last = _snapshot_count(job.recipe, recipe_dir) - 1
    return (job.run_dir(root) / f"snapshot_{last:03d}.fits").is_file()


def pending_jobs(root, jobs, *, recipe_dir=RECIPE_DIR):
    """The jobs whose runs are not finished (`run_finished`), in the given order."""
    return [job for job in jobs if not run_finished(root, job, recipe_dir=recipe_dir)]


def manifest_recipes(root, jobs, *, recipe_dir=RECIPE_DIR):
    """Recipes whose runs in ``jobs`` are all finished and that have no manifest yet, or one
    written for other seeds than the recipe now lists (seeds added to a set).

    Parameters
    ----------
    root, recipe_dir
        As for `run_finished`.
    jobs : list of Job

    Returns
    -------
    list of str
        Recipe names, in the order of ``jobs``.

    Raises
    ------
    ValueError
        If ``jobs`` lacks a (class, seed) of a recipe: its manifest call would run it.
    """
    from training.sim.recipes import load_recipe

    ready = []
    for recipe in dict.fromkeys(job.recipe for job in jobs):
        described = load_recipe(Path(recipe_dir) / f"{recipe}.toml")
        wanted = {(label, seed) for label in described["classes"] for seed in described["seeds"]}
        listed = {(job.label, job.seed) for job in jobs if job.recipe == recipe}
        if wanted - listed:
            raise ValueError(f"the job list lacks {sorted(wanted - listed)} of {recipe}: list "
                             "every class and seed of a training set")
        manifest = Path(root) / recipe / "manifest.json"
        if manifest.is_file() and (sorted(json.loads(manifest.read_text()).get("seeds", []))
                                   == sorted(described["seeds"])):
            continue
        if not pending_jobs(root, [job for job in jobs if job.recipe == recipe],
                            recipe_dir=recipe_dir):
            ready.append(recipe)
    return ready


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _stamp_path(root, name):
    return Path(root) / "release" / f"{name}.json"


def member_command(root, name, sets, *, seed=0):
    """The options a member is trained with (`alfven_family.model_arguments`, without the
    thread count): a change of the family's design changes them, and so the member's stamp."""
    from .alfven_family import model_arguments

    return model_arguments(name, root, seed=seed, sets=sets)


def set_runs(root, sets):
    """The runs each set's manifest lists: what a member trained from ``sets`` learnt from.

    Parameters
    ----------
    root : str or pathlib.Path
        The runs' folder (``root/<set>/manifest.json``).
    sets : list of str
        The recipe folders.

    Returns
    -------
    dict or None
        ``{set: {"seeds": [...], "test_seeds": [...]}}``, or None while a set has no manifest
        yet (a dry run before the simulations).
    """
    runs = {}
    for name in sets:
        manifest = Path(root) / name / "manifest.json"
        if not manifest.is_file():
            return None
        record = json.loads(manifest.read_text())
        runs[name] = {"seeds": sorted(record.get("seeds", [])),
                      "test_seeds": sorted(record.get("test_seeds", []))}
    return runs


def stale_members(root, names, sets, *, seed=0, repository=REPOSITORY, commands=None,
                  runs=None):
    """The family members that still need training from ``sets``.

    Parameters
    ----------
    root : str or pathlib.Path
        The runs' folder; ``root/release/<name>.json`` is this command's stamp of a member it
        trained (its sets and the sha256 of the file it wrote).
    names : list of str
        Family members.
    sets : list of str
        The recipe folders to train from.
    seed : int
        The training seed.
    repository : str or pathlib.Path
        Where ``onnx_models/`` is.
    commands : dict, optional
        ``{name: training options}`` (`member_command`); where given, a stamp of other options
        (a member trained before the family's design changed) is stale too.
    runs : dict, optional
        `set_runs` of ``sets``; where given, a stamp of other runs (seeds added to a set after
        the member was trained: the sets' names and the options are the same) is stale too.

    Returns
    -------
    list of str
        Those of ``names`` without a stamp for exactly these sets and seed (and options), or
        whose shipped file changed since (a hand retrain, a checkout).
    """
    stale = []
    for name in names:
        stamp_path = _stamp_path(root, name)
        model = Path(repository) / "onnx_models" / f"{name}.onnx"
        if stamp_path.is_file() and model.is_file():
            stamp = json.loads(stamp_path.read_text())
            if (sorted(stamp["sets"]) == sorted(sets) and stamp.get("seed") == seed
                    and stamp["sha256"] == _sha256(model)
                    and (commands is None or stamp.get("command") == commands[name])
                    and (runs is None or stamp.get("runs") == runs)):
                continue
        stale.append(name)
    return stale


def _device_option(device):
    # only when asked: the option enters the recipe record each run folder is checked against,
    # so runs started without it (run_queue.sh) continue only without it
    return ["--device", device] if device else []


def _simulate(root, job, device, recipe_dir):
    command = ["nice", "-n", "10", sys.executable, "-m", "training.sim", "recipe",
               str(Path(recipe_dir) / f"{job.recipe}.toml"), "--classes", job.label,
               "--seeds", str(job.seed), "--threads", "1", *_device_option(device),
               "--output-dir", str(Path(root) / job.recipe)]
    job.log_path(root).parent.mkdir(parents=True, exist_ok=True)
    with open(job.log_path(root), "a") as log:
        status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                cwd=REPOSITORY).returncode
    print(f"{job.recipe} {job.label} seed {job.seed}: rc={status} (log {job.log_path(root)})",
          flush=True)
    return status


def _python(*arguments, stdout=None, stderr=None):
    """Run ``python ARGUMENTS`` in the repository root; its exit status."""
    command = [sys.executable, *arguments]
    print("$ python " + " ".join(arguments), flush=True)
    return subprocess.run(command, cwd=REPOSITORY, stdout=stdout, stderr=stderr).returncode


def _stage_sims(arguments, jobs):
    pending = pending_jobs(arguments.root, jobs, recipe_dir=arguments.recipe_dir)
    print(f"sims: {len(jobs) - len(pending)} of {len(jobs)} runs finished, "
          f"{len(pending)} to run with {arguments.workers} workers", flush=True)
    if arguments.dry_run or not pending:
        return 0
    with ThreadPoolExecutor(arguments.workers) as pool:
        statuses = list(pool.map(lambda job: _simulate(arguments.root, job, arguments.device,
                                                       arguments.recipe_dir), pending))
    failed = [job for job, status in zip(pending, statuses) if status]
    if failed:
        print(f"sims: {len(failed)} runs failed (see their logs); call again to retry",
              file=sys.stderr, flush=True)
        return 1
    return 0


def _stage_manifests(arguments, jobs):
    ready = manifest_recipes(arguments.root, jobs, recipe_dir=arguments.recipe_dir)
    waiting = sorted({job.recipe for job in pending_jobs(arguments.root, jobs,
                                                         recipe_dir=arguments.recipe_dir)})
    print(f"manifests: to write {ready or 'none'}; waiting for runs: {waiting or 'none'}",
          flush=True)
    if arguments.dry_run:
        return 0
    for recipe in ready:
        # all its runs are finished: this call only reads them back and checks the Mach match
        status = _python("-m", "training.sim", "recipe",
                         str(Path(arguments.recipe_dir) / f"{recipe}.toml"),
                         "--threads", "1", *_device_option(arguments.device),
                         "--output-dir", str(Path(arguments.root) / recipe))
        # a Mach mismatch exits non-zero after writing the manifest: checked below for all
        if status and not (Path(arguments.root) / recipe / "manifest.json").is_file():
            return status
    missing, mismatched = [], []
    for recipe in dict.fromkeys(job.recipe for job in jobs):
        path = Path(arguments.root) / recipe / "manifest.json"
        if not path.is_file():
            missing.append(recipe)
            continue
        match = json.loads(path.read_text())["mach_match"]
        if not match["ok"]:
            mismatched.append(f"{recipe} (classes' mean M_s {match['relative_difference']:.1%} "
                              f"apart, tolerance {match['tolerance']:.0%})")
    if missing:
        print(f"manifests: {', '.join(missing)} not written yet: training waits for them",
              file=sys.stderr, flush=True)
    if mismatched:
        # a set whose classes differ in M_s would teach the networks the Mach number
        print(f"manifests: not a training set: {'; '.join(mismatched)}. Change the recipe's "
              "injection rates, delete its runs and call again", file=sys.stderr, flush=True)
    return 1 if missing or mismatched else 0


def _stage_train(arguments, sets):
    from .alfven_family import FAMILY

    try:
        commands = {name: member_command(arguments.root, name, sets, seed=arguments.seed)
                    for name in FAMILY}
    except ValueError:
        # a set not there yet (a dry run before the simulations): nothing to compare
        commands = None
    members = list(arguments.members or FAMILY)
    runs = set_runs(arguments.root, sets)
    stale = stale_members(arguments.root, members, sets, seed=arguments.seed,
                          repository=REPOSITORY, commands=commands, runs=runs)
    print(f"train on {', '.join(sets)}: {stale or 'every member is up to date'}", flush=True)
    if arguments.dry_run:
        return 0
    previous = Path(arguments.root) / "release" / "previous"
    previous.mkdir(parents=True, exist_ok=True)
    for name in stale:
        shipped = REPOSITORY / "onnx_models" / f"{name}.onnx"
        if shipped.is_file() and not (previous / shipped.name).exists():
            shutil.copy2(shipped, previous / shipped.name)

    def train(name):
        command = ["-m", "training.classifiers.alfven_family", str(arguments.root),
                   "--models", name, "--sets", *sets, "--seed", str(arguments.seed),
                   # a stopped call keeps its finished networks: the next one trains the rest
                   "--network-cache", str(Path(arguments.root) / "release" / "networks")]
        threads = arguments.threads or max(1, (os.cpu_count() or 1) // arguments.workers)
        command += ["--threads", str(threads)]
        log = Path(arguments.root) / "logs" / f"train_{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as stream:
            status = _python(*command, stdout=stream, stderr=subprocess.STDOUT)
        print(f"train {name}: rc={status} (log {log})", flush=True)
        if status == 0:
            shipped = REPOSITORY / "onnx_models" / f"{name}.onnx"
            _stamp_path(arguments.root, name).write_text(json.dumps(
                {"sets": list(sets), "seed": arguments.seed, "sha256": _sha256(shipped),
                 "command": None if commands is None else commands[name],
                 "runs": runs}, indent=1))
        return status

    # members are independent (each its own model, report and figures): several at once
    # keep every core busy where one network's training would not
    with ThreadPoolExecutor(arguments.workers) as pool:
        statuses = list(pool.map(train, stale))
    failed = [name for name, status in zip(stale, statuses) if status]
    if failed:
        print(f"train: {', '.join(failed)} failed (see their logs); call again to retry",
              file=sys.stderr, flush=True)
        return 1
    return 0


def _stage_cards(arguments):
    from .alfven_family import FAMILY

    print("cards: the run-identity control from its report, the reports, the catalogues",
          flush=True)
    if arguments.dry_run:
        return 0
    # this stage rewrites the cards, so the files' hashes change: members whose stamp held
    # before it get their stamp's hash renewed after it, or the next call would retrain them
    current = [name for name in FAMILY if _stamp_holds(arguments.root, name)]
    # the control trains its own networks on the identity runs only: a retrain leaves it as is
    status = _python("-m", "training.classifiers.alfven_identity", str(arguments.root),
                     "--report", IDENTITY_REPORT, "--from-report", "--update-cards")
    for name in FAMILY:
        status = status or _python("-m", "training.evaluation.report", name,
                                   stdout=subprocess.DEVNULL)
    for flags, out in (([], "onnx_models/MODELS.md"), (["--published"], "docs/models.md")):
        if status:
            break
        # written only once the command succeeded: a failed call keeps the committed file
        print(f"$ python -m glue_turbml.cli models markdown {' '.join(flags)} > {out}",
              flush=True)
        result = subprocess.run([sys.executable, "-m", "glue_turbml.cli", "models", "markdown",
                                 *flags], cwd=REPOSITORY, capture_output=True, text=True)
        status = result.returncode
        if status:
            print(result.stderr, file=sys.stderr, flush=True)
        else:
            (REPOSITORY / out).write_text(result.stdout)
    for name in current:
        _renew_stamp(arguments.root, name)
    return status


def _stamp_holds(root, name):
    """Whether ``name``'s stamp names the shipped file as it is now."""
    stamp_path = _stamp_path(root, name)
    model = REPOSITORY / "onnx_models" / f"{name}.onnx"
    return (stamp_path.is_file() and model.is_file()
            and json.loads(stamp_path.read_text())["sha256"] == _sha256(model))


def _renew_stamp(root, name):
    """Put the shipped file's hash as it is now into ``name``'s stamp."""
    stamp_path = _stamp_path(root, name)
    stamp = json.loads(stamp_path.read_text())
    stamp["sha256"] = _sha256(REPOSITORY / "onnx_models" / f"{name}.onnx")
    stamp_path.write_text(json.dumps(stamp, indent=1))


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m training.classifiers.alfven_release",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder for the runs (outside the repository)")
    parser.add_argument("--workers", type=int, default=2,
                        help="simulations at once, one thread each, and family members "
                             "trained at once (default 2)")
    parser.add_argument("--device", default=None,
                        help="torch device of the simulations (default: the recipes')")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of each member's training (default: torch's; "
                             "with several workers, cores / workers)")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--until", choices=STAGES, default=STAGES[-1],
                        help="stop after this stage")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what each stage would do, do nothing")
    parser.add_argument("--members", nargs="+", default=None, metavar="NAME",
                        help="train only these members (in this order; default all): e.g. one "
                             "first with every core, the others in a later call")
    parser.add_argument("--jobs", type=Path, default=JOBS_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--recipe-dir", type=Path, default=RECIPE_DIR, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    arguments.root = arguments.root.resolve()
    from .alfven_family import FAMILY

    unknown = sorted(set(arguments.members or ()) - set(FAMILY))
    if unknown:
        parser.error(f"--members: no family member {unknown}; the family is {sorted(FAMILY)}")
    if arguments.workers < 1:
        parser.error("--workers must be at least 1")
    jobs = read_jobs(arguments.jobs)
    # sorted, as alfven_family orders the sets it finds
    sets = sorted({job.recipe for job in jobs})
    steps = {"sims": lambda: _stage_sims(arguments, jobs),
             "manifests": lambda: _stage_manifests(arguments, jobs),
             "train": lambda: _stage_train(arguments, sets),
             "cards": lambda: _stage_cards(arguments)}
    for stage in STAGES:
        status = steps[stage]()
        if status and not arguments.dry_run:
            print(f"stopped at {stage} (exit status {status}); the same command goes on from "
                  "there", file=sys.stderr, flush=True)
            return status
        if stage == arguments.until:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
