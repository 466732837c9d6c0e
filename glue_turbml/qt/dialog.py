"""The "Classify turbulence" dialog: model (with its card summary), component, cube slicing.
The "U-Net mapping" and "Estimate (regression)" actions use it too."""

from qtpy import QtCore, QtWidgets

from .jobs import ClassifyRequest, MapRequest, classification_models, image_to_image_models
from .regression_jobs import RegressRequest, regression_models

__all__ = ["ClassifyDialog", "SALIENCY_CHOICES", "DEVICE_CHOICES", "model_combo",
           "component_combo"]

#: Saliency choices shown in the dialog: (label, method or None).
SALIENCY_CHOICES = (("guided backpropagation", "guided"), ("plain gradient", "vanilla"),
                    ("occlusion", "occlusion"), ("none", "none"))
#: Device choices shown in the dialog: (label, onnxruntime device).
DEVICE_CHOICES = (("auto (GPU if available, else CPU)", "auto"), ("CPU", "cpu"),
                  ("GPU (CUDA)", "cuda"))
#: Combo-box value standing for None (Qt item data cannot be looked up by None).
_NONE = "none"
_WHOLE_PLANE = "the whole map"
_PROJECTIONS = ("sum", "mean")
#: Per task: window title, OK button, the models it offers, and what they are called.
_TASKS = {
    "classification": ("Classify turbulence", "Classify", classification_models,
                       "classification"),
    "image_to_image": ("U-Net mapping", "Map", image_to_image_models, "image-to-image (U-Net)"),
    "regression": ("Estimate (regression)", "Estimate", regression_models,
                   "map regression (value and log_variance outputs)"),
}


def model_combo(models):
    """A combo box listing registry models as ``name version``, each item's data its name.

    Parameters
    ----------
    models : iterable of glue_turbml.models.registry.ModelEntry

    Returns
    -------
    QtWidgets.QComboBox
    """
    combo = QtWidgets.QComboBox()
    for entry in models:
        combo.addItem(f"{entry.name} {entry.card['version']}", entry.name)
    return combo


def component_combo(data):
    """A combo box of a glue dataset's main components, each item's data its label.

    Parameters
    ----------
    data : glue.core.Data

    Returns
    -------
    QtWidgets.QComboBox
    """
    combo = QtWidgets.QComboBox()
    for cid in data.main_components:
        combo.addItem(cid.label, cid.label)
    return combo


def _numeric_metrics(metrics, prefix=""):
    """``(name, value)`` of the numbers in a card's metrics, one nesting level deep."""
    for key, value in metrics.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            yield prefix + key, value
        elif isinstance(value, dict) and not prefix:
            yield from _numeric_metrics(value, prefix=f"{key}.")


def _card_outputs_html(card):
    """The classes of a classifier, else the output channels (a U-Net's), as an HTML list.

    Empty when the card lists neither, so no heading stands over nothing.
    """
    from html import escape

    items = [(entry["name"], entry.get("meaning", "")) for entry in card.get("classes") or []]
    heading = "Classes"
    if not items:
        heading = "Outputs"
        items = [(channel["name"], channel.get("description", ""))
                 for output in card.get("outputs") or []
                 for channel in output.get("channels") or []]
    if not items:
        return ""
    entries = "".join(f"<li><b>{escape(name)}</b>{': ' + escape(text) if text else ''}</li>"
                      for name, text in items)
    return f"<p>{heading}:</p><ul>{entries}</ul>"


def _card_summary_html(card):
    """Classes (or output channels), training data and held-out metrics of a card, as HTML."""
    from html import escape

    training = card.get("provenance", {}).get("training_data", {}).get("summary", "not stated")
    metrics = ", ".join(f"{escape(key)} = {value:.3g}"
                        for key, value in _numeric_metrics(card.get("metrics", {})))
    checks = card.get("saliency", {}).get("sanity_checks", {}) \
        .get("model_parameter_randomization", {})
    failing = [method for method, check in checks.items() if not check.get("passes", True)]
    warning = (f"<p><i>Saliency methods failing the randomization check: "
               f"{escape(', '.join(failing))}.</i></p>" if failing else "")
    description = card.get("description", "")
    return (f"<p><b>{escape(card['name'])}</b> {escape(card['version'])}"
            f"{': ' + escape(description) if description else ''}</p>{_card_outputs_html(card)}"
            f"<p><b>Trained on:</b> {escape(training)}</p>"
            f"<p><b>Held-out metrics:</b> {metrics or 'none recorded'}</p>{warning}")


class ClassifyDialog(QtWidgets.QDialog):
    """Choose the model, the component and, for cubes, the plane or projection to analyse.

    Parameters
    ----------
    data : glue.core.Data
        The dataset to analyse (not modified).
    parent : QWidget, optional
    request : ClassifyRequest, MapRequest or RegressRequest, optional
        Initial choices (e.g. the viewer's current slice).
    models : list of glue_turbml.models.ModelEntry, optional
        Models to offer; the registry's models of ``task`` by default.
    task : {"classification", "image_to_image", "regression"}
        Classify turbulence (with a saliency choice), run a U-Net mapping (with an
        optional line-of-sight depth, enabled for column-density models only), or estimate
        one quantity of the map with a regressor.
    """

    def __init__(self, data, *, parent=None, request=None, models=None,
                 task="classification"):
        super().__init__(parent)
        if task not in _TASKS:
            raise ValueError(f"task must be one of {', '.join(map(repr, _TASKS))}, got {task!r}")
        self.task = task
        action, button, task_models, kind = _TASKS[task]
        self.setWindowTitle(f"{action}: {data.label}")
        self.data = data
        self.models = list(task_models() if models is None else models)
        layout = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
        layout.addLayout(form)

        self.model_combo = model_combo(self.models)
        form.addRow("Model", self.model_combo)
        self.card_view = QtWidgets.QTextBrowser()
        self.card_view.setMinimumSize(460, 200)
        layout.addWidget(self.card_view)

        form_lower = QtWidgets.QFormLayout()
        self.component_combo = component_combo(data)
        form_lower.addRow("Component", self.component_combo)

        self.is_cube = data.ndim == 3
        self.axis_combo = QtWidgets.QComboBox()
        self.mode_combo = QtWidgets.QComboBox()
        self.slice_spin = QtWidgets.QSpinBox()
        if self.is_cube:
            for axis in range(3):
                name = data.world_component_ids[axis].label if data.coords is not None \
                    else f"axis {axis}"
                self.axis_combo.addItem(f"{name} (numpy axis {axis}, {data.shape[axis]} planes)",
                                        axis)
            self.mode_combo.addItem("one plane", _NONE)
            for projection in _PROJECTIONS:
                self.mode_combo.addItem(f"projection ({projection})", projection)
            form_lower.addRow("Slice along", self.axis_combo)
            form_lower.addRow("Classify", self.mode_combo)
            form_lower.addRow("Plane", self.slice_spin)
            self.axis_combo.currentIndexChanged.connect(self._update_slice_range)
            self.mode_combo.currentIndexChanged.connect(self._update_slice_range)

        self.saliency_combo = QtWidgets.QComboBox()
        for label, method in SALIENCY_CHOICES:
            self.saliency_combo.addItem(label, method)
        self.depth_spin = QtWidgets.QDoubleSpinBox()
        self.depth_spin.setRange(0.0, 1.0e4)
        self.depth_spin.setDecimals(3)
        self.depth_spin.setSuffix(" pc")
        self.depth_spin.setSpecialValueText("none (log ratio only)")
        # said before the job runs: a failing method draws the input, not the network's reasons
        self.saliency_warning = QtWidgets.QLabel("")
        self.saliency_warning.setWordWrap(True)
        self.saliency_warning.setStyleSheet("color: #a00000")
        self.saliency_warning.setVisible(False)
        if task == "classification":
            form_lower.addRow("Saliency map", self.saliency_combo)
            form_lower.addRow("", self.saliency_warning)
            self.saliency_combo.currentIndexChanged.connect(self._show_saliency_warning)
        elif task == "image_to_image":
            form_lower.addRow("Line-of-sight depth", self.depth_spin)
        self.device_combo = QtWidgets.QComboBox()
        for label, device in DEVICE_CHOICES:
            self.device_combo.addItem(label, device)
        form_lower.addRow("Device", self.device_combo)
        # A viewer's visible region travels through the dialog unchanged (and is shown).
        self.region = None
        self._region_axis = None
        self.region_label = QtWidgets.QLabel(_WHOLE_PLANE)
        if task == "classification":
            form_lower.addRow("Region", self.region_label)
        self.show_results_check = QtWidgets.QCheckBox(
            "Open the results in a viewer" if task == "classification"
            else f"Open the {'mapping' if task == 'image_to_image' else 'estimate'} in a viewer")
        self.show_results_check.setToolTip(
            "Show the map with the probability and saliency overlays when the job ends; "
            "the results are added to the data collection either way"
            if task == "classification" else
            "Show the result in an image viewer when the job ends; it is added to the data "
            "collection either way")
        self.show_results_check.setChecked(True)
        form_lower.addRow("", self.show_results_check)
        layout.addLayout(form_lower)

        self.buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        self.buttons.button(QtWidgets.QDialogButtonBox.Ok).setText(button)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        if not self.models:
            self.card_view.setHtml(f"<p>No {kind} model found. Put exported .onnx "
                                   "files in ~/.glue_turbml/models or GLUE_TURBML_MODEL_PATH."
                                   "</p>")
            self.buttons.button(QtWidgets.QDialogButtonBox.Ok).setEnabled(False)

        self.model_combo.currentIndexChanged.connect(self._show_card)
        self._show_card()
        self._update_slice_range()
        if request is not None:
            self.set_request(request)

    def _show_card(self, *_):
        index = self.model_combo.currentIndex()
        if 0 <= index < len(self.models):
            self.card_view.setHtml(_card_summary_html(self.models[index].card))
        self._show_saliency_warning()
        self._update_depth()

    def _update_depth(self):
        """Enable the depth for column-density models only: a density slice has no line of
        sight (`request` then sends no depth)."""
        from ..mapping import input_quantity

        index = self.model_combo.currentIndex()
        column = not (0 <= index < len(self.models)) \
            or input_quantity(self.models[index].card) == "column_density"
        self.depth_spin.setEnabled(column)
        self.depth_spin.setToolTip(
            "Line-of-sight depth of the cloud: the mapping then also holds the mean density "
            "in cm-3" if column else
            "Not used: this model maps a density slice, which has no line of sight")

    def _show_saliency_warning(self, *_):
        from ..saliency_maps.sanity import sanity_failure_message

        index = self.model_combo.currentIndex()
        method = self.saliency_combo.currentData()
        message = None
        if 0 <= index < len(self.models) and method not in (None, _NONE):
            message = sanity_failure_message(self.models[index].card, method, brief=True)
        self.saliency_warning.setText("" if message is None else "Warning: " + message)
        self.saliency_warning.setVisible(message is not None)

    def _update_slice_range(self, *_):
        if not self.is_cube:
            return
        axis = self.axis_combo.currentData()
        self.slice_spin.setRange(0, self.data.shape[axis] - 1)
        self.slice_spin.setEnabled(self.mode_combo.currentData() == _NONE)

    def set_request(self, request):
        """Show the choices of a request (unknown values are left as they are)."""
        def select(combo, value):
            index = combo.findData(value)
            if index >= 0:
                combo.setCurrentIndex(index)

        select(self.model_combo, request.model)
        if request.component is not None:
            select(self.component_combo, request.component)
        select(self.device_combo, request.device)
        self.show_results_check.setChecked(bool(request.show_results))
        if isinstance(request, ClassifyRequest):
            select(self.saliency_combo, request.saliency_method or _NONE)
            self.region = request.region
            self._region_axis = None if request.axis is None else request.axis % 3
            self.region_label.setText(
                _WHOLE_PLANE if request.region is None else
                "y {}:{}, x {}:{} (the viewer's visible part)".format(*request.region[0],
                                                                      *request.region[1]))
        elif getattr(request, "depth_pc", None):
            self.depth_spin.setValue(float(request.depth_pc))
        if self.is_cube:
            if request.axis is not None:
                select(self.axis_combo, request.axis % 3)
            select(self.mode_combo, request.projection or _NONE)
            if request.slice_index is not None:
                self.slice_spin.setValue(int(request.slice_index))

    def request(self):
        """The `ClassifyRequest` (or `MapRequest`, `RegressRequest`) the dialog shows."""
        options = {}
        if self.is_cube:
            projection = self.mode_combo.currentData()
            projection = None if projection == _NONE else projection
            options = {"axis": self.axis_combo.currentData(), "projection": projection,
                       "slice_index": None if projection else self.slice_spin.value()}
        if self.task == "regression":
            return RegressRequest(model=self.model_combo.currentData(),
                                  component=self.component_combo.currentData(),
                                  device=self.device_combo.currentData(),
                                  show_results=self.show_results_check.isChecked(), **options)
        if self.task == "image_to_image":
            return MapRequest(model=self.model_combo.currentData(),
                              component=self.component_combo.currentData(),
                              depth_pc=(self.depth_spin.value() or None)
                              if self.depth_spin.isEnabled() else None,
                              device=self.device_combo.currentData(),
                              show_results=self.show_results_check.isChecked(), **options)
        method = self.saliency_combo.currentData()
        region = self.region
        if self.is_cube and options["axis"] != self._region_axis:
            region = None  # the region was drawn on planes across another axis
        return ClassifyRequest(model=self.model_combo.currentData(),
                               component=self.component_combo.currentData(),
                               saliency_method=None if method == _NONE else method,
                               region=region, device=self.device_combo.currentData(),
                               show_results=self.show_results_check.isChecked(), **options)

    def sizeHint(self):
        return QtCore.QSize(520, 520)
