"""The model size cap (GLUE_TURBML_MAX_MODEL_MB or max_mb) refuses values that make no sense."""

import pytest

from glue_turbml.cli import main as turbml
from glue_turbml.models import (DEFAULT_MAX_MODEL_MB, ModelLoadError, load_model_file,
                                max_model_bytes, scan_models)

BAD_VALUES = ["abc", "inf", "-inf", "nan", "-5", "0", "4096", "1e400"]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_environment_values_are_refused_naming_the_variable(value, monkeypatch,
                                                                carded_classifier_path):
    monkeypatch.setenv("GLUE_TURBML_MAX_MODEL_MB", value)
    with pytest.raises(ModelLoadError, match=rf"^GLUE_TURBML_MAX_MODEL_MB='{value}' is not a "
                                             r"usable size cap .* e\.g\. "
                                             r"GLUE_TURBML_MAX_MODEL_MB=512 "):
        load_model_file(carded_classifier_path)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -5, 0, True, "512"])
def test_bad_arguments_are_refused_naming_max_mb(value, carded_classifier_path):
    with pytest.raises(ModelLoadError, match=r"^max_mb=.* e\.g\. max_mb=512 "):
        load_model_file(carded_classifier_path, max_mb=value)


@pytest.mark.parametrize("value, expected_mb", [("", DEFAULT_MAX_MODEL_MB), ("512", 512),
                                                (" 300 ", 300), ("0.5", 0.5), ("2048", 2048)])
def test_good_values_set_the_cap(value, expected_mb, monkeypatch):
    monkeypatch.setenv("GLUE_TURBML_MAX_MODEL_MB", value)
    assert max_model_bytes() == int(expected_mb * 2**20)


def test_the_default_cap_applies_without_the_variable(monkeypatch, carded_classifier_path):
    monkeypatch.delenv("GLUE_TURBML_MAX_MODEL_MB", raising=False)
    assert max_model_bytes() == DEFAULT_MAX_MODEL_MB * 2**20
    assert load_model_file(carded_classifier_path).card["name"] == "tiny-classifier"


def test_listing_models_stops_once_instead_of_refusing_every_file(monkeypatch):
    monkeypatch.setenv("GLUE_TURBML_MAX_MODEL_MB", "abc")
    with pytest.raises(ModelLoadError, match="GLUE_TURBML_MAX_MODEL_MB='abc'"):
        scan_models()


@pytest.mark.parametrize("command", [["models", "list"],
                                     ["models", "info", "kolmogorov-burgers-fbm"]])
def test_the_command_line_exits_2_with_one_line(command, monkeypatch, capsys):
    monkeypatch.setenv("GLUE_TURBML_MAX_MODEL_MB", "nan")
    assert turbml(command) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"turbml: error: GLUE_TURBML_MAX_MODEL_MB='nan' is not a usable size cap for "
                     f"model files: give a number of MiB above 0 and at most 2048, e.g. "
                     f"GLUE_TURBML_MAX_MODEL_MB=512 (the default is {DEFAULT_MAX_MODEL_MB})"]
