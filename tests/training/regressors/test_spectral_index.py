"""The spectral-index regressor end to end on tiny real decaying hydro runs: held-out seeds,
the map's own spectral slope and HOG + SVR on the same split, calibrated sigma, a regression
card the runtime accepts."""

import json

import numpy as np
import pytest

from glue_turbml.models import load_model_file
from tests.training.sim_sets import simulate_set
from training.common.random_fields import lognormal_field
from training.regressors.spectral_index import main, map_spectrum_slope

SLOPES = {"slope_3_00": 3.0, "slope_4_50": 4.5}


@pytest.fixture(scope="module")
def hydro_set(tmp_path_factory):
    """A recipe-like folder (with its recipe.json): 4 seeds per slope of 8^3 decaying runs (two
    train, so the run-identity control has a pair per slope)."""
    root = simulate_set(tmp_path_factory.mktemp("sets") / "spectral_index_tiny",
                        {label: {"initial_velocity_slope": slope}
                         for label, slope in SLOPES.items()}, seeds=(0, 1, 2, 3),
                        cells=8, sound_speed=0.1, mean_field=0.0, target_mach=1.41,
                        driving="none", end_turnovers=0.2, snapshot_turnovers=[0.1, 0.2])
    (root / "recipe.json").write_text(json.dumps({"classes": {
        label: {"initial_velocity_slope": slope} for label, slope in SLOPES.items()}}))
    return root


def test_map_spectrum_slope_recovers_a_known_spectrum():
    # a Gaussian random field with P(k) ~ k^-3 in 2D: the fit over k = 2-12 finds about -3
    field = lognormal_field((128, 128), 3.0, sigma_ln=0.05, seed=4)
    assert map_spectrum_slope(field) == pytest.approx(-3.0, abs=0.3)


@pytest.mark.slow
def test_training_writes_a_regression_model_with_baselines_on_held_out_runs(
        hydro_set, tmp_path):
    out, report_path = tmp_path / "si.onnx", tmp_path / "si.json"
    assert main([str(hydro_set), "--quick", "--out", str(out), "--report", str(report_path),
                 "--no-progress", "--threads", "1"]) == 0
    report = json.loads(report_path.read_text())
    metrics = report["metrics"]
    assert set(metrics["baselines"]) == {"map_spectrum_slope", "hog_svr"}
    assert set(metrics["by_true_slope"]) == {"3", "4.5"}
    assert set(metrics["by_time_turnovers"]) == {"0.1", "0.2"}
    assert {"smoothing_sigma_px", "zoom_factor", "noise_snr"} <= set(metrics["robustness"])
    card = load_model_file(out).card
    assert card["task"] == "regression"
    assert card["outputs"][0]["channels"][0]["name"] == "spectral_index"
    assert card["provenance"]["split"]["runs"]["test"] == ["slope_3_00:3", "slope_4_50:3"]
    assert card["provenance"]["training"]["sigma_calibration"]["scale"] > 0
    assert "held_out_training_domain" in card["domain"]["measured"]
    assert np.isfinite(metrics["rmse"])
    # seed-vs-seed control: seeds 0 and 1 of each slope, trained at 0.1 T and scored at 0.2 T
    identity = metrics["run_identity_control"]
    assert set(identity["classes"]) == set(SLOPES) and not identity["skipped"]
    for entry in identity["classes"].values():
        assert entry["seeds"] == [0, 1]
        assert entry["train_times"] == [0.1] and entry["test_times"] == [0.2]
        assert 0.0 <= entry["accuracy"] <= 1.0
    assert identity["at_chance"] == (abs(identity["mean_accuracy"] - 0.5) <= 0.05)
