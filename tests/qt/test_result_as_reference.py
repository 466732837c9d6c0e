"""A result dataset shown in a viewer is never classified: its parent map is, or a message says
why not (issue 14: the Turbulence viewer classified its own probabilities)."""

import numpy as np

from tests.qt.conftest import wait_for_job
from tests.qt.viewer_helpers import (create_viewer_from_data_collection, menu_tool, settle,
                                     shown_layer_labels)

MODEL = "kolmogorov-burgers-fbm"


def _classified(glue_app, data, **options):
    """``data`` in the collection, classified with the default options and no result viewer."""
    from glue_turbml.qt.actions import start_classification
    from glue_turbml.qt.jobs import ClassifyRequest

    glue_app.data_collection.append(data)
    job = wait_for_job(start_classification(
        glue_app.data_collection, data, ClassifyRequest(model=MODEL, show_results=False,
                                                        **options), application=glue_app))
    assert job.state == "done"
    return job.datasets


def test_turbulence_viewer_created_on_the_probabilities_classifies_the_map(
        glue_app, map_256, message_boxes, monkeypatch):
    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.viewer import TurbulenceViewer

    datasets = _classified(glue_app, map_256)
    probabilities = datasets["classification"]
    labels = [data.label for data in glue_app.data_collection]
    viewer = create_viewer_from_data_collection(glue_app, probabilities, TurbulenceViewer,
                                                monkeypatch)
    # The map is the reference, with its results over it (and the map layer kept).
    assert viewer.state.reference_data is map_256
    assert shown_layer_labels(viewer)[0] == map_256.label
    assert {probabilities.label, datasets["saliency"].label} <= set(shown_layer_labels(viewer))
    assert viewer.tile_grid_artist is not None

    job = wait_for_job(menu_tool(viewer, "turbml:classify_view").activate())
    assert job.state == "done" and not message_boxes
    assert job.data is map_256
    np.testing.assert_array_equal(job._prepared.image, map_256["PRIMARY"])
    # The same datasets updated in place: nothing named "... probabilities] [... prob...".
    assert [data.label for data in glue_app.data_collection] == labels
    assert job.datasets["classification"] is probabilities
    assert probabilities.meta[META_KEY]["parent"] == map_256.label
    assert map_256.label in shown_layer_labels(viewer)


def test_choosing_a_result_as_reference_switches_back_to_its_cube_plane(glue_app, cube_data,
                                                                        message_boxes):
    from glue_turbml.qt.viewer import TurbulenceViewer

    datasets = _classified(glue_app, cube_data, axis=0, slice_index=3, saliency_method=None)
    viewer = glue_app.new_data_viewer(TurbulenceViewer, data=cube_data)
    viewer.add_data(datasets["classification"])
    settle()
    # The user picks the probabilities in the viewer's reference-data combo.
    viewer.state.reference_data = datasets["classification"]
    settle()
    assert viewer.state.reference_data is cube_data
    assert viewer.state.slices[0] == 3  # the classified plane, not plane 0
    job = wait_for_job(menu_tool(viewer, "turbml:classify_view").activate())
    assert job.state == "done" and not message_boxes
    np.testing.assert_array_equal(job._prepared.image,
                                  cube_data.get_data(cube_data.main_components[0])[3])
    assert job.datasets["classification"] is datasets["classification"]
    # The cube's own results only (the tool adds the saliency the first run left out).
    assert [data.label for data in glue_app.data_collection] == [
        cube_data.label, f"{cube_data.label} [{MODEL} probabilities]",
        f"{cube_data.label} [{MODEL} saliency]"]


def test_plain_image_viewer_of_a_result_classifies_its_parent(glue_app, map_256, message_boxes):
    from glue_qt.viewers.image import ImageViewer

    datasets = _classified(glue_app, map_256, saliency_method=None)
    viewer = glue_app.new_data_viewer(ImageViewer, data=datasets["classification"])
    job = wait_for_job(menu_tool(viewer, "turbml:classify_view").activate())
    assert job.state == "done" and not message_boxes
    assert job.data is map_256 and job._prepared.image.shape == map_256.shape
    assert job.datasets["classification"] is datasets["classification"]
    assert len(glue_app.data_collection) == 3  # the map, its probabilities and saliency
    assert viewer.state.reference_data is datasets["classification"]


def test_a_result_whose_map_is_gone_is_refused_with_a_message(glue_app, map_256,
                                                              message_boxes, monkeypatch):
    from glue_qt.viewers.image import ImageViewer

    from glue_turbml.qt.actions import LAYER_ACTION_LABEL
    from glue_turbml.qt.dialog import ClassifyDialog

    datasets = _classified(glue_app, map_256, saliency_method=None)
    probabilities = datasets["classification"]
    glue_app.data_collection.remove(map_256)
    viewer = glue_app.new_data_viewer(ImageViewer, data=probabilities)
    assert menu_tool(viewer, "turbml:classify_view").activate() is None
    ((title, text),) = message_boxes
    assert title == "Cannot use this dataset"
    assert "not a map of the sky" in text and repr(map_256.label) in text
    # The data-collection action refuses it too, before any dialog.
    monkeypatch.setattr(ClassifyDialog, "exec_",
                        lambda dialog: (_ for _ in ()).throw(AssertionError("dialog opened")))
    glue_app._layer_widget.ui.layerTree.set_selected_layers([probabilities])
    glue_app._layer_widget._actions[LAYER_ACTION_LABEL].trigger()
    assert len(message_boxes) == 2 and "its own output" in message_boxes[1][1]
    assert [data.label for data in glue_app.data_collection] == [probabilities.label]
