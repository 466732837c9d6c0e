"""Running a classification from the GUI: worker thread, progress dialog, Cancel, error boxes."""

from contextlib import contextmanager

from qtpy import QtCore, QtWidgets

from .jobs import (CancelToken, JobCancelled, apply_map_outcome, apply_outcome, prepare_job,
                   run_job, run_map_job)
from .messages import describe_error
from .regression_jobs import apply_regress_outcome, run_regress_job

__all__ = ["ClassifyJob", "MapJob", "RegressJob", "keep_viewer_slices", "show_error",
           "running_jobs"]

#: Jobs whose worker thread is alive: a QThread must outlive its run.
_RUNNING = set()


def running_jobs():
    """The jobs started and not yet finished."""
    return set(_RUNNING)


@contextmanager
def keep_viewer_slices(application):
    """Keep the planes the application's cube viewers show while results are updated.

    glue's image viewer jumps back to plane 0 whenever the values of one of its layers
    change, which would hide the plane just classified.
    """
    shown = []
    for tab in getattr(application, "viewers", ()) or ():
        for viewer in tab:
            state = getattr(viewer, "state", None)
            if getattr(state, "slices", None) and state.reference_data is not None:
                shown.append((state, state.reference_data, tuple(state.slices)))
    yield
    for state, reference, slices in shown:
        if state.reference_data is reference and tuple(state.slices) != slices \
                and len(state.slices) == len(slices):
            state.slices = slices


def show_error(parent, error):
    """A modal message box naming the problem and the fix.

    Returns
    -------
    str
        The message shown.
    """
    title, message = describe_error(error)
    QtWidgets.QMessageBox.critical(parent, title, message)
    return message


class ClassifyJob(QtCore.QObject):
    """One "Classify turbulence" run on one dataset.

    Reads the map on the main thread, classifies it in a `glue_qt.utils.Worker` thread (numpy
    and onnxruntime only) while a progress dialog offers Cancel, then adds or updates the result
    datasets and the result panel on the main thread. Bad input and failures show a message
    box and leave the data collection as it was.

    Parameters
    ----------
    data_collection : glue.core.DataCollection
    data : glue.core.Data
        The dataset to classify.
    request : glue_turbml.qt.jobs.ClassifyRequest
    application : glue_qt.app.GlueApplication, optional
        Parent of the dialogs and host of the result panel.
    viewer : glue image viewer, optional
        The viewer the job was started from, for `result_viewers.show_job_results`.

    Attributes
    ----------
    state : str
        ``"new"``, ``"running"``, ``"done"``, ``"cancelled"`` or ``"failed"``.
    datasets : dict or None
        The result datasets once done.
    error_message : str or None
        The message shown for a failure.
    result_viewer : glue image viewer or None
        The viewer showing the results once done, when `result_viewers.show_job_results`
        showed them (jobs started by `glue_turbml.qt.actions` with ``request.show_results``).
    """

    #: Emitted on the main thread when the job ends, with its `state`.
    finished = QtCore.Signal(str)
    #: ``(phase, done, total)`` tile counts, re-emitted on the main thread.
    progressed = QtCore.Signal(str, int, int)

    title = "Classify turbulence"
    verb = "Classifying"
    prepare_function = staticmethod(prepare_job)
    run_function = staticmethod(run_job)
    apply_function = staticmethod(apply_outcome)

    def __init__(self, data_collection, data, request, *, application=None, viewer=None):
        super().__init__()
        self.data_collection = data_collection
        self.data = data
        self.request = request
        self.application = application
        self.viewer = viewer
        self.result_viewer = None
        self.cancel_token = CancelToken()
        self.state = "new"
        self.datasets = None
        self.error_message = None
        self.outcome = None
        self.progress_dialog = None
        self._worker = None
        self._prepared = None
        self.progressed.connect(self._show_progress)

    def start(self):
        """Prepare the map and start the worker; returns False (after a message) on bad input."""
        from glue_qt.utils import Worker

        try:
            self._prepared = self.prepare_function(self.data, self.request)
        except Exception as error:  # every failure must reach the user as a message
            self._fail(error)
            return False
        self.progress_dialog = QtWidgets.QProgressDialog(
            f"{self.verb} {self._prepared.input_name} with {self.request.model}…", "Cancel",
            0, 100, self.application)
        self.progress_dialog.setWindowTitle(self.title)
        self.progress_dialog.setWindowModality(QtCore.Qt.WindowModal)
        self.progress_dialog.setAutoClose(False)
        self.progress_dialog.setAutoReset(False)
        self.progress_dialog.setMinimumDuration(300)
        self.progress_dialog.setValue(0)
        self.progress_dialog.canceled.connect(self.cancel)
        self._worker = Worker(self.run_function, self._prepared, self.request,
                              progress=self.progressed.emit, cancel=self.cancel_token)
        self._worker.result.connect(self._on_result)
        self._worker.error.connect(self._on_error)
        # Hold the job until its thread has really ended: Qt aborts if a QThread object is
        # destroyed while its run() is still returning.
        self._worker.finished.connect(lambda: _RUNNING.discard(self))
        self.state = "running"
        _RUNNING.add(self)
        self._worker.start()
        return True

    def cancel(self):
        """Ask the worker to stop before its next batch of tiles."""
        self.cancel_token.cancel()

    def wait(self, timeout_ms=60000):
        """Block until the worker thread ends and its signals are delivered (scripts, tests)."""
        if self._worker is not None:
            self._worker.wait(timeout_ms)
        QtCore.QCoreApplication.processEvents()

    def _show_progress(self, phase, done, total):
        if self.progress_dialog is None or total <= 0:
            return
        verb = {"classify": "Classifying", "saliency": "Computing saliency for",
                "map": "Mapping", "regress": "Estimating"}.get(phase, self.verb)
        self.progress_dialog.setLabelText(f"{verb} {self._prepared.input_name}: "
                                          f"{done}/{total} tiles")
        self.progress_dialog.setValue(int(100 * done / total))

    def _close_progress(self):
        if self.progress_dialog is not None:
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None

    def _finish(self, state):
        self.state = state
        self._close_progress()
        self.finished.emit(state)

    def _on_result(self, outcome):
        self.outcome = outcome
        try:
            with keep_viewer_slices(self.application):
                self.datasets = self.apply_function(self.data_collection, self.data,
                                                    self._prepared, outcome)
        except Exception as error:
            self._fail(error)
            return
        try:
            self._show_result()
        except Exception as error:  # the results are in the collection: only showing failed
            self.error_message = show_error(self.application, error)
        self._finish("done")

    def _show_result(self):
        from .panel import result_panel_for

        result_panel_for(self.application).show_result(self.datasets["classification"])

    def _on_error(self, exc_info):
        error = exc_info[1]
        if isinstance(error, JobCancelled):
            self._finish("cancelled")
            return
        self._fail(error)

    def _fail(self, error):
        self._close_progress()
        self.error_message = show_error(self.application, error)
        self._finish("failed")


class MapJob(ClassifyJob):
    """One "U-Net mapping" run: as `ClassifyJob`, with `run_map_job` in the worker and the
    mapping (and its uncertainty) added as a linked dataset with units.

    Parameters
    ----------
    data_collection, data, application
        As for `ClassifyJob`.
    request : glue_turbml.qt.jobs.MapRequest
    """

    title = "U-Net mapping"
    verb = "Mapping"
    run_function = staticmethod(run_map_job)
    apply_function = staticmethod(apply_map_outcome)

    def _show_result(self):
        pass  # the mapping is a dataset; its summary is in its meta


class RegressJob(ClassifyJob):
    """One "Estimate (regression)" run: as `ClassifyJob`, with `run_regress_job` in the worker
    and the per-pixel value and sigma added as a linked dataset with units (the whole-map
    value and sigma in its ``meta``).

    Parameters
    ----------
    data_collection, data, application
        As for `ClassifyJob`.
    request : glue_turbml.qt.regression_jobs.RegressRequest
    """

    title = "Estimate (regression)"
    verb = "Estimating"
    run_function = staticmethod(run_regress_job)
    apply_function = staticmethod(apply_regress_outcome)

    def _show_result(self):
        # The maps are a dataset; the whole-map value and sigma (and any domain warning) go to
        # the window's status bar, which does not block the session.
        status_bar = getattr(self.application, "statusBar", None)
        if callable(status_bar):
            status_bar().showMessage(str(self.outcome.regression))
