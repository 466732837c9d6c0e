"""onnxruntime sessions: device choice, the provider actually used, and a per-(model, device)
cache."""

import io
import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass

__all__ = ["DEVICES", "DeviceError", "SessionInfo", "get_session", "clear_session_cache"]

DEVICES = ("auto", "cpu", "cuda")

_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
_cache = {}
_cache_lock = threading.Lock()
#: Read by onnxruntime when it is first imported: with it unset, onnxruntime 1.2x-1.3x on Linux
#: starts its 1DS telemetry and writes a device id and an event database under
#: ``~/.cache/Microsoft/DeveloperTools/.onnxruntime`` and a ``.ses`` file in the temp folder.
_TELEMETRY_VARIABLE = "ORT_DISABLE_TELEMETRY"


def _telemetry_off():
    """Tell onnxruntime, before anything imports it, to start no telemetry.

    Set when this module is imported (``import glue_turbml`` imports it) and again before each
    import of onnxruntime here; an onnxruntime imported earlier by other code has already read
    the environment, and only `_onnxruntime`'s ``disable_telemetry_events`` reaches it.
    """
    os.environ[_TELEMETRY_VARIABLE] = "1"


_telemetry_off()


def _onnxruntime():
    """onnxruntime, imported with its telemetry off (see `_telemetry_off`)."""
    _telemetry_off()
    import onnxruntime

    if hasattr(onnxruntime, "disable_telemetry_events"):
        onnxruntime.disable_telemetry_events()
    return onnxruntime


class DeviceError(RuntimeError):
    """The requested device cannot run the model; the message says why and what to do."""


@dataclass(frozen=True)
class SessionInfo:
    """Which device a session really runs on.

    Attributes
    ----------
    requested : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    provider : str
        The execution provider onnxruntime reports for the session (read back, not assumed).
    note : str
        Why CUDA was not used when it could have been (empty otherwise).
    """

    requested: str
    provider: str
    note: str = ""

    @property
    def device(self):
        """``"cuda"`` or ``"cpu"``."""
        return "cuda" if self.provider == _CUDA else "cpu"

    def describe(self):
        """One line for people: the provider, and on ``auto`` a short word that CUDA was not
        used (the library-level reason stays in `note`; ``device="cuda"`` raises with it)."""
        if self.note and self.requested == "auto":
            return f"{self.provider} (no CUDA here; --device cuda says why)"
        return self.provider


@contextmanager
def _captured_output():
    """Capture what onnxruntime prints while loading providers.

    Its C++ code writes to file descriptor 2 and ``preload_dlls`` prints to Python's stdout; both
    are kept as text (to explain a CUDA fallback) instead of reaching the user's terminal.
    """
    captured = {"text": ""}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved_fd = os.dup(2)
    except OSError:
        with redirect_stdout(io.StringIO()) as python_stdout:
            yield captured
        captured["text"] = python_stdout.getvalue()
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            with redirect_stdout(io.StringIO()) as python_stdout:
                yield captured
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            sink.seek(0)
            captured["text"] = python_stdout.getvalue() + sink.read().decode("utf-8", "replace")


def _first_error_line(text):
    """The most telling line of onnxruntime's CUDA loading errors, without colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    for pattern in (r"error: ([^\n]*cannot open shared object file[^\n]*)",
                    r"(Require cuDNN[^\n]*)", r"\] ([^\n]+)"):
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip()
    return "the CUDA execution provider did not load"


def _quiet_options(onnxruntime):
    """Session options that keep onnxruntime from writing files.

    Profiling would write a JSON trace, and an ``optimized_model_filepath`` a model copy, into
    the working directory: both stay off whatever onnxruntime's defaults become.
    """
    options = onnxruntime.SessionOptions()
    options.enable_profiling = False
    options.optimized_model_filepath = ""
    return options


def _create(model_bytes, providers):
    onnxruntime = _onnxruntime()
    options = _quiet_options(onnxruntime)
    options.log_severity_level = 3
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    with _captured_output() as captured:
        session = onnxruntime.InferenceSession(model_bytes, sess_options=options,
                                               providers=providers)
    return session, captured["text"]


def _build(model_bytes, device):
    onnxruntime = _onnxruntime()

    available = onnxruntime.get_available_providers()
    if device == "cpu":
        session, _ = _create(model_bytes, [_CPU])
        return session, SessionInfo("cpu", session.get_providers()[0])
    if _CUDA not in available:
        reason = ("this onnxruntime build has no CUDA provider (install onnxruntime-gpu, not "
                  "onnxruntime)")
        if device == "cuda":
            raise DeviceError(f"device='cuda' was requested but {reason}; use device='cpu'")
        session, _ = _create(model_bytes, [_CPU])
        return session, SessionInfo("auto", session.get_providers()[0], reason)
    with _captured_output():
        if hasattr(onnxruntime, "preload_dlls"):
            # Finds CUDA/cuDNN shipped as nvidia-* pip packages; harmless when absent.
            try:
                onnxruntime.preload_dlls()
            except Exception:  # noqa: BLE001 - best effort: the session below reports the outcome
                pass
    session, noise = _create(model_bytes, [_CUDA, _CPU])
    provider = session.get_providers()[0]
    if provider == _CUDA:
        return session, SessionInfo(device, provider)
    # onnxruntime-gpu silently falls back to the CPU when CUDA libraries or a GPU are missing.
    reason = f"CUDA unavailable: {_first_error_line(noise)}"
    if device == "cuda":
        raise DeviceError(
            f"device='cuda' was requested but onnxruntime could not start CUDA ({reason}); "
            "install CUDA 13 and cuDNN 9 (or the nvidia-* pip wheels), or use device='cpu'"
        )
    return session, SessionInfo("auto", provider, reason)


def get_session(loaded_model, *, device="auto"):
    """Return a cached onnxruntime session for a checked model on a device.

    Parameters
    ----------
    loaded_model : glue_turbml.models.loader.LoadedModel
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses CUDA when it loads and the CPU otherwise; ``"cuda"`` raises instead of
        falling back.

    Returns
    -------
    session : onnxruntime.InferenceSession
    info : SessionInfo
        The provider onnxruntime actually chose, read back from the session.

    Raises
    ------
    DeviceError
        For an unknown device, or ``device="cuda"`` where CUDA cannot run.
    """
    if device not in DEVICES:
        raise DeviceError(f"device must be one of {DEVICES}, got {device!r}")
    key = (str(loaded_model.path), loaded_model.card["weights_sha256"], device)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _build(loaded_model.model_bytes, device)
        return _cache[key]


def clear_session_cache():
    """Forget every cached session (e.g. after replacing a model file)."""
    with _cache_lock:
        _cache.clear()
