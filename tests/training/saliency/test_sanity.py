"""The Adebayo et al. (2018) model-parameter randomization tool (training.saliency.sanity)."""

import numpy as np
import torch

from training.saliency.sanity import PASS_THRESHOLD, _spearman, randomization_test

from tests.saliency_nets import equalized_tiles, make_net


def test_spearman_of_identical_and_reversed_maps():
    maps = np.random.default_rng(0).normal(size=(3, 1, 8, 8))
    assert abs(_spearman(maps, maps) - 1.0) < 1e-12
    assert abs(_spearman(maps, -maps) + 1.0) < 1e-12
    assert _spearman(np.zeros_like(maps), maps) == 0.0  # constant maps have no ranking


def test_randomization_test_cascades_from_the_top_and_leaves_the_net_alone():
    net = make_net("maxpool")
    before = {name: value.clone() for name, value in net.state_dict().items()}
    result = randomization_test(net, equalized_tiles(3, 32, seed=4),
                                methods=("vanilla", "occlusion"), occlusion_window=8)
    assert result["stages"] == ["head.2", "head.0", "features.6", "features.3", "features.0"]
    for method in ("vanilla", "occlusion"):
        record = result["methods"][method]
        assert len(record["spearman_abs"]) == 5
        assert all(-1 <= value <= 1 for value in record["spearman_abs"])
        assert record["passes"] == (record["spearman_abs"][-1] < PASS_THRESHOLD)
    # Every layer randomized: the plain gradient no longer ranks pixels as the trained net did.
    assert result["methods"]["vanilla"]["spearman_abs_fully_randomized"] < 0.9
    for name, value in net.state_dict().items():
        assert torch.equal(value, before[name])


def test_randomization_test_explains_a_unet_mean_channel_over_the_tile():
    from tests.saliency_task_nets import make_task_net

    net = make_task_net("unet_transpose")
    result = randomization_test(net, equalized_tiles(2, 32, seed=8),
                                methods=("vanilla", "occlusion"), task="image_to_image",
                                occlusion_window=8, occlusion_stride=8)
    assert result["task"] == "image_to_image"
    assert result["target"] == "the first output channel summed over the tile"
    # Cascading from the output: the head first, the transposed convolutions included.
    assert result["stages"][0] == "head" and result["stages"][-1] == "encoder1.0"
    assert "up1.0" in result["stages"] and len(result["stages"]) == 8
    for method in ("vanilla", "occlusion"):
        assert len(result["methods"][method]["spearman_abs"]) == 8
    assert result["methods"]["vanilla"]["spearman_abs_fully_randomized"] < 0.9
