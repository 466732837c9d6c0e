"""The seed papers' numbers travel in the cards and the generated docs/models.md puts them
beside ours; the weights never change."""

import shutil
from pathlib import Path

from glue_turbml.models import load_model_file, scan_models
from glue_turbml.models.catalog import render_comparison_markdown
from glue_turbml.models.registry import shipped_models_dir
from training.evaluation.published import PUBLISHED, add_published, main

REPO = Path(__file__).resolve().parents[3]


def test_adding_the_record_keeps_the_weights_and_renders_beside_ours(tmp_path):
    copy = tmp_path / "kolmogorov-burgers-fbm.onnx"
    shutil.copy(shipped_models_dir() / "kolmogorov-burgers-fbm.onnx", copy)
    before = load_model_file(copy).card
    record = add_published(copy)
    after = load_model_file(copy).card
    assert after["weights_sha256"] == before["weights_sha256"]
    assert after["published"] == record == PUBLISHED["kolmogorov-burgers-fbm"]
    entry = type("Entry", (), {"name": after["name"], "card": after, "path": copy})()
    text = render_comparison_markdown([entry])
    row = next(line for line in text.splitlines() if line.startswith("| kolmogorov-burgers-fbm"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == f"{after['metrics']['test_accuracy']:.4g}" and cells[3] == "0.77"
    assert "NOT MHD" in cells[4]  # the reader sees what our number was measured on


def test_a_model_without_a_paper_is_listed_and_refused_by_the_script(tmp_path):
    card = {"name": "own-model", "version": "1", "metrics": {}, "provenance": {}}
    entry = type("Entry", (), {"name": "own-model", "card": card, "path": tmp_path})()
    assert "Models no seed paper answers: own-model." in render_comparison_markdown([entry])
    copy = tmp_path / "other.onnx"
    shutil.copy(shipped_models_dir() / "kolmogorov-burgers-fbm.onnx", copy)
    saved = PUBLISHED.pop("kolmogorov-burgers-fbm")
    try:
        assert main([str(copy)]) == 2
    finally:
        PUBLISHED["kolmogorov-burgers-fbm"] = saved


def test_docs_models_md_is_generated_from_the_shipped_cards():
    entries, problems = scan_models()
    assert not problems
    shipped = [entry for entry in entries if entry.path.parent == shipped_models_dir()]
    committed = (REPO / "docs" / "models.md").read_text()
    assert render_comparison_markdown(shipped).strip() == committed.strip(), \
        "regenerate with: turbml models markdown --published > docs/models.md"


def test_a_setting_with_a_bar_stays_in_its_cell():
    import re

    card = load_model_file(shipped_models_dir() / "alfven.onnx").card
    assert " | " in card["provenance"]["training_data"]["summary"]
    entry = type("Entry", (), {"name": card["name"], "card": card, "path": REPO})()
    row = next(line for line in render_comparison_markdown([entry]).splitlines()
               if line.startswith("| alfven "))
    # markdown splits a row on every bar not escaped: the six columns must stay six
    assert len(re.split(r"(?<!\\)\|", row.strip().strip("|"))) == 6
