"""Code version, command line and date strings recorded with every trained model and dataset."""

import datetime
import json
import os
import shlex
import subprocess

__all__ = ["code_version", "command_line", "utc_timestamp", "write_json_report",
           "write_report_if_asked"]


def _git(*arguments, cwd):
    try:
        completed = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, text=True,
                                   timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip()


def code_version():
    """``glue_turbml.__version__`` plus the git commit of the checkout, when there is one.

    Returns
    -------
    str
        e.g. ``"0.1.0 (git 5ae5e1a2b3c4, uncommitted changes)"``, or ``"0.1.0"`` outside git.
    """
    import glue_turbml

    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = _git("rev-parse", "--short=12", "HEAD", cwd=repository)
    if not commit:
        return glue_turbml.__version__
    # Modified or new files in the code that trains and preprocesses: the run used them, so
    # the commit alone would not reproduce it.
    dirty = bool(_git("status", "--porcelain", "--", "glue_turbml", "training", cwd=repository))
    return f"{glue_turbml.__version__} (git {commit}{', uncommitted changes' if dirty else ''})"


def command_line(module, argv):
    """The shell command that reruns ``python -m module`` with the given arguments."""
    return shlex.join(["python", "-m", module, *[str(argument) for argument in argv]])


def utc_timestamp():
    """Current UTC time as ISO 8601 with seconds, e.g. ``2025-01-31T12:00:00Z``."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def write_json_report(path, payload):
    """Write a run's JSON report (keys sorted, one-space indent, final newline), making its folder.

    Parameters
    ----------
    path : str or os.PathLike
    payload : dict
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(payload, stream, indent=1, sort_keys=True)
        stream.write("\n")


def write_report_if_asked(path, payload):
    """`write_json_report` and a ``wrote PATH`` line when ``path`` is given (the scripts'
    optional ``--report``); nothing otherwise."""
    if path:
        write_json_report(path, payload)
        print(f"wrote {path}")
