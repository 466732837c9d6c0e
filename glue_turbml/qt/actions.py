"""Where users start the work: the data-collection action and the image-viewer toolbar menu."""

from glue.viewers.common.tool import SimpleToolMenu, Tool
from qtpy import QtWidgets

from .controller import ClassifyJob, MapJob, RegressJob, show_error
from .dialog import ClassifyDialog
from .jobs import classification_models

__all__ = ["LAYER_ACTION_LABEL", "MAP_ACTION_LABEL", "REGRESS_ACTION_LABEL", "ICON",
           "TOOL_MENU_ID", "TOOL_IDS", "find_application", "classify_layer_action",
           "map_layer_action", "regress_layer_action", "open_classify_dialog",
           "start_classification", "start_mapping", "start_regression",
           "TurbulenceMenu", "ClassifyViewTool", "ClassifyOptionsTool", "SaliencyContourTool",
           "SaliencyColormapTool"]

LAYER_ACTION_LABEL = "Classify turbulence"
MAP_ACTION_LABEL = "U-Net mapping"
REGRESS_ACTION_LABEL = "Estimate (regression)"
#: An icon bundled with glue (a file path would break glue's start-up on other machines).
ICON = "glue_rainbow"
TOOL_MENU_ID = "turbml:menu"


def find_application(data_collection):
    """The glue application window holding ``data_collection``, or None."""
    for widget in QtWidgets.QApplication.topLevelWidgets():
        if getattr(widget, "data_collection", None) is data_collection \
                and isinstance(widget, QtWidgets.QMainWindow):
            return widget
    return None


def _start_showing_results(job):
    """Start ``job``; when it ends, its results open in a viewer (``request.show_results``)."""
    from .result_viewers import show_job_results

    job.finished.connect(lambda state: show_job_results(job))
    job.start()
    return job


def start_classification(data_collection, data, request, *, application=None, viewer=None):
    """Start a `ClassifyJob` (bad input shows a message box and returns the failed job).

    The results open in a viewer unless ``request.show_results`` is off: in ``viewer`` (the
    one the job was started from) when it shows ``data``, else in a Turbulence viewer.
    """
    return _start_showing_results(ClassifyJob(data_collection, data, request,
                                              application=application, viewer=viewer))


def start_mapping(data_collection, data, request, *, application=None):
    """Start a `MapJob` (bad input shows a message box and returns the failed job); the
    mapping opens in an image viewer unless ``request.show_results`` is off."""
    return _start_showing_results(MapJob(data_collection, data, request,
                                         application=application))


def start_regression(data_collection, data, request, *, application=None):
    """Start a `RegressJob` (bad input shows a message box and returns the failed job); the
    value map opens in an image viewer unless ``request.show_results`` is off."""
    return _start_showing_results(RegressJob(data_collection, data, request,
                                             application=application))


def open_classify_dialog(data, data_collection, *, application=None, request=None,
                         task="classification", viewer=None):
    """Ask for the model and options, then start the job.

    Parameters
    ----------
    data : glue.core.Data
    data_collection : glue.core.DataCollection
    application : QMainWindow, optional
    request : ClassifyRequest, MapRequest or RegressRequest, optional
        Initial choices.
    task : {"classification", "image_to_image", "regression"}
        Classify turbulence, run a U-Net mapping, or estimate a quantity with a regressor.
    viewer : glue image viewer, optional
        The viewer the dialog was opened from (it shows the results).

    Returns
    -------
    ClassifyJob, MapJob, RegressJob or None
        None when the user closed the dialog.
    """
    from ..inputs import InputError
    from .glue_data import is_result, not_a_map_message

    # No dialog for what cannot be analysed: say so at once.
    if data.ndim < 2:
        show_error(application, InputError(
            f"{data.label!r} is a {data.ndim}D dataset (a table or a spectrum); glue-turbml "
            "needs a 2D map or a 3D cube"))
        return None
    if is_result(data):
        show_error(application, InputError(not_a_map_message(data)))
        return None
    dialog = ClassifyDialog(data, parent=application, request=request, task=task)
    if dialog.exec_() != QtWidgets.QDialog.Accepted:
        return None
    if task == "classification":
        return start_classification(data_collection, data, dialog.request(),
                                    application=application, viewer=viewer)
    if task == "regression":
        return start_regression(data_collection, data, dialog.request(), application=application)
    return start_mapping(data_collection, data, dialog.request(), application=application)


def classify_layer_action(data, data_collection):
    """Callback of the "Classify turbulence" entry of the data collection's context menu."""
    return open_classify_dialog(data, data_collection,
                                application=find_application(data_collection))


def map_layer_action(data, data_collection):
    """Callback of the "U-Net mapping" entry of the data collection's context menu."""
    return open_classify_dialog(data, data_collection,
                                application=find_application(data_collection),
                                task="image_to_image")


def regress_layer_action(data, data_collection):
    """Callback of the "Estimate (regression)" entry of the data collection's context menu."""
    return open_classify_dialog(data, data_collection,
                                application=find_application(data_collection),
                                task="regression")


def _default_model():
    models = classification_models()
    return models[0].name if models else None


class TurbulenceMenu(SimpleToolMenu):
    """Toolbar drop-down of the image viewer gathering the glue-turbml tools."""

    tool_id = TOOL_MENU_ID
    icon = ICON
    action_text = "Turbulence"
    tool_tip = "Classify the turbulence in this view and overlay the saliency (glue-turbml)"


class _ViewerTool(Tool):
    def _application(self):
        return getattr(self.viewer.session, "application", None)


class _ViewerRequestTool(_ViewerTool):
    """A tool acting on a classification request for what the viewer shows."""

    def activate(self):
        from .viewer_context import request_for_viewer

        application = self._application()
        try:
            data, request = request_for_viewer(
                self.viewer.state, model=_default_model(), use_region=True,
                data_collection=self.viewer.session.data_collection)
        except Exception as error:  # shown to the user, never raised into the event loop
            show_error(application, error)
            return None
        return self._start(application, data, request)

    def _start(self, application, data, request):
        """Act on the request; return (and keep as ``self.job``) what was started."""
        raise NotImplementedError


class ClassifyViewTool(_ViewerRequestTool):
    """Classify what the viewer shows with the default model: the current plane of a cube, the
    whole map unless the user zoomed in (`viewer_context.view_is_zoomed`), then only the
    visible region; a result dataset shown in the viewer stands for its parent map."""

    tool_id = "turbml:classify_view"
    icon = ICON
    action_text = "Classify this view"
    tool_tip = ("Classify the map or cube plane this viewer shows: the whole map, or only the "
                "visible part when zoomed in")

    def _start(self, application, data, request):
        if request.model is None:
            from ..models import ModelNotFoundError

            show_error(application, ModelNotFoundError("no classification model is installed"))
            return None
        self.job = start_classification(self.viewer.session.data_collection, data, request,
                                        application=application, viewer=self.viewer)
        return self.job


class ClassifyOptionsTool(_ViewerRequestTool):
    """Open the Classify dialog pre-filled with what the viewer shows."""

    tool_id = "turbml:classify_dialog"
    icon = ICON
    action_text = "Classify with options…"
    tool_tip = "Choose the model, component, slice or projection"

    def _start(self, application, data, request):
        self.job = open_classify_dialog(data, self.viewer.session.data_collection,
                                        application=application, request=request,
                                        viewer=self.viewer)
        return self.job


class _SaliencyOverlayTool(_ViewerTool):
    style = None

    def activate(self):
        from .overlay import find_saliency_for, show_saliency_overlay

        application = self._application()
        reference = self.viewer.state.reference_data
        saliency = None if reference is None else find_saliency_for(
            self.viewer.session.data_collection, reference)
        try:
            if saliency is None:
                raise ValueError("no saliency map for the data in this viewer yet: run "
                                 "Classify turbulence (with a saliency method) first")
            return show_saliency_overlay(self.viewer, saliency, style=self.style)
        except ValueError as error:
            QtWidgets.QMessageBox.critical(application, "No saliency overlay", str(error))
            return None


class SaliencyContourTool(_SaliencyOverlayTool):
    """Overlay the saliency contour (the paper's one red contour) on the image."""

    tool_id = "turbml:saliency_contour"
    icon = "glue_contour"
    action_text = "Show saliency contour"
    tool_tip = "Outline the most salient structures over the image"
    style = "contour"


class SaliencyColormapTool(_SaliencyOverlayTool):
    """Overlay the smoothed saliency map in a colormap with transparency."""

    tool_id = "turbml:saliency_colormap"
    icon = "glue_rainbow"
    action_text = "Show saliency map (colormap)"
    tool_tip = "Overlay the smoothed saliency map with transparency"
    style = "colormap"


#: Subtools of the toolbar menu, in menu order.
TOOL_IDS = [ClassifyViewTool.tool_id, ClassifyOptionsTool.tool_id, SaliencyContourTool.tool_id,
            SaliencyColormapTool.tool_id]
