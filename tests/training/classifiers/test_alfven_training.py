"""The Alfven training script end to end on tiny real simulator runs: whole runs held out,
baselines and robustness on the same split, an exported model the runtime opens."""

import json

import numpy as np
import pytest

from glue_turbml.evaluation import expand_class_specs
from glue_turbml.models import load_model_file
from tests.training.classifiers.alfven_runs import CLASSES, simulate_alfven_runs
from training.classifiers.alfven import main, runtime_tiles, split_runs
from training.classifiers.alfven_data import load_labelled_maps


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory):
    """Three seeds per class of 8^3 driven MHD runs (B0 = 1 and 0.1), two snapshots each."""
    return simulate_alfven_runs(tmp_path_factory.mktemp("alfven_runs"), seeds=(1, 2, 3),
                                snapshot_turnovers=(0.1, 0.2))


def _specs(root):
    return [f"{label}={root / label / '*' / 'snapshot_*.fits'}" for label in CLASSES]


@pytest.fixture(scope="module")
def two_resolutions(tmp_path_factory, runs_folder):
    """The 8^3 runs and three seeds per class of 12^3 runs beside them."""
    finer = simulate_alfven_runs(tmp_path_factory.mktemp("alfven_runs_12"), seeds=(11, 12, 13),
                                 snapshot_turnovers=(0.1, 0.2), cells=12)
    return [*_specs(runs_folder), *_specs(finer)]


def test_native_pixels_cut_larger_maps_as_the_runtime_does(two_resolutions):
    from dataclasses import replace

    from glue_turbml.core import build_pipeline
    from training.classifiers.alfven import (QUICK_CONFIG, preprocess_steps, runtime_tiles,
                                             tile_dataset, tile_side)

    data = load_labelled_maps(expand_class_specs(two_resolutions, CLASSES), CLASSES)
    assert {image.shape for image in data.maps} == {(8, 8), (12, 12)} and tile_side(data) == 8
    config = replace(QUICK_CONFIG, ffp=True)
    large = np.flatnonzero([image.shape == (12, 12) for image in data.maps])[:2]
    small = np.flatnonzero([image.shape == (8, 8) for image in data.maps])[:1]
    mask = np.zeros(len(data), dtype=bool)
    mask[[*large, *small]] = True
    scored = tile_dataset(data, mask, config=config, shifts=None)
    steps = preprocess_steps(True)
    for row in large:
        # FFP on the whole periodic map, then the runtime's tiles, then equalisation
        # the same stack of one map tile_dataset transforms, so the same floating point
        whole = build_pipeline(steps, scope="map")(data.maps[row][None])[0]
        expected = build_pipeline(steps, scope="tile")(runtime_tiles(whole, 8))
        np.testing.assert_allclose(scored.images[scored.sources == row, 0], expected,
                                   atol=1e-6)
    assert np.sum(scored.sources == small[0]) == 1 and scored.images.shape[-2:] == (8, 8)
    np.testing.assert_array_equal(scored.labels, data.labels[scored.sources])
    # training: one crop per shift, the shift lattice spanning the whole larger map
    trained = tile_dataset(data, mask, config=config, shifts=4, degrade=True)
    assert np.sum(trained.sources == large[0]) == 9 and np.sum(trained.sources == small[0]) == 4
    assert trained.images.shape[-2:] == (8, 8)


def test_native_pixels_training_records_its_tiles(two_resolutions, tmp_path):
    from pathlib import Path

    out, report_path = tmp_path / "native.onnx", tmp_path / "native.json"
    arguments = [item for spec in two_resolutions for item in ("--class", spec)]
    coarse = Path(two_resolutions[0].split("=", 1)[1]).parents[2].name
    # both controls from the 8^3 runs (one folder pooled: the path the family takes with
    # several), scored on the 12^3 runs' tiles
    assert main([*arguments, "--quick", "--native-pixels", "--name", "native", "--out",
                 str(out), "--report", str(report_path), "--no-progress", "--threads", "1",
                 "--setting-controls", "--control-reference", coarse,
                 "--pooled-control", coarse, "--schedule", "cosine", "--max-epochs", "2",
                 "--spectral-tilt", "0.3", "--zoom", "1.4"]) == 0
    report = json.loads(report_path.read_text())
    assert report["config"]["schedule"] == "cosine" and report["config"]["max_epochs"] == 2
    assert report["config"]["degrade_spectral_tilt"] == 0.3
    assert report["config"]["degrade_zoom"] == 1.4
    assert [record["learning_rate"] < 1e-3 for record in report["history"]] == [False, True]
    single = report["metrics"]["setting_controls"]
    pooled = report["metrics"]["pooled_setting_controls"]
    assert pooled["reference"] == [single["reference"]] and "cells=8" in single["reference"]
    for controls in (single, pooled):
        (other,) = controls["settings"].values()
        assert other["difference"] == "numerics" and other["n_maps"] == (
            3 * 2 * 2 * 12 * len(runtime_tiles(np.ones((12, 12)), 8)))
    # the baselines answer the same control, on the same runs
    from training.classifiers.alfven_baseline_controls import BASELINE_CONTROL_NAMES

    baselines = report["metrics"]["baseline_setting_controls"]
    assert baselines["reference"] == single["reference"]
    assert list(baselines["baselines"]) == list(BASELINE_CONTROL_NAMES)
    for entry in baselines["baselines"].values():
        assert list(entry["settings"]) == list(single["settings"])
    card = load_model_file(out).card
    assert card["input"]["tile_size"] == 8 and report["config"]["native_pixels"] is True
    assert "own pixel scale" in card["description"]
    # test inputs: 8^3 run, 2 classes x 2 snapshots x 8 slices; 12^3 run, the runtime's tiles
    tiles_per_large_map = len(runtime_tiles(np.ones((12, 12)), 8))
    assert report["metrics"]["n_test_maps"] == 2 * 2 * 8 + 2 * 2 * 12 * tiles_per_large_map
    assert len(report["metrics"]["test_accuracy_by_setting"]) == 2
    # the domain record scored the same raw tiles
    held_out = card["domain"]["measured"]["held_out_training_domain"]
    assert held_out["n_tiles"] == report["metrics"]["n_test_maps"]
    from training.evaluation.report import write_report

    markdown = write_report(report, "native", tmp_path / "report")[0].read_text()
    assert (f"Held-out test: {report['metrics']['n_test_maps']} network inputs (whole maps, "
            "and the runtime's tiles") in markdown
    controls_section = markdown.split("## Numerics and driving controls")[1].split("##")[0]
    assert "| setting | " + " | ".join(BASELINE_CONTROL_NAMES) + " |" in controls_section
    with pytest.raises(SystemExit, match="drop --map-size"):
        main([*arguments, "--quick", "--native-pixels", "--map-size", "8", "--out",
              str(out), "--report", str(report_path)])


def test_split_holds_out_whole_runs(runs_folder):
    data = load_labelled_maps(expand_class_specs(_specs(runs_folder), CLASSES), CLASSES)
    split = split_runs(data)
    assert {entry["seed"] for entry in split["runs"]["test"]} == {3}
    assert not set(data.runs[split["test"]]) & set(data.runs[split["train"]])
    # validation: the last snapshot of each training run, never its earlier one
    assert np.allclose(data.times[split["validation"]], data.times.max(), atol=0.01)
    assert not np.any(split["train"] & split["validation"])
    with pytest.raises(ValueError, match="has no test run"):
        split_runs(data, test_seeds=[99])


@pytest.mark.slow
def test_training_exports_a_model_with_held_out_metrics_and_baselines(runs_folder, tmp_path):
    out, report_path = tmp_path / "alfven-test.onnx", tmp_path / "alfven-test.json"
    arguments = [item for spec in _specs(runs_folder) for item in ("--class", spec)]
    assert main([*arguments, "--quick", "--name", "alfven-test", "--out", str(out),
                 "--report", str(report_path), "--no-progress", "--threads", "1",
                 "--network-cache", str(tmp_path / "networks")]) == 0
    report = json.loads(report_path.read_text())
    # the shipped network was kept, so a stopped call would not train it again
    assert report["network_cache"] == {"folder": str(tmp_path / "networks"), "reused": 0,
                                       "trained": 1}
    assert len(list((tmp_path / "networks").glob("*.pt"))) == 1
    metrics = report["metrics"]
    assert metrics["n_test_maps"] == 2 * 2 * 8  # one held-out run per class, 2 snapshots
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert set(metrics["baselines"]) == {"hog_svm", "spectrum_logistic", "pixels_linear"}
    assert set(metrics["test_accuracy_by_time_turnovers"]) == {"0.1", "0.2"}
    assert {row["value"] for row in report["robustness"]["smoothing_sigma_px"]} >= {0.0, 8.0}
    card = load_model_file(out).card
    assert card["name"] == "alfven-test" and card["tiling"]["boundary"] == "periodic"
    assert card["provenance"]["split"]["runs"]["test"][0]["seed"] == 3
    assert card["preprocess"][0]["op"] == "log10"
    assert card["provenance"]["command"].startswith("python -m training.classifiers.alfven")
    assert card["provenance"]["report"] == str(report_path)
    # the training domain: fitted on training maps, measured on the held-out runs' maps
    measured = card["domain"]["measured"]
    assert measured["held_out_training_domain"]["n_tiles"] == metrics["n_test_maps"]
    assert "embedding" in [output["name"] for output in card["outputs"]]
    assert metrics["test_accuracy_by_setting"] and metrics.get("setting_controls") is None
    # the snapshot headers' M_A, binned per class, covers every held-out input
    by_mach = metrics["test_accuracy_by_alfven_mach"]
    assert set(by_mach) == {"sub_alfvenic", "super_alfvenic"}
    assert sum(entry["maps"] for bins in by_mach.values()
               for entry in bins.values()) == metrics["n_test_maps"]

    # the report writer finds the training report through the card
    from training.evaluation.report import main as report_main

    assert report_main([str(out), "--out-dir", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "alfven-test_report.md").read_text()
    assert "| CNN |" in markdown and "hog_svm" in markdown and "## Confusion matrix" in markdown
    assert "## Accuracy by the snapshot's Alfven Mach number" in markdown
    confusion_rows = [line for line in markdown.splitlines()
                      if line.startswith(("| sub_alfvenic |", "| super_alfvenic |"))]
    counts = [int(cell) for line in confusion_rows for cell in line.strip("| ").split(" | ")[1:]]
    assert sum(counts) == metrics["n_test_maps"]
    for png in ("alfven-test_report.png", "alfven-test_robustness.png"):
        assert (tmp_path / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a report written before the writer existed is refused in one line
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"metrics": metrics}))
    assert report_main([str(out), "--training-report", str(old)]) == 2


def _identity_maps(persistent, n_runs=2):
    """``n_runs`` runs of one class, 4 snapshots x 24 maps of 16^2: with ``persistent`` each run
    keeps its own fixed large-scale pattern under the noise; without, every map is
    independent."""
    from training.classifiers.alfven_data import LabelledMaps
    from training.common.random_fields import lognormal_field

    maps, runs, times = [], [], []
    patterns = [lognormal_field((16, 16), 4.0, sigma_ln=1.0, seed=[77, run])
                for run in range(n_runs)]
    for run in range(n_runs):
        for snapshot in range(4):
            for number in range(24):
                noise = lognormal_field((16, 16), 2.0, sigma_ln=0.3,
                                        seed=[78, run, snapshot, number])
                maps.append((patterns[run] if persistent else
                             lognormal_field((16, 16), 4.0, sigma_ln=1.0,
                                             seed=[79, run, snapshot, number])) * noise)
                runs.append(run)
                times.append(float(snapshot))
    count = len(maps)
    records = [{"label": "sub_alfvenic", "seed": 10 + run, "files": []} for run in range(n_runs)]
    return LabelledMaps(maps, np.zeros(count, dtype=np.int64), np.asarray(runs),
                        np.asarray(times), np.full(count, np.nan), CLASSES, records)


@pytest.mark.slow
@pytest.mark.parametrize("persistent", [True, False])
def test_run_identity_control_detects_a_learnable_run_pattern(persistent):
    from dataclasses import replace

    from training.classifiers.alfven import QUICK_CONFIG, run_identity_control

    data = _identity_maps(persistent)
    config = replace(QUICK_CONFIG, max_epochs=8, patience=8)
    control = run_identity_control(data, np.ones(len(data), dtype=bool), config=config,
                                   gap_turnovers=1.0)
    entry = control["classes"]["sub_alfvenic"]
    assert entry["seeds"] == [10, 11] and entry["test_times"] == [3.0]
    assert entry["train_times"] == [0.0, 1.0, 2.0] and entry["n_test_maps"] == 48
    assert control["skipped"] == {"super_alfvenic": "fewer than two training runs"}
    # 48 test maps: chance is 0.5 with a binomial sd of 0.072
    if persistent:  # the net learns each run's fixed pattern: > 3.5 sd above chance
        assert entry["accuracy"] >= 0.75 and control["at_chance"] is False
    else:  # nothing persists from one snapshot to the next: within 3 sd of chance
        assert abs(entry["accuracy"] - 0.5) <= 0.22


def test_identity_control_scores_a_window_after_a_gap(monkeypatch):
    from training.classifiers import alfven

    data = _identity_maps(False)
    seen = {}

    def no_training(train_set, validation_set, config, *, name, progress, cache=None):
        seen["n_train"] = len(train_set)
        return None, None

    monkeypatch.setattr(alfven, "_train_cnn", no_training)
    monkeypatch.setattr("training.evaluation.classifier_metrics.evaluate_classifier",
                        lambda model, images, labels: {"accuracy": 0.5})
    control = alfven.run_identity_control(data, np.ones(len(data), dtype=bool),
                                          config=alfven.QUICK_CONFIG, gap_turnovers=1.0,
                                          test_window=1.0)
    entry = control["classes"]["sub_alfvenic"]
    # scored on the last turnover (times 2 and 3), trained a turnover before its start
    assert entry["test_times"] == [2.0, 3.0] and entry["train_times"] == [0.0, 1.0]
    assert entry["n_test_maps"] == 96 and control["test_window_turnovers"] == 1.0
    control = alfven.run_identity_control(data, np.ones(len(data), dtype=bool),
                                          config=alfven.QUICK_CONFIG, gap_turnovers=3.0,
                                          test_window=1.0)
    assert "no snapshot 3.0 turnovers before" in control["skipped"]["sub_alfvenic"]


def test_identity_control_averages_disjoint_pairs_of_runs(monkeypatch):
    """Four runs make two independent pairs, (10, 11) and (12, 13); each gets its own network
    and the control's value is their mean, with each pair's score kept."""
    from training.classifiers import alfven

    data = _identity_maps(False, n_runs=4)
    trained = []

    def no_training(train_set, validation_set, config, *, name, progress, cache=None):
        trained.append(sorted(set(train_set.realizations.tolist())))
        return len(trained), None

    monkeypatch.setattr(alfven, "_train_cnn", no_training)
    # the first pair's network scores 0.7, the second's 0.38
    monkeypatch.setattr("training.evaluation.classifier_metrics.evaluate_classifier",
                        lambda model, images, labels: {"accuracy": {1: 0.7, 2: 0.38}[model]})
    control = alfven.run_identity_control(data, np.ones(len(data), dtype=bool),
                                          config=alfven.QUICK_CONFIG, gap_turnovers=1.0,
                                          pairs=None)
    entry = control["classes"]["sub_alfvenic"]
    assert trained == [[0, 1], [2, 3]]
    assert [pair["seeds"] for pair in entry["pairs"]] == [[10, 11], [12, 13]]
    assert [pair["accuracy"] for pair in entry["pairs"]] == [0.7, 0.38]
    assert entry["seeds"] == [10, 11, 12, 13] and control["n_pairs"] == 2
    assert control["mean_accuracy"] == pytest.approx(0.54) and control["at_chance"] is True
    # on the edge of the tolerance counts as within it, whatever the round-off of the mean
    # (0.7 and 0.2 average to 0.45 exactly; float addition gives 0.44999999999999996)
    monkeypatch.setattr("training.evaluation.classifier_metrics.evaluate_classifier",
                        lambda model, images, labels: {"accuracy": {1: 0.7, 2: 0.2}[model]})
    trained.clear()
    edge = alfven.run_identity_control(data, np.ones(len(data), dtype=bool),
                                       config=alfven.QUICK_CONFIG, gap_turnovers=1.0, pairs=None)
    assert edge["mean_accuracy"] == pytest.approx(0.45) and edge["at_chance"] is True
    # the default keeps one pair per class, as the controls in the training reports do
    trained.clear()
    control = alfven.run_identity_control(data, np.ones(len(data), dtype=bool),
                                          config=alfven.QUICK_CONFIG, gap_turnovers=1.0)
    assert trained == [[0, 1]] and control["mean_accuracy"] == pytest.approx(0.7)
    assert control["at_chance"] is False


def _setting_maps(*, reversed_in_second, third_setting=False, with_angles=False):
    """Two settings x two classes x three runs x two times x 16 maps of 16^2.

    Classes differ by how smooth the field is (a stand-in for a feature of the solver). In
    the second setting the classes swap smoothness when ``reversed_in_second`` (a network
    that learned it fails there), else both settings share it (it carries over). With
    ``third_setting``, a third one of the first setting's resolution and other driving, never
    reversed.
    """
    from scipy.ndimage import gaussian_filter

    from training.classifiers.alfven_data import LabelledMaps

    rng = np.random.default_rng(5)
    maps, labels, runs, times, records = [], [], [], [], []
    for setting in (0, 1, 2) if third_setting else (0, 1):
        for label in (0, 1):
            for seed in (1, 2, 3):
                smooth = (label == 0) != (setting == 1 and reversed_in_second)
                records.append({"label": CLASSES[label], "seed": seed + 10 * setting,
                                "numerics": f"cells={16 * (setting % 2 + 1)}",
                                "driving": ("forcing_shape=parabola" if setting == 2
                                            else "forcing_shape=flat"), "files": []})
                for time in (2.0, 2.5):
                    for _ in range(16):
                        noise = rng.standard_normal((16, 16))
                        field = gaussian_filter(noise, 2.0 if smooth else 0.6, mode="wrap")
                        maps.append(np.exp(field / field.std()))
                        labels.append(label)
                        runs.append(len(records) - 1)
                        times.append(time)
    count = len(maps)
    angles = (90.0 * (np.arange(count) % 2) if with_angles else np.full(count, np.nan))
    return LabelledMaps(maps, np.asarray(labels), np.asarray(runs), np.asarray(times),
                        angles, CLASSES, records)


def test_reference_setting_is_the_setting_of_the_runs_in_a_folder(tmp_path):
    from training.classifiers.alfven import reference_setting

    data = _setting_maps(reversed_in_second=False)
    for record in data.records:
        folder = "set_a" if record["numerics"] == "cells=16" else "set_b"
        record["files"] = [{"file": str(tmp_path / folder / "sub" / "seed_0001" / "s.fits")}]
    assert reference_setting(data, "set_b") == "cells=32 | forcing_shape=flat"
    with pytest.raises(ValueError, match="0 settings"):
        reference_setting(data, "set_c")
    data.records[0]["files"] = [{"file": str(tmp_path / "set_b" / "s.fits")}]
    with pytest.raises(ValueError, match="2 settings"):
        reference_setting(data, "set_b")


def test_setting_difference_names_numerics_and_driving():
    from training.classifiers.alfven import setting_difference

    assert setting_difference("cells=48 | shape=flat", "cells=64 | shape=flat") == "numerics"
    assert setting_difference("cells=48 | shape=flat", "cells=48 | shape=parabola") == "driving"
    assert setting_difference("a | b", "c | d") == "numerics and driving"
    assert setting_difference("a | b", "a | b") == "none"


@pytest.mark.slow
@pytest.mark.parametrize("reversed_in_second", [False, True])
def test_setting_controls_catch_a_network_that_reads_the_setting(reversed_in_second):
    from dataclasses import replace

    from training.classifiers.alfven import QUICK_CONFIG, run_setting_controls

    data = _setting_maps(reversed_in_second=reversed_in_second)
    split = split_runs(data)
    # the default test runs: the largest seed of each class in each setting
    assert sorted(entry["seed"] for entry in split["runs"]["test"]) == [3, 3, 13, 13]
    # 6 epochs left some seeds' tiny nets at chance; 30 took every seed of 0-4 to 1.0 (0.1 s each)
    config = replace(QUICK_CONFIG, max_epochs=30, patience=30)
    controls = run_setting_controls(data, split, config=config,
                                    reference="cells=16 | forcing_shape=flat", networks=2)
    other = controls["settings"]["cells=32 | forcing_shape=flat"]
    assert other["difference"] == "numerics" and other["n_runs"] == 6
    # two networks, seeds 0 and 1: the scores are their means, each network's loss is kept
    assert controls["networks"] == 2 and len(other["points_below_by_network"]) == 2
    assert other["points_below_same_setting"] == pytest.approx(
        np.mean(other["points_below_by_network"]))
    assert other["points_below_spread"] == pytest.approx(
        np.std(other["points_below_by_network"], ddof=1))
    assert other["points_below_same_setting"] == pytest.approx(
        100.0 * (controls["same_setting_accuracy"] - other["accuracy"]))
    assert other["n_maps"] == 6 * 32
    # smooth vs rough 16^2 fields are told apart easily by the same-setting net
    assert controls["same_setting_accuracy"] >= 0.9
    if reversed_in_second:  # swapped meaning: the net must be far below its own setting
        assert other["accuracy"] <= 0.2 and not other["within_target"]
    else:
        assert other["accuracy"] >= 0.9
    # the two classes hold equally many maps, so the overall score is their mean
    by_class = other["accuracy_by_class"]
    assert sorted(by_class) == sorted(data.class_names)
    assert np.mean(list(by_class.values())) == pytest.approx(other["accuracy"])
    assert set(controls["same_setting_accuracy_by_class"]) == set(data.class_names)
    # slices have no angle to the field
    assert other["accuracy_by_angle"] is None
    assert controls["same_setting_accuracy_by_angle"] is None


@pytest.mark.slow
def test_setting_controls_break_down_by_angle_to_the_field():
    """Column maps come at several angles: each control's accuracy is also given per angle,
    every network's answer on every input of that angle counted."""
    from dataclasses import replace

    from training.classifiers.alfven import QUICK_CONFIG, run_setting_controls

    data = _setting_maps(reversed_in_second=True, with_angles=True)
    split = split_runs(data)
    config = replace(QUICK_CONFIG, max_epochs=30, patience=30)
    controls = run_setting_controls(data, split, config=config,
                                    reference="cells=16 | forcing_shape=flat", networks=2)
    other = controls["settings"]["cells=32 | forcing_shape=flat"]
    for by_angle, accuracy in ((other["accuracy_by_angle"], other["accuracy"]),
                               (controls["same_setting_accuracy_by_angle"],
                                controls["same_setting_accuracy"])):
        assert sorted(by_angle) == ["0", "90"]
        # half of the inputs at each angle: the overall score is the mean of the two
        assert np.mean(list(by_angle.values())) == pytest.approx(accuracy)
    # the swapped setting is lost at every angle, not at one
    assert max(other["accuracy_by_angle"].values()) <= 0.2
    # the report's table: one row per setting, one column per angle
    from training.evaluation.report import _controls_by_angle

    table = _controls_by_angle(controls)
    assert "| setting | 0.0 | 90.0 |" in table
    assert (f"| cells=32 \\| forcing_shape=flat | {other['accuracy_by_angle']['0']:.3f} | "
            f"{other['accuracy_by_angle']['90']:.3f} |") in table
    assert _controls_by_angle({"same_setting_accuracy_by_angle": None, "settings": {}}) == []


def test_a_stopped_control_resumes_from_its_finished_networks(tmp_path):
    """With a network cache, the same control called again loads every network it trained
    (no training) and scores exactly as before; other options train afresh."""
    from dataclasses import replace

    from training.classifiers.alfven import QUICK_CONFIG, run_setting_controls
    from training.common.network_cache import NetworkCache

    data = _setting_maps(reversed_in_second=True)
    split = split_runs(data)
    config = replace(QUICK_CONFIG, max_epochs=4, patience=4)
    reference = "cells=16 | forcing_shape=flat"
    first_cache = NetworkCache(tmp_path / "networks")
    first = run_setting_controls(data, split, config=config, reference=reference, networks=2,
                                 cache=first_cache)
    assert len(first_cache.trained) == 2 and not first_cache.reused
    second_cache = NetworkCache(tmp_path / "networks")
    second = run_setting_controls(data, split, config=config, reference=reference, networks=2,
                                  cache=second_cache)
    assert second_cache.reused == first_cache.trained and not second_cache.trained
    assert second == first
    other_cache = NetworkCache(tmp_path / "networks")
    run_setting_controls(data, split, config=replace(config, seed=7), reference=reference,
                         networks=1, cache=other_cache)
    assert len(other_cache.trained) == 1 and not other_cache.reused
    assert len(list((tmp_path / "networks").glob("*.pt"))) == 3


@pytest.mark.slow
@pytest.mark.parametrize("reversed_in_second", [False, True])
def test_pooled_control_trains_on_several_settings_and_scores_the_rest(reversed_in_second):
    from dataclasses import replace

    from training.classifiers.alfven import QUICK_CONFIG, run_setting_controls

    data = _setting_maps(reversed_in_second=reversed_in_second, third_setting=True)
    split = split_runs(data)
    config = replace(QUICK_CONFIG, max_epochs=30, patience=30)
    pooled = ["cells=16 | forcing_shape=parabola", "cells=16 | forcing_shape=flat"]
    controls = run_setting_controls(data, split, config=config, reference=pooled)
    assert controls["reference"] == sorted(pooled)
    # the held-out runs of both pooled settings: 2 settings x 2 classes x 1 run x 2 times x 16
    assert controls["n_same_setting_maps"] == 128
    assert list(controls["settings"]) == ["cells=32 | forcing_shape=flat"]
    other = controls["settings"]["cells=32 | forcing_shape=flat"]
    # one pooled setting differs from it in numerics only: the nearest difference is named
    assert other["difference"] == "numerics" and other["n_runs"] == 6
    assert controls["same_setting_accuracy"] >= 0.9
    if reversed_in_second:
        assert other["accuracy"] <= 0.2 and not other["within_target"]
    else:
        assert other["accuracy"] >= 0.9 and other["within_target"]
    with pytest.raises(ValueError, match="no maps of the reference"):
        run_setting_controls(data, split, config=config, reference=["cells=64 | x"])
    # every setting pooled leaves nothing to score
    assert run_setting_controls(data, split, config=config,
                                reference=[*pooled, "cells=32 | forcing_shape=flat"]) is None


def test_pooled_control_sets_are_the_sets_of_the_smallest_resolution(tmp_path):
    import json

    from training.classifiers.alfven_family import model_arguments, pooled_control_sets

    cells = {"alfven_48_fast": 48, "alfven_48_drive": 48, "alfven_64_minmod_hlld": 64}
    for recipe, side in cells.items():
        (tmp_path / recipe).mkdir()
        (tmp_path / recipe / "manifest.json").write_text("{}")
        (tmp_path / recipe / "recipe.json").write_text(json.dumps({"common": {"cells": side}}))
    assert pooled_control_sets(tmp_path, cells) == ["alfven_48_drive", "alfven_48_fast"]
    arguments = model_arguments("alfven-ffp", tmp_path)
    start = arguments.index("--pooled-control")
    assert arguments[start + 1:start + 3] == ["alfven_48_drive", "alfven_48_fast"]
    assert not any(value.startswith("alfven_") for value in arguments[start + 3:])
    # one set of the smallest resolution is the main-set control already; one resolution
    # leaves nothing to score
    assert pooled_control_sets(tmp_path, ["alfven_48_fast", "alfven_64_minmod_hlld"]) == []
    assert pooled_control_sets(tmp_path, ["alfven_48_fast", "alfven_48_drive"]) == []
    (tmp_path / "alfven_48_drive" / "recipe.json").unlink()
    assert pooled_control_sets(tmp_path, cells) == []
    assert "--pooled-control" not in model_arguments("alfven", tmp_path)


def test_family_holds_out_the_manifests_test_seeds(tmp_path):
    import json

    from training.classifiers.alfven_family import held_out_seeds, model_arguments

    manifests = {"alfven_48_fast": {"seeds": [0, 1, 2, 3, 4, 5], "test_seeds": [3]},
                 "alfven_48_drive": {"seeds": [20, 21, 22, 23], "test_seeds": [23]}}
    for recipe, manifest in manifests.items():
        (tmp_path / recipe).mkdir()
        (tmp_path / recipe / "manifest.json").write_text(json.dumps(manifest))
    assert held_out_seeds(tmp_path, list(manifests)) == [3, 23]
    arguments = model_arguments("alfven", tmp_path)
    start = arguments.index("--test-seeds")
    # the recipes' test seeds, not the newest seeds (the classifier's default)
    assert arguments[start + 1:start + 3] == ["3", "23"]
    assert not arguments[start + 3].isdigit()
    # --test-seeds holds a seed out of every set: no set may train on another's test seed
    manifests["alfven_48_drive"]["seeds"].append(3)
    (tmp_path / "alfven_48_drive" / "manifest.json").write_text(
        json.dumps(manifests["alfven_48_drive"]))
    with pytest.raises(ValueError, match=r"alfven_48_drive trains on seed\(s\) \[3\]"):
        model_arguments("alfven", tmp_path)
    # sets without a manifest yet leave the classifier's default
    assert held_out_seeds(tmp_path, ["alfven_64_minmod_hlld"]) == []


def test_family_uses_the_identity_runs_only_for_the_identity_control(tmp_path):
    from training.classifiers.alfven_family import IDENTITY_SET, NOT_FOR_TRAINING, model_arguments

    unfinished, erased = "alfven_64_unfinished", next(iter(NOT_FOR_TRAINING))
    for recipe in ("alfven_48_fast", "alfven_48_drive", IDENTITY_SET, unfinished, erased):
        (tmp_path / recipe).mkdir()
    for recipe in ("alfven_48_fast", "alfven_48_drive", IDENTITY_SET, erased):
        (tmp_path / recipe / "manifest.json").write_text("{}")
    arguments = model_arguments("alfven", tmp_path)
    classes = [arguments[i + 1] for i, flag in enumerate(arguments) if flag == "--class"]
    # by default neither a set still running nor one whose labels its maps lost
    assert len(classes) == 4 and not any(IDENTITY_SET in spec or unfinished in spec
                                         or erased in spec for spec in classes)
    asked = model_arguments("alfven", tmp_path, sets=["alfven_48_fast", erased])
    assert sum(erased in spec for spec in asked) == 2
    identity = [arguments[i + 1] for i, flag in enumerate(arguments)
                if flag == "--identity-class"]
    assert len(identity) == 2 and all(IDENTITY_SET in spec for spec in identity)
    assert arguments[arguments.index("--identity-control") + 1] == "2.0"
    assert "--setting-controls" in arguments
    # the controls train on the main set, whichever set has the most maps
    assert arguments[arguments.index("--control-reference") + 1] == "alfven_48_fast"
    with pytest.raises(ValueError, match="run-identity control only"):
        model_arguments("alfven", tmp_path, sets=["alfven_48_fast", IDENTITY_SET])
    (tmp_path / IDENTITY_SET / "manifest.json").unlink()
    (tmp_path / IDENTITY_SET).rmdir()
    arguments = model_arguments("alfven", tmp_path, sets=["alfven_48_fast"])
    assert "--identity-class" not in arguments and "--setting-controls" not in arguments
    assert arguments[arguments.index("--identity-control") + 1] == "1.0"


@pytest.mark.parametrize("name, kind, ffp", [("alfven", "slices", False),
                                             ("alfven-ffp", "slices", True),
                                             ("alfven-column", "columns", False)])
def test_long_identity_control_uses_each_members_inputs(name, kind, ffp, monkeypatch, tmp_path):
    from training.classifiers import alfven, alfven_data, alfven_identity

    calls = {}

    def fake_load(labelled, class_names, *, kind, slice_step, directions):
        calls["globs"] = sorted(str(entry.path) for entry in labelled)
        calls["kind"], calls["directions"] = kind, directions
        return _identity_maps(False)

    def fake_control(data, mask, *, config, gap_turnovers, test_window, pairs, progress):
        calls["config"], calls["gap"], calls["window"] = config, gap_turnovers, test_window
        calls["pairs"] = pairs
        return {"classes": {}, "mean_accuracy": None}

    for label in ("sub_alfvenic", "super_alfvenic"):
        run = tmp_path / "alfven_48_identity" / label / "seed_0000"
        run.mkdir(parents=True)
        (run / "snapshot_000.fits").write_bytes(b"")
    monkeypatch.setattr(alfven_data, "load_labelled_maps", fake_load)
    monkeypatch.setattr(alfven, "run_identity_control", fake_control)
    result = alfven_identity.identity_control(tmp_path, name)
    assert calls["kind"] == kind and calls["config"].ffp is ffp
    assert (calls["directions"] is not None) == (kind == "columns")
    assert (calls["gap"], calls["window"]) == (2.0, 1.0)
    assert calls["pairs"] is None  # every disjoint pair of the identity runs
    assert all("alfven_48_identity" in path for path in calls["globs"])
    assert len(calls["globs"]) == 2 and "6.5 T" in result["data"]


def test_identity_control_carried_into_retrained_cards_from_its_report(tmp_path, monkeypatch):
    """After a retrain, ``--from-report --update-cards`` states the recorded long control in
    the new card without measuring again, and refuses a member the report lacks."""
    import shutil
    from pathlib import Path

    from training.classifiers import alfven_identity

    repository = Path(__file__).resolve().parents[3]
    (tmp_path / "onnx_models").mkdir()
    (tmp_path / "docs" / "results").mkdir(parents=True)
    shutil.copy(repository / "onnx_models" / "alfven.onnx", tmp_path / "onnx_models")
    training_report = json.loads((repository / "docs/results/alfven.json").read_text())
    training_report["metrics"].pop("run_identity_control_long", None)
    (tmp_path / "docs/results/alfven.json").write_text(json.dumps(training_report))
    recorded = {"mean_accuracy": 0.75, "at_chance": False, "tolerance": 0.05,
                "gap_turnovers": 2.0, "classes": {}, "command": "measured earlier"}
    report = tmp_path / "identity.json"
    report.write_text(json.dumps({"models": {"alfven": recorded}, "command": "measured earlier"}))
    before = report.read_text()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(alfven_identity, "identity_control",
                        lambda *args, **kwargs: pytest.fail("measured again"))

    assert alfven_identity.main([str(tmp_path), "--models", "alfven", "--report", str(report),
                                 "--update-cards", "--from-report"]) == 0
    carried = json.loads((tmp_path / "docs/results/alfven.json").read_text())[
        "metrics"]["run_identity_control_long"]
    assert carried["mean_accuracy"] == 0.75 and carried["command"] == "measured earlier"
    assert "--from-report" in carried["carried_over_by"]
    assert report.read_text() == before
    card = load_model_file(tmp_path / "onnx_models" / "alfven.onnx").card
    # the card's metrics carry it too, beside the one-turnover control of the training
    assert card["metrics"]["run_identity_control_long"]["mean_accuracy"] == 0.75
    assert "run_identity_control" in card["metrics"]
    # off chance, so the card's caveats say the design tells runs apart
    assert "tells two runs of one class apart" in " ".join(
        card["provenance"]["training_data"]["caveats"])
    with pytest.raises(SystemExit):
        alfven_identity.main([str(tmp_path), "--models", "alfven-ffp", "--report", str(report),
                              "--update-cards", "--from-report"])


def test_identity_control_without_identity_runs_leaves_report_and_cards(
        tmp_path, monkeypatch, capsys):
    """Runs too short to score (e.g. an extension still going) measure nothing: the command
    fails with the reason and keeps the recorded result and the cards as they were."""
    from training.classifiers import alfven_identity

    report = tmp_path / "identity.json"
    report.write_text(json.dumps({"models": {"alfven": {"mean_accuracy": 0.48}}}))
    before = report.read_text()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(alfven_identity, "identity_control", lambda *args, **kwargs: {
        "mean_accuracy": None, "classes": {}, "tolerance": 0.05,
        "skipped": {"sub_alfvenic": "no snapshots 2.0 turnovers before the scored ones"}})

    assert alfven_identity.main([str(tmp_path), "--models", "alfven", "--report", str(report),
                                 "--update-cards"]) == 1
    assert "not measured" in capsys.readouterr().err
    assert report.read_text() == before
    assert not (tmp_path / "docs").exists()


def test_spectral_tilt_spreads_the_training_copies_slopes_only_when_asked():
    from dataclasses import replace

    from tests.training.common.test_spectral_tilt import lognormal_map, log_power_slope
    from training.classifiers.alfven import QUICK_CONFIG, degraded

    image = lognormal_map(seed=7)
    # every copy degraded, but by a quarter pixel of smoothing and noise at SNR 1000 only,
    # which move the slope over |k| = 3-20 of a 64 px map by a few hundredths
    gentle = replace(QUICK_CONFIG, degrade_fraction=1.0, degrade_smoothing_px=0.25,
                     degrade_noise_snr=1000.0)

    def slope_changes(config):
        rng = np.random.default_rng(0)
        return np.array([log_power_slope(degraded(image, rng, config=config))
                         for _ in range(24)]) - log_power_slope(image)

    plain = slope_changes(gentle)
    tilted = slope_changes(replace(gentle, degrade_spectral_tilt=0.6))
    assert np.ptp(plain) < 0.05
    # uniform in -0.6..0.6: 24 draws span most of it
    assert np.ptp(tilted) > 0.6 and np.abs(tilted).max() <= 0.6 + 0.1


def test_a_negative_spectral_tilt_is_refused(runs_folder, tmp_path):
    arguments = [item for spec in _specs(runs_folder) for item in ("--class", spec)]
    with pytest.raises(SystemExit, match="--spectral-tilt must be a slope change >= 0"):
        main([*arguments, "--quick", "--out", str(tmp_path / "m.onnx"), "--report",
              str(tmp_path / "m.json"), "--no-progress", "--spectral-tilt", "-0.2"])


def test_zoom_magnifies_the_training_copies_and_keeps_their_size():
    from dataclasses import replace

    from tests.training.common.test_spectral_tilt import lognormal_map, log_power_slope
    from training.classifiers.alfven import QUICK_CONFIG, degraded
    from training.evaluation.robustness import zoomed

    image = lognormal_map(seed=11)
    # every copy magnified, smoothing and noise kept negligible (as in the tilt test above)
    gentle = replace(QUICK_CONFIG, degrade_fraction=1.0, degrade_smoothing_px=0.25,
                     degrade_noise_snr=1000.0)
    rng = np.random.default_rng(0)
    copies = [degraded(image, rng, config=replace(gentle, degrade_zoom=2.0)) for _ in range(8)]
    assert all(copy.shape == image.shape for copy in copies)
    # a magnified copy has its power at lower wavenumbers: the slope over |k| = 3-20 of a
    # -3 spectrum steepens as the interpolation and the cut move power down
    assert np.mean([log_power_slope(copy) for copy in copies]) < log_power_slope(image) - 0.3
    # the magnification is the robustness curves' zoom cut back to the map's size: the same
    # draws (one for "degrade?", one for the factor) give that map, up to the gentle rest
    copy = degraded(image, np.random.default_rng(5), config=replace(gentle, degrade_zoom=2.0))
    draws = np.random.default_rng(5)
    draws.random()
    expected = zoomed(image, draws.uniform(1.0, 2.0), boundary="periodic")[:64, :64]
    assert np.corrcoef(copy.ravel(), expected.ravel())[0, 1] > 0.99
    assert np.corrcoef(copy.ravel(), image.ravel())[0, 1] < 0.9


@pytest.mark.parametrize("options, words", [
    (["--zoom", "0.5"], "--zoom must be a magnification >= 1"),
    (["--zoom", "1.3", "--ffp"], "no longer wrap"),
])
def test_bad_zoom_options_are_refused(runs_folder, tmp_path, options, words):
    arguments = [item for spec in _specs(runs_folder) for item in ("--class", spec)]
    with pytest.raises(SystemExit, match=words):
        main([*arguments, "--quick", "--out", str(tmp_path / "m.onnx"), "--report",
              str(tmp_path / "m.json"), "--no-progress", *options])


def test_directions_choose_the_column_maps_lines_of_sight(runs_folder, tmp_path):
    """``--directions`` replaces the default five lattice directions: each cube gives one map
    along the field and two (the z-x and z-y planes) per other direction."""
    from training.classifiers.alfven import parse_command

    arguments = [item for spec in _specs(runs_folder) for item in ("--class", spec)]
    _, _, config, data, _ = parse_command(
        [*arguments, "--quick", "--kind", "columns", "--directions", "0,1", "1,3", "--out",
         str(tmp_path / "m.onnx"), "--report", str(tmp_path / "m.json")])
    assert config.directions == ((0, 1), (1, 3))
    snapshots = 2 * 3 * 2  # classes x seeds x snapshots
    assert len(data) == snapshots * 3
    assert sorted(set(np.round(data.angles, 2))) == [0.0, 18.43]
    assert np.sum(data.angles == 0.0) == snapshots


@pytest.mark.parametrize("options, words", [
    (["--kind", "columns", "--directions", "1"], "A,C pairs of integers"),
    (["--kind", "columns", "--directions", "2,4"], "no common divisor"),
    (["--kind", "columns", "--directions", "0,0"], "no common divisor"),
    (["--kind", "columns", "--directions", "1,1", "1,1"], "given twice"),
    (["--directions", "1,1"], "add --kind columns"),
])
def test_bad_directions_are_refused(runs_folder, tmp_path, options, words):
    arguments = [item for spec in _specs(runs_folder) for item in ("--class", spec)]
    with pytest.raises(SystemExit, match=words):
        main([*arguments, "--quick", "--out", str(tmp_path / "m.onnx"), "--report",
              str(tmp_path / "m.json"), "--no-progress", *options])


@pytest.mark.parametrize("reversed_in_second", [False, True])
def test_baseline_controls_score_every_setting_from_one_fit(reversed_in_second):
    """The spectrum baseline reads how smooth a map is: it carries over where the classes keep
    their smoothness and is far below its own setting where they swap it."""
    from training.classifiers.alfven import QUICK_CONFIG
    from training.classifiers.alfven import run_baseline_setting_controls

    data = _setting_maps(reversed_in_second=reversed_in_second)
    split = split_runs(data)
    controls = run_baseline_setting_controls(
        data, split, config=QUICK_CONFIG, reference="cells=16 | forcing_shape=flat",
        names=["spectrum_logistic", "anisotropy_logistic"], max_train_inputs=40)
    assert controls["n_train"] == 40
    spectrum = controls["baselines"]["spectrum_logistic"]
    other = spectrum["settings"]["cells=32 | forcing_shape=flat"]
    # the report's table: a row per setting, a column per baseline
    from training.evaluation.report import _baseline_controls

    table = _baseline_controls(controls)
    assert "| setting | spectrum_logistic | anisotropy_logistic |" in table
    cell = f"{other['accuracy']:.3f} ({other['points_below_same_setting']:+.1f})"
    assert any(row.startswith(f"| cells=32 \\| forcing_shape=flat | {cell}") for row in table)
    assert _baseline_controls(None) == []
    assert other["difference"] == "numerics"
    assert spectrum["same_setting_accuracy"] >= 0.9
    assert other["points_below_same_setting"] == pytest.approx(
        100.0 * (spectrum["same_setting_accuracy"] - other["accuracy"]))
    # equal class counts: the overall score is the mean of the per-class ones
    assert np.mean(list(other["accuracy_by_class"].values())) == pytest.approx(other["accuracy"])
    if reversed_in_second:
        assert other["accuracy"] <= 0.2
    else:
        assert other["accuracy"] >= 0.9
    # the maps are isotropic: the anisotropy features alone are near chance, within 4
    # binomial sd of the 64 held-out maps (one run per class, two times, 16 maps each)
    anisotropy = controls["baselines"]["anisotropy_logistic"]
    assert abs(anisotropy["same_setting_accuracy"] - 0.5) <= 4 * 0.5 / np.sqrt(64)
    with pytest.raises(ValueError, match="no maps of the reference setting"):
        run_baseline_setting_controls(data, split, config=QUICK_CONFIG, reference="cells=99",
                                      names=["spectrum_logistic"])
    from training.classifiers.alfven_baseline_controls import score_baselines_across_settings

    with pytest.raises(ValueError, match="held-out inputs under 'same'"):
        score_baselines_across_settings(np.zeros((4, 1, 8, 8)), np.arange(4) % 2, {},
                                        class_names=data.class_names,
                                        names=["spectrum_logistic"], seed=0)
