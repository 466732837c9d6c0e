"""Saliency overlays (same viewer, and over a WCS-linked map) and saved sessions."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import make_celestial_wcs
from tests.qt.conftest import load_glue_data, wait_for_job, write_fits_map

MODEL = "kolmogorov-burgers-fbm"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _classify_in_viewer(glue_app, data):
    from glue_qt.viewers.image import ImageViewer

    glue_app.data_collection.append(data)
    viewer = glue_app.new_data_viewer(ImageViewer, data=data)
    menu = viewer.toolbar.tools["turbml:menu"]
    tools = {tool.tool_id: tool for tool in menu.subtools}
    job = wait_for_job(tools["turbml:classify_view"].activate())
    assert job.state == "done"
    return viewer, tools, job


def test_one_click_overlays_saliency_in_the_same_viewer(glue_app, map_256, message_boxes):
    viewer, tools, job = _classify_in_viewer(glue_app, map_256)
    saliency = job.datasets["saliency"]
    contour_state = tools["turbml:saliency_contour"].activate()
    assert not message_boxes
    assert contour_state.layer is saliency
    assert contour_state.attribute.label == "saliency_outline"
    assert contour_state.cmap.name == "YlOrRd" and contour_state.alpha == 1.0
    assert (contour_state.v_min, contour_state.v_max) == (0.0, 1.0)
    assert contour_state.cmap_bad == (0.0, 0.0, 0.0, 0.0)
    assert viewer.state.color_mode == "Colormaps"
    reference_state = next(s for s in viewer.state.layers if s.layer is map_256)
    assert reference_state.cmap.name == "gray"
    assert contour_state.zorder > reference_state.zorder
    # A second click restyles the same layer instead of adding one.
    colormap_state = tools["turbml:saliency_colormap"].activate()
    assert colormap_state is contour_state
    assert colormap_state.attribute.label == "saliency_smoothed"
    assert colormap_state.cmap.name == "inferno" and colormap_state.alpha == 0.5
    assert sum(state.layer is saliency for state in viewer.state.layers) == 1


def test_overlay_on_a_wcs_linked_map_with_another_grid(glue_app, map_256, tmp_path,
                                                       message_boxes):
    from glue.plugins.wcs_autolinking.wcs_autolinking import WCSLink
    from glue_qt.viewers.image import ImageViewer

    from glue_turbml.qt.overlay import find_saliency_for, show_saliency_overlay

    _, _, job = _classify_in_viewer(glue_app, map_256)
    # Another survey's map of the same sky: coarser pixels, another size, rotated 20 degrees.
    other_wcs = make_celestial_wcs((150, 180), pixel_arcsec=14.0)
    angle = np.deg2rad(20.0)
    other_wcs.wcs.pc = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    other_values = np.random.default_rng(9).normal(size=(150, 180)).astype(np.float32)
    planck_like = load_glue_data(write_fits_map(tmp_path / "polarization.fits", other_values,
                                                wcs=other_wcs, unit="K"))
    glue_app.data_collection.append(planck_like)
    glue_app.data_collection.add_link(WCSLink(map_256, planck_like))
    viewer = glue_app.new_data_viewer(ImageViewer, data=planck_like)

    saliency = find_saliency_for(glue_app.data_collection, planck_like)
    assert saliency is job.datasets["saliency"]
    layer_state = show_saliency_overlay(viewer, saliency, style="region")
    assert viewer.state.reference_data is planck_like
    artist = next(artist for artist in viewer.layers if artist.layer is saliency)
    assert artist.enabled and layer_state.visible
    assert layer_state.attribute.label == "saliency_region"
    assert layer_state.cmap.name == "hot" and layer_state.alpha == 0.6
    # glue resamples the saliency onto the other map's rotated grid through the links.
    bounds = [(0, 149, 150), (0, 179, 180)]
    resampled = artist.get_image_data(bounds=bounds)
    assert resampled.shape == (150, 180)
    region = saliency["saliency_region"]
    assert 0 < np.isfinite(resampled).sum() < resampled.size
    assert np.nanmax(resampled) <= np.nanmax(region) + 1e-6
    assert not message_boxes


def test_overlay_refuses_an_unlinked_viewer_with_a_message(glue_app, map_256, tmp_path,
                                                           message_boxes):
    from glue_qt.viewers.image import ImageViewer

    _classify_in_viewer(glue_app, map_256)
    unrelated = load_glue_data(write_fits_map(
        tmp_path / "elsewhere.fits", np.ones((64, 64), np.float32),
        wcs=make_celestial_wcs((64, 64), ra=200.0, dec=40.0)))
    glue_app.data_collection.append(unrelated)
    viewer = glue_app.new_data_viewer(ImageViewer, data=unrelated)
    tools = {tool.tool_id: tool for tool in viewer.toolbar.tools["turbml:menu"].subtools}
    assert tools["turbml:saliency_contour"].activate() is None
    assert len(message_boxes) == 1 and "Classify turbulence" in message_boxes[0][1]
    assert [state.layer for state in viewer.state.layers] == [unrelated]


_RESTORE_WITHOUT_PLUGIN = """
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.modules["glue_turbml"] = None  # any import of the plugin now fails
from glue_qt.app import GlueApplication
app = GlueApplication.restore_session(sys.argv[1], show=False)
dc = app.data_collection
print(json.dumps({
    "labels": [d.label for d in dc],
    "meta": {d.label: d.meta.get("glue_turbml") for d in dc},
    "n_links": len(dc.external_links),
    "layers": [[s.layer.label for s in v.state.layers] for v in app.viewers[0]],
    "plugin_imported": any(name.startswith("glue_turbml.") for name in sys.modules),
}))
"""


def test_saved_session_reloads_results_with_and_without_the_plugin(glue_app, map_256,
                                                                   tmp_path):
    from glue_qt.app import GlueApplication

    viewer, tools, job = _classify_in_viewer(glue_app, map_256)
    tools["turbml:saliency_contour"].activate()
    session_path = tmp_path / "turbulence.glu"
    glue_app.save_session(str(session_path))
    expected_meta = {d.label: d.meta.get("glue_turbml") for d in glue_app.data_collection}

    restored = GlueApplication.restore_session(str(session_path), show=False)
    try:
        labels = [d.label for d in restored.data_collection]
        assert labels == [d.label for d in glue_app.data_collection]
        restored_saliency = restored.data_collection[labels.index(job.datasets["saliency"].label)]
        np.testing.assert_array_equal(restored_saliency["saliency_outline"],
                                      job.datasets["saliency"]["saliency_outline"])
        assert restored_saliency.meta["glue_turbml"] == expected_meta[restored_saliency.label]
        overlay_state = next(state for state in restored.viewers[0][0].state.layers
                             if state.layer is restored_saliency)
        assert overlay_state.attribute.label == "saliency_outline"
    finally:
        restored.close()

    completed = subprocess.run([sys.executable, "-c", _RESTORE_WITHOUT_PLUGIN,
                                str(session_path)], capture_output=True, text=True,
                               cwd=tmp_path, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["labels"] == list(expected_meta)
    assert report["meta"] == json.loads(json.dumps(expected_meta))
    assert report["n_links"] == 4
    assert job.datasets["saliency"].label in report["layers"][0]
    assert not report["plugin_imported"]
