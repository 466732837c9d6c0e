"""The "Estimate (regression)" job: one scalar of a map with its uncertainty (no Qt).

As the turbulence jobs in `jobs`: `glue_turbml.qt.jobs.prepare_job` copies the map (a cube's
plane or projection) out of the glue dataset on the main thread, `run_regress_job` runs
`glue_turbml.regression.regress_array` in the worker thread (progress and a cancel check
between batches of tiles), and `apply_regress_outcome` adds the per-pixel value and sigma as a
dataset pixel-linked to its parent.
"""

from dataclasses import dataclass

__all__ = ["RegressRequest", "regression_models", "run_regress_job", "apply_regress_outcome"]


@dataclass(frozen=True)
class RegressRequest:
    """A regression estimate asked for in the dialog.

    Attributes
    ----------
    model : str
        A map regressor's name from the registry, or a path to an ``.onnx`` file.
    component, axis, slice_index, projection
        As for `glue_turbml.qt.jobs.ClassifyRequest`.
    device : {"auto", "cpu", "cuda"}
    show_results : bool
        Show the value map in an image viewer when the job ends; the result dataset is
        added to the data collection either way.
    """

    model: str
    component: str = None
    axis: int = None
    slice_index: int = None
    projection: str = None
    device: str = "auto"
    show_results: bool = True


def regression_models():
    """Registry entries of the map regressors the job can run, for the model picker.

    Per-spectrum regressors (the emission-line models) and regressors whose card does not
    list a value and its ``log_variance`` are left out.
    """
    from ..models import ModelCardError, list_models
    from ..regression import regression_output

    entries = []
    for entry in list_models():
        try:
            regression_output(entry.card)
        except (ValueError, ModelCardError):
            continue
        entries.append(entry)
    return entries


def run_regress_job(prepared, request, *, progress=None, cancel=None):
    """Run a map regressor over a prepared map: numpy and onnxruntime only, safe in a thread.

    Parameters
    ----------
    prepared : glue_turbml.qt.jobs.PreparedJob
    request : RegressRequest
    progress : callable, optional
        ``progress("regress", done, total)``.
    cancel : glue_turbml.qt.jobs.CancelToken, optional
        Checked before each batch of tiles.

    Returns
    -------
    glue_turbml.qt.jobs.JobOutcome
        With ``regression``, a `glue_turbml.regression.RegressionResult`.

    Raises
    ------
    glue_turbml.qt.jobs.JobCancelled
    ValueError, glue_turbml.models.ModelCardError
        For a model that is not a map regressor (checked before a session is made).
    glue_turbml.core.TilingError
    glue_turbml.models.ModelNotFoundError, glue_turbml.models.ModelLoadError
    """
    import time

    from ..models import open_model, resolve_model
    from ..regression import regress_array, regression_output
    from .jobs import GUI_BATCH_SIZE, CancelToken, JobOutcome, _reporter

    cancel = cancel or CancelToken()
    loaded = resolve_model(request.model)
    regression_output(loaded.card)
    runner = open_model(loaded, device=request.device)
    cancel.check()
    start = time.perf_counter()
    regression = regress_array(prepared.image, runner, wcs=prepared.wcs,
                               input_name=prepared.input_name, batch_size=GUI_BATCH_SIZE,
                               progress=_reporter("regress", progress, cancel))
    return JobOutcome(regression=regression, timings_s={"regress": time.perf_counter() - start})


def apply_regress_outcome(data_collection, parent, prepared, outcome):
    """Add or update the regression dataset of a finished job (main thread).

    Returns
    -------
    dict
        ``{"regression": Data}``.
    """
    from .glue_data import add_or_update_result, regression_data

    return {"regression": add_or_update_result(
        data_collection, parent,
        regression_data(outcome.regression, parent, plane=prepared.plane))}
