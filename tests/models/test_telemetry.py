"""onnxruntime telemetry is off, and running models writes nothing outside the output folder."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import onnxruntime

from glue_turbml.models import clear_session_cache, get_session, load_model_file

RUN_MODELS = textwrap.dedent("""
    import sys

    import numpy as np

    import glue_turbml
    from glue_turbml.models import open_model, open_saliency_graph

    rng = np.random.default_rng(0)
    for device in ("auto", "cpu"):
        runner = open_model("kolmogorov-burgers-fbm", device=device)
        assert runner.run(rng.normal(size=(3, 1, 128, 128))).shape == (3, 2)
        graph = open_saliency_graph(runner.loaded, "guided", device=device)
        assert graph.run(rng.normal(size=(2, 1, 128, 128)), np.ones((2, 2)))[1].shape == \\
            (2, 1, 128, 128)
    assert open_model("desi-emission-lines", device="cpu").run(
        rng.normal(size=(4, 11))).shape == (4, 10)
    result = glue_turbml.classify(rng.lognormal(size=(256, 256)), model="kolmogorov-burgers-fbm")
    result.write(sys.argv[1])
""")


def _isolated_environment(root):
    """HOME, the XDG folders and TMPDIR as empty folders under ``root``."""
    environment = dict(os.environ)
    environment.pop("ORT_DISABLE_TELEMETRY", None)  # glue-turbml must set it itself
    environment.pop("GLUE_TURBML_MODEL_PATH", None)
    for variable, name in (("HOME", "home"), ("XDG_CACHE_HOME", "cache"),
                           ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                           ("TMPDIR", "tmp")):
        (root / name).mkdir()
        environment[variable] = str(root / name)
    return environment


def _written(root, *, besides):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*")
                  if path.is_file() and besides not in path.parents)


def test_running_models_writes_nothing_outside_the_output_folder(tmp_path):
    """In a fresh process (so onnxruntime starts under this environment): without
    ORT_DISABLE_TELEMETRY, onnxruntime's import alone writes a device id and an event database
    under ~/.cache/Microsoft/DeveloperTools and a .ses file in the temp folder."""
    root = tmp_path / "sandbox"
    out, work = root / "out", root / "work"
    root.mkdir()
    environment = _isolated_environment(root)
    out.mkdir()
    work.mkdir()
    completed = subprocess.run([sys.executable, "-c", RUN_MODELS, str(out / "result.fits")],
                               cwd=work, env=environment, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert (out / "result.fits").stat().st_size > 0
    assert _written(root, besides=out) == []
    assert sorted(path.name for path in root.rglob("*") if path.parent == root) == \
        ["cache", "config", "data", "home", "out", "tmp", "work"]


def test_the_command_line_writes_only_its_outputs(tmp_path):
    from astropy.io import fits

    root = tmp_path / "sandbox"
    root.mkdir()
    environment = _isolated_environment(root)
    (root / "work").mkdir()
    source = tmp_path / "map.fits"
    fits.PrimaryHDU(np.random.default_rng(1).lognormal(size=(256, 256)).astype(np.float32)) \
        .writeto(source)
    completed = subprocess.run([sys.executable, "-m", "glue_turbml.cli", "classify", str(source),
                                "--model", "kolmogorov-burgers-fbm",
                                "--out", str(root / "out") + "/"],
                               cwd=root / "work", env=environment, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert _written(root, besides=root / "out") == []
    assert [path.name for path in (root / "out").iterdir()] == ["map_kolmogorov-burgers-fbm.fits"]


def test_importing_glue_turbml_turns_onnxruntime_telemetry_off(tmp_path):
    environment = _isolated_environment(tmp_path)
    code = "import os, glue_turbml; print(os.environ.get('ORT_DISABLE_TELEMETRY'))"
    completed = subprocess.run([sys.executable, "-c", code], env=environment,
                               capture_output=True, text=True, timeout=120)
    assert completed.stdout.strip() == "1", completed.stderr


def test_sessions_disable_telemetry_events_and_profiling(carded_classifier_path, monkeypatch):
    calls, options_seen = [], []
    real_session = onnxruntime.InferenceSession

    def spy_session(model_bytes, sess_options=None, providers=None):
        options_seen.append(sess_options)
        return real_session(model_bytes, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(onnxruntime, "disable_telemetry_events", lambda: calls.append(True))
    monkeypatch.setattr(onnxruntime, "InferenceSession", spy_session)
    clear_session_cache()
    try:
        session, _ = get_session(load_model_file(carded_classifier_path), device="cpu")
    finally:
        clear_session_cache()  # the cached session was built by the spy
    assert calls, "disable_telemetry_events was not called before building the session"
    assert options_seen and not options_seen[0].enable_profiling
    assert options_seen[0].optimized_model_filepath == ""
    assert session.get_providers()[0] == "CPUExecutionProvider"
