"""The project's permanent negative control, as a small seeded training run.

FFP (every Fourier amplitude set to one) leaves a periodic Gaussian random field with only its
random phases, which carry no information about the spectral slope; a classifier trained on
FFP tiles must therefore stay at chance, while the same net and split without FFP must not.
"""

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from glue_turbml.models import read_card

REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_quick_run_normal_above_chance_and_ffp_at_chance(tmp_path):
    out, report_path = tmp_path / "kb.onnx", tmp_path / "kb.json"
    # A fresh process runs the real command line, with the thread settings it chooses.
    completed = subprocess.run(
        [sys.executable, "-m", "training.classifiers.kolmogorov_burgers", "--quick", "--seed", "0",
         "--out", str(out), "--report", str(report_path), "--no-progress"],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(report_path.read_text())
    metrics = report["metrics"]
    assert metrics["test_accuracy"] >= 0.8
    assert metrics["n_test_tiles"] >= 800
    assert metrics["ffp_negative_control_n_test_tiles"] >= 800
    assert abs(metrics["ffp_negative_control_test_accuracy"] - 0.5) <= 0.05
    assert report["negative_control_at_chance"] is True
    # Same realizations in both arms, and none shared between train/validation/test.
    split = report["split"]
    assert not set(split["test"]) & (set(split["train"]) | set(split["validation"]))
    for arm in ("normal", "ffp_periodic"):
        assert report["arms"][arm]["test"]["n_realizations"] == len(split["test"])
    assert report["arms"]["ffp_periodic"]["preprocess"][1] == {"op": "ffp"}
    card = read_card(onnx.load(out), source=str(out))
    assert card == report["card"]
    assert card["metrics"]["ffp_negative_control_test_accuracy"] == \
        metrics["ffp_negative_control_test_accuracy"]
    assert card["provenance"]["command"].startswith(
        "python -m training.classifiers.kolmogorov_burgers")
    assert all(record["max_abs_diff"] <= 1e-5 for record in report["parity"])
    # The run ends with the saliency steps: graphs checked against torch autograd next to the
    # model, and the randomization sanity check recorded in the card.
    assert sorted(card["saliency"]["graphs"]) == ["guided", "vanilla"]
    for entry in card["saliency"]["graphs"].values():
        assert (out.parent / entry["file"]).is_file()
    assert report["saliency"]["max_relative_saliency_diff"] <= 1e-5
    sanity = card["saliency"]["sanity_checks"]["model_parameter_randomization"]
    assert set(sanity) == {"vanilla", "guided", "occlusion"}
    assert (tmp_path / "kb_saliency.json").is_file() and (tmp_path / "kb_sanity.json").is_file()
