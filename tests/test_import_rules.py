"""The layout's import rules, read from the source (every import, lazy ones inside functions too).

- the runtime (`glue_turbml`) never imports `training`, torch or captum: it must run where only
  numpy, astropy and onnxruntime are installed;
- only `glue_turbml/qt/` imports Qt or glue-qt, so `import glue_turbml` works without a screen;
- no import cycle inside `glue_turbml` or inside `training`, lazy imports included (a lazy import
  only hides a cycle: the two modules still cannot be read one without the other).
"""

import ast
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGES = ("glue_turbml", "training")
#: Top-level modules the runtime must never import.
TRAINING_ONLY = {"training", "torch", "torchvision", "captum", "onnxscript"}
#: Top-level modules (and dotted prefixes) that mean Qt.
QT_MODULES = {"PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "glue_qt", "sip"}
QT_PREFIXES = ("echo.qt", "glue.utils.qt", "glue.viewers.common.qt",
               "matplotlib.backends.backend_qt")


def _module_name(path):
    """Dotted module name of a source file below the repository root."""
    parts = list(path.relative_to(REPOSITORY).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files(package):
    return sorted((REPOSITORY / package).rglob("*.py"))


def _imported_modules(path):
    """``(module imported, line)`` for every import statement in the file.

    ``from package import name`` yields ``package.name`` when that is a module of this
    repository, else ``package``; relative imports are resolved against the file's package.
    """
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            for alias in node.names:
                candidate = f"{origin}.{alias.name}"
                found.append((candidate if _is_repository_module(candidate) else origin,
                              node.lineno))
    return found


def _is_repository_module(dotted):
    path = REPOSITORY.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _runtime_imports():
    for path in _source_files("glue_turbml"):
        for module, line in _imported_modules(path):
            yield path, module, line


def test_the_rules_see_every_module_and_lazy_import():
    """A rule over no files, or blind to imports inside functions, would pass on anything."""
    assert len(_source_files("glue_turbml")) > 40
    cli_imports = {module for module, _ in
                   _imported_modules(REPOSITORY / "glue_turbml" / "cli.py")}
    # cli.py imports the API and the figures only inside its command functions
    assert {"glue_turbml.api", "glue_turbml.figures"} <= cli_imports
    assert "glue_turbml.api" not in {module for module, _ in _top_level_imports("cli.py")}


def _top_level_imports(file_name):
    tree = ast.parse((REPOSITORY / "glue_turbml" / file_name).read_text(encoding="utf-8"))
    return [(f"glue_turbml.{node.module}", node.lineno) for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module]


def test_runtime_never_imports_training_or_torch():
    offending = [f"{path.relative_to(REPOSITORY)}:{line} imports {module}"
                 for path, module, line in _runtime_imports()
                 if module.split(".")[0] in TRAINING_ONLY]
    assert not offending, "\n".join(offending)


def test_only_the_qt_subpackage_imports_qt():
    qt_folder = REPOSITORY / "glue_turbml" / "qt"
    offending = [f"{path.relative_to(REPOSITORY)}:{line} imports {module}"
                 for path, module, line in _runtime_imports()
                 if qt_folder not in path.parents
                 and (module.split(".")[0] in QT_MODULES or module.startswith(QT_PREFIXES))]
    assert not offending, "\n".join(offending)


def _import_graph(package):
    graph = {}
    for path in _source_files(package):
        name = _module_name(path)
        graph[name] = {module for module, _ in _imported_modules(path)
                       if module.split(".")[0] == package and module != name}
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def test_cycle_finder_finds_a_lazy_cycle():
    """The checker itself: a two-module cycle and a three-module one are found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package):
    graph = _import_graph(package)
    assert len(graph) > 20
    assert not _cycles(graph), _cycles(graph)
