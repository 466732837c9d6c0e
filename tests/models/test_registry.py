"""Finding models by name on the search path; refused files are reported, not used."""

import shutil

import pytest

from glue_turbml.models import (ModelNotFoundError, list_models, model_search_path, resolve_model,
                                scan_models, shipped_models_dir)


def test_search_path_order(monkeypatch, tmp_path):
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(tmp_path))
    folders = model_search_path()
    assert folders[0] == tmp_path
    assert folders[-1] == shipped_models_dir()


def test_shipped_models_are_listed():
    names = [entry.name for entry in list_models()]
    assert "kolmogorov-burgers-fbm" in names


def test_user_model_found_by_name(monkeypatch, tmp_path, carded_classifier_path):
    folder = tmp_path / "models"  # not the fixture's folder: one file of that name, no shadowing
    folder.mkdir()
    shutil.copy(carded_classifier_path, folder / "mine.onnx")
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(folder))
    loaded = resolve_model("tiny-classifier")
    assert loaded.path == (folder / "mine.onnx").resolve()


def test_refused_files_are_reported(monkeypatch, tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"not onnx" * 10)
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(tmp_path))
    entries, problems = scan_models()
    assert any("broken.onnx" in problem for problem in problems)
    assert all(entry.path.name != "broken.onnx" for entry in entries)


def test_unknown_name_lists_available():
    with pytest.raises(ModelNotFoundError, match="unknown model 'no-such-model'; available "
                                                 "models: .*kolmogorov-burgers-fbm"):
        resolve_model("no-such-model")


def test_missing_path():
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model("/nowhere/model.onnx")
