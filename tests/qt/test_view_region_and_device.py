"""The viewer's "Classify this view" on a zoomed-in view, and the dialog's device choice, in a
real GlueApplication."""

import numpy as np
import pytest

from tests.qt.conftest import wait_for_job
from tests.qt.job_starts import trigger_recording_jobs

MODEL = "kolmogorov-burgers-fbm"


def _zoom(viewer, *, y, x):
    """Show pixels ``y[0]:y[1]``, ``x[0]:x[1]`` (pixel i covers i - 0.5 .. i + 0.5)."""
    # Free aspect: with equal aspect glue widens one pair of limits to fill the axes.
    viewer.state.aspect = "auto"
    viewer.state.x_min, viewer.state.x_max = x[0] - 0.5, x[1] - 0.5
    viewer.state.y_min, viewer.state.y_max = y[0] - 0.5, y[1] - 0.5


def _classify_view_tool(viewer):
    menu = viewer.toolbar.tools["turbml:menu"]
    return next(tool for tool in menu.subtools if tool.tool_id == "turbml:classify_view")


@pytest.fixture
def map_viewer(glue_app, map_256):
    from glue_qt.viewers.image import ImageViewer

    glue_app.data_collection.append(map_256)
    return glue_app.new_data_viewer(ImageViewer, data=map_256)


def test_zoomed_view_classifies_only_the_visible_region(glue_app, map_256, map_viewer,
                                                        message_boxes):
    from glue.core.link_helpers import LinkSame

    import glue_turbml
    from glue_turbml.qt.glue_data import META_KEY

    original = np.array(map_256["PRIMARY"], copy=True)
    _zoom(map_viewer, y=(10, 170), x=(40, 220))
    job = wait_for_job(_classify_view_tool(map_viewer).activate())
    assert job.state == "done" and not message_boxes

    probabilities = job.datasets["classification"]
    saliency = job.datasets["saliency"]
    info = probabilities.meta[META_KEY]
    assert info["plane"]["region"] == {"y": [10, 170], "x": [40, 220]}
    assert "region y 10:170, x 40:220" in info["summary"]["input"]
    # Full-size results on the parent's own WCS: the plain pixel links put them in place.
    inside = np.zeros(map_256.shape, dtype=bool)
    inside[10:170, 40:220] = True
    for result, component in ((probabilities, "p_burgers"), (saliency, "saliency_guided")):
        assert result.shape == map_256.shape
        assert result.coords.wcs.compare(map_256.coords.wcs)
        finite = np.isfinite(result[component])
        assert not finite[~inside].any()
        assert finite[inside].all()
    assert sum(isinstance(link, LinkSame) for link in glue_app.data_collection.external_links) \
        == 4
    # The same numbers as the Python API on the cut-out.
    expected = glue_turbml.classify(original[10:170, 40:220], model=MODEL)
    np.testing.assert_allclose(info["summary"]["probability"]["burgers"],
                               expected.probability[expected.class_names.index("burgers")],
                               rtol=1e-5)
    np.testing.assert_array_equal(map_256["PRIMARY"], original)

    # Zoomed out again: the whole plane, updating the same datasets in place.
    map_viewer.state.reset_limits()
    again = wait_for_job(_classify_view_tool(map_viewer).activate())
    assert again.datasets["classification"] is probabilities
    assert "region" not in probabilities.meta[META_KEY]["plane"]
    assert np.isfinite(probabilities["p_burgers"]).all()
    assert len(glue_app.data_collection) == 3


def test_view_smaller_than_a_tile_asks_to_zoom_out(glue_app, map_256, map_viewer,
                                                   message_boxes):
    _zoom(map_viewer, y=(100, 200), x=(20, 250))
    job = wait_for_job(_classify_view_tool(map_viewer).activate())
    assert job.state == "failed"
    ((title, text),) = message_boxes
    assert title == "Cannot use this dataset"
    assert "100x230 pixels" in text and "128x128-pixel tile" in text and "zoom out" in text
    assert [data.label for data in glue_app.data_collection] == [map_256.label]


def test_view_panned_off_the_data_says_so(glue_app, map_256, map_viewer, message_boxes):
    _zoom(map_viewer, y=(300, 500), x=(40, 220))
    assert _classify_view_tool(map_viewer).activate() is None
    ((title, text),) = message_boxes
    assert "shows none of" in text and "home button" in text
    assert [data.label for data in glue_app.data_collection] == [map_256.label]


def test_options_dialog_keeps_the_visible_region_and_offers_devices(glue_app, map_256,
                                                                    map_viewer, accept_dialog,
                                                                    message_boxes):
    from glue_turbml.qt.dialog import DEVICE_CHOICES

    seen = []

    def check(dialog):
        assert [dialog.device_combo.itemData(index)
                for index in range(dialog.device_combo.count())] \
            == [device for _, device in DEVICE_CHOICES] == ["auto", "cpu", "cuda"]
        assert "y 0:200, x 56:256" in dialog.region_label.text()
        dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
        dialog.saliency_combo.setCurrentIndex(dialog.saliency_combo.findData("none"))
        seen.append(dialog.request())

    accept_dialog.append(check)
    _zoom(map_viewer, y=(-30, 200), x=(56, 300))
    menu = map_viewer.toolbar.tools["turbml:menu"]
    tool = next(tool for tool in menu.subtools if tool.tool_id == "turbml:classify_dialog")
    job = wait_for_job(tool.activate())
    assert job.state == "done" and not message_boxes
    (request,) = seen
    assert request.region == ((0, 200), (56, 256)) and request.device == "cpu"
    summary = job.datasets["classification"].meta["glue_turbml"]["summary"]
    assert summary["provider"].startswith("CPUExecutionProvider")


def _cuda_error():
    """The runtime's own answer to device='cuda' here: its DeviceError, or None if CUDA runs."""
    from glue_turbml.models import DeviceError, open_model

    try:
        open_model(MODEL, device="cuda")
    except DeviceError as error:
        return error
    return None


def test_cuda_choice_without_a_usable_gpu_shows_a_message_and_adds_nothing(
        glue_app, map_256, accept_dialog, message_boxes, monkeypatch):
    from glue_turbml.qt import controller
    from glue_turbml.qt.actions import LAYER_ACTION_LABEL

    glue_app.data_collection.append(map_256)
    original = np.array(map_256["PRIMARY"], copy=True)
    accept_dialog.append(lambda dialog: dialog.device_combo.setCurrentIndex(
        dialog.device_combo.findData("cuda")))
    glue_app._layer_widget.ui.layerTree.set_selected_layers([map_256])
    (job,) = trigger_recording_jobs(glue_app._layer_widget._actions[LAYER_ACTION_LABEL],
                                    controller.ClassifyJob, monkeypatch)
    wait_for_job(job)
    assert job.request.device == "cuda"
    error = _cuda_error()
    if error is None:
        # A machine where onnxruntime's CUDA provider really runs: the job uses it.
        assert job.state == "done" and not message_boxes
        summary = job.datasets["classification"].meta["glue_turbml"]["summary"]
        assert summary["provider"].startswith("CUDAExecutionProvider")
        return
    assert job.state == "failed"
    ((title, text),) = message_boxes
    assert title == "Cannot use this device"
    assert "device='cuda' was requested" in text and "device='cpu'" in text
    assert "device='auto'" in text
    assert [data.label for data in glue_app.data_collection] == [map_256.label]
    np.testing.assert_array_equal(map_256["PRIMARY"], original)


def test_zoomed_cube_view_classifies_the_visible_part_of_the_slice(glue_app, cube_data,
                                                                   message_boxes):
    from glue_qt.viewers.image import ImageViewer

    from glue_turbml.qt.glue_data import META_KEY

    glue_app.data_collection.append(cube_data)
    viewer = glue_app.new_data_viewer(ImageViewer, data=cube_data)
    viewer.state.slices = (2, 0, 0)
    # Swap the screen axes: x shows numpy axis 1, y numpy axis 2 (a transposed view).
    viewer.state.x_att, viewer.state.y_att = (cube_data.pixel_component_ids[1],
                                              cube_data.pixel_component_ids[2])
    _zoom(viewer, y=(20, 165), x=(5, 140))
    job = wait_for_job(_classify_view_tool(viewer).activate())
    assert job.state == "done" and not message_boxes
    plane = job.datasets["classification"].meta[META_KEY]["plane"]
    # The region is given along the cube's axes 1 (y of the plane) and 2 (x of the plane).
    assert plane["slice_index"] == 2 and plane["plane_axes"] == [1, 2]
    assert plane["region"] == {"y": [5, 140], "x": [20, 165]}
    expected = cube_data.get_data(cube_data.main_components[0])[2, 5:140, 20:165]
    np.testing.assert_array_equal(job._prepared.image, expected)
    probabilities = job.datasets["classification"]["p_burgers"]
    assert probabilities.shape == cube_data.shape[1:]
    finite = np.isfinite(probabilities)
    assert finite[5:140, 20:165].all() and finite.sum() == 135 * 145
    # The result's celestial WCS is the whole slice's, not the cut-out's.
    assert job.datasets["classification"].coords.wcs.compare(
        cube_data.coords.celestial.wcs)


def test_a_region_outside_the_plane_is_refused_before_any_work(map_256):
    from glue_turbml.inputs import InputError
    from glue_turbml.qt.jobs import ClassifyRequest, prepare_job

    with pytest.raises(InputError, match="not inside the 256x256 plane"):
        prepare_job(map_256, ClassifyRequest(model=MODEL, region=((0, 300), (0, 128))))
    whole = prepare_job(map_256, ClassifyRequest(model=MODEL, region=((0, 256), (0, 256))))
    assert whole.region is None and "region" not in whole.plane
