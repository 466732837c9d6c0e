"""Packaging promises: light import, the glue entry point, the README's two commands and CI."""

import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_pulls_neither_torch_nor_qt():
    code = ("import sys, glue_turbml; heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'qtpy', 'glue_qt', 'training', "
            "'onnxruntime')]; print(heavy)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert output == "[]"


def test_glue_entry_point_is_registered_and_setup_is_idempotent():
    plugins = [ep for ep in entry_points(group="glue.plugins") if ep.name == "glue_turbml"]
    assert len(plugins) == 1
    assert plugins[0].value == "glue_turbml:setup"
    setup = plugins[0].load()
    setup()
    setup()


def test_glue_loads_the_plugin():
    code = ("from glue.main import load_plugins, list_loaded_plugins; load_plugins(); "
            "print('glue_turbml' in list_loaded_plugins())")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**__import__("os").environ,
                                             "QT_QPA_PLATFORM": "offscreen"}).stdout
    assert output.strip().splitlines()[-1] == "True"


def _setup_commands():
    text = (REPO / "README.md").read_text()
    section = text.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = _setup_commands()
    assert len(commands) == 2
    assert "turbml demo" in commands[0]
    assert commands[1].endswith("python -m pytest")
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci_lines == [commands[1]]


def test_licence_and_extras_declared():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'license = "BSD-3-Clause"' in pyproject
    for extra in ("qt", "train", "test", "all"):
        assert re.search(rf"^{extra} = \[", pyproject, flags=re.M), extra
    assert "onnxruntime-gpu" in pyproject and "platform_machine == 'x86_64'" in pyproject
    assert "BSD 3-Clause" in (REPO / "LICENSE").read_text()


def test_every_subpackage_is_installed():
    """A non-editable install ships only the packages pyproject lists: a new subpackage that is
    missing there imports here (editable) and fails on a user's machine."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    on_disk = {".".join(init.parent.relative_to(REPO).parts)
               for top in ("glue_turbml", "training") for init in (REPO / top).rglob("__init__.py")}
    assert on_disk, "no package found: the test looks in the wrong place"
    assert on_disk - listed == set()
    assert listed - on_disk == {"glue_turbml.onnx_models"}  # mapped from onnx_models/


def _documented_training_modules():
    """``{module: [where]}`` for every ``python -m training...`` in the docs and the sources."""
    sources = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
               *sorted((REPO / "training").rglob("*.py")),
               *sorted((REPO / "training").rglob("*.toml")),
               *sorted((REPO / "glue_turbml").rglob("*.py"))]
    found = {}
    for path in sources:
        for match in re.finditer(r"python -m (training(?:\.\w+)+)", path.read_text()):
            found.setdefault(match.group(1), []).append(path.relative_to(REPO).as_posix())
    return found


def _readme_old_commands():
    table = (REPO / "README.md").read_text().split("| old command", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `python -m (training[\w.]+)`", table, flags=re.M))


def test_every_documented_training_command_runs_under_its_name():
    """Each ``python -m training.X`` mentioned is a runnable module, except the old names the
    README's table maps to new ones (kept in shipped cards and past reports)."""
    old = _readme_old_commands()
    assert "training.kolmogorov_burgers" in old and len(old) >= 10
    documented = _documented_training_modules()
    assert "training.classifiers.kolmogorov_burgers" in documented
    broken = []
    for module, places in documented.items():
        if module in old:
            continue
        path = REPO.joinpath(*module.split("."))
        script = path.with_suffix(".py")
        runnable = ((script.is_file() and '__name__ == "__main__"' in script.read_text())
                    or (path / "__main__.py").is_file())
        if not runnable:
            broken.append(f"{module} (in {', '.join(sorted(set(places)))})")
    assert not broken, "not runnable: " + "; ".join(broken)
    stale = [module for module in old if module in documented
             and any(not place.startswith("README") for place in documented[module])]
    assert not stale, f"old command names still documented: {stale}"
