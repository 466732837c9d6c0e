"""The turbulence viewer: glue's image viewer with the saliency contour, the tile probability
grid, region re-classification from ROIs/subsets and results that follow a cube's slider."""

import numpy as np
from glue.core.hub import HubListener
from glue.core.message import (DataCollectionAddMessage, NumericalDataChangedMessage,
                               SubsetCreateMessage, SubsetUpdateMessage)
from glue_qt.viewers.image import ImageViewer
from qtpy import QtCore, QtWidgets

from .glue_data import (META_KEY, RESULT_KINDS, is_result, region_text, result_parent,
                        result_summary)
from .jobs import ClassifyRequest, JobCancelled, PreparedJob, prepare_job, run_job
from .messages import describe_error

__all__ = ["TurbulenceViewer", "region_job_input", "latest_result"]

#: Wait this long after the slider stops before classifying the new plane.
SLICE_DEBOUNCE_MS = 250


def latest_result(data_collection, data, kind):
    """The newest plugin result of ``kind`` whose parent is ``data``, or None."""
    found = None
    for candidate in data_collection:
        info = result_summary(candidate)
        if isinstance(info, dict) and info.get("kind") == kind \
                and info.get("parent_uuid") == getattr(data, "uuid", None):
            found = candidate
    return found


def region_job_input(data, subset, plane_request):
    """The part of the displayed plane inside a subset, as a `PreparedJob` (main thread).

    The subset's bounding box is cut out of the plane and pixels outside the subset become
    NaN, so the classifier analyses only tiles mostly inside the region.

    Parameters
    ----------
    data : glue.core.Data
    subset : glue.core.Subset
        A subset of ``data`` (e.g. from a rectangle or lasso ROI).
    plane_request : ClassifyRequest
        The plane the viewer shows.

    Returns
    -------
    PreparedJob or None
        None for an empty subset.
    """
    prepared = prepare_job(data, plane_request)
    mask = np.asarray(subset.to_mask(), dtype=bool)
    if mask.ndim == 3:
        mask = np.take(mask, plane_request.slice_index, axis=prepared.plane["axis"])
    if not mask.any():
        return None
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1))
    region = np.array(prepared.image[box], dtype=np.float64)
    region[~mask[box]] = np.nan
    plane = dict(prepared.plane, region_origin_yx=[int(rows[0]), int(columns[0])])
    return PreparedJob(image=region, wcs=None, plane=plane,
                       input_name=f"{prepared.input_name} inside {subset.label!r}")


class _HubWatcher(HubListener):
    """Forwards the hub messages the viewer reacts to (a separate subscriber, so the viewer's
    own glue subscriptions for the same message types stay in place)."""

    def __init__(self, viewer, hub):
        self.viewer = viewer
        self.hub = hub
        hub.subscribe(self, SubsetCreateMessage, handler=viewer._on_subset_message)
        hub.subscribe(self, SubsetUpdateMessage, handler=viewer._on_subset_message)
        hub.subscribe(self, DataCollectionAddMessage, handler=viewer._on_data_message)
        hub.subscribe(self, NumericalDataChangedMessage, handler=viewer._on_data_message)

    def stop(self):
        self.hub.unsubscribe_all(self)


class _RegionJob(QtCore.QObject):
    """Classifies one region in a worker thread and hands the summary to the viewer."""

    finished = QtCore.Signal(str)

    def __init__(self, prepared, request):
        super().__init__()
        from glue_qt.utils import Worker

        self.prepared = prepared
        self.state = "running"
        self.summary = None
        self.message = None
        self._worker = Worker(run_job, prepared, request)
        self._worker.result.connect(self._on_result)
        self._worker.error.connect(self._on_error)

    def start(self):
        self._worker.start()

    def wait(self, timeout_ms=60000):
        self._worker.wait(timeout_ms)
        QtCore.QCoreApplication.processEvents()

    def _on_result(self, outcome):
        self.summary = outcome.classification.summary()
        self.state = "done"
        self.finished.emit(self.state)

    def _on_error(self, exc_info):
        error = exc_info[1]
        self.state = "cancelled" if isinstance(error, JobCancelled) else "failed"
        self.message = describe_error(error)[1].split("\n\n")[0]
        self.finished.emit(self.state)


def _format_probabilities(summary):
    return ", ".join(f"P({name}) = {p:.3f} ± {summary['probability_std'][name]:.3f}"
                     for name, p in summary["probability"].items())


class TurbulenceViewer(ImageViewer):
    """An image viewer for turbulence classification results.

    Shows the reference data in grey with the plugin's results of that data: the per-pixel
    probability of the first class (blended from the tiles) under the tile grid, and the
    saliency contour. Selecting a region (any ROI tool, or a subset of the data) classifies
    just that region and shows the answer in the readout; for cubes, moving the slider
    classifies the new plane and updates the results in place. Everything else (layers,
    subsets, saving) is glue's image viewer.
    """

    LABEL = "Turbulence viewer"

    def __init__(self, session, parent=None, state=None):
        super().__init__(session, parent=parent, state=state)
        self.readout = QtWidgets.QLabel("Classify the data (Turbulence menu) to see results")
        self.readout.setWordWrap(False)
        self.readout.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        bar = QtWidgets.QToolBar("Turbulence readout")
        bar.setObjectName("turbml_readout")
        bar.addWidget(self.readout)
        # DataViewer.addToolBar takes no area; the readout belongs under the plot.
        QtWidgets.QMainWindow.addToolBar(self, QtCore.Qt.BottomToolBarArea, bar)
        self.follow_slices = True
        self.tile_grid_artist = None
        self.domain_artist = None
        self.region_results = {}
        self.region_jobs = {}
        self._running_region_jobs = set()
        self.slice_job = None
        self._refreshing = False
        self._slice_timer = QtCore.QTimer(self)
        self._slice_timer.setSingleShot(True)
        self._slice_timer.setInterval(SLICE_DEBOUNCE_MS)
        self._slice_timer.timeout.connect(self.classify_current_plane)
        # glue's notifications (a new reference, new or updated results) are handled once
        # control is back in the event loop: adding the result layers from inside glue's own
        # add_data breaks its layer list (AssertionError), and a result added to the
        # collection is linked to its map only after its add message. Several notifications
        # in a row give one refresh.
        self._refresh_timer = QtCore.QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self._show_reference)
        # The reference whose results are shown: slider moves glue makes while setting up a
        # new reference are not the user's and classify nothing.
        self._shown_reference = None
        self.state.add_callback("slices", self._on_slices_changed)
        self.state.add_callback("reference_data", self._on_reference_changed)
        self._hub_watcher = _HubWatcher(self, session.hub)

    # Results of the reference data -------------------------------------------------------
    def _results(self):
        data = self.state.reference_data
        if data is None:
            return None, None
        data_collection = self.session.data_collection
        return (latest_result(data_collection, data, "classification"),
                latest_result(data_collection, data, "saliency"))

    def refresh(self):
        """Show the reference data's latest results (layers, tile grid, readout)."""
        from .overlay import show_probability_overlay, show_saliency_overlay

        if self._refreshing:
            return
        self._refreshing = True
        try:
            classification, saliency = self._results()
            if classification is None:
                self._draw_tile_grid(None)
                return
            if show_probability_overlay(self, classification) is None:
                self._draw_tile_grid(None)
                self.readout.setText(f"{classification.label!r} cannot be shown over "
                                     f"{self.state.reference_data.label!r} (not linked)")
                return
            if saliency is not None:
                try:
                    show_saliency_overlay(self, saliency, style="contour")
                except ValueError:  # not linked: the probabilities still show
                    pass
            self._draw_tile_grid(classification)
            self._update_readout()
        finally:
            self._refreshing = False

    # Never a result as the reference -------------------------------------------------------
    def add_data(self, data):
        """Add ``data``; a plugin result brings its parent map, which becomes the reference.

        The viewer classifies and explains its reference data, so a probability or saliency
        dataset given first (e.g. by "Create new viewer" on it) must not become the reference:
        the model would classify its own output.
        """
        parent = self._parent_map(data)
        if parent is None or self.state.reference_data is not None:
            return super().add_data(data)
        # The map first, so glue makes it the reference; its results then follow.
        super().add_data(parent)
        added = super().add_data(data)
        self.show_plane(result_summary(data)["plane"])
        return added

    def _parent_map(self, data):
        """The map a classification, saliency or mapping result is a plane of, else None.

        Emission-line maps are not planes of their cube: they stay (and cannot be classified).
        """
        if not is_result(data) or result_summary(data)["kind"] not in RESULT_KINDS:
            return None
        return result_parent(self.session.data_collection, data)

    def _layer_state(self, data):
        return next((state for state in self.state.layers if state.layer is data), None)

    def _draw_tile_grid(self, classification):
        from matplotlib.collections import LineCollection

        if self.tile_grid_artist is not None:
            self.tile_grid_artist.remove()
            self.tile_grid_artist = None
        if self.domain_artist is not None:
            self.domain_artist.remove()
            self.domain_artist = None
        if classification is None:
            return
        info = classification.meta[META_KEY]
        origins = np.asarray(info["summary"]["tiles"]["origins_yx"], dtype=float)
        if origins.size == 0:
            return
        ny, nx = classification.shape
        plane_axes = info["plane"]["plane_axes"]
        # Tile borders in the plane's (y, x) pixels, clipped to the map.
        ys = np.unique(np.clip(origins[:, 0], 0, ny)) - 0.5
        xs = np.unique(np.clip(origins[:, 1], 0, nx)) - 0.5
        segments = [[(x, -0.5), (x, ny - 0.5)] for x in xs] + \
            [[(-0.5, y), (nx - 0.5, y)] for y in ys]
        if self.state.x_att is not None and self.state.x_att.axis == plane_axes[0]:
            segments = [[(y, x) for x, y in segment] for segment in segments]  # transposed
        self.tile_grid_artist = LineCollection(segments, colors="white", linewidths=0.6,
                                               alpha=0.6, zorder=10)
        self.axes.add_collection(self.tile_grid_artist)
        self._hatch_outside_domain(info, origins, (ny, nx), transposed=(
            self.state.x_att is not None and self.state.x_att.axis == plane_axes[0]))
        self.axes.figure.canvas.draw_idle()

    def _hatch_outside_domain(self, info, origins, shape, *, transposed):
        """Grey hatching over the tiles the domain check flagged (none without a record)."""
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle

        domain = info["summary"].get("domain") or {}
        scores = np.array([np.nan if score is None else score
                           for score in domain.get("tile_scores", [])], dtype=float)
        size = info["summary"]["tile_size"]
        with np.errstate(invalid="ignore"):
            outside = np.flatnonzero(scores > 1.0)
        if outside.size == 0:
            return
        ny, nx = shape
        boxes = []
        for y0, x0 in origins[outside]:
            # tiles reach past the map edges (reflected pixels): hatch only the map part
            y_start, y_stop = max(y0, 0), min(y0 + size, ny)
            x_start, x_stop = max(x0, 0), min(x0 + size, nx)
            corner, width, height = (x_start - 0.5, y_start - 0.5), x_stop - x_start, \
                y_stop - y_start
            if transposed:
                corner, width, height = (corner[1], corner[0]), height, width
            boxes.append(Rectangle(corner, width, height))
        self.domain_artist = PatchCollection(boxes, facecolor=(0.5, 0.5, 0.5, 0.25),
                                             edgecolor=(0.3, 0.3, 0.3, 0.8), hatch="//",
                                             linewidth=0.0, zorder=9)
        self.axes.add_collection(self.domain_artist)

    def _update_readout(self):
        classification, _ = self._results()
        lines = []
        if classification is not None:
            summary = classification.meta[META_KEY]["summary"]
            lines.append(f"{summary['input']}: {summary['predicted_class']} "
                         f"({_format_probabilities(summary)})")
            lines.append(f"classified {region_text(classification.meta[META_KEY]['plane'])}")
            domain = summary.get("domain") or {}
            if domain and domain["verdict"] != "inside":
                lines.append(f"{domain['verdict'].upper()} the training domain: "
                             f"{domain['n_tiles_outside']} of {domain['n_tiles_analysed']} "
                             "tiles (hatched)")
        for label, entry in self.region_results.items():
            if entry["state"] == "done":
                summary = entry["summary"]
                lines.append(f"region {label}: {summary['predicted_class']} "
                             f"({_format_probabilities(summary)}; {summary['n_tiles_used']} "
                             "tiles)")
            else:
                lines.append(f"region {label}: {entry['message']}")
        self.readout.setText("\n".join(lines) or "no classification yet")

    # Reacting to glue -----------------------------------------------------------------
    def _on_reference_changed(self, *_):
        self.region_results.clear()
        self._shown_reference = None
        self._slice_timer.stop()
        self._refresh_timer.start()

    def _show_reference(self):
        """Show the reference's results; a new one first shows the plane that was classified,
        and a result chosen as reference gives way to its map."""
        reference = self.state.reference_data
        if reference is not None and reference is self._shown_reference:
            self.refresh()  # new or updated results: the slider stays where the user put it
            return
        parent = None if reference is None else self._parent_map(reference)
        if parent is not None:
            if self._layer_state(parent) is None:
                super().add_data(parent)
            self.state.reference_data = parent  # calls _on_reference_changed again
            self.show_plane(result_summary(reference)["plane"])
            return
        self._shown_reference = reference
        classification, _ = self._results()
        if classification is None:
            self.refresh()
            return
        # glue puts a new reference's slider on plane 0: show the plane that was classified
        # instead of classifying plane 0 over it.
        self.show_plane(classification.meta[META_KEY]["plane"])

    def _on_data_message(self, message):
        data = getattr(message, "data", None)
        if data is not None and isinstance(result_summary(data), dict) \
                and result_summary(data).get("parent_uuid") \
                == getattr(self.state.reference_data, "uuid", None):
            self._refresh_timer.start()

    def _on_subset_message(self, message):
        subset = message.subset
        if subset.data is not self.state.reference_data or subset.subset_state is None:
            return
        if getattr(message, "attribute", None) not in (None, "subset_state"):
            return  # a style change: nothing to classify
        self.classify_region(subset)

    def _update_data_numerical(self, message=None, **kwargs):
        # glue's image viewer resets the slider to plane 0 whenever any layer's values change;
        # our results change on every slider move, so keep the plane the user chose.
        reference, slices = self.state.reference_data, self.state.slices
        super()._update_data_numerical(message, **kwargs)
        if reference is None or getattr(message, "data", None) is reference \
                or self.state.reference_data is not reference or self.state.slices == slices:
            return
        self._restoring_slices = True
        try:
            self.state.slices = slices
        finally:
            self._restoring_slices = False
        self._slice_timer.stop()

    def _on_slices_changed(self, *_):
        data = self.state.reference_data
        if getattr(self, "_restoring_slices", False):
            return
        if self.follow_slices and data is not None and data.ndim == 3 \
                and data is self._shown_reference and self._results()[0] is not None:
            self._slice_timer.start()

    def _plane_request(self, model, saliency_method=None):
        from .viewer_context import request_for_viewer

        return request_for_viewer(self.state, model=model, saliency_method=saliency_method,
                                  data_collection=self.session.data_collection)[1]

    def _model_name(self):
        classification, _ = self._results()
        if classification is not None:
            return classification.meta[META_KEY]["summary"]["model"]
        from .jobs import classification_models

        models = classification_models()
        return models[0].name if models else None

    def show_plane(self, plane):
        """Show a cube's classified plane (a result's ``plane``) without classifying again,
        then the results (`refresh`).

        Parameters
        ----------
        plane : dict
            ``axis``, ``slice_index`` and ``plane_axes`` as stored in a result's meta; for maps
            and projections only the screen axes can change.
        """
        data = self.state.reference_data
        if data is None or data.ndim != 3 or plane.get("axis") is None:
            self.refresh()
            return
        y_axis, x_axis = plane["plane_axes"]
        self._restoring_slices = True  # a programmatic move, not the user's: no new job
        try:
            if (self.state.y_att.axis, self.state.x_att.axis) != (y_axis, x_axis):
                self.state.x_att = data.pixel_component_ids[x_axis]
                self.state.y_att = data.pixel_component_ids[y_axis]
            if plane.get("slice_index") is not None:
                slices = list(self.state.slices)
                slices[plane["axis"]] = int(plane["slice_index"])
                self.state.slices = tuple(slices)
        finally:
            self._restoring_slices = False
        self._slice_timer.stop()  # a slider move glue made on the way needs no classification
        self.refresh()

    # Jobs -----------------------------------------------------------------------------------
    def classify_current_plane(self):
        """Classify the plane on screen again (cubes), updating the results in place.

        Returns
        -------
        glue_turbml.qt.controller.ClassifyJob or None
        """
        from .controller import ClassifyJob

        _, saliency = self._results()
        method = saliency.meta[META_KEY]["summary"]["method"] if saliency is not None \
            else None
        request = self._plane_request(self._model_name(), saliency_method=method)
        # Started directly, not through `actions`: this viewer shows the results itself.
        self.slice_job = ClassifyJob(
            self.session.data_collection, self.state.reference_data, request,
            application=getattr(self.session, "application", None), viewer=self)
        self.slice_job.start()
        return self.slice_job

    def classify_region(self, subset):
        """Classify the part of the displayed plane inside ``subset``; the readout shows it.

        Returns
        -------
        _RegionJob or None
            None for an empty subset or when no model is installed.
        """
        model = self._model_name()
        if model is None:
            return None
        request = ClassifyRequest(model=model, saliency_method=None)
        plane_request = self._plane_request(model)
        try:
            prepared = region_job_input(self.state.reference_data, subset, plane_request)
        except Exception as error:  # shown in the readout, never raised into the event loop
            self.region_results[subset.label] = {"state": "failed",
                                                 "message": describe_error(error)[1]}
            self._update_readout()
            return None
        if prepared is None:
            return None
        job = _RegionJob(prepared, request)
        self.region_jobs[subset.label] = job
        # A newer job may replace this one in region_jobs: hold it until its thread ends.
        self._running_region_jobs.add(job)
        job._worker.finished.connect(lambda: self._running_region_jobs.discard(job))
        self.region_results[subset.label] = {"state": "running", "message": "classifying…"}
        job.finished.connect(lambda state, label=subset.label: self._region_done(label, job))
        self._update_readout()
        job.start()
        return job

    def _region_done(self, label, job):
        self.region_results[label] = {"state": job.state, "summary": job.summary,
                                      "message": job.message}
        self._update_readout()

    def closeEvent(self, *args):
        self._refresh_timer.stop()
        self._slice_timer.stop()
        self._hub_watcher.stop()
        super().closeEvent(*args)
