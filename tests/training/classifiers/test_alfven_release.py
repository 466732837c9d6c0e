"""The one-command rebuild of the Alfven family: its job list names complete training sets that
span numerics and driving, and its simulation and manifest stages run real (tiny) recipe runs,
go on after a stop without running a finished run again, and keep training waiting until
every manifest is written."""

import hashlib
import json
import shutil

import pytest

from tests.training.sim.tiny_recipes import write_tiny_recipe
from training.classifiers.alfven_family import IDENTITY_SET, NOT_FOR_TRAINING
from training.classifiers.alfven_release import (JOBS_FILE, Job, main, manifest_recipes,
                                                 pending_jobs, read_jobs, stale_members)
from training.sim.recipes import RECIPE_DIR, load_recipe


def _tiny_jobs(tmp_path):
    """A tiny copy of one probe recipe and a job list of its two runs: (recipes, jobs file)."""
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    # a tiny run is far from saturated: its classes' M_s are not expected to match
    write_tiny_recipe("probe_48_parabola", recipes, match_tolerance="10.0")
    jobs_file = tmp_path / "jobs.txt"
    jobs_file.write_text("probe_48_parabola sub_alfvenic 40\n"
                         "probe_48_parabola super_alfvenic 40\n")
    return recipes, jobs_file


def test_job_list_holds_whole_training_sets_across_numerics_and_driving(tmp_path):
    jobs = read_jobs(JOBS_FILE)
    assert len(set(jobs)) == len(jobs)
    recipes = {job.recipe: load_recipe(RECIPE_DIR / f"{job.recipe}.toml") for job in jobs}
    assert IDENTITY_SET not in recipes and not set(NOT_FOR_TRAINING) & set(recipes)
    # raises where a class or seed of a set is missing; nothing is finished in an empty folder
    assert manifest_recipes(tmp_path, jobs) == []
    assert pending_jobs(tmp_path, jobs) == jobs
    common = [recipe["common"] for recipe in recipes.values()]
    # issue 13 item 2: more than one limiter, resolution and driving among the training sets
    assert len({entry["limiter"] for entry in common}) >= 2
    assert len({entry["cells"] for entry in common}) >= 2
    assert len({(entry["forcing_shape"], entry["correlation_time_turnovers"],
                 entry["solenoidal_fraction"]) for entry in common}) >= 2
    # at least three independent seeds per class, one kept for testing, in every set
    for recipe in recipes.values():
        assert len(recipe["seeds"]) >= 3 and len(recipe["test_seeds"]) >= 1


def test_job_list_errors_name_the_line(tmp_path):
    bad = tmp_path / "jobs.txt"
    bad.write_text("# fine\nalfven_48_fast sub_alfvenic\n")
    with pytest.raises(ValueError, match=r"jobs.txt:2: expected 'recipe class seed'"):
        read_jobs(bad)
    partial = [Job("alfven_48_fast", "sub_alfvenic", 0)]
    with pytest.raises(ValueError, match="lacks .* of alfven_48_fast"):
        manifest_recipes(tmp_path, partial)


def test_sims_and_manifests_run_then_resume_without_rerunning(tmp_path, capsys):
    recipes, jobs_file = _tiny_jobs(tmp_path)
    root = tmp_path / "root"
    common = [str(root), "--jobs", str(jobs_file), "--recipe-dir", str(recipes)]

    assert main([*common, "--dry-run"]) == 0
    said = capsys.readouterr().out
    assert "0 of 2 runs finished, 2 to run" in said
    assert "waiting for runs: ['probe_48_parabola']" in said

    assert main([*common, "--until", "manifests", "--workers", "2"]) == 0
    manifest = json.loads((root / "probe_48_parabola" / "manifest.json").read_text())
    assert {run["seed"] for entry in manifest["classes"].values()
            for run in entry["runs"]} == {40}
    assert all(len(run["snapshot_mach"]) == 2 for entry in manifest["classes"].values()
               for run in entry["runs"])
    assert (root / "logs" / "probe_48_parabola_sub_alfvenic_40.log").stat().st_size > 0

    # a second call finds everything done and touches nothing
    jobs = read_jobs(jobs_file)
    last = [job.run_dir(root) / "snapshot_001.fits" for job in jobs]
    before = [path.stat().st_mtime_ns for path in last] + [
        (root / "probe_48_parabola" / "manifest.json").stat().st_mtime_ns]
    capsys.readouterr()
    assert main([*common, "--until", "manifests"]) == 0
    said = capsys.readouterr().out
    assert "2 of 2 runs finished, 0 to run" in said and "to write none" in said
    assert [path.stat().st_mtime_ns for path in last] + [
        (root / "probe_48_parabola" / "manifest.json").stat().st_mtime_ns] == before

    # a lost run (its folder gone) is run again, and the manifest, already there, is kept
    shutil.rmtree(jobs[1].run_dir(root))
    assert pending_jobs(root, jobs, recipe_dir=recipes) == [jobs[1]]
    assert main([*common, "--until", "sims"]) == 0
    assert pending_jobs(root, jobs, recipe_dir=recipes) == []


def test_failed_runs_stop_the_command_before_manifests_and_training(tmp_path, capsys):
    recipes, jobs_file = _tiny_jobs(tmp_path)
    root = tmp_path / "root"
    # a folder holding another recipe's runs: the driver refuses to mix them, each run fails
    (root / "probe_48_parabola").mkdir(parents=True)
    (root / "probe_48_parabola" / "recipe.json").write_text(json.dumps({"name": "other"}))
    status = main([str(root), "--jobs", str(jobs_file), "--recipe-dir", str(recipes),
                   "--workers", "2"])
    assert status == 1
    said = capsys.readouterr()
    assert "2 runs failed (see their logs)" in said.err and "stopped at sims" in said.err
    assert "holds runs of a recipe with other parameters" in (
        root / "logs" / "probe_48_parabola_sub_alfvenic_40.log").read_text()
    assert "train on" not in said.out and not (root / "release").exists()
    assert not (root / "probe_48_parabola" / "manifest.json").exists()


def test_a_set_whose_classes_miss_the_mach_match_is_not_trained_on(tmp_path, capsys):
    recipes, jobs_file = _tiny_jobs(tmp_path)
    root = tmp_path / "root"
    for job in read_jobs(jobs_file):
        job.run_dir(root).mkdir(parents=True)
        (job.run_dir(root) / "snapshot_001.fits").write_bytes(b"")
    (root / "probe_48_parabola" / "manifest.json").write_text(json.dumps(
        {"seeds": [40],
         "mach_match": {"ok": False, "relative_difference": 0.083, "tolerance": 0.05}}))
    status = main([str(root), "--jobs", str(jobs_file), "--recipe-dir", str(recipes)])
    assert status == 1
    said = capsys.readouterr()
    assert ("not a training set: probe_48_parabola (classes' mean M_s 8.3% apart, "
            "tolerance 5%)") in said.err
    assert "stopped at manifests" in said.err and "train on" not in said.out


def test_a_manifest_of_other_seeds_than_the_recipe_lists_is_written_again(tmp_path):
    recipes, jobs_file = _tiny_jobs(tmp_path)
    root = tmp_path / "root"
    jobs = read_jobs(jobs_file)
    for job in jobs:
        job.run_dir(root).mkdir(parents=True)
        (job.run_dir(root) / "snapshot_001.fits").write_bytes(b"")
    manifest = root / "probe_48_parabola" / "manifest.json"
    manifest.write_text(json.dumps({"seeds": [40]}))
    assert manifest_recipes(root, jobs, recipe_dir=recipes) == []
    # seeds added to the recipe after its manifest was written: the manifest must list them
    manifest.write_text(json.dumps({"seeds": [39]}))
    assert manifest_recipes(root, jobs, recipe_dir=recipes) == ["probe_48_parabola"]


def test_a_member_is_retrained_unless_this_command_made_it_from_the_same_sets(tmp_path):
    repository = tmp_path / "repository"
    (repository / "onnx_models").mkdir(parents=True)
    model = repository / "onnx_models" / "alfven.onnx"
    model.write_bytes(b"weights one")
    root = tmp_path / "root"
    names = ["alfven", "alfven-ffp"]
    assert stale_members(root, names, ["a", "b"], repository=repository) == names

    (root / "release").mkdir(parents=True)
    stamp = {"sets": ["b", "a"], "seed": 0,
             "sha256": hashlib.sha256(b"weights one").hexdigest()}
    (root / "release" / "alfven.json").write_text(json.dumps(stamp))
    assert stale_members(root, names, ["a", "b"], repository=repository) == ["alfven-ffp"]
    # other sets, or a shipped file changed since (a hand retrain, a checkout): train again
    assert stale_members(root, names, ["a", "b", "c"], repository=repository) == names
    assert stale_members(root, names, ["a", "b"], seed=1, repository=repository) == names
    model.write_bytes(b"weights two")
    assert stale_members(root, names, ["a", "b"], repository=repository) == names


def test_members_train_side_by_side_and_only_a_success_is_stamped(
        tmp_path, monkeypatch, capsys):
    """The training stage's bookkeeping (the training itself is the family's, tested in
    test_alfven_training.py): members run at once, each logs to its own file, a failed
    member gets no stamp and stops the command, a finished one is not trained again."""
    import threading
    import time

    from training.classifiers import alfven_release

    repository = tmp_path / "repository"
    (repository / "onnx_models").mkdir(parents=True)
    for name in ("alfven", "alfven-ffp", "alfven-column"):
        (repository / "onnx_models" / f"{name}.onnx").write_bytes(b"shipped " + name.encode())
    monkeypatch.setattr(alfven_release, "REPOSITORY", repository)
    monkeypatch.setattr(alfven_release.os, "cpu_count", lambda: 4)
    running, overlap, calls = set(), [], []
    lock = threading.Lock()

    def train(*arguments, stdout=None, stderr=None):
        name = arguments[arguments.index("--models") + 1]
        with lock:
            running.add(name)
            overlap.append(len(running))
            calls.append(arguments)
        time.sleep(0.2)
        stdout.write(f"training {name}\n")
        with lock:
            running.discard(name)
        if name == "alfven-column":
            return 3
        (repository / "onnx_models" / f"{name}.onnx").write_bytes(b"new " + name.encode())
        return 0

    monkeypatch.setattr(alfven_release, "_python", train)
    root = tmp_path / "root"
    arguments = type("Arguments", (), {"root": root, "seed": 0, "threads": None,
                                       "workers": 2, "dry_run": False, "members": None})()
    assert alfven_release._stage_train(arguments, ["set_a", "set_b"]) == 1
    assert max(overlap) == 2
    # 4 cores shared by 2 workers: 2 torch threads each
    assert all(call[call.index("--threads") + 1] == "2" for call in calls)
    # every member keeps its finished networks in one folder beside the runs
    assert all(call[call.index("--network-cache") + 1] == str(root / "release" / "networks")
               for call in calls)
    assert "alfven-column failed" in capsys.readouterr().err
    assert (root / "logs" / "train_alfven.log").read_text() == "training alfven\n"
    stamped = sorted(path.stem for path in (root / "release").glob("*.json"))
    assert stamped == ["alfven", "alfven-ffp"]
    # the shipped files were copied aside before the first overwrite
    assert (root / "release" / "previous" / "alfven.onnx").read_bytes() == b"shipped alfven"
    calls.clear()
    assert alfven_release._stage_train(arguments, ["set_a", "set_b"]) == 1
    assert [call[call.index("--models") + 1] for call in calls] == ["alfven-column"]
    assert (root / "release" / "previous" / "alfven.onnx").read_bytes() == b"shipped alfven"
    # --members: only those, and a member up to date among them is still not retrained
    calls.clear()
    arguments.members = ["alfven", "alfven-column"]
    assert alfven_release._stage_train(arguments, ["set_a", "set_b"]) == 1
    assert [call[call.index("--models") + 1] for call in calls] == ["alfven-column"]
    calls.clear()
    arguments.members = ["alfven"]
    assert alfven_release._stage_train(arguments, ["set_a", "set_b"]) == 0
    assert calls == []


def test_members_option_names_only_family_members(tmp_path, capsys):
    from training.classifiers.alfven_release import main

    with pytest.raises(SystemExit):
        main([str(tmp_path), "--members", "alfven", "alfven-colum", "--dry-run"])
    assert "no family member ['alfven-colum']" in capsys.readouterr().err


def test_the_cards_stage_leaves_a_member_it_rewrote_up_to_date(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from training.classifiers import alfven_release

    repository = tmp_path / "repository"
    (repository / "onnx_models").mkdir(parents=True)
    (repository / "docs").mkdir()
    model = repository / "onnx_models" / "alfven.onnx"
    model.write_bytes(b"trained")
    (repository / "onnx_models" / "alfven-ffp.onnx").write_bytes(b"retrained by hand")
    root = tmp_path / "root"
    (root / "release").mkdir(parents=True)
    for name in ("alfven", "alfven-ffp"):
        (root / "release" / f"{name}.json").write_text(json.dumps(
            {"sets": ["a"], "seed": 0, "sha256": hashlib.sha256(b"trained").hexdigest()}))
    monkeypatch.setattr(alfven_release, "REPOSITORY", repository)

    def rewrite_cards(*arguments, stdout=None, stderr=None):
        if "training.classifiers.alfven_identity" in arguments:
            model.write_bytes(b"trained, card with the identity control")
        return 0

    monkeypatch.setattr(alfven_release, "_python", rewrite_cards)
    monkeypatch.setattr(alfven_release.subprocess, "run",
                        lambda *arguments, **options: SimpleNamespace(returncode=0,
                                                                      stdout="catalogue"))
    arguments = SimpleNamespace(root=root, dry_run=False)
    assert alfven_release._stage_cards(arguments) == 0
    # the rewritten card keeps alfven trained; the file changed by hand before stays stale
    assert stale_members(root, ["alfven", "alfven-ffp"], ["a"],
                         repository=repository) == ["alfven-ffp"]
    assert (repository / "docs" / "models.md").read_text() == "catalogue"


def test_a_change_of_the_training_options_makes_a_member_stale(tmp_path):
    from training.classifiers.alfven_release import member_command

    repository = tmp_path / "repository"
    (repository / "onnx_models").mkdir(parents=True)
    (repository / "onnx_models" / "alfven.onnx").write_bytes(b"weights")
    root = tmp_path / "root"
    for recipe in ("alfven_48_fast", "alfven_48_drive"):
        (root / recipe).mkdir(parents=True)
    sets = ["alfven_48_drive", "alfven_48_fast"]
    command = member_command(root, "alfven", sets)
    assert "--native-pixels" in command and "--threads" not in command
    # the family's networks run a whole cosine schedule (docs/results/alfven_schedule_*.txt)
    assert command[command.index("--schedule") + 1] == "cosine"
    (root / "release").mkdir()
    (root / "release" / "alfven.json").write_text(json.dumps(
        {"sets": sets, "seed": 0, "sha256": hashlib.sha256(b"weights").hexdigest(),
         "command": command}))
    assert stale_members(root, ["alfven"], sets, repository=repository,
                         commands={"alfven": command}) == []
    # the family's design changed since the member was trained: train it again
    older = [option for option in command if option != "--native-pixels"]
    assert stale_members(root, ["alfven"], sets, repository=repository,
                         commands={"alfven": older}) == ["alfven"]


def test_seeds_added_to_a_set_make_a_member_stale(tmp_path):
    """Adding runs to a set keeps its name and the training options: only the manifests'
    seeds tell that the shipped member learnt from fewer runs."""
    from training.classifiers.alfven_release import set_runs

    repository = tmp_path / "repository"
    (repository / "onnx_models").mkdir(parents=True)
    (repository / "onnx_models" / "alfven.onnx").write_bytes(b"weights")
    root = tmp_path / "root"
    sets = ["alfven_48_drive", "alfven_48_fast"]
    (root / "alfven_48_fast").mkdir(parents=True)
    (root / "alfven_48_fast" / "manifest.json").write_text(
        json.dumps({"seeds": [2, 0, 1, 3], "test_seeds": [3]}))
    # a set without its manifest yet: nothing to compare
    assert set_runs(root, sets) is None
    (root / "alfven_48_drive").mkdir()
    (root / "alfven_48_drive" / "manifest.json").write_text(
        json.dumps({"seeds": [20, 21, 22, 23], "test_seeds": [23]}))
    runs = set_runs(root, sets)
    assert runs == {"alfven_48_drive": {"seeds": [20, 21, 22, 23], "test_seeds": [23]},
                    "alfven_48_fast": {"seeds": [0, 1, 2, 3], "test_seeds": [3]}}
    (root / "release").mkdir()
    (root / "release" / "alfven.json").write_text(json.dumps(
        {"sets": sets, "seed": 0, "sha256": hashlib.sha256(b"weights").hexdigest(),
         "runs": runs}))
    assert stale_members(root, ["alfven"], sets, repository=repository, runs=runs) == []
    (root / "alfven_48_fast" / "manifest.json").write_text(
        json.dumps({"seeds": [0, 1, 2, 3, 4, 5], "test_seeds": [3]}))
    assert stale_members(root, ["alfven"], sets, repository=repository,
                         runs=set_runs(root, sets)) == ["alfven"]
    # a stamp written before the runs were recorded is stale once they are known
    (root / "release" / "alfven.json").write_text(json.dumps(
        {"sets": sets, "seed": 0, "sha256": hashlib.sha256(b"weights").hexdigest()}))
    assert stale_members(root, ["alfven"], sets, repository=repository, runs=runs) == ["alfven"]
