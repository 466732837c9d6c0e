"""The turbulence viewer: results on the image, region re-classification, cube slices."""

import time

import numpy as np

from tests.qt.conftest import load_glue_data, wait_for_job

MODEL = "kolmogorov-burgers-fbm"


def _settle(seconds=0.1):
    from qtpy import QtCore

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QtCore.QCoreApplication.processEvents()
        time.sleep(0.01)


def _classified_viewer(glue_app, data, request):
    from glue_turbml.qt.actions import start_classification
    from glue_turbml.qt.viewer import TurbulenceViewer

    glue_app.data_collection.append(data)
    viewer = glue_app.new_data_viewer(TurbulenceViewer, data=data)
    job = wait_for_job(start_classification(glue_app.data_collection, data, request,
                                            application=glue_app))
    assert job.state == "done"
    _settle()
    return viewer, job


def _wait_region(viewer, label):
    viewer.region_jobs[label].wait()
    _settle()
    return viewer.region_results[label]


def test_viewer_shows_results_and_classifies_selected_regions(glue_app, message_boxes):
    from glue.core.roi import RectangularROI

    from glue_turbml.demo import DEMO_MAP
    from glue_turbml.qt.jobs import ClassifyRequest

    demo = load_glue_data(DEMO_MAP)  # Kolmogorov-like left half, Burgers-like right half
    viewer, job = _classified_viewer(glue_app, demo, ClassifyRequest(model=MODEL))
    states = {state.layer.label: state for state in viewer.state.layers}
    probabilities = states[job.datasets["classification"].label]
    assert probabilities.attribute.label == "p_kolmogorov"
    assert probabilities.cmap.name == "RdBu" and probabilities.alpha == 0.35
    assert states[job.datasets["saliency"].label].attribute.label == "saliency_outline"
    # One grid line per distinct tile row and column inside the map.
    origins = np.array(job.outcome.classification.tile_origins)
    expected_lines = sum(len(np.unique(np.clip(origins[:, axis], 0, size)))
                         for axis, size in enumerate(demo.shape))
    assert len(viewer.tile_grid_artist.get_segments()) == expected_lines
    assert viewer.readout.text().startswith(f"{demo.label}: burgers (P(kolmogorov) = 0.481")

    # A rectangle over each half, drawn with glue's ROI machinery.
    viewer.apply_roi(RectangularROI(xmin=600, xmax=1000, ymin=100, ymax=450))
    right = _wait_region(viewer, "Subset 1")
    assert right["state"] == "done" and right["summary"]["predicted_class"] == "burgers"
    assert "region Subset 1: burgers" in viewer.readout.text()
    viewer.apply_roi(RectangularROI(xmin=10, xmax=400, ymin=50, ymax=450))
    left = _wait_region(viewer, "Subset 1")
    assert left["summary"]["predicted_class"] == "kolmogorov"
    assert left["summary"]["n_tiles_used"] > 0
    # A region smaller than a tile is explained in the readout, without a modal box.
    viewer.apply_roi(RectangularROI(xmin=10, xmax=60, ymin=100, ymax=150))
    small = _wait_region(viewer, "Subset 1")
    assert small["state"] == "failed" and "128" in small["message"]
    assert "region Subset 1:" in viewer.readout.text()
    assert not message_boxes
    assert len(glue_app.data_collection) == 3


def test_viewer_follows_the_cube_slider(glue_app, tmp_path, message_boxes):
    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.jobs import ClassifyRequest
    from glue_turbml.qt.viewer import SLICE_DEBOUNCE_MS

    cube_values = np.random.default_rng(4).lognormal(size=(4, 140, 150)).astype(np.float32)
    from tests.conftest import make_celestial_wcs

    wcs = make_celestial_wcs((140, 150))
    header = wcs.to_header()
    from astropy.io import fits

    header["NAXIS"] = 3
    header.update({"CTYPE3": "VRAD", "CRVAL3": 0.0, "CDELT3": 500.0, "CRPIX3": 1.0,
                   "CUNIT3": "m/s"})
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(cube_values, header=header).writeto(path)
    cube = load_glue_data(path)
    viewer, job = _classified_viewer(
        glue_app, cube, ClassifyRequest(model=MODEL, axis=0, slice_index=0,
                                        saliency_method=None))
    probabilities = job.datasets["classification"]
    viewer.state.slices = (2, 0, 0)
    _settle(SLICE_DEBOUNCE_MS / 1000 + 0.2)
    assert viewer.slice_job is not None
    wait_for_job(viewer.slice_job)
    _settle()
    assert viewer.slice_job.datasets["classification"] is probabilities
    assert probabilities.meta[META_KEY]["plane"]["slice_index"] == 2
    np.testing.assert_array_equal(viewer.slice_job._prepared.image, cube_values[2])
    assert f"{cube.label} [axis 0 = 2]" in viewer.readout.text()
    # glue resets an image viewer's slider when a layer's values change; ours keeps the plane.
    assert viewer.state.slices == (2, 0, 0)
    assert len(glue_app.data_collection) == 2
    assert not message_boxes


def test_viewer_session_round_trip(glue_app, map_256, tmp_path):
    from glue_qt.app import GlueApplication

    from glue_turbml.qt.jobs import ClassifyRequest
    from glue_turbml.qt.viewer import TurbulenceViewer

    _classified_viewer(glue_app, map_256, ClassifyRequest(model=MODEL))
    session_path = tmp_path / "viewer.glu"
    glue_app.save_session(str(session_path))
    restored = GlueApplication.restore_session(str(session_path), show=False)
    try:
        (viewer,) = restored.viewers[0]
        assert isinstance(viewer, TurbulenceViewer)
        viewer.refresh()
        assert viewer.readout.text().startswith(f"{map_256.label}: ")
        assert viewer.tile_grid_artist is not None
    finally:
        restored.close()
