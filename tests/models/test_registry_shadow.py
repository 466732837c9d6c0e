"""A model file that hides a shipped model of the same name is used, with a warning naming both."""

import os
import shutil
import subprocess
import sys
import warnings

import pytest

from glue_turbml.models import (ModelShadowWarning, list_models, resolve_model, scan_models,
                                shipped_models_dir)

SHIPPED = shipped_models_dir() / "kolmogorov-burgers-fbm.onnx"


@pytest.fixture
def home(monkeypatch, tmp_path):
    """An empty home folder, so the user's own ``~/.glue_turbml/models`` plays no part."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("GLUE_TURBML_MODEL_PATH", raising=False)
    return folder


def test_a_model_on_the_search_path_shadowing_a_shipped_one_warns(home, tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    copy = folder / "my-kolmogorov.onnx"
    shutil.copy(SHIPPED, copy)
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(folder))
    with pytest.warns(ModelShadowWarning) as caught:
        loaded = resolve_model("kolmogorov-burgers-fbm")
    assert loaded.path == copy.resolve()  # the first on the search path wins, as documented
    message = str(caught[0].message)
    assert str(copy.resolve()) in message and str(SHIPPED.resolve()) in message
    assert "shadows the shipped model" in message


def test_a_model_in_the_user_folder_shadowing_a_shipped_one_warns(home):
    user_folder = home / ".glue_turbml" / "models"
    user_folder.mkdir(parents=True)
    shutil.copy(SHIPPED, user_folder / "kolmogorov-burgers-fbm.onnx")
    with pytest.warns(ModelShadowWarning,
                      match="kolmogorov-burgers-fbm.*shadows the shipped") as caught:
        entries = list_models()
    assert [entry.path.parent for entry in entries if entry.name == "kolmogorov-burgers-fbm"] == \
        [user_folder.resolve()]
    assert str(user_folder / "kolmogorov-burgers-fbm.onnx") in str(caught[0].message)


def test_no_warning_without_shadowing(home, monkeypatch):
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(shipped_models_dir()))  # same files twice
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelShadowWarning)
        entries, problems = scan_models()
    assert "kolmogorov-burgers-fbm" in [entry.name for entry in entries] and not problems


def test_the_command_line_prints_the_warning_on_stderr(home, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(SHIPPED, folder / "kolmogorov-burgers-fbm.onnx")
    environment = dict(os.environ, HOME=str(home), GLUE_TURBML_MODEL_PATH=str(folder))
    completed = subprocess.run([sys.executable, "-m", "glue_turbml.cli", "models", "info",
                                "kolmogorov-burgers-fbm"], env=environment, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert f"file: {(folder / 'kolmogorov-burgers-fbm.onnx').resolve()}" in completed.stdout
    assert "ModelShadowWarning" in completed.stderr
    assert str(SHIPPED.resolve()) in completed.stderr
    assert str((folder / "kolmogorov-burgers-fbm.onnx").resolve()) in completed.stderr
