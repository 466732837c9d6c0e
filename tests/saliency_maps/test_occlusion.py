"""Occlusion, the forward-only fallback: equal to Captum ``Occlusion`` (issue 4, item 5).

Occlusion saliency is a difference of logits, so float32 rounding of the logits themselves
(about 6e-8 of their size) sets its precision. On the small untrained nets a window changes the
logits by only ~1e-4 of their size, so there the algorithm is compared with Captum on the same
torch forward function; end to end (onnxruntime forward passes vs Captum on torch) it is
compared on the shipped trained model, whose logits respond strongly to occlusion.
"""

import numpy as np
import pytest
import torch
from captum.attr import Occlusion

from glue_turbml.models import open_model
from glue_turbml.saliency_maps import occlusion_saliency

from tests.saliency_nets import equalized_tiles


@pytest.mark.parametrize("kind", ["maxpool", "strided"])
@pytest.mark.parametrize("window, stride, baseline", [(8, 4, 0.0), (6, 5, "mean")])
def test_occlusion_algorithm_equals_captum(exported_nets, kind, window, stride, baseline):
    exported = exported_nets[kind]

    def torch_forward(batch, *, batch_size):
        with torch.no_grad():
            return exported.net(torch.from_numpy(batch)).numpy()

    tiles = equalized_tiles(3, 32, seed=31)
    with torch.no_grad():
        predicted = exported.net(torch.from_numpy(tiles)).argmax(dim=1).tolist()
    targets = np.eye(exported.n_classes, dtype=np.float32)[predicted]
    passes = []
    ours = occlusion_saliency(torch_forward, tiles, targets, window=window, stride=stride,
                              baseline=baseline, batch_size=16, on_pass=passes.append)
    if baseline == "mean":
        means = tiles.mean(axis=(1, 2, 3), dtype=np.float64).astype(np.float32)
        baselines = torch.from_numpy(np.broadcast_to(means[:, None, None, None],
                                                     tiles.shape).copy())
    else:
        baselines = baseline
    reference = Occlusion(exported.net).attribute(
        torch.from_numpy(tiles), sliding_window_shapes=(1, window, window),
        strides=(1, stride, stride), baselines=baselines, target=predicted,
        perturbations_per_eval=8).numpy()
    scale = np.abs(reference).max()
    assert scale > 1e-6 and np.count_nonzero(reference) > 0.5 * reference.size
    assert np.abs(ours - reference).max() <= 1e-5 * scale
    positions = (int(np.ceil((32 - window) / stride)) + 1) ** 2  # the last window is cut
    assert sum(passes) == 3 * (positions + 1)


def test_occlusion_rejects_bad_windows(exported_nets):
    runner = open_model(exported_nets["strided"].path, device="cpu")
    tiles = equalized_tiles(1, 32, seed=1)
    with pytest.raises(ValueError, match="window"):
        occlusion_saliency(runner.run, tiles, np.eye(2, dtype=np.float32)[[0]], window=40,
                           stride=4)
    with pytest.raises(ValueError, match="stride at most the window"):
        occlusion_saliency(runner.run, tiles, np.eye(2, dtype=np.float32)[[0]], window=4,
                           stride=6)
    with pytest.raises(ValueError, match="baseline"):
        occlusion_saliency(runner.run, tiles, np.eye(2, dtype=np.float32)[[0]], window=8,
                           stride=4, baseline="median")


def test_occlusion_on_the_shipped_model_equals_captum_end_to_end():
    """onnxruntime forward passes of the shipped file vs Captum on its torch rebuild."""
    from training.common.export import torch_classifier_from_onnx

    runner = open_model("kolmogorov-burgers-fbm", device="cpu")
    net = torch_classifier_from_onnx(runner.loaded)
    tiles = equalized_tiles(2, 128, seed=77)
    with torch.no_grad():
        predicted = net(torch.from_numpy(tiles)).argmax(dim=1).tolist()
    targets = np.eye(2, dtype=np.float32)[predicted]
    ours = occlusion_saliency(runner.run, tiles, targets, window=32, stride=16, baseline=0.5,
                              batch_size=64)
    reference = Occlusion(net).attribute(
        torch.from_numpy(tiles), sliding_window_shapes=(1, 32, 32), strides=(1, 16, 16),
        baselines=0.5, target=predicted, perturbations_per_eval=64).numpy()
    scale = np.abs(reference).max()
    assert scale > 1e-3 and np.count_nonzero(reference) > 0.9 * reference.size
    assert np.abs(ours - reference).max() <= 1e-5 * scale
