"""Finding models by name: the shipped folder, the user's folder and GLUE_TURBML_MODEL_PATH."""

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from .loader import LoadedModel, ModelLoadError, load_model_file, max_model_bytes
from .saliency_graphs import is_saliency_graph_file

__all__ = [
    "ModelNotFoundError",
    "ModelShadowWarning",
    "ModelEntry",
    "shipped_models_dir",
    "user_models_dir",
    "model_search_path",
    "scan_models",
    "list_models",
    "resolve_model",
]

_loaded = {}
_loaded_lock = threading.Lock()


class ModelNotFoundError(LookupError):
    """No model of that name or path; the message lists the models that exist."""


class ModelShadowWarning(UserWarning):
    """Two files on the search path hold models of the same name; only the first is used.

    Most often a user's copy hides a shipped model, so results silently come from other weights
    than the documented ones: the message names both files.
    """


@dataclass(frozen=True)
class ModelEntry:
    """One usable model file found on the search path."""

    name: str
    path: Path
    card: dict


def shipped_models_dir():
    """The folder of models shipped with glue-turbml (installed copy or source checkout)."""
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir / "onnx_models", package_dir.parent / "onnx_models"):
        if candidate.is_dir():
            return candidate
    return package_dir / "onnx_models"


def user_models_dir():
    """``~/.glue_turbml/models``: drop exported ``.onnx`` files here to use them by name."""
    return Path.home() / ".glue_turbml" / "models"


def model_search_path():
    """Folders searched for models, first match wins.

    ``GLUE_TURBML_MODEL_PATH`` (folders separated by ``os.pathsep``), then `user_models_dir`, then
    `shipped_models_dir`.
    """
    folders = [Path(part).expanduser()
               for part in os.environ.get("GLUE_TURBML_MODEL_PATH", "").split(os.pathsep) if part]
    folders += [user_models_dir(), shipped_models_dir()]
    return folders


def _load_cached(path):
    path = Path(path).expanduser().resolve()
    try:
        stat = path.stat()
    except OSError:
        stat = None
    key = (str(path), stat.st_mtime_ns if stat else None, stat.st_size if stat else None)
    with _loaded_lock:
        if key not in _loaded:
            _loaded[key] = load_model_file(path)
        return _loaded[key]


def scan_models():
    """Check every ``.onnx`` file on the search path.

    Returns
    -------
    entries : list of ModelEntry
        Usable models, the first of each name only.
    problems : list of str
        One message per file that was refused (bad card, hash mismatch, ...).

    Warns
    -----
    ModelShadowWarning
        For each file whose model name an earlier file on the search path already holds (a
        user's model shadowing a shipped one, say), naming both files.

    Raises
    ------
    glue_turbml.models.loader.ModelLoadError
        If ``GLUE_TURBML_MAX_MODEL_MB`` is not a usable size cap: a setting, not a problem of
        one file.
    """
    max_model_bytes()
    entries, problems, first_paths = [], [], {}
    shipped = shipped_models_dir().resolve()
    for folder in model_search_path():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.onnx")):
            if is_saliency_graph_file(path):
                continue  # a model's saliency graph, checked when the model's saliency is asked
            try:
                loaded = _load_cached(path)
            except ModelLoadError as error:
                problems.append(str(error))
                continue
            if loaded.name in first_paths:
                _warn_shadowed(loaded.name, first_paths[loaded.name], loaded.path, shipped)
                continue
            first_paths[loaded.name] = loaded.path
            entries.append(ModelEntry(loaded.name, loaded.path, loaded.card))
    return entries, problems


def _warn_shadowed(name, used_path, hidden_path, shipped):
    if used_path == hidden_path:
        return  # one folder listed twice on the search path: the same file, nothing hidden
    which = "the shipped" if hidden_path.parent == shipped else "another"
    warnings.warn(
        f"model {name!r}: {used_path} shadows {which} model of that name, {hidden_path}; "
        f"'{name}' now means the first file (search order: GLUE_TURBML_MODEL_PATH, "
        f"{user_models_dir()}, the shipped models). Rename or remove one of them",
        ModelShadowWarning, stacklevel=3)


def list_models():
    """Usable models on the search path, as a list of `ModelEntry`."""
    return scan_models()[0]


def resolve_model(model):
    """Turn a model name, a path to an ``.onnx`` file, or a `LoadedModel` into a `LoadedModel`.

    Raises
    ------
    ModelNotFoundError
        For an unknown name (the message lists the available ones) or a missing path.
    glue_turbml.models.loader.ModelLoadError
        For a file that exists but cannot be used.
    """
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, os.PathLike) or str(model).endswith(".onnx") or os.sep in str(model):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"model file {str(path)!r} does not exist")
        return _load_cached(path)
    entries, problems = scan_models()
    for entry in entries:
        if entry.name == model:
            return _load_cached(entry.path)
    names = ", ".join(entry.name for entry in entries) or "none"
    hint = f" ({len(problems)} file(s) on the search path were refused)" if problems else ""
    raise ModelNotFoundError(
        f"unknown model {model!r}; available models: {names}{hint}. Give a name from "
        "'turbml models list' or a path to an .onnx file"
    )
