"""Classify turbulence inside a real GlueApplication: the data-collection action, the viewer
toolbar menu, the dialog, the result panel and Cancel."""

import numpy as np

from tests.qt.conftest import wait_for_job
from tests.qt.job_starts import trigger_recording_jobs

MODEL = "kolmogorov-burgers-fbm"


def _trigger_layer_action(application, data, monkeypatch):
    """Select ``data`` in the data collection, click our context-menu entry, return the jobs."""
    from glue_turbml.qt import controller
    from glue_turbml.qt.actions import LAYER_ACTION_LABEL

    layer_widget = application._layer_widget
    layer_widget.ui.layerTree.set_selected_layers([data])
    action = layer_widget._actions[LAYER_ACTION_LABEL]
    assert action.isEnabled()
    return trigger_recording_jobs(action, controller.ClassifyJob, monkeypatch)


def test_dialog_offers_registry_models_with_card_summary(glue_app, cube_data):
    from glue_turbml.qt.dialog import ClassifyDialog
    from glue_turbml.qt.jobs import ClassifyRequest

    glue_app.data_collection.append(cube_data)
    dialog = ClassifyDialog(cube_data, parent=glue_app)
    assert dialog.model_combo.currentData() == MODEL
    card_text = dialog.card_view.toPlainText()
    for expected in ("kolmogorov", "burgers", "Trained on", "test_accuracy"):
        assert expected in card_text
    assert dialog.is_cube and dialog.axis_combo.count() == 3
    dialog.set_request(ClassifyRequest(model=MODEL, axis=0, projection="mean",
                                       saliency_method=None))
    assert dialog.request() == ClassifyRequest(model=MODEL, component="PRIMARY", axis=0,
                                               projection="mean", saliency_method=None)
    assert not dialog.slice_spin.isEnabled()
    dialog.set_request(ClassifyRequest(model=MODEL, axis=0, slice_index=5))
    assert dialog.request().slice_index == 5 and dialog.request().projection is None
    dialog.close()


def test_layer_action_classifies_and_fills_the_result_panel(glue_app, map_256, accept_dialog,
                                                            message_boxes, monkeypatch):
    from glue.core.link_helpers import LinkSame

    from glue_turbml.qt.actions import LAYER_ACTION_LABEL
    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.panel import result_panel_for

    glue_app.data_collection.append(map_256)
    # The same action sits in the Data Manager menu of the menu bar.
    menus = {action.text().replace("&", "").strip(): action.menu()
             for action in glue_app.menuBar().actions()}
    assert LAYER_ACTION_LABEL in [action.text() for action in menus["Data Manager"].actions()]
    (job,) = _trigger_layer_action(glue_app, map_256, monkeypatch)
    wait_for_job(job)
    assert job.state == "done" and not message_boxes
    labels = [data.label for data in glue_app.data_collection]
    assert labels == [map_256.label, f"{map_256.label} [{MODEL} probabilities]",
                      f"{map_256.label} [{MODEL} saliency]"]
    assert sum(isinstance(link, LinkSame) for link in glue_app.data_collection.external_links) \
        == 4
    summary = job.datasets["classification"].meta[META_KEY]["summary"]
    rows = result_panel_for(glue_app).rows()
    assert [row[0] for row in rows] == ["kolmogorov", "burgers"]
    assert rows[1][1] == f"{summary['probability']['burgers']:.3f}"
    assert rows[1][2] == f"± {summary['probability_std']['burgers']:.3f}"
    # The same dock, updated in place, on a second run: no duplicate datasets.
    (again,) = _trigger_layer_action(glue_app, map_256, monkeypatch)
    wait_for_job(again)
    assert len(glue_app.data_collection) == 3
    assert result_panel_for(glue_app) is result_panel_for(glue_app)


def test_viewer_menu_classifies_the_current_cube_slice(glue_app, cube_data, message_boxes):
    from glue_qt.viewers.image import ImageViewer

    from glue_turbml.qt.glue_data import META_KEY

    glue_app.data_collection.append(cube_data)
    viewer = glue_app.new_data_viewer(ImageViewer, data=cube_data)
    viewer.state.slices = (3, 0, 0)
    menu = viewer.toolbar.tools["turbml:menu"]
    classify_view = next(tool for tool in menu.subtools
                         if tool.tool_id == "turbml:classify_view")
    job = wait_for_job(classify_view.activate())
    assert job.state == "done" and not message_boxes
    plane = job.datasets["classification"].meta[META_KEY]["plane"]
    assert plane["axis"] == 0 and plane["slice_index"] == 3 and plane["plane_axes"] == [1, 2]
    expected = cube_data.get_data(cube_data.main_components[0])[3]
    np.testing.assert_array_equal(job._prepared.image, expected)
    # With the saliency shown in the viewer, move the slider and classify again: the same
    # datasets are updated, and the viewer stays on the plane just classified (glue itself
    # would jump back to plane 0 when a layer's values change).
    tools = {tool.tool_id: tool for tool in menu.subtools}
    tools["turbml:saliency_contour"].activate()
    viewer.state.slices = (1, 0, 0)
    again = wait_for_job(classify_view.activate())
    assert again.datasets["classification"] is job.datasets["classification"]
    assert job.datasets["classification"].meta[META_KEY]["plane"]["slice_index"] == 1
    assert viewer.state.slices == (1, 0, 0)
    assert len(glue_app.data_collection) == 3


def test_cancel_stops_the_worker_and_adds_nothing(glue_app, tmp_path, message_boxes):
    from qtpy import QtWidgets

    from glue_turbml.qt.actions import start_classification
    from glue_turbml.qt.jobs import ClassifyRequest
    from tests.qt.conftest import load_glue_data, write_fits_map

    values = np.random.default_rng(5).lognormal(size=(1024, 1024)).astype(np.float32)
    big_map = load_glue_data(write_fits_map(tmp_path / "big.fits", values))
    glue_app.data_collection.append(big_map)
    job = start_classification(glue_app.data_collection, big_map,
                               ClassifyRequest(model=MODEL), application=glue_app)
    assert job.state == "running"
    # Press the progress dialog's Cancel button, as a user would.
    cancel_button = job.progress_dialog.findChild(QtWidgets.QPushButton)
    cancel_button.click()
    wait_for_job(job)
    assert job.state == "cancelled"
    assert not message_boxes
    assert [data.label for data in glue_app.data_collection] == [big_map.label]
    assert job.progress_dialog is None
