"""The shipped Alfven models: their cards hold what their training reports measured, say what
they saw and what not to trust them for, and carry a domain record and the paper's number."""

import json
from pathlib import Path

import pytest

from glue_turbml.models import load_model_file
from training.classifiers.alfven import caveats, training_data_summary

REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name, report", [("alfven", "alfven.json"),
                                          ("alfven-ffp", "alfven_ffp.json"),
                                          ("alfven-column", "alfven_column.json")])
def test_card_matches_its_training_report_and_states_its_limits(name, report):
    card = load_model_file(REPOSITORY / "onnx_models" / f"{name}.onnx").card
    recorded = json.loads((REPOSITORY / "docs" / "results" / report).read_text())
    assert card["weights_sha256"] == recorded["card"]["weights_sha256"]
    assert card["metrics"]["test_accuracy"] == recorded["metrics"]["test_accuracy"]
    # held-out runs only: the test seeds never appear in training or validation
    split = card["provenance"]["split"]["runs"]
    test_runs = {(entry["label"], entry["seed"]) for entry in split["test"]}
    assert test_runs and not test_runs & {(entry["label"], entry["seed"])
                                          for entry in split["train"] + split["validation"]}
    assert card["provenance"]["training_data"]["summary"] == training_data_summary(
        card["provenance"]["training_data"]["runs"])
    notes = caveats(recorded)
    assert card["provenance"]["training_data"]["caveats"] == notes
    assert "NOT FOR:" in card["description"] and notes[0] in card["description"]
    measured = card["domain"]["measured"]
    assert measured["hubble_deep_field"]["flagged_fraction"] >= 0.95
    assert card["published"]["results"][0]["ours"] == "test_accuracy"


def test_caveats_follow_the_measurements():
    report = {"metrics": {"test_accuracy_by_setting": {"a | b": 1.0, "c | d": 1.0},
                          "run_identity_control": {"mean_accuracy": 0.51, "at_chance": True}},
              "robustness": {"smoothing_sigma_px": [{"value": 0.0, "map_accuracy": 1.0},
                                                    {"value": 1.0, "map_accuracy": 0.97},
                                                    {"value": 2.0, "map_accuracy": 0.55}],
                             "noise_snr": [{"value": float("inf"), "map_accuracy": 1.0},
                                           {"value": 3.0, "map_accuracy": 0.9}]}}
    notes = caveats(report)
    assert len(notes) == 1 and notes[0].startswith("Gaussian smoothing of 2 px")
    report["metrics"]["run_identity_control"] = {"mean_accuracy": 0.8, "at_chance": False}
    report["metrics"]["test_accuracy_by_setting"] = {"a | b": 1.0}
    notes = caveats(report)
    assert notes[0].startswith("Trained and tested on ONE") and "0.80" in notes[1]
    # a baseline that matches the network is said, with both numbers
    report["metrics"].update(test_accuracy=0.95, baselines={"hog_svm": {"accuracy": 0.96}})
    assert "hog_svm baseline scores 0.960" in caveats(report)[1]


def test_caveats_name_the_alfven_mach_numbers_where_a_class_is_missed_more():
    def report(weak_accuracy, weak_maps):
        bins = {"super_alfvenic": {"1.8-1.9": {"accuracy": weak_accuracy, "maps": weak_maps},
                                   "2.2-2.3": {"accuracy": 1.0, "maps": 400}}}
        return {"metrics": {"test_accuracy_by_setting": {"a | b": 1.0, "c | d": 1.0},
                            "test_accuracy_by_alfven_mach": bins}, "robustness": {}}

    notes = caveats(report(0.85, 200))
    assert len(notes) == 1 and "Held-out super_alfvenic maps" in notes[0]
    assert "M_A 1.8-1.9 (0.85 of 200)" in notes[0] and "at 0.95 overall" in notes[0]
    # one miss in a small bin is within counting noise; a small gap is within the tolerance
    assert caveats(report(0.95, 20)) == [] and caveats(report(0.99, 200)) == []
    # too few maps to speak of
    assert caveats(report(0.0, 5)) == []


def test_caveats_warn_of_hlle_maps_when_every_training_run_used_hlld():
    def report(*solvers, classes=("sub_alfvenic", "super_alfvenic")):
        settings = {f"cells={cells} limiter=minmod riemann={solver} | forcing_shape=flat": 1.0
                    for cells, solver in zip((48, 64), solvers)}
        return {"metrics": {"test_accuracy_by_setting": settings}, "robustness": {},
                "card": {"classes": [{"name": name} for name in classes]}}

    hlld_only = [note for note in caveats(report("hlld", "hlld")) if "HLLE" in note]
    assert len(hlld_only) == 1 and "alfven_numerics_physics.txt" in hlld_only[0]
    # HLLD without its wave-order check is HLLD too
    assert [note for note in caveats(report("hlld", "hlld_no_order_check")) if "HLLE" in note]
    # a set with HLLE in training: the sentence would be wrong, so it is not there
    assert not [note for note in caveats(report("hlld", "hlle")) if "HLLE" in note]
    # nor for a model of other classes that shares these caveats (kolmogorov-burgers)
    hydro = report("hlld", "hlld", classes=("kolmogorov", "burgers"))
    assert not [note for note in caveats(hydro) if "HLLE" in note]


def _control(reference, points):
    return {"reference": reference, "networks": 3, "same_setting_accuracy": 0.99,
            "tolerance_points": 3.0,
            "settings": {"cells=64 | flat": {
                "difference": "numerics", "accuracy": 0.99 - points / 100.0,
                "points_below_same_setting": points, "points_below_spread": 1.0,
                "within_target": points <= 3.0, "n_runs": 8}}}


def test_pooled_control_is_reported_and_its_failure_is_a_caveat(tmp_path):
    from training.evaluation.report import write_report

    report = json.loads((REPOSITORY / "docs" / "results" / "alfven.json").read_text())
    report["metrics"]["setting_controls"] = _control("cells=48 | flat", 2.0)
    report["metrics"]["pooled_setting_controls"] = _control(
        ["cells=48 | flat", "cells=48 | parabola"], 7.5)
    notes = caveats(report)
    pooled = [note for note in notes if note.startswith("Trained on several settings pooled")]
    assert len(pooled) == 1 and "numerics (7.5 points below)" in pooled[0]
    # the main-set control held, so it adds no caveat
    assert not [note for note in notes if note.startswith("Trained on one setting")]
    markdown = write_report(report, "pooled", tmp_path)[0].read_text()
    section = markdown.split("## Pooled control")[1].split("##")[0]
    assert "`cells=48 | flat` and `cells=48 | parabola` together" in section
    # the setting's own bar is escaped, so the row keeps its six cells
    assert "| cells=64 \\| flat | numerics | 0.9150 | +7.5 +- 1.0 | NO | 8 |" in section
    assert "`cells=48 | flat` only" in markdown.split("## Numerics and driving controls")[1]
