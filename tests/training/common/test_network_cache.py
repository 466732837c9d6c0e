"""The trained-network cache: a key that follows the data and the options, and weights and
training records that come back exactly as they were stored."""

import numpy as np
import pytest

from training.common.network_cache import NetworkCache, network_key
from training.common.train import TrainingResult


def test_key_follows_the_options_and_every_input_byte():
    images = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    labels = np.array([0, 1, 0, 1])
    key = network_key({"seed": 0}, images, labels)
    assert key == network_key({"seed": 0}, images.copy(), labels.copy())
    changed = images.copy()
    changed[3, 0, 7, 7] = np.nextafter(changed[3, 0, 7, 7], np.float32(np.inf))
    assert network_key({"seed": 0}, changed, labels) != key
    assert network_key({"seed": 1}, images, labels) != key
    assert network_key({"seed": 0}, images, labels[::-1].copy()) != key
    # same bytes, other layout: another data set
    assert network_key({"seed": 0}, images.reshape(4, 1, 4, 16), labels) != key
    # a view that is not contiguous hashes as its values
    assert network_key({"seed": 0}, images[:, :, ::-1], labels) == network_key(
        {"seed": 0}, images[:, :, ::-1].copy(), labels)


def test_stored_network_and_record_come_back_unchanged(tmp_path):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    net[1].running_mean += 0.5  # a buffer, not a parameter: must come back too
    record = TrainingResult(history=[{"epoch": 1, "validation_accuracy": 0.75}],
                            best_epoch=1, config={"learning_rate": 0.001}, seconds=2.5)
    cache = NetworkCache(tmp_path / "networks")
    assert cache.load("abc", net) is None
    cache.store("abc", net, record)
    fresh = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)).train()
    again = NetworkCache(tmp_path / "networks")
    assert again.load("abc", fresh) == record
    assert not fresh.training
    for name, value in net.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value), name
    assert again.summary() == {"folder": str(tmp_path / "networks"), "reused": 1, "trained": 0}
    assert cache.summary()["trained"] == 1
    # nothing half-written is left beside it
    assert sorted(path.name for path in (tmp_path / "networks").iterdir()) == ["abc.pt"]


def test_a_stored_network_of_another_shape_is_an_error_not_a_silent_mix(tmp_path):
    import torch

    cache = NetworkCache(tmp_path)
    cache.store("k", torch.nn.Linear(3, 2), TrainingResult())
    with pytest.raises(RuntimeError, match="size mismatch"):
        cache.load("k", torch.nn.Linear(4, 2))
