"""Where the ``turbml`` subcommands write: one meaning of ``--out`` for all of them, and the
checks that turn unwritable outputs into one-line errors before any work is done.

``--out`` is a file name when it ends with a FITS suffix (or is an existing file) and a folder
otherwise (or when it is an existing folder or ends with a path separator). A file name is
accepted where the command writes one result; a folder receives ``<input stem>_<model>...``.
"""

import os
from contextlib import contextmanager
from pathlib import Path

from .inputs import FITS_SUFFIXES

__all__ = ["OutputError", "out_names_file", "output_stem", "output_path", "png_beside",
           "check_targets", "writing"]


class OutputError(Exception):
    """An output the command line cannot write; reported as one line with exit status 2."""


def out_names_file(out):
    """Whether ``--out`` names one file rather than a folder.

    Parameters
    ----------
    out : str or path

    Returns
    -------
    bool
        True for an existing file, or a name ending with a FITS suffix (``.fits``, ``.fits.gz``
        ...) that is not an existing folder and does not end with a path separator.
    """
    text = str(out)
    path = Path(text).expanduser()
    if path.is_dir() or text.endswith(("/", os.sep)):
        return False
    return path.exists() or path.name.lower().endswith(FITS_SUFFIXES)


def output_stem(path):
    """A file's name without its FITS suffix (``m13.fits.gz`` -> ``m13``)."""
    name = Path(path).name
    for suffix in FITS_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[:-len(suffix)]
    return name


def output_path(out, name, *, n_inputs=1):
    """The file one input's result goes to.

    Parameters
    ----------
    out : str or path
        The ``--out`` value.
    name : str
        The file name used inside a folder, e.g. ``m13_kolmogorov-burgers.fits``.
    n_inputs : int
        How many inputs the command writes results for; a file name takes one only.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputError
        When ``out`` names one file but several inputs were given.
    """
    out_path = Path(str(out)).expanduser()
    if not out_names_file(out):
        return out_path / name
    if n_inputs > 1:
        raise OutputError(f"--out {out} names one file but {n_inputs} inputs were given; give a "
                          "folder (e.g. --out results/) to get one file per input")
    return out_path


def png_beside(path):
    """The PNG figure written beside a FITS result (``x.fits.gz`` -> ``x.png``)."""
    path = Path(path)
    return path.with_name(output_stem(path) + ".png")


def _nearest_existing(folder):
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_targets(paths, *, overwrite):
    """Refuse, before any work, outputs that cannot be written.

    Nothing is created: folders are made by `writing` when a result is written, so a run that
    fails leaves no empty folder behind.

    Parameters
    ----------
    paths : iterable of path
        Every file the command will write.
    overwrite : bool
        Whether ``--overwrite`` was given.

    Raises
    ------
    OutputError
        For two outputs with one name, an output that is a folder, an existing output without
        ``overwrite``, or a folder under a file or without write permission.
    """
    paths = [Path(path) for path in paths]
    seen = set()
    for path in paths:
        if path in seen:
            raise OutputError(f"two inputs would both write {path}; give inputs with different "
                              "names or run them with different --out folders")
        seen.add(path)
    for path in paths:
        if path.is_dir():
            raise OutputError(f"cannot write {path}: a folder has that name; remove it or choose "
                              "another --out")
        if path.exists() and not overwrite:
            raise OutputError(f"{path} exists; pass --overwrite to replace it")
    for folder in sorted({path.parent for path in paths}):
        existing = _nearest_existing(folder)
        if not existing.is_dir():
            raise OutputError(f"cannot write into {folder}: {existing} is a file, not a folder; "
                              "choose another --out")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write into {folder}: permission denied on {existing}; "
                              "choose another --out")


@contextmanager
def writing(path):
    """Create the folder of ``path``, and report an operating-system error while writing it as
    one `OutputError` line (the message names the file, never an errno)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield path
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
