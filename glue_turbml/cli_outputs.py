"""Where the ``turbml`` subcommands write: one meaning of ``--out`` for all of them, and the
checks that turn unwritable outputs into one-line errors before any work is done.

``--out`` is a file name when it ends with a FITS suffix (or is an existing file) and a folder
otherwise (or when it is an existing folder or ends with a path separator). A file name is
accepted where the command writes one result; a folder receives ``<input stem>_<model>...``.
"""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .inputs import FITS_SUFFIXES

__all__ = ["OutputError", "out_names_file", "output_stem", "output_path", "png_beside",
           "check_targets", "check_distinct_names", "is_turbml_output", "writing",
           "writing_folder"]

#: Temporary files and folders start with this; a crash can leave one, never a half result.
PARTIAL_PREFIX = ".turbml-partial-"


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
        The file name used inside a folder, e.g. ``m13_kolmogorov-burgers-fbm.fits``.
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


def _identities(path):
    """Ways to recognise one file: its resolved path and, when it exists, (device, inode),
    which also catches hard links and other spellings of one path."""
    found = {Path(path).expanduser().resolve()}
    try:
        status = os.stat(path)
        found.add((status.st_dev, status.st_ino))
    except OSError:
        pass
    return found


def check_targets(paths, *, overwrite, inputs=()):
    """Refuse, before any work, outputs that cannot be written.

    Nothing is created: folders are made by `writing` when a result is written, so a run that
    fails leaves no empty folder behind.

    Parameters
    ----------
    paths : iterable of path
        Every file the command will write.
    overwrite : bool
        Whether ``--overwrite`` was given.
    inputs : iterable of path, optional
        The files the command reads; no output may be one of them, even with ``overwrite``.

    Raises
    ------
    OutputError
        For an output that is an input, two outputs with one name, an output that is a folder,
        an existing output without ``overwrite``, or a folder under a file or without write
        permission.
    """
    paths = [Path(path) for path in paths]
    read = set().union(*(_identities(source) for source in inputs))
    for path in paths:
        # even --overwrite must not destroy the data the run is about to read
        if _identities(path) & read:
            raise OutputError(f"{path} is an input of this run; an output never replaces an "
                              "input, even with --overwrite: choose another --out")
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


def check_distinct_names(inputs, targets):
    """Refuse, before any work, distinct inputs whose results would share one file name
    (``a.fits``, ``a.fit`` and ``a.fits.gz`` all give ``a_<model>.fits``).

    Parameters
    ----------
    inputs, targets : sequences of path
        Each input and the file its result goes to, in the same order.

    Raises
    ------
    OutputError
        Naming the clashing inputs and the shared output.
    """
    sources = {}
    for source, target in zip(inputs, targets):
        sources.setdefault(Path(target), []).append(str(source))
    for target, names in sources.items():
        if len(names) > 1:
            raise OutputError(f"{' and '.join(names)} would all write {target}; rename one of "
                              "them or run them with different --out folders")


def is_turbml_output(path):
    """Whether a FITS file is a result written by glue-turbml (its primary header carries the
    ``TM_MODEL`` provenance card); unreadable files are not, and fail later with a reason.

    Parameters
    ----------
    path : path

    Returns
    -------
    bool
    """
    from astropy.io import fits

    try:
        return "TM_MODEL" in fits.getheader(path, 0)
    except Exception:  # noqa: BLE001 - any unreadable file is reported when it is analysed
        return False


def _partial_name(path):
    # the real name last keeps its suffix, which astropy (.gz) and matplotlib (.png) read
    return f"{PARTIAL_PREFIX}{os.getpid()}-{path.name}"


@contextmanager
def writing(path):
    """Write one output safely: yields a temporary path in the output's folder, renamed onto
    ``path`` (`os.replace`) only when the block ends without error, and removed otherwise, so
    a failure (disk full, interruption) leaves neither a half file nor a damaged earlier one.

    The folder of ``path`` is created; an operating-system error is reported as one
    `OutputError` line (the message names the file, never an errno).

    Parameters
    ----------
    path : path
        The final output.

    Yields
    ------
    pathlib.Path
        Where the block must write.
    """
    path = Path(path)
    partial = path.with_name(_partial_name(path))
    existing = _nearest_existing(path.parent)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield partial
        os.replace(partial, path)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        if partial.exists():
            partial.unlink()
        if not path.exists():
            _remove_empty_folders(path.parent, above=existing)


def _remove_empty_folders(folder, *, above):
    """Remove the folders a failed write created (empty ones below ``above``)."""
    while folder != above and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@contextmanager
def writing_folder(folder):
    """Write several outputs of one folder safely: yields a temporary folder inside ``folder``
    whose files are renamed into ``folder`` when the block ends without error; the temporary
    folder is removed in every case.

    Parameters
    ----------
    folder : path

    Yields
    ------
    pathlib.Path
    """
    folder = Path(folder)
    partial = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=folder))
        yield partial
        for written in sorted(partial.iterdir()):
            os.replace(written, folder / written.name)
    except OSError as error:
        raise OutputError(f"cannot write into {folder}: {error.strerror or error}") from None
    finally:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
