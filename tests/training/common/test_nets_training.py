"""The CNN's structure and the seeded, deterministic training loop."""

import numpy as np
import pytest
import torch
from torch import nn

from training.common.datasets import TileDataset
from training.common.nets import PixelDifferences, TurbulenceCNN, count_weights
from training.common.train import (TrainingConfig, dihedral_augment, recalibrate_batch_norm,
                                   train_classifier)
from training.evaluation.classifier_metrics import evaluate_classifier


@pytest.mark.parametrize("size", [32, 64, 96, 127])
def test_net_is_size_agnostic(size):
    net = TurbulenceCNN(widths=(4, 8, 8), hidden=8).eval()
    with torch.no_grad():
        logits = net(torch.rand(3, 1, size, size))
    assert logits.shape == (3, 2)
    assert torch.isfinite(logits).all()


def test_features_then_head_equals_forward():
    net = TurbulenceCNN(widths=(4, 8, 8, 16), hidden=8).eval()
    images = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        features = net.forward_features(images)
        assert features.shape == (2, 16, 7, 7)  # 63 -> 31 -> 15 -> 7
        torch.testing.assert_close(net.forward_head(features), net(images), rtol=0, atol=0)


def test_relu_modules_are_distinct_and_not_in_place():
    net = TurbulenceCNN(widths=(4, 8, 8), convs_per_block=2, hidden=8)
    relus = [module for module in net.modules() if isinstance(module, nn.ReLU)]
    assert len(relus) == 3 * 2 + 1  # one per convolution and one in the head
    assert len({id(module) for module in relus}) == len(relus)
    assert not any(module.inplace for module in relus)
    assert sum(isinstance(module, nn.MaxPool2d) for module in net.modules()) == 2


def test_pixel_differences_are_exact_neighbour_differences():
    images = torch.arange(2 * 4 * 5, dtype=torch.float32).reshape(2, 1, 4, 5) ** 2
    differences = PixelDifferences()(images)
    assert differences.shape == (2, 2, 3, 4)
    torch.testing.assert_close(differences[:, 0], images[:, 0, 1:, 1:] - images[:, 0, 1:, :-1])
    torch.testing.assert_close(differences[:, 1], images[:, 0, 1:, 1:] - images[:, 0, :-1, 1:])


def test_default_net_is_small():
    assert count_weights(TurbulenceCNN(widths=(8, 16, 32, 32))) < 30_000


def test_dihedral_augment_only_permutes_pixels():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(16, 1, 8, 8)
    augmented = dihedral_augment(images, generator)
    for original, transformed in zip(images, augmented):
        torch.testing.assert_close(torch.sort(original.flatten()).values,
                                   torch.sort(transformed.flatten()).values)
    assert not torch.equal(images, augmented)


def _toy_dataset(seed, n=96, size=16):
    """Two classes that differ in pixel-scale roughness (smooth vs noisy ramps)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    ramp = np.linspace(0, 1, size, dtype=np.float32)[None, :] * np.ones((size, 1), np.float32)
    noise = rng.normal(size=(n, size, size)).astype(np.float32)
    images = ramp + noise * np.where(labels == 1, 0.3, 0.03)[:, None, None].astype(np.float32)
    return TileDataset(images[:, None], labels.astype(np.int64), np.arange(n) // 8)


def _train(seed):
    torch.manual_seed(seed)
    net = TurbulenceCNN(widths=(4, 8), hidden=8)
    config = TrainingConfig(max_epochs=3, batch_size=16, learning_rate=3e-3, seed=seed)
    result = train_classifier(net, _toy_dataset(1), _toy_dataset(2, n=32), config,
                              progress=False)
    return net, result


def test_training_is_deterministic_and_learns():
    net_a, result_a = _train(0)
    net_b, result_b = _train(0)
    for key, value in net_a.state_dict().items():
        torch.testing.assert_close(value, net_b.state_dict()[key], rtol=0, atol=0)
    strip = [{k: v for k, v in record.items() if k != "seconds"} for record in result_a.history]
    assert strip == [{k: v for k, v in record.items() if k != "seconds"}
                     for record in result_b.history]
    assert result_a.config == TrainingConfig(max_epochs=3, batch_size=16, learning_rate=3e-3,
                                             seed=0).to_dict()
    test = _toy_dataset(3, n=64)
    assert evaluate_classifier(net_a, test.images, test.labels)["accuracy"] >= 0.9
    net_c, _ = _train(1)
    assert not torch.equal(net_a.head[0].weight, net_c.head[0].weight)


def test_best_epoch_weights_are_kept_and_early_stopping_stops():
    torch.manual_seed(0)
    net = TurbulenceCNN(widths=(4, 8), hidden=8)
    # Validation labels are random: no epoch generalises, so patience runs out.
    validation = _toy_dataset(5, n=32)
    validation.labels = np.random.default_rng(0).permutation(validation.labels)
    config = TrainingConfig(max_epochs=30, patience=2, batch_size=16, seed=0)
    result = train_classifier(net, _toy_dataset(1), validation, config, progress=False)
    assert result.stopped_early and len(result.history) < 30
    best = result.history[result.best_epoch - 1]
    assert best["validation_accuracy"] == max(r["validation_accuracy"] for r in result.history)
    recalibrate_batch_norm(net, torch.from_numpy(_toy_dataset(1).images), batch_size=16)
    again = evaluate_classifier(net, validation.images, validation.labels)
    assert again["accuracy"] == pytest.approx(best["validation_accuracy"])
    assert not torch.are_deterministic_algorithms_enabled()  # global flag restored


def test_cosine_schedule_runs_every_epoch_down_to_a_zero_rate():
    torch.manual_seed(0)
    net = TurbulenceCNN(widths=(4, 8), hidden=8)
    validation = _toy_dataset(5, n=32)
    validation.labels = np.random.default_rng(0).permutation(validation.labels)
    config = TrainingConfig(max_epochs=5, patience=1, batch_size=16, learning_rate=2e-3,
                            schedule="cosine", seed=0)
    result = train_classifier(net, _toy_dataset(1), validation, config, progress=False)
    # no epoch generalises, yet a cosine schedule is not cut short by patience
    assert not result.stopped_early and len(result.history) == 5
    rates = [record["learning_rate"] for record in result.history]
    assert rates[0] == pytest.approx(2e-3)
    assert all(later < earlier for earlier, later in zip(rates, rates[1:]))
    assert rates[-1] == pytest.approx(2e-3 * (1 + np.cos(np.pi * 4 / 5)) / 2)


def test_unknown_schedule_is_refused_by_name():
    config = TrainingConfig(max_epochs=1, schedule="linear")
    with pytest.raises(ValueError, match="schedule must be 'constant' or 'cosine'"):
        train_classifier(TurbulenceCNN(widths=(4, 8), hidden=8), _toy_dataset(1),
                         _toy_dataset(2, n=32), config, progress=False)


def test_dihedral_average_is_invariant_and_averages_the_pooled_features():
    from training.common.nets import DihedralAverage

    torch.manual_seed(1)
    net = TurbulenceCNN(widths=(4, 8), hidden=8, norm="none").eval()
    model = DihedralAverage(net).eval()
    images = torch.rand(3, 1, 24, 32)
    copies = [images.rot90(turns, dims=(-2, -1)) for turns in range(4)]
    copies += [copy.flip(-1) for copy in copies]
    with torch.no_grad():
        logits = model(images)
        # the plain net is not invariant, so the check below can fail
        assert (net(copies[1]) - net(images)).abs().max() > 1e-4
        for copy in copies:
            torch.testing.assert_close(model(copy), logits, rtol=1e-5, atol=1e-5)
        pooled = torch.stack([net.forward_features(copy).mean(dim=(2, 3)) for copy in copies])
        torch.testing.assert_close(logits, net.head(pooled.mean(dim=0)), rtol=1e-5, atol=1e-5)
    assert model.config == dict(net.config, dihedral_average=True)
