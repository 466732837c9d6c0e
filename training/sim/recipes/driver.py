"""Run a dataset recipe: calibrate one parameter per class so that every class reaches the same
sonic Mach number, then run each class for every seed and check the match over the snapshots.

A recipe TOML holds ``name``, ``[common]`` (RunConfig keys shared by all runs),
``[classes.<label>]`` (RunConfig keys of each class), ``seeds`` and ``[calibration]``:

- ``parameter``: ``"energy_injection_rate"`` (driven runs; M_s ~ eps^(1/3)) or ``"initial_mach"``
  (decaying runs; M_s ~ initial Mach);
- ``seed``: seed of the calibration runs (kept apart from the production seeds);
- ``turnovers``: length of a calibration run (driven), and ``average_from``: the start of the
  time average of M_s in it; a decaying calibration runs to the snapshot times and averages M_s
  over the snapshots, exactly as the production check does;
- ``tolerance``: stop when the calibrated mean M_s is within this fraction of ``target_mach``
  (half the match tolerance is a good choice), after at most ``max_rounds`` rounds;
- ``match_tolerance``: the largest allowed relative difference between the classes' mean M_s over
  all saved snapshots of the production runs (0.05 in issue 3).

Driven calibration starts with the Mach control on (it finds the rate from any start), takes the
time-averaged rate after ``average_from``, then checks it (and corrects it, by the cube of the
Mach ratio) with the control off; production runs use the calibrated value with the control off,
so all seeds of a class are driven at one rate.
"""

import json
import math
import time
import tomllib
from dataclasses import fields
from pathlib import Path

from ..config import RunConfig
from ..diagnostics import sonic_mach
from ..run import Simulation, run_simulation
from ..snapshots import read_snapshot

__all__ = ["load_recipe", "run_recipe", "calibrate_class"]

_PARAMETERS = {"energy_injection_rate": 3.0, "initial_mach": 1.0}   # M_s ~ value^(1/exponent)
_RECIPE_KEYS = {"name", "description", "common", "classes", "seeds", "calibration"}
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
    if seeds is not None:
        recipe["seeds"] = list(seeds)
    if not recipe.get("seeds"):
        raise ValueError(f"{path}: no seeds")
    calibration = {**_CALIBRATION_DEFAULTS, **recipe.get("calibration", {})}
    calibration.setdefault("parameter", "energy_injection_rate")
    if calibration["parameter"] not in _PARAMETERS:
        raise ValueError(f"{path}: calibration parameter must be one of {sorted(_PARAMETERS)}, "
                         f"got {calibration['parameter']!r}")
    unknown = sorted(set(calibration) - set(_CALIBRATION_DEFAULTS) - {"parameter"})
    if unknown:
        raise ValueError(f"{path}: unknown calibration keys {unknown}")
    recipe["calibration"] = calibration
    allowed = {spec.name for spec in fields(RunConfig)}
    for label, values in recipe["classes"].items():
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"{path}: class {label}: unknown parameters {unknown}")
        _class_config(recipe, label, seed=recipe["seeds"][0], output_dir="unused")
    return recipe


def _class_config(recipe, label, **changes):
    values = {**recipe["common"], **recipe["classes"][label], **changes}
    return RunConfig(**values)


def _mean_mach_of_run(config, average_from_turnovers):
    """Run ``config`` in memory; time-averaged M_s after ``average_from_turnovers``."""
    simulation = Simulation.start(config)
    start = average_from_turnovers * config.turnover_time
    weighted, elapsed = 0.0, 0.0
    while simulation.time < simulation.end_time * (1.0 - 1.0e-12):
        dt = simulation.advance(simulation.end_time - simulation.time)
        if simulation.time > start:
            weighted += dt * sonic_mach(simulation.state, config.sound_speed)
            elapsed += dt
    return weighted / elapsed, simulation


def _snapshot_machs(config, output_dir):
    simulation = run_simulation(config.__class__(**{**config.as_dict(),
                                                    "output_dir": str(output_dir)}),
                                progress=False, log=lambda message: None)
    machs = []
    for index in range(len(config.snapshot_turnovers)):
        header = read_snapshot(Path(output_dir) / f"snapshot_{index:03d}.fits")[3]
        machs.append(float(header["MS"]))
    return machs, simulation


def calibrate_class(recipe, label, *, work_dir, log=print):
    """The calibrated parameter value of one class and the rounds that led to it."""
    calibration = recipe["calibration"]
    parameter = calibration["parameter"]
    exponent = _PARAMETERS[parameter]
    seed = calibration["seed"]
    base = _class_config(recipe, label, seed=seed, output_dir=str(work_dir))
    target = base.target_mach
    rounds = []
    if parameter == "energy_injection_rate":
        # round 0: let the Mach control find the rate; average it after average_from
        config = _class_config(recipe, label, seed=seed, mach_control=True,
                               end_turnovers=calibration["turnovers"], snapshot_turnovers=[],
                               output_dir=str(work_dir))
        mach, simulation = _mean_mach_of_run(config, calibration["average_from"])
        start = calibration["average_from"] * config.turnover_time
        rates = [entry["rate_after"] for entry in simulation.controller.history
                 if entry["time"] > start]
        value = (sum(rates) / len(rates) if rates
                 else simulation.forcing.energy_injection_rate)
        rounds.append({"round": 0, "mach_control": True, "mean_mach": mach, "value_after": value})
        log(f"[{label}] calibration round 0 (Mach control on): <M_s> = {mach:.4g}, "
            f"mean rate after {calibration['average_from']:g} T = {value:.5g}")
    else:
        value = base.initial_mach if base.initial_mach is not None else target
    for round_number in range(1, calibration["max_rounds"] + 1):
        if parameter == "energy_injection_rate":
            config = _class_config(recipe, label, seed=seed, mach_control=False,
                                   energy_injection_rate=value,
                                   end_turnovers=calibration["turnovers"],
                                   snapshot_turnovers=[], output_dir=str(work_dir))
            mach, _ = _mean_mach_of_run(config, calibration["average_from"])
        else:
            config = _class_config(recipe, label, seed=seed, initial_mach=value,
                                   output_dir=str(Path(work_dir) / f"{label}_round{round_number}"))
            machs, _ = _snapshot_machs(config, config.output_dir)
            mach = sum(machs) / len(machs)
        entry = {"round": round_number, "value": value, "mean_mach": mach}
        rounds.append(entry)
        log(f"[{label}] calibration round {round_number}: {parameter} = {value:.5g} -> "
            f"<M_s> = {mach:.4g} ({mach / target - 1:+.1%} from {target:g})")
        if abs(mach / target - 1.0) <= calibration["tolerance"]:
            return value, rounds
        value *= (target / mach) ** exponent
    log(f"[{label}] calibration did not reach {calibration['tolerance']:.1%} in "
        f"{calibration['max_rounds']} rounds; using the last corrected value {value:.5g}")
    return value, rounds


def run_recipe(path, *, output_dir, overrides=None, seeds=None, log=print):
    """Calibrate every class, run every (class, seed), write ``manifest.json`` and return it.

    The manifest lists per class the calibrated value, the calibration rounds, and per seed the
    snapshot paths and their measured M_s; ``mach_match`` holds each class's mean M_s over all
    its snapshots, the largest relative difference between classes, and whether it is within
    ``match_tolerance``. Seconds spent are recorded, to state the cost.
    """
    recipe = load_recipe(path, overrides=overrides, seeds=seeds)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    parameter = recipe["calibration"]["parameter"]
    manifest = {"recipe": recipe["name"], "source": str(path), "common": recipe["common"],
                "seeds": recipe["seeds"], "calibration": recipe["calibration"], "classes": {}}
    started = time.perf_counter()
    for label in recipe["classes"]:
        class_started = time.perf_counter()
        value, rounds = calibrate_class(recipe, label, work_dir=out / "calibration", log=log)
        manifest["classes"][label] = {
            "parameters": recipe["classes"][label], "calibrated": {parameter: value},
            "calibration_rounds": rounds,
            "calibration_seconds": time.perf_counter() - class_started, "runs": []}
    for label, entry in manifest["classes"].items():
        for seed in recipe["seeds"]:
            run_started = time.perf_counter()
            run_dir = out / label / f"seed_{seed:04d}"
            changes = {parameter: entry["calibrated"][parameter], "seed": seed}
            if parameter == "energy_injection_rate":
                changes["mach_control"] = False
            config = _class_config(recipe, label, output_dir=str(run_dir), **changes)
            machs, simulation = _snapshot_machs(config, run_dir)
            entry["runs"].append({
                "seed": seed, "output_dir": str(run_dir), "snapshot_mach": machs,
                "steps": simulation.step, "seconds": time.perf_counter() - run_started,
                "snapshots": [str(run_dir / f"snapshot_{i:03d}.fits")
                              for i in range(len(machs))]})
            log(f"[{label}] seed {seed}: {simulation.step} steps, snapshot M_s "
                f"{', '.join(f'{m:.4g}' for m in machs)}")
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
