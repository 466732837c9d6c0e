"""The shipped kolmogorov-burgers-fbm model, its report, and the demo map it is shown on."""

import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from glue_turbml.core import (build_pipeline, extract_tiles, fill_nan_nearest, make_tile_grid)
from glue_turbml.models import read_card, weights_sha256
from glue_turbml.models.saliency_graphs import saliency_graph_filename
from training.classifiers.demo_map import DemoMapSpec, make_demo_map
from training.common.export import check_parity, torch_classifier_from_onnx
from training.common.random_fields import KOLMOGOROV_SLOPE, lognormal_field

REPOSITORY = Path(__file__).resolve().parents[3]
MODEL_PATH = REPOSITORY / "onnx_models" / "kolmogorov-burgers-fbm.onnx"
REPORT_PATH = REPOSITORY / "docs" / "results" / "kolmogorov_burgers.json"
SALIENCY_REPORT_PATH = REPOSITORY / "docs" / "results" / "kolmogorov_burgers_saliency.json"
SANITY_REPORT_PATH = REPOSITORY / "docs" / "results" / "kolmogorov_burgers_sanity.json"
DEMO_PATH = REPOSITORY / "glue_turbml" / "data" / "demo_two_regimes.fits"


@pytest.fixture(scope="module")
def shipped():
    model = onnx.load(MODEL_PATH)
    return model, read_card(model, source=str(MODEL_PATH))


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_card_validates_and_hash_matches(shipped):
    model, card = shipped
    assert card["name"] == "kolmogorov-burgers-fbm"
    assert card["weights_sha256"] == weights_sha256(model)
    assert [item["name"] for item in card["classes"]] == ["kolmogorov", "burgers"]
    assert card["preprocess"] == [{"op": "log10"}, {"op": "equalize_hist", "nbins": 256}]
    assert card["tiling"] == {"stride": 64, "boundary": "reflect", "combine": "mean",
                              "min_valid_fraction": 0.5}
    assert card["outputs"][0]["activation"] == "softmax"
    assert "NOT MHD" in card["provenance"]["training_data"]["summary"]
    assert os.path.getsize(MODEL_PATH) < 1_000_000


def test_card_metrics_meet_targets_and_match_the_report(shipped):
    _, card = shipped
    metrics = card["metrics"]
    assert metrics["test_accuracy"] > 0.95
    assert metrics["n_test_tiles"] >= 800
    assert abs(metrics["ffp_negative_control_test_accuracy"] - 0.5) <= 0.05
    assert metrics["ffp_negative_control_n_test_tiles"] >= 800
    assert np.sum(metrics["confusion_matrix"]) == metrics["n_test_tiles"]
    report = json.loads(REPORT_PATH.read_text())
    assert report["weights_sha256"] == card["weights_sha256"]
    assert report["metrics"] == metrics
    # The domain record and the embedding output were added after training and saliency
    # (training.evaluation.add_domain, its own report).
    trained_card = json.loads(json.dumps(card))
    # The rename to kolmogorov-burgers-fbm came last (card name, graph file names and hashes
    # only); the reports were written under the old name, so undo it before comparing.
    renamed = trained_card["provenance"].pop("renamed")
    assert renamed["from"] == "kolmogorov-burgers" != trained_card["name"]
    trained_card["name"] = renamed["from"]
    for method, entry in trained_card["saliency"]["graphs"].items():
        assert entry["file"] == saliency_graph_filename(MODEL_PATH.name, method)
        entry.update(renamed["saliency_graphs_before"][method])
    domain_report = json.loads((REPOSITORY / "docs" / "results" /
                                "kolmogorov_burgers_domain.json").read_text())
    assert trained_card.pop("domain") == domain_report["domain"]
    # The seed paper's numbers were added after that (training.evaluation.published).
    from training.evaluation.published import PUBLISHED

    assert trained_card.pop("published") == PUBLISHED["kolmogorov-burgers-fbm"]
    assert trained_card["outputs"].pop()["name"] == "embedding"
    # Saliency graphs were added after training (training.saliency.add, its own report): the
    # card differs from the training report's only in ``saliency`` and that provenance note.
    saliency_report = json.loads(SALIENCY_REPORT_PATH.read_text())
    # ... and the sanity check (training.saliency.sanity) then recorded its result.
    sanity = trained_card["saliency"].pop("sanity_checks")
    sanity_report = json.loads(SANITY_REPORT_PATH.read_text())
    assert sanity_report["weights_sha256"] == card["weights_sha256"]
    for method, record in sanity["model_parameter_randomization"].items():
        assert record["passes"] == sanity_report["methods"][method]["passes"]
        assert record["spearman_abs_fully_randomized"] == pytest.approx(
            sanity_report["methods"][method]["spearman_abs_fully_randomized"], abs=1e-4)
    assert saliency_report["card"] == trained_card
    assert saliency_report["weights_sha256"] == card["weights_sha256"]
    trained_card["saliency"] = report["card"]["saliency"]
    del trained_card["provenance"]["saliency_export"]
    assert report["card"] == trained_card
    assert report["negative_control_at_chance"] is True
    split = card["provenance"]["split"]["realization_ids"]
    assert not set(split["test"]) & (set(split["train"]) | set(split["validation"]))


def test_shipped_file_parity_with_its_torch_rebuild(shipped):
    net = torch_classifier_from_onnx(MODEL_PATH)
    pipeline = build_pipeline(shipped[1]["preprocess"])
    field = lognormal_field((256, 256), KOLMOGOROV_SLOPE, sigma_ln=1.0, seed=[123, 4])
    images = pipeline(extract_tiles(field, make_tile_grid(field.shape, 128, stride=64)))
    records = check_parity(net, MODEL_PATH, images=images[:, None], batch_sizes=(1, 5, 16),
                           tile_sizes=(64, 128, 96))
    assert len(records) == 9
    assert max(record["max_abs_diff"] for record in records) <= 1e-5


def test_demo_map_file_matches_its_generator():
    assert DEMO_PATH.stat().st_size < 3_000_000
    with fits.open(DEMO_PATH) as hdul:
        data = hdul[0].data
        header = hdul[0].header
        assert data.dtype == np.dtype(">f4") and data.shape == (512, 1024)
        wcs = WCS(header)
    assert wcs.celestial.wcs.ctype[0] == "RA---TAN" and wcs.wcs.ctype[1] == "DEC--TAN"
    assert abs(wcs.proj_plane_pixel_scales()[0].to_value("arcsec") - 10.0) < 1e-9
    assert header["BUNIT"] == "cm-2"
    assert header["SEED"] == DemoMapSpec().seed
    assert header["SLOPE_L"] == pytest.approx(11 / 3) and header["SLOPE_R"] == 4.0
    nan = ~np.isfinite(data)
    assert 1000 < nan.sum() < 1400  # the 20 px disc
    assert 3e20 < np.nanmedian(data) < 3e21
    regenerated, _ = make_demo_map()
    np.testing.assert_array_equal(regenerated, data.astype(np.float32))


def test_shipped_model_tells_the_demo_map_halves_apart(shipped):
    _, card = shipped
    with fits.open(DEMO_PATH) as hdul:
        column_density = hdul[0].data.astype(np.float64)
    filled, was_nan = fill_nan_nearest(column_density)
    grid = make_tile_grid(filled.shape, card["input"]["tile_size"],
                          stride=card["tiling"]["stride"], boundary=card["tiling"]["boundary"])
    valid = 1.0 - extract_tiles(was_nan.astype(float), grid).mean(axis=(1, 2))
    tiles = build_pipeline(card["preprocess"])(extract_tiles(filled, grid))
    session = onnxruntime.InferenceSession(str(MODEL_PATH), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"image": tiles[:, None]})[0]
    p_burgers = _softmax(logits)[:, 1]
    centers_x = grid.origins[:, 1] + grid.tile_size / 2
    keep = valid >= card["tiling"]["min_valid_fraction"]
    left = keep & (centers_x < 512 - 64)
    right = keep & (centers_x > 512 + 64)
    assert left.sum() >= 30 and right.sum() >= 30
    assert np.mean(p_burgers[left] < 0.5) >= 0.9
    assert np.mean(p_burgers[right] > 0.5) >= 0.9
