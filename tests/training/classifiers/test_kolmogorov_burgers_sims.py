"""The simulation-trained kolmogorov-burgers command end to end on tiny real decaying hydro
runs: held-out seeds, the slides' HOG + SVM baseline on the same split, the card's classes."""

import json

import pytest

from glue_turbml.models import load_model_file
from tests.training.sim_sets import simulate_set
from training.classifiers.kolmogorov_burgers_sims import CLASSES, main


@pytest.fixture(scope="module")
def hydro_set(tmp_path_factory):
    """A recipe-like folder: 3 seeds per class of 8^3 decaying hydro runs, k^-11/3 and k^-4."""
    return simulate_set(tmp_path_factory.mktemp("sets") / "kolmogorov_burgers_tiny",
                        {label: {"initial_velocity_slope": slope}
                         for (label, _), slope in zip(CLASSES, (11 / 3, 4.0))},
                        cells=8, sound_speed=0.1, mean_field=0.0, target_mach=1.41,
                        driving="none", end_turnovers=0.5, snapshot_turnovers=[0.1, 0.25, 0.5])


@pytest.mark.slow
def test_training_holds_out_the_largest_seed_and_reports_hog_svm(hydro_set, tmp_path):
    out, report_path = tmp_path / "kb.onnx", tmp_path / "kb.json"
    assert main([str(hydro_set), "--quick", "--name", "kb-test", "--out", str(out),
                 "--report", str(report_path), "--no-progress", "--threads", "1"]) == 0
    report = json.loads(report_path.read_text())
    metrics = report["metrics"]
    assert {entry["seed"] for entry in report["split"]["test"]} == {2}
    assert {entry["seed"] for entry in report["split"]["validation"]} == {1}
    assert "hog_svm" in metrics["baselines"]
    assert set(metrics["test_accuracy_by_time_turnovers"]) == {"0.1", "0.25", "0.5"}
    card = load_model_file(out).card
    assert [entry["name"] for entry in card["classes"]] == ["kolmogorov", "burgers"]
    assert card["description"].startswith("Kolmogorov- vs Burgers-like")
    summary = card["provenance"]["training_data"]["summary"]
    assert summary.startswith("Decaying isothermal hydro runs")
    assert card["provenance"]["command"].startswith(
        "python -m training.classifiers.kolmogorov_burgers_sims")
    assert "run_identity_control" in metrics
