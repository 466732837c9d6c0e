"""The shipped mass-weighted-density U-Net's saliency graphs against Captum on its torch rebuild.

The graphs were added without retraining (``python -m training.saliency.add``, report in
``docs/results/mass_weighted_density_sims_saliency.json``) and the randomization sanity check was
recorded in the card (``docs/results/mass_weighted_density_sims_sanity.json``).
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from captum.attr import GuidedBackprop, Saliency

from glue_turbml.core import map_statistics
from glue_turbml.models import load_saliency_graph, resolve_model
from training.unet.export import torch_unet_from_onnx

from .shipped_graphs import check_pinned_graph_files
from tests.saliency_task_nets import WeightedOutput, region_targets

REPOSITORY = Path(__file__).resolve().parents[2]
MODEL_PATH = REPOSITORY / "onnx_models" / "mass-weighted-density.onnx"
SANITY_REPORT = REPOSITORY / "docs" / "results" / "mass_weighted_density_sims_sanity.json"


@pytest.fixture(scope="module")
def shipped_unet():
    loaded = resolve_model("mass-weighted-density")
    return loaded, torch_unet_from_onnx(loaded.path)


def test_card_references_both_graphs_and_records_the_sanity_check(shipped_unet):
    loaded, _ = shipped_unet
    saliency = loaded.card["saliency"]
    for _, entry in check_pinned_graph_files(loaded, folder=MODEL_PATH.parent).values():
        assert entry["outputs"] == ["prediction", "saliency"]
    assert loaded.card["provenance"]["saliency_export"]["max_relative_saliency_diff"] <= 1e-5
    recorded = saliency["sanity_checks"]["model_parameter_randomization"]
    report = json.loads(SANITY_REPORT.read_text())
    assert report["weights_sha256"] == loaded.card["weights_sha256"]
    for method, record in recorded.items():
        assert record["spearman_abs_fully_randomized"] == pytest.approx(
            report["methods"][method]["spearman_abs_fully_randomized"], abs=1e-4)


@pytest.mark.parametrize("method", ["vanilla", "guided"])
def test_shipped_unet_graphs_equal_captum(shipped_unet, method):
    loaded, net = shipped_unet
    session = onnxruntime.InferenceSession(load_saliency_graph(loaded, method).model_bytes,
                                           providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    for tile_size in (64, 96):  # the card's tile is 128; the tracing example 128x136
        for batch_size in (1, 2):
            column = rng.lognormal(sigma=0.8, size=(batch_size, 1, tile_size, tile_size))
            images = np.log10(column / column.mean()).astype(np.float32)
            target = region_targets((batch_size, 2, tile_size, tile_size), rng)
            # the statistics of the map each tile stands for: here the tile's own
            names = loaded.card["input"]["map_statistics"]["names"]
            statistics = np.stack([map_statistics(image[0], names) for image in images])
            _, saliency = session.run(None, {"image": images, "target": target,
                                             "map_statistics": statistics})
            explained = WeightedOutput(net, torch.from_numpy(target),
                                       torch.from_numpy(statistics))
            inputs = torch.from_numpy(images).requires_grad_(True)
            if method == "vanilla":
                reference = Saliency(explained).attribute(inputs, abs=False)
            else:
                reference = GuidedBackprop(explained).attribute(inputs)
            reference = reference.detach().numpy()
            scale = np.abs(reference).max()
            assert scale > 1e-6 and np.count_nonzero(reference) > 0.2 * reference.size
            assert np.abs(saliency - reference).max() <= 1e-5 * scale, (tile_size, batch_size)
