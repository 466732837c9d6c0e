"""The verification suite end to end (`verify --quick`) and the run/verify command line."""

import json

import pytest

from training.sim.cli import main


def test_verify_quick_passes_and_writes_json(tmp_path, capsys):
    report = tmp_path / "verify.json"
    # one thread: the grids are small, and extra threads only add contention on a busy machine
    status = main(["verify", "--quick", "--threads", "1", "--json", str(report)])
    printed = capsys.readouterr().out
    results = json.loads(report.read_text())["results"]
    failed = [row["name"] for row in results if not row["passed"]]
    assert failed == []
    assert status == 0
    assert "checks passed" in printed
    names = " ".join(row["name"] for row in results)
    for needed in ("linear wave fast", "linear wave alfven", "linear wave slow", "oblique",
                   "CPAW", "shock tube", "Orszag-Tang", "field loop", "driven 3D"):
        assert needed in names


@pytest.mark.parametrize("arguments, message", [
    (["--sound-speed", "-0.1"], "sound_speed"),
    (["--riemann", "roe"], "riemann"),
    (["--cells", "6"], "forcing mode"),
    (["--cells", "2", "16", "16"], "too small"),
])
def test_run_rejects_bad_parameters_before_any_work(tmp_path, capsys, arguments, message):
    status = main(["run", "--output-dir", str(tmp_path / "out"), "--no-progress"] + arguments)
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_toml_key_is_rejected(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("cells = 16\nsound_sped = 0.1\n")
    assert main(["run", "--config", str(config), "--no-progress"]) == 2
    assert "sound_sped" in capsys.readouterr().err
