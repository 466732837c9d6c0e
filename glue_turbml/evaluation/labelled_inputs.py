"""Labelled inputs of an evaluation: ``LABEL=GLOB`` specifications expanded into files."""

import glob
from dataclasses import dataclass
from pathlib import Path

from ..inputs import FITS_SUFFIXES, InputError

__all__ = ["LabelledFile", "parse_class_spec", "expand_class_specs"]


@dataclass(frozen=True)
class LabelledFile:
    """One file and the class its maps or cubes belong to."""

    label: str
    path: Path


def parse_class_spec(spec):
    """Split ``"LABEL=GLOB"`` into the label and the pattern.

    Parameters
    ----------
    spec : str

    Returns
    -------
    label, pattern : str

    Raises
    ------
    glue_turbml.inputs.InputError
        When there is no ``=`` or either side is empty.
    """
    label, separator, pattern = str(spec).partition("=")
    if not separator or not label.strip() or not pattern.strip():
        raise InputError(f"--class {spec!r}: write LABEL=GLOB, e.g. "
                         "sub-Alfvenic='runs/b1/*.fits' (LABEL a class of the model)")
    return label.strip(), pattern.strip()


def _files_of(pattern):
    path = Path(pattern).expanduser()
    if path.is_dir():
        return sorted(child for child in path.iterdir()
                      if child.is_file() and child.name.lower().endswith(FITS_SUFFIXES))
    return sorted(Path(match) for match in glob.glob(str(path), recursive=True)
                  if Path(match).is_file())


def expand_class_specs(specs, class_names):
    """Labelled files of ``LABEL=GLOB`` specifications (a folder stands for its FITS files).

    Parameters
    ----------
    specs : iterable of str or dict
        ``"LABEL=GLOB"`` strings, or a mapping ``{label: pattern or list of paths}``.
    class_names : list of str
        The model's classes; every label must be one of them.

    Returns
    -------
    list of LabelledFile
        In the order given, each file once.

    Raises
    ------
    glue_turbml.inputs.InputError
        For an unknown label, a pattern that matches no file, or a file given two labels.
    """
    if isinstance(specs, dict):
        pairs = []
        for label, patterns in specs.items():
            patterns = [patterns] if isinstance(patterns, (str, Path)) else list(patterns)
            pairs += [(str(label), str(pattern)) for pattern in patterns]
    else:
        pairs = [parse_class_spec(spec) for spec in specs]
    if not pairs:
        raise InputError("give at least one labelled set: --class LABEL=GLOB (one per class)")
    labelled, seen = [], {}
    for label, pattern in pairs:
        if label not in class_names:
            raise InputError(f"label {label!r} is not a class of the model; its classes are "
                             f"{', '.join(class_names)}")
        files = _files_of(pattern)
        if not files:
            raise InputError(f"{label}={pattern}: no file matches (quote the pattern if the "
                             "shell expanded it; a folder stands for its FITS files)")
        for path in files:
            key = path.resolve()
            if key in seen and seen[key] != label:
                raise InputError(f"{path} is labelled both {seen[key]!r} and {label!r}")
            if key not in seen:
                seen[key] = label
                labelled.append(LabelledFile(label, path))
    return labelled
