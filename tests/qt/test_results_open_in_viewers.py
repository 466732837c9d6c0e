"""Finished jobs show their results in a viewer unless the user turns that off (issue 14: the
results sat in the data collection until dragged into a viewer)."""

import numpy as np

from tests.qt.conftest import wait_for_job
from tests.qt.job_starts import trigger_recording_jobs
from tests.qt.viewer_helpers import menu_tool, settle, shown_layer_labels

MODEL = "kolmogorov-burgers-fbm"


def _all_viewers(application):
    return [viewer for tab in application.viewers for viewer in tab]


def _classify_from_data_collection(application, data, monkeypatch):
    from glue_turbml.qt import controller
    from glue_turbml.qt.actions import LAYER_ACTION_LABEL

    application._layer_widget.ui.layerTree.set_selected_layers([data])
    (job,) = trigger_recording_jobs(application._layer_widget._actions[LAYER_ACTION_LABEL],
                                    controller.ClassifyJob, monkeypatch)
    wait_for_job(job)
    settle()
    return job


def _layer(viewer, data):
    return next(state for state in viewer.state.layers if state.layer is data)


def test_classification_opens_the_map_with_its_overlays(glue_app, map_256, accept_dialog,
                                                        message_boxes, monkeypatch):
    from glue_turbml.qt.viewer import TurbulenceViewer

    glue_app.data_collection.append(map_256)
    defaults = []
    accept_dialog.append(lambda dialog: defaults.append(dialog.show_results_check.isChecked()))
    job = _classify_from_data_collection(glue_app, map_256, monkeypatch)
    assert job.state == "done" and not message_boxes and defaults == [True]
    (viewer,) = _all_viewers(glue_app)
    assert viewer is job.result_viewer and isinstance(viewer, TurbulenceViewer)
    assert viewer.state.reference_data is map_256
    probabilities = _layer(viewer, job.datasets["classification"])
    assert probabilities.attribute.label == "p_kolmogorov" and probabilities.cmap.name == "RdBu"
    assert _layer(viewer, job.datasets["saliency"]).attribute.label == "saliency_outline"
    assert "classified the whole 256x256 map" in viewer.readout.text()
    # Running again updates that viewer rather than opening another.
    again = _classify_from_data_collection(glue_app, map_256, monkeypatch)
    assert again.result_viewer is viewer and len(_all_viewers(glue_app)) == 1


def test_unticking_the_option_only_adds_the_datasets(glue_app, map_256, accept_dialog,
                                                     message_boxes, monkeypatch):
    glue_app.data_collection.append(map_256)
    accept_dialog.append(lambda dialog: dialog.show_results_check.setChecked(False))
    job = _classify_from_data_collection(glue_app, map_256, monkeypatch)
    assert job.state == "done" and not message_boxes
    assert job.request.show_results is False and job.result_viewer is None
    assert _all_viewers(glue_app) == []
    assert len(glue_app.data_collection) == 3


def test_classify_this_view_shows_the_results_in_the_same_viewer(glue_app, map_256,
                                                                 message_boxes):
    from glue_qt.viewers.image import ImageViewer

    glue_app.data_collection.append(map_256)
    viewer = glue_app.new_data_viewer(ImageViewer, data=map_256)
    job = wait_for_job(menu_tool(viewer, "turbml:classify_view").activate())
    settle()
    assert job.state == "done" and not message_boxes
    assert job.result_viewer is viewer and _all_viewers(glue_app) == [viewer]
    assert shown_layer_labels(viewer) == [map_256.label, job.datasets["classification"].label,
                                          job.datasets["saliency"].label]
    probabilities = _layer(viewer, job.datasets["classification"])
    assert probabilities.alpha == 0.35 and (probabilities.v_min, probabilities.v_max) == (0, 1)
    assert viewer.state.reference_data is map_256


def test_cube_plane_opens_on_the_classified_plane(glue_app, cube_data, message_boxes):
    from glue_turbml.qt.actions import start_classification
    from glue_turbml.qt.jobs import ClassifyRequest

    glue_app.data_collection.append(cube_data)
    job = wait_for_job(start_classification(
        glue_app.data_collection, cube_data,
        ClassifyRequest(model=MODEL, axis=0, slice_index=4, saliency_method=None),
        application=glue_app))
    settle()
    assert job.state == "done" and not message_boxes
    viewer = job.result_viewer
    assert viewer.state.reference_data is cube_data and viewer.state.slices[0] == 4
    assert viewer.slice_job is None  # showing the plane classified nothing again
    assert "[axis 0 = 4]" in viewer.readout.text()


def test_mapping_opens_in_an_image_viewer(glue_app, map_256, tmp_path, message_boxes,
                                          monkeypatch):
    from glue_turbml.qt.actions import start_mapping
    from glue_turbml.qt.jobs import MapRequest
    from tests.qt.unet_builder import write_tiny_mapping_model

    folder = tmp_path / "models"
    folder.mkdir()
    write_tiny_mapping_model(folder)
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(folder))
    glue_app.data_collection.append(map_256)
    job = wait_for_job(start_mapping(glue_app.data_collection, map_256,
                                     MapRequest(model="tiny-mapping", depth_pc=1.0),
                                     application=glue_app))
    assert job.state == "done" and not message_boxes
    mapped = job.datasets["mapping"]
    (viewer,) = _all_viewers(glue_app)
    assert viewer is job.result_viewer and viewer.state.reference_data is mapped
    layer = _layer(viewer, mapped)
    assert layer.attribute.label == "density"
    np.testing.assert_array_equal(np.isfinite(mapped["density"]), True)
