"""The "Predict emission lines" action on spectral cubes: dialog, job and layer-action callback."""

from qtpy import QtCore, QtWidgets

from ..emission_lines import DEFAULT_SPECTRAL_MODEL, redshift_from_header
from .controller import ClassifyJob
from .dialog import component_combo, model_combo
from .spectral_jobs import (SpectralRequest, apply_spectral_outcome, describe_spectral_error,
                            model_line_names, prepare_spectral_job, run_spectral_job,
                            spectral_domain_warning, spectral_models)

__all__ = ["SPECTRAL_ACTION_LABEL", "SpectralJob", "SpectralDialog", "start_spectral_job",
           "open_spectral_dialog", "spectral_layer_action"]

SPECTRAL_ACTION_LABEL = "Predict emission lines"


class SpectralJob(ClassifyJob):
    """One "Predict emission lines" run: the turbulence job's worker, progress dialog, Cancel
    and error handling, with the spectral prepare/run/apply steps.

    Parameters
    ----------
    data_collection : glue.core.DataCollection
    data : glue.core.Data
        The spectral cube (not modified).
    request : glue_turbml.qt.spectral_jobs.SpectralRequest
    application : glue_qt.app.GlueApplication, optional
    """

    title = "Predict emission lines"
    verb = "Predicting emission lines of"
    prepare_function = staticmethod(prepare_spectral_job)
    run_function = staticmethod(run_spectral_job)
    apply_function = staticmethod(apply_spectral_outcome)

    def _show_progress(self, phase, done, total):
        if self.progress_dialog is None or total <= 0:
            return
        self.progress_dialog.setLabelText(f"{self.verb} {self._prepared.input_name}: "
                                          f"{done}/{total} rows of spaxels")
        self.progress_dialog.setValue(int(100 * done / total))

    domain_message_box = None

    def _show_result(self):
        # The EW maps are a dataset (NaN counts in its meta); say only when spaxels lie
        # outside the training domain, without blocking the session.
        warning = spectral_domain_warning(self.outcome.emission_lines)
        if not warning:
            return
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning,
                                    "Outside the training domain", warning,
                                    QtWidgets.QMessageBox.Ok, self.application)
        box.setModal(False)
        box.show()
        self.domain_message_box = box

    def _fail(self, error):
        # The turbulence advice (tiles, 2D maps) would mislead here.
        self._close_progress()
        self.error_message = _show_spectral_error(self.application, error)
        self._finish("failed")


def _show_spectral_error(parent, error):
    """A modal message box naming the problem and the fix; returns the message."""
    title, message = describe_spectral_error(error)
    QtWidgets.QMessageBox.critical(parent, title, message)
    return message


def start_spectral_job(data_collection, data, request, *, application=None):
    """Start a `SpectralJob` (bad input shows a message box and returns the failed job)."""
    job = SpectralJob(data_collection, data, request, application=application)
    job.start()
    return job


class SpectralDialog(QtWidgets.QDialog):
    """Choose the spectral model, the redshift and the lines to map.

    Parameters
    ----------
    data : glue.core.Data
        The cube (not modified).
    parent : QWidget, optional
    request : SpectralRequest, optional
        Initial choices.
    models : list of glue_turbml.models.ModelEntry, optional
        Per-spectrum models to offer; the registry's by default.
    """

    def __init__(self, data, *, parent=None, request=None, models=None):
        super().__init__(parent)
        self.setWindowTitle(f"Predict emission lines: {data.label}")
        self.data = data
        self.models = list(spectral_models() if models is None else models)
        layout = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
        layout.addLayout(form)
        self.model_combo = model_combo(self.models)
        # The full-coverage model first: the narrow one is for cubes that miss 3400-4600 A.
        default_index = self.model_combo.findData(DEFAULT_SPECTRAL_MODEL)
        if default_index >= 0:
            self.model_combo.setCurrentIndex(default_index)
        form.addRow("Model", self.model_combo)
        self.description = QtWidgets.QLabel()
        self.description.setWordWrap(True)
        layout.addWidget(self.description)
        lower = QtWidgets.QFormLayout()
        self.component_combo = component_combo(data)
        lower.addRow("Component", self.component_combo)
        self.redshift_spin = QtWidgets.QDoubleSpinBox()
        # Negative values are allowed here so that the job, not the widget, explains them.
        self.redshift_spin.setRange(-1.0, 10.0)
        self.redshift_spin.setDecimals(5)
        self.redshift_spin.setSingleStep(0.001)
        self.redshift_source = QtWidgets.QLabel()
        self._stated_redshift = redshift_from_header(data.meta)
        if self._stated_redshift is not None:
            self.redshift_spin.setValue(self._stated_redshift[0])
        self.redshift_spin.valueChanged.connect(self._show_redshift_source)
        self._show_redshift_source()
        redshift_row = QtWidgets.QHBoxLayout()
        redshift_row.addWidget(self.redshift_spin)
        redshift_row.addWidget(self.redshift_source, 1)
        lower.addRow("Redshift", redshift_row)
        self.line_list = QtWidgets.QListWidget()
        self.line_list.setMinimumHeight(180)
        lower.addRow("Lines", self.line_list)
        layout.addLayout(lower)
        self.buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        self.buttons.button(QtWidgets.QDialogButtonBox.Ok).setText("Predict")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        if not self.models:
            self.description.setText("No emission-line model found. Put exported .onnx files "
                                     "in ~/.glue_turbml/models or GLUE_TURBML_MODEL_PATH.")
            self.buttons.button(QtWidgets.QDialogButtonBox.Ok).setEnabled(False)
        self.model_combo.currentIndexChanged.connect(self._show_model)
        self._show_model()
        if request is not None:
            self.set_request(request)

    def _show_model(self, *_):
        index = self.model_combo.currentIndex()
        if not 0 <= index < len(self.models):
            return
        card = self.models[index].card
        spectral = card["input"]["spectral"]
        edges = spectral["bin_edges"]
        self.description.setText(f"{card.get('description', '')}\nNeeds rest-frame "
                                 f"{edges[0]:g}-{edges[-1]:g} A in the cube.")
        chosen = set(self.lines()) if self.line_list.count() else None
        self.line_list.clear()
        for line in model_line_names(card):
            item = QtWidgets.QListWidgetItem(line)
            item.setFlags(item.flags() | QtCore.Qt.ItemIsUserCheckable)
            checked = chosen is None or line in chosen
            item.setCheckState(QtCore.Qt.Checked if checked else QtCore.Qt.Unchecked)
            self.line_list.addItem(item)

    def _show_redshift_source(self, *_):
        # says where the value came from only while it is still the header's
        stated = self._stated_redshift
        from_header = (stated is not None
                       and abs(self.redshift_spin.value() - stated[0]) < 0.5e-5)
        self.redshift_source.setText(f"from the header keyword {stated[1]}" if from_header
                                     else "")

    def lines(self):
        """The checked lines."""
        return [self.line_list.item(row).text() for row in range(self.line_list.count())
                if self.line_list.item(row).checkState() == QtCore.Qt.Checked]

    def set_lines(self, lines):
        """Check exactly ``lines``."""
        for row in range(self.line_list.count()):
            item = self.line_list.item(row)
            item.setCheckState(QtCore.Qt.Checked if item.text() in lines
                               else QtCore.Qt.Unchecked)

    def set_request(self, request):
        """Show the choices of a request (unknown values are left as they are)."""
        index = self.model_combo.findData(request.model)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        if request.component is not None:
            index = self.component_combo.findData(request.component)
            if index >= 0:
                self.component_combo.setCurrentIndex(index)
        self.redshift_spin.setValue(float(request.redshift))
        if request.lines is not None:
            self.set_lines(request.lines)

    def request(self):
        """The `SpectralRequest` the dialog shows."""
        return SpectralRequest(model=self.model_combo.currentData(),
                               redshift=self.redshift_spin.value(), lines=tuple(self.lines()),
                               component=self.component_combo.currentData())


def open_spectral_dialog(data, data_collection, *, application=None, request=None):
    """Ask for the model, redshift and lines, then start the job.

    Returns
    -------
    SpectralJob or None
        None when the user closed the dialog or the dataset is not a cube (after a message).
    """
    from ..inputs import InputError

    if data.ndim != 3:
        # No dialog for what cannot be a spectral cube: say so at once.
        _show_spectral_error(application, InputError(
            f"{data.label!r} is a {data.ndim}D dataset; emission lines are predicted spaxel "
            "by spaxel from a 3D spectral cube"))
        return None
    dialog = SpectralDialog(data, parent=application, request=request)
    if dialog.exec_() != QtWidgets.QDialog.Accepted:
        return None
    return start_spectral_job(data_collection, data, dialog.request(), application=application)


def spectral_layer_action(data, data_collection):
    """Callback of the "Predict emission lines" entry of the data collection's context menu."""
    from .actions import find_application

    return open_spectral_dialog(data, data_collection,
                                application=find_application(data_collection))
