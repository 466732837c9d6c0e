"""Train the shipped Alfven family in one command: ``alfven`` (density slices), ``alfven-ffp``
(slices with fixed Fourier power) and ``alfven-column`` (column densities at 0-90 degrees to
the field), each with its report, controls, domain record and the paper's numbers in its card.

Run as::

    python -m training.classifiers.alfven_family ROOT [--models alfven ...] [--threads 2]

from the repository root.
``ROOT`` holds one folder per Alfven recipe run (``training/sim/recipes/alfven_*.toml`` with
``--output-dir ROOT/<recipe name>``); every finished set found there but `NOT_FOR_TRAINING`
is used: the held-out test runs are the largest seed of each class in each set, the numerics
and driving controls train on `MAIN_SET` (else the set with the most training maps) and score
the others, and a pooled control trains on every set of the smallest resolution together and
scores the others (`pooled_control_sets`). Every run keeps its own pixel scale
(`COMMON_OPTIONS`): the networks' inputs are tiles of the smallest map side.
Models go to ``onnx_models/``, reports to ``docs/results/`` (``<name>.json``,
``<name>_report.md`` and its figures).
"""

import argparse
import json
import sys
from pathlib import Path

__all__ = ["FAMILY", "COMMON_OPTIONS", "IDENTITY_SET", "MAIN_SET", "NOT_FOR_TRAINING", "class_spec",
           "member_config", "set_cells", "pooled_control_sets", "model_arguments", "main"]

#: The main set: the numerics and driving controls train on it and score the other sets.
MAIN_SET = "alfven_48_fast"

#: The recipe folder of longer runs for the run-identity control, never a training set (its
#: runs are alfven_48_fast's seeds 0-3).
IDENTITY_SET = "alfven_48_identity"

#: Recipe folders kept out of the default training data, with why. Their runs stay useful as
#: measurements (docs/results/alfven_numerics_physics.py reads every set), not as labels.
NOT_FOR_TRAINING = {
    # minmod + HLLE at 64^3: the sub-Alfvenic density keeps no structure along the field
    # (anisotropy 0.93/0.93/1.02 against 0.48/0.68/0.92 with HLLD,
    # docs/results/alfven_numerics_physics.txt), so its sub-Alfvenic label names physics its
    # maps no longer show: a network could only learn the solver or the run from them
    "alfven_64_minmod_hlle": "HLLE erases the sub-Alfvenic density anisotropy at 64^3",
    # the test runs of a resolution between the two the family trains on
    # (docs/results/alfven_resolution_bracket.py): seen in training, they would test nothing
    "alfven_56_minmod_hlld": "the unseen resolution of the resolution-bracket control",
}

#: Options of every member's training command (`model_arguments`), kept out of `FAMILY` so
#: that the recorded experiments in docs/results, which build their data from `FAMILY`, still
#: reproduce: every run at its own pixel scale, as the runtime sees a user's map (on unseen
#: resolutions the shipped ``alfven-ffp`` scored 0.92-0.94 of its tiles so, 0.78 resampled:
#: docs/results/alfven_pixel_scale.txt). A cosine learning-rate schedule over 20 epochs: at the
#: constant rate the validation score jumped by points between epochs and early stopping often
#: kept an early one; on the same held-out runs the same network scored 0.7 points more on
#: average over three training seeds for `alfven` (+0.9, +1.2, 0.0), 2.2 for `alfven-column`
#: and 0.1 for `alfven-ffp` (one seed each); at worst one held-out input fewer right
#: (docs/results/alfven_schedule_*.txt).
COMMON_OPTIONS = ["--native-pixels", "--schedule", "cosine", "--max-epochs", "20"]

#: model name -> its options of `training.classifiers.alfven` besides data and outputs.
FAMILY = {
    # neighbouring slices of a 48^3 cube are nearly the same map: every second one
    "alfven": ["--kind", "slices", "--slice-step", "2"],
    "alfven-ffp": ["--kind", "slices", "--slice-step", "2", "--ffp"],
    "alfven-column": ["--kind", "columns"],
}


def member_config(name, **changes):
    """The `training.classifiers.alfven.AlfvenConfig` of a member's design (its map kind,
    FFP and slice step from `FAMILY`), with ``changes`` on top."""
    from dataclasses import replace

    from .alfven import FULL_CONFIG

    options = FAMILY[name]
    design = {"kind": options[options.index("--kind") + 1], "ffp": "--ffp" in options}
    if "--slice-step" in options:
        design["slice_step"] = int(options[options.index("--slice-step") + 1])
    return replace(FULL_CONFIG, **{**design, **changes})


def class_spec(root, recipe, label):
    """``LABEL=GLOB`` of one class's snapshots in a recipe's output folder under ``root``."""
    return f"{label}={Path(root) / recipe / label / 'seed_*' / 'snapshot_*.fits'}"


def set_cells(root, recipe):
    """Grid cells per side of a recipe folder's runs (from its ``recipe.json``), or None."""
    path = Path(root) / recipe / "recipe.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("common", {}).get("cells")


def held_out_seeds(root, sets):
    """The seeds the sets' manifests keep for testing (their recipes' ``test_seeds``).

    Passed as ``--test-seeds`` so that the held-out runs stay the recipes' own when seeds are
    added to a set: the classifier's default, the largest seed of each class and setting,
    would move the test to the newest run. Empty when no set's manifest is written yet.

    Raises
    ------
    ValueError
        When one set's test seed is another set's training seed: ``--test-seeds`` holds out
        runs by seed in every set, so the sets' seeds must stay apart.
    """
    manifests = {}
    for recipe in sets:
        path = Path(root) / recipe / "manifest.json"
        if path.is_file():
            manifests[recipe] = json.loads(path.read_text(encoding="utf-8"))
    held_out = {int(seed) for manifest in manifests.values()
                for seed in manifest.get("test_seeds", [])}
    for recipe, manifest in manifests.items():
        shared = held_out & ({int(seed) for seed in manifest.get("seeds", [])}
                             - {int(seed) for seed in manifest.get("test_seeds", [])})
        if shared:
            raise ValueError(f"{recipe} trains on seed(s) {sorted(shared)} that another set "
                             "holds out for testing; give the sets' recipes seeds apart")
    return sorted(held_out)


def pooled_control_sets(root, sets):
    """The sets the pooled control trains on: every set of the smallest resolution.

    The main-set control trains on one set's few runs, so its score on another resolution
    mixes the resolution with those runs' own patterns; pooling every set of the smallest
    resolution gives it several times the independent runs. Empty unless two or more sets
    share the smallest resolution and a set of another resolution is there to score.
    """
    cells = {recipe: set_cells(root, recipe) for recipe in sets}
    known = {recipe: value for recipe, value in cells.items() if value is not None}
    if len(set(known.values())) < 2:
        return []
    smallest = min(known.values())
    pooled = sorted(recipe for recipe, value in known.items() if value == smallest)
    return pooled if len(pooled) >= 2 else []


def model_arguments(name, root, *, threads=None, seed=0, sets=None, identity_runs=True):
    """The `training.classifiers.alfven` command line of one family member.

    ``sets`` (recipe folder names) limits the data to those sets; by default every finished
    ``alfven_*`` set (one with its ``manifest.json``) except `NOT_FOR_TRAINING`. Give only
    finished sets: a set with one class done would tie its setting to that class. The
    run-identity control uses `IDENTITY_SET` when it is there and ``identity_runs`` (give
    False while its runs are still going), else the training runs.
    """
    found = sorted(path.name for path in Path(root).glob("alfven_*") if path.is_dir())
    identity = IDENTITY_SET if identity_runs and IDENTITY_SET in found else None
    if sets is None:
        # a set is finished once the recipe's last call has written its manifest
        sets = [name for name in found if name != IDENTITY_SET
                and name not in NOT_FOR_TRAINING
                and (Path(root) / name / "manifest.json").is_file()]
    sets = list(sets)
    missing = sorted(set(sets) - set(found))
    if not sets or missing or IDENTITY_SET in sets:
        raise ValueError(f"{root}: no recipe folders {missing or 'alfven_* with a manifest'}"
                         if not sets or missing else
                         f"{IDENTITY_SET} repeats training runs: it is for the run-identity "
                         "control only")
    arguments = []
    for recipe in sets:
        for label in ("sub_alfvenic", "super_alfvenic"):
            arguments += ["--class", class_spec(root, recipe, label)]
    arguments += [*FAMILY[name], *COMMON_OPTIONS, "--name", name,
                  # relative: the card records them, and they hold on any clone
                  "--out", f"onnx_models/{name}.onnx",
                  "--report", f"docs/results/{name.replace('-', '_')}.json",
                  "--seed", str(seed), "--no-progress"]
    test_seeds = held_out_seeds(root, sets)
    if test_seeds:
        arguments += ["--test-seeds", *map(str, test_seeds)]
    if identity is None:
        arguments += ["--identity-control", "1.0"]
    else:
        # the runs of alfven_48_fast to 6.5 T: trained on 2-3.5 T, scored on 5.5-6.5 T
        arguments += ["--identity-control", "2.0", "--identity-window", "1.0"]
        for label in ("sub_alfvenic", "super_alfvenic"):
            arguments += ["--identity-class", class_spec(root, identity, label)]
    if len(sets) > 1:
        arguments.append("--setting-controls")
        if MAIN_SET in sets:
            arguments += ["--control-reference", MAIN_SET]
        pooled = pooled_control_sets(root, sets)
        if pooled:
            arguments += ["--pooled-control", *pooled]
    if threads is not None:
        arguments += ["--threads", str(threads)]
    return arguments


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    from ..evaluation.published import add_published
    from ..evaluation.report import main as write_report
    from .alfven import main as train

    parser = argparse.ArgumentParser(prog="python -m training.classifiers.alfven_family",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("root", help="folder with one alfven_* folder per recipe run")
    parser.add_argument("--models", nargs="+", choices=sorted(FAMILY), default=list(FAMILY))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sets", nargs="+", default=None,
                        help="recipe folders under ROOT to use (default: every finished "
                             "alfven_* one but NOT_FOR_TRAINING)")
    parser.add_argument("--without-identity-runs", action="store_true",
                        help=f"run the run-identity control on the training runs even where "
                             f"ROOT/{IDENTITY_SET} exists (while its runs are still going)")
    parser.add_argument("--network-cache", metavar="FOLDER", default=None,
                        help="keep every trained network in FOLDER, so the same command "
                             "started again after a stop trains only the unfinished ones")
    arguments = parser.parse_args(argv)
    for name in arguments.models:
        command = model_arguments(name, arguments.root, threads=arguments.threads,
                                  seed=arguments.seed, sets=arguments.sets,
                                  identity_runs=not arguments.without_identity_runs)
        if arguments.network_cache is not None:
            # not a training option: kept out of model_arguments, so out of the release's stamps
            command += ["--network-cache", arguments.network_cache]
        print(f"{name}: python -m training.classifiers.alfven {' '.join(command)}", flush=True)
        status = train(command)
        if status:
            return status
        out = command[command.index("--out") + 1]
        add_published(out)
        write_report([out])
    return 0


if __name__ == "__main__":
    sys.exit(main())
