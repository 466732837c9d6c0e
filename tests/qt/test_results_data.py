"""Results as glue data without a GUI: datasets, pixel links, meta, in-place updates, cubes."""

import json

import numpy as np
import pytest

from glue_turbml.qt.glue_data import META_KEY, find_result, result_label
from glue_turbml.qt.jobs import (CancelToken, ClassifyRequest, JobCancelled, apply_outcome,
                                 prepare_job, run_job)

MODEL = "kolmogorov-burgers-fbm"


def _classify(data_collection, data, request):
    prepared = prepare_job(data, request)
    outcome = run_job(prepared, request)
    return prepared, outcome, apply_outcome(data_collection, data, prepared, outcome)


def test_map_results_are_linked_datasets_with_json_meta(map_256):
    from glue.core import DataCollection
    from glue.core.link_helpers import LinkSame

    data_collection = DataCollection([map_256])
    original = map_256.get_data(map_256.main_components[0]).copy()
    _, outcome, datasets = _classify(data_collection, map_256, ClassifyRequest(model=MODEL))

    probabilities, saliency = datasets["classification"], datasets["saliency"]
    assert [d.label for d in data_collection] == [
        map_256.label, result_label(map_256.label, MODEL, "classification"),
        result_label(map_256.label, MODEL, "saliency")]
    assert probabilities.shape == saliency.shape == map_256.shape
    # The parent's celestial WCS, so world coordinates agree pixel for pixel.
    assert probabilities.coords.wcs.compare(map_256.coords.wcs)
    np.testing.assert_allclose(
        probabilities["p_kolmogorov"] + probabilities["p_burgers"], 1.0, atol=1e-5)
    # One LinkSame per pixel axis and result, joining the matching axes.
    links = [link for link in data_collection.external_links if isinstance(link, LinkSame)]
    assert len(links) == 4
    for result in (probabilities, saliency):
        for axis in (0, 1):
            assert any({map_256.pixel_component_ids[axis], result.pixel_component_ids[axis]}
                       == set(link.cids1 + link.cids2) for link in links)
    info = probabilities.meta[META_KEY]
    assert json.loads(json.dumps(info)) == info
    summary = info["summary"]
    assert summary["model"] == MODEL and summary["provider"] == "CPUExecutionProvider"
    assert summary["model_version"] == outcome.classification.model_card["version"]
    assert summary["probability"]["burgers"] == pytest.approx(
        float(outcome.classification.probability[1]))
    assert set(summary["probability_std"]) == {"kolmogorov", "burgers"}
    assert len(summary["tiles"]["origins_yx"]) == outcome.classification.tile_origins.shape[0]
    assert saliency.meta[META_KEY]["summary"]["method"] == "guided"
    # The overlay region is the smoothed map where it reaches the contour level.
    level = saliency.meta[META_KEY]["summary"]["contour_level"]
    region = saliency["saliency_region"]
    assert np.isfinite(region).any() and np.nanmin(region) >= level
    assert np.isfinite(saliency["saliency_outline"]).sum() <= np.isfinite(region).sum()
    np.testing.assert_array_equal(map_256.get_data(map_256.main_components[0]), original)


def test_running_again_updates_in_place(map_256):
    from glue.core import DataCollection

    data_collection = DataCollection([map_256])
    _, _, first = _classify(data_collection, map_256, ClassifyRequest(model=MODEL))
    first["classification"].label = "my probabilities"
    first_pixel_ids = list(first["classification"].pixel_component_ids)
    _, _, second = _classify(data_collection, map_256,
                             ClassifyRequest(model=MODEL, saliency_method="vanilla"))
    assert len(data_collection) == 3
    assert second["classification"] is first["classification"]
    assert second["saliency"] is first["saliency"]
    assert first["classification"].label == "my probabilities"
    assert list(first["classification"].pixel_component_ids) == first_pixel_ids
    assert "saliency_vanilla" in [c.label for c in second["saliency"].components]
    assert "saliency_guided" not in [c.label for c in second["saliency"].components]
    assert second["saliency"].meta[META_KEY]["summary"]["method"] == "vanilla"
    assert len(data_collection.external_links) == 4
    assert find_result(data_collection, map_256, "saliency", MODEL) is first["saliency"]


def test_cube_plane_links_the_two_sky_axes_and_keeps_celestial_wcs(cube_data):
    from glue.core import DataCollection

    data_collection = DataCollection([cube_data])
    request = ClassifyRequest(model=MODEL, axis=0, slice_index=4, saliency_method=None)
    prepared, outcome, datasets = _classify(data_collection, cube_data, request)
    probabilities = datasets["classification"]
    assert datasets["saliency"] is None
    assert probabilities.shape == cube_data.shape[1:]
    assert probabilities.coords.wcs.naxis == 2
    assert list(probabilities.coords.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
    assert prepared.plane == {"component": cube_data.main_components[0].label, "axis": 0,
                              "slice_index": 4, "projection": None, "plane_axes": [1, 2],
                              "shape": [160, 170]}
    expected = np.asarray(cube_data.get_data(cube_data.main_components[0])[4])
    np.testing.assert_array_equal(prepared.image, expected)
    assert probabilities.meta[META_KEY]["summary"]["input"].endswith("[axis 0 = 4]")
    # The plane's (y, x) are the cube's pixel axes 1 and 2: the result follows the cube.
    linked = {frozenset(link.cids1 + link.cids2) for link in data_collection.external_links}
    assert frozenset({cube_data.pixel_component_ids[1],
                      probabilities.pixel_component_ids[0]}) in linked
    assert frozenset({cube_data.pixel_component_ids[2],
                      probabilities.pixel_component_ids[1]}) in linked


def test_cancel_token_stops_the_job_between_batches(map_256):
    request = ClassifyRequest(model=MODEL)
    prepared = prepare_job(map_256, request)
    token = CancelToken()
    calls = []

    def progress(phase, done, total):
        calls.append((phase, done, total))
        token.cancel()

    with pytest.raises(JobCancelled):
        run_job(prepared, request, progress=progress, cancel=token)
    assert len(calls) == 1 and calls[0][0] == "classify"
