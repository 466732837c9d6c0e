"""Run a dataset recipe: calibrate one parameter per class so that every class reaches the same
sonic Mach number, then run each class for every seed and check the match over the snapshots.

A recipe TOML holds ``name``, ``[common]`` (RunConfig keys shared by all runs),
``[classes.<label>]`` (RunConfig keys of each class), ``seeds`` and ``[calibration]``:

- ``parameter``: ``"energy_injection_rate"`` (driven runs; M_s ~ eps^(1/3)), ``"initial_mach"``
  (decaying runs; M_s ~ initial Mach) or ``"none"``: no calibration runs at all; every production
  run keeps its class's parameters as written, normally driven runs with the Mach control on,
  started from an injection rate near the one the control settles at, so the classes' Mach
  numbers match through the control (the match is still checked over the snapshots);
- ``seed``: seed of the calibration runs (kept apart from the production seeds);
- ``turnovers``: length of a calibration run (driven), and ``average_from``: the start of the
  time average of M_s in it (the mean of its half-turnover control windows that start after
  it); a decaying calibration runs to the snapshot times and averages M_s over the snapshots,
  exactly as the production check does;
- ``tolerance``: stop when the calibrated mean M_s is within this fraction of ``target_mach``
  (half the match tolerance is a good choice), after at most ``max_rounds`` rounds;
- ``match_tolerance``: the largest allowed relative difference between the classes' mean M_s over
  all saved snapshots of the production runs (0.05 in issue 3).

``test_seeds`` (optional, a subset of ``seeds``) names the seeds kept for testing only; the
manifest repeats it so training code can hold them out.

Driven calibration starts with the Mach control on (it finds the rate from any start), takes the
time-averaged rate after ``average_from``, then checks it (and corrects it, by the cube of the
Mach ratio) with the control off; production runs use the calibrated value with the control off,
so all seeds of a class are driven at one rate.

Recipes take hours, so a run of the driver can be stopped and started again with the same
``--output-dir``: finished calibration rounds (``calibration/<label>.json``) are not repeated,
finished runs are read back, and an unfinished run (calibration round or production run)
continues bit-for-bit from its last checkpoint. The output directory remembers its recipe
(``recipe.json``); reusing it for a recipe with other parameters is refused.
"""

import json
import math
import time
import tomllib
from dataclasses import fields
from pathlib import Path

from ..config import RunConfig
from ..control import CONTROL_INTERVAL_TURNOVERS
from ..run import CHECKPOINT_NAME, run_simulation
from ..snapshots import load_checkpoint, read_snapshot

__all__ = ["load_recipe", "run_recipe", "calibrate_class"]

_PARAMETERS = {"energy_injection_rate": 3.0, "initial_mach": 1.0}   # M_s ~ value^(1/exponent)
_RECIPE_KEYS = {"name", "description", "common", "classes", "seeds", "test_seeds", "calibration"}
_NO_CALIBRATION = "none"
_CALIBRATION_DEFAULTS = {"seed": 1000, "turnovers": 4.0, "average_from": 2.0,
                         "tolerance": 0.025, "max_rounds": 4, "match_tolerance": 0.05}


def load_recipe(path, *, overrides=None, seeds=None):
    """Read and check a recipe; ``overrides`` (RunConfig keys) replace ``[common]`` values.

    Raises
    ------
    ValueError
        For unknown keys, a missing class table, a bad calibration parameter, or class configs
        that RunConfig rejects (checked here, before any run).
    """
    with open(path, "rb") as handle:
        recipe = tomllib.load(handle)
    unknown = sorted(set(recipe) - _RECIPE_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown recipe keys {unknown}; allowed {sorted(_RECIPE_KEYS)}")
    if not recipe.get("classes") or len(recipe["classes"]) < 2:
        raise ValueError(f"{path}: a recipe needs at least two [classes.<label>] tables")
    recipe.setdefault("name", Path(path).stem)
    recipe["common"] = {**recipe.get("common", {}), **(overrides or {})}
    if not recipe.get("seeds"):
        raise ValueError(f"{path}: no seeds")
    _check_test_seeds(path, recipe)
    if seeds is not None:
        # a call that runs some seeds keeps the recipe's test seeds among them
        recipe["test_seeds"] = [seed for seed in recipe.get("test_seeds", []) if seed in seeds]
        recipe["seeds"] = list(seeds)
    calibration = {**_CALIBRATION_DEFAULTS, **recipe.get("calibration", {})}
    calibration.setdefault("parameter", "energy_injection_rate")
    if calibration["parameter"] not in {*_PARAMETERS, _NO_CALIBRATION}:
        raise ValueError(f"{path}: calibration parameter must be one of "
                         f"{sorted({*_PARAMETERS, _NO_CALIBRATION})}, "
                         f"got {calibration['parameter']!r}")
    unknown = sorted(set(calibration) - set(_CALIBRATION_DEFAULTS) - {"parameter"})
    if unknown:
        raise ValueError(f"{path}: unknown calibration keys {unknown}")
    if (calibration["parameter"] == "energy_injection_rate"
            and calibration["turnovers"] < calibration["average_from"]
            + CONTROL_INTERVAL_TURNOVERS):
        raise ValueError(f"{path}: [calibration] turnovers must be at least average_from + "
                         f"{CONTROL_INTERVAL_TURNOVERS:g} (one control window to average)")
    recipe["calibration"] = calibration
    recipe["test_seeds"] = list(recipe.get("test_seeds", []))
    allowed = {spec.name for spec in fields(RunConfig)}
    for label, values in recipe["classes"].items():
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"{path}: class {label}: unknown parameters {unknown}")
        _class_config(recipe, label, seed=recipe["seeds"][0], output_dir="unused")
    return recipe


def _check_test_seeds(path, recipe):
    """The recipe's own test seeds (before any --seeds) are some, not all, of its seeds."""
    test_seeds = recipe.get("test_seeds", [])
    stray = sorted(set(test_seeds) - set(recipe["seeds"]))
    if stray:
        raise ValueError(f"{path}: test_seeds {stray} are not among the seeds {recipe['seeds']}")
    if test_seeds and set(test_seeds) == set(recipe["seeds"]):
        raise ValueError(f"{path}: every seed is a test seed; keep at least one for training")


def _class_config(recipe, label, **changes):
    values = {**recipe["common"], **recipe["classes"][label], **changes}
    return RunConfig(**values)


def _resumable_run(config, *, log=None, label=""):
    """Run ``config`` into ``config.output_dir``, continuing from the checkpoint there if any.

    Raises
    ------
    ValueError
        When the checkpoint there belongs to a run with other parameters.
    """
    output_dir = Path(config.output_dir)
    checkpoint = output_dir / CHECKPOINT_NAME
    resume, extension = None, {}
    if checkpoint.exists():
        # through RunConfig, so parameters added to the code since keep their defaults
        saved = RunConfig(**load_checkpoint(checkpoint)["config"]).as_dict()
        wanted = config.as_dict()
        # where a run lives is no parameter of it: a copied run directory continues
        changed = sorted(key for key in set(saved) | set(wanted)
                         if saved.get(key) != wanted.get(key) and key != "output_dir")
        if changed and _extends(saved, wanted, changed):
            extension = {"end_turnovers": wanted["end_turnovers"],
                         "snapshot_turnovers": wanted["snapshot_turnovers"]}
        elif changed:
            raise ValueError(f"{checkpoint} belongs to a run with other parameters ({changed}); "
                             "delete that run directory or choose another --output-dir")
        resume = checkpoint
        if log is not None:
            log(f"[{label}] {'extending' if extension else 'continuing'} {output_dir} from its "
                "checkpoint" + (f" to {wanted['end_turnovers']:g} T" if extension else ""))
    run_log = (lambda message: None) if log is None else (
        lambda message: log(f"[{label}]   {message}"))
    return run_simulation(None if resume else config, resume=resume, output_dir=output_dir,
                          progress=False, log=run_log, **extension)


def _extends(saved, wanted, changed):
    """Whether ``wanted`` only runs ``saved`` longer: a later end and more snapshots after the
    saved ones (a longer recipe over the same runs, e.g. for the run-identity control)."""
    if not set(changed) <= {"end_turnovers", "snapshot_turnovers"}:
        return False
    before, after = list(saved["snapshot_turnovers"]), list(wanted["snapshot_turnovers"])
    return (wanted["end_turnovers"] >= saved["end_turnovers"]
            and after[:len(before)] == before)


def _calibration_run(config, average_from_turnovers, *, log=None, label=""):
    """Run a driven calibration ``config`` (checkpointed in its output directory, so a stopped
    recipe continues it) and average its control windows that start after
    ``average_from_turnovers``.

    Returns
    -------
    mean_mach : float
        Mean of the windows' time-averaged M_s (the windows are all half a turnover long).
    mean_rate : float
        Mean injection rate in force during those windows.
    """
    simulation = _resumable_run(config, log=log, label=label)
    start = average_from_turnovers * config.turnover_time
    interval = CONTROL_INTERVAL_TURNOVERS * config.turnover_time
    windows = [entry for entry in simulation.controller.history
               if entry["time"] - interval >= start * (1.0 - 1.0e-9)]
    return (_mean([entry["mean_mach"] for entry in windows]),
            _mean([entry["rate_before"] for entry in windows]))


def _snapshot_headers(config, *, log=None, label=""):
    """Run ``config`` into its output directory (continuing from its checkpoint if one is
    there) and return the snapshots' FITS headers and the simulation."""
    output_dir = Path(config.output_dir)
    simulation = _resumable_run(config, log=log, label=label)
    headers = [read_snapshot(output_dir / f"snapshot_{index:03d}.fits")[3]
               for index in range(len(config.snapshot_turnovers))]
    return headers, simulation


def _snapshot_machs(config, *, log=None, label=""):
    """The snapshots' M_s (and the simulation) of a run, run first if needed."""
    headers, simulation = _snapshot_headers(config, log=log, label=label)
    return [float(header["MS"]) for header in headers], simulation


def _header_float(header, key):
    # snapshots write non-finite diagnostics as text ("nan"), which float() reads back
    return float(header[key]) if key in header else math.nan


class _CalibrationRecord:
    """The calibration rounds of one class, kept in a JSON file so a restart skips them."""

    def __init__(self, path):
        self.path = Path(path)
        saved = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.rounds = saved.get("rounds", [])
        self.value = saved.get("value")
        self.done = saved.get("done", False)

    def add(self, entry):
        self.rounds.append(entry)
        self._write()

    def finish(self, value):
        self.value, self.done = value, True
        self._write()

    def _write(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"rounds": self.rounds, "value": self.value,
                                         "done": self.done}, indent=2))


def calibrate_class(recipe, label, *, work_dir, log=print):
    """The calibrated parameter value of one class and the rounds that led to it.

    Rounds are recorded in ``work_dir/<label>.json`` as they finish; calling this again with
    the same ``work_dir`` continues after the last recorded round.
    """
    calibration = recipe["calibration"]
    parameter = calibration["parameter"]
    exponent = _PARAMETERS[parameter]
    seed = calibration["seed"]
    base = _class_config(recipe, label, seed=seed, output_dir=str(work_dir))
    target = base.target_mach
    record = _CalibrationRecord(Path(work_dir) / f"{label}.json")
    if record.done:
        log(f"[{label}] calibration read back from {record.path}: {parameter} = "
            f"{record.value:.5g}")
        return record.value, record.rounds
    if parameter == "energy_injection_rate" and not record.rounds:
        # round 0: let the Mach control find the rate; average it after average_from
        config = _class_config(recipe, label, seed=seed, mach_control=True,
                               end_turnovers=calibration["turnovers"], snapshot_turnovers=[],
                               output_dir=str(Path(work_dir) / f"{label}_round0"))
        mach, value = _calibration_run(config, calibration["average_from"], log=log,
                                       label=label)
        record.add({"round": 0, "mach_control": True, "mean_mach": mach, "value_after": value})
        log(f"[{label}] calibration round 0 (Mach control on): <M_s> = {mach:.4g}, "
            f"mean rate after {calibration['average_from']:g} T = {value:.5g}")
    value = base.initial_mach if base.initial_mach is not None else target
    for entry in record.rounds:
        if "value_after" in entry:
            value = entry["value_after"]
        else:
            if abs(entry["mean_mach"] / target - 1.0) <= calibration["tolerance"]:
                record.finish(entry["value"])
                return record.value, record.rounds
            value = entry["value"] * (target / entry["mean_mach"]) ** exponent
    first_round = 1 + sum(1 for entry in record.rounds if "value" in entry)
    for round_number in range(first_round, calibration["max_rounds"] + 1):
        if parameter == "energy_injection_rate":
            config = _class_config(recipe, label, seed=seed, mach_control=False,
                                   energy_injection_rate=value,
                                   end_turnovers=calibration["turnovers"],
                                   snapshot_turnovers=[],
                                   output_dir=str(Path(work_dir) / f"{label}_round{round_number}"))
            mach, _ = _calibration_run(config, calibration["average_from"], log=log,
                                       label=label)
        else:
            config = _class_config(recipe, label, seed=seed, initial_mach=value,
                                   output_dir=str(Path(work_dir) / f"{label}_round{round_number}"))
            machs, _ = _snapshot_machs(config, log=log, label=label)
            mach = sum(machs) / len(machs)
        record.add({"round": round_number, "value": value, "mean_mach": mach})
        log(f"[{label}] calibration round {round_number}: {parameter} = {value:.5g} -> "
            f"<M_s> = {mach:.4g} ({mach / target - 1:+.1%} from {target:g})")
        if abs(mach / target - 1.0) <= calibration["tolerance"]:
            record.finish(value)
            return value, record.rounds
        value *= (target / mach) ** exponent
    log(f"[{label}] calibration did not reach {calibration['tolerance']:.1%} in "
        f"{calibration['max_rounds']} rounds; using the last corrected value {value:.5g}")
    record.finish(value)
    return value, record.rounds


def _claim_output_dir(out, recipe, path):
    """Remember the recipe in ``out/recipe.json``; refuse a directory made for another one."""
    described = {key: recipe[key] for key in ("name", "common", "classes", "calibration")}
    described = json.loads(json.dumps(described))
    stored = out / "recipe.json"
    if stored.exists():
        previous = json.loads(stored.read_text())
        if previous != described:
            raise ValueError(f"{out} holds runs of a recipe with other parameters "
                             f"(see {stored}); choose another --output-dir to run {path}")
    else:
        stored.write_text(json.dumps(described, indent=2))


def run_recipe(path, *, output_dir, overrides=None, seeds=None, classes=None, log=print):
    """Calibrate every class, run every (class, seed), write ``manifest.json`` and return it.

    The manifest lists per class the calibrated value, the calibration rounds, and per seed the
    snapshot paths, their times and their measured M_s and M_A (on the total field and on the
    mean field), and whether the seed is kept for testing; ``mach_match`` holds each class's
    mean M_s over all its snapshots, the largest relative difference between classes, and
    whether it is within ``match_tolerance``. Seconds spent are recorded, to state the cost:
    per run and in all for this call (``seconds``); ``resumed`` lists what an earlier call had
    already done. Calling it again on the same ``output_dir`` continues where a stopped call
    left off.

    ``classes`` (labels) limits the call to those classes, so that separate processes (or
    machines sharing the directory) can each take a class; such a call returns its part with
    ``mach_match`` None and writes no manifest. A later call for all classes reads their
    finished work back and writes the manifest.
    """
    recipe = load_recipe(path, overrides=overrides, seeds=seeds)
    unknown = sorted(set(classes or ()) - set(recipe["classes"]))
    if unknown:
        raise ValueError(f"{path}: unknown classes {unknown}; the recipe has "
                         f"{sorted(recipe['classes'])}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _claim_output_dir(out, recipe, path)
    parameter = recipe["calibration"]["parameter"]
    manifest = {"recipe": recipe["name"], "source": str(path), "common": recipe["common"],
                "seeds": recipe["seeds"], "test_seeds": recipe["test_seeds"],
                "calibration": recipe["calibration"], "classes": {}, "resumed": []}
    started = time.perf_counter()
    for label in recipe["classes"]:
        if classes and label not in classes:
            continue
        class_started = time.perf_counter()
        if parameter == _NO_CALIBRATION:
            manifest["classes"][label] = {
                "parameters": recipe["classes"][label], "calibrated": {},
                "calibration_rounds": [], "calibration_seconds": 0.0, "runs": []}
            continue
        if (out / "calibration" / f"{label}.json").exists():
            manifest["resumed"].append(f"calibration of {label}")
        value, rounds = calibrate_class(recipe, label, work_dir=out / "calibration", log=log)
        manifest["classes"][label] = {
            "parameters": recipe["classes"][label], "calibrated": {parameter: value},
            "calibration_rounds": rounds,
            "calibration_seconds": time.perf_counter() - class_started, "runs": []}
    for label, entry in manifest["classes"].items():
        for seed in recipe["seeds"]:
            run_started = time.perf_counter()
            run_dir = out / label / f"seed_{seed:04d}"
            if (run_dir / CHECKPOINT_NAME).exists():
                manifest["resumed"].append(f"{label} seed {seed}")
            changes = {**entry["calibrated"], "seed": seed}
            if parameter == "energy_injection_rate":
                changes["mach_control"] = False
            config = _class_config(recipe, label, output_dir=str(run_dir), **changes)
            headers, simulation = _snapshot_headers(config, log=log,
                                                    label=f"{label} seed {seed}")
            machs = [float(header["MS"]) for header in headers]
            entry["runs"].append({
                "seed": seed, "test": seed in recipe["test_seeds"],
                "output_dir": str(run_dir), "snapshot_mach": machs,
                "snapshot_alfven_mach_total": [_header_float(h, "MATOTAL") for h in headers],
                "snapshot_alfven_mach_mean": [_header_float(h, "MAMEAN") for h in headers],
                "snapshot_turnovers": [_header_float(h, "TTURN") for h in headers],
                "steps": simulation.step, "seconds": time.perf_counter() - run_started,
                "snapshots": [str(run_dir / f"snapshot_{i:03d}.fits")
                              for i in range(len(machs))]})
            log(f"[{label}] seed {seed}: {simulation.step} steps, snapshot M_s "
                f"{', '.join(f'{m:.4g}' for m in machs)}")
    if classes and set(classes) != set(recipe["classes"]):
        manifest["mach_match"] = None
        manifest["seconds"] = time.perf_counter() - started
        log(f"classes {', '.join(classes)} done in {manifest['seconds']:.0f} s; run the recipe "
            "for all classes to check the Mach match and write manifest.json")
        return manifest
    means = {label: _mean([m for run in entry["runs"] for m in run["snapshot_mach"]])
             for label, entry in manifest["classes"].items()}
    spread = max(means.values()) / min(means.values()) - 1.0
    tolerance = recipe["calibration"]["match_tolerance"]
    manifest["mach_match"] = {"mean_mach": means, "relative_difference": spread,
                              "tolerance": tolerance, "ok": bool(spread <= tolerance)}
    manifest["seconds"] = time.perf_counter() - started
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    log(f"classes' mean M_s over the snapshots: "
        f"{', '.join(f'{label} {mach:.4g}' for label, mach in means.items())}; largest "
        f"relative difference {spread:.2%} (tolerance {tolerance:.0%}) -> "
        f"{'match' if spread <= tolerance else 'MISMATCH'}; {manifest['seconds']:.0f} s")
    return manifest


def _mean(values):
    return sum(values) / len(values) if values else math.nan
