"""U-Net training slice: density-cube datasets, the probabilistic U-Net, training, ONNX export."""

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from glue_turbml.models import read_card, weights_sha256
from training.common.datasets import split_realizations
from training.common.export import ParityError
from training.common.random_fields import lognormal_field
from training.unet.mass_weighted_density import QUICK_CONFIG
from training.unet.data import (build_map_pair_dataset, column_and_mass_weighted_density,
                                random_cube_parameters)
from training.unet.evaluate import accuracy_curve, fit_power_law, regression_metrics
from training.unet.export import check_unet_parity, torch_unet_from_onnx
from training.unet.nets import (ProbabilisticUNet, gaussian_nll, mean_then_variance_loss,
                                receptive_field_radius)
from training.unet.train import UNetTrainingConfig, train_unet


@pytest.fixture(scope="module")
def cubes():
    return random_cube_parameters(5, slope_range=(3.0, 4.5), sigma_ln_range=(0.5, 2.0), seed=11)


@pytest.fixture(scope="module")
def pairs(cubes):
    return build_map_pair_dataset(cubes, cube_size=32, crop_size=16, crop_step=8)


def test_column_and_mass_weighted_density_follow_their_definitions():
    density = lognormal_field((16, 12, 10), 4.0, sigma_ln=1.0, seed=3)
    column, weighted = column_and_mass_weighted_density(density, axis=1)
    assert column.shape == weighted.shape == (1, 16, 10)
    np.testing.assert_allclose(column[0], density.sum(axis=1))
    np.testing.assert_allclose(weighted[0], (density ** 2).sum(axis=1) / density.sum(axis=1))
    # <n>_m >= N / L (Cauchy-Schwarz), with equality only for a uniform line of sight.
    assert np.all(weighted[0] >= column[0] / 12 * (1 - 1e-12))
    uniform = np.full((8, 4, 4), 3.0)
    np.testing.assert_allclose(column_and_mass_weighted_density(uniform)[1], 3.0)
    slabs, _ = column_and_mass_weighted_density(density, axis=0, depth=5)
    assert slabs.shape == (3, 12, 10)  # 16 // 5 slabs; the last cell is dropped
    np.testing.assert_allclose(slabs[1], density[5:10].sum(axis=0))
    with pytest.raises(ValueError, match="depth"):
        column_and_mass_weighted_density(density, depth=40)
    with pytest.raises(ValueError, match="positive"):
        column_and_mass_weighted_density(-density)


def test_dataset_pairs_are_normalised_logs_and_seeded(cubes, pairs):
    # 5 cubes x 3 axes x (32/8)^2 crops
    assert pairs.inputs.shape == pairs.targets.shape == (5 * 3 * 16, 1, 16, 16)
    assert pairs.inputs.dtype == np.float32
    np.testing.assert_allclose(pairs.inputs, np.log10(pairs.column_ratio), atol=1e-6)
    # The first crop of each projection starts at the origin: its values match a direct build.
    cube = cubes[0]
    density = lognormal_field((32,) * 3, cube["slope"], sigma_ln=cube["sigma_ln"],
                              seed=cube["seed"])
    density /= density.mean()
    column, weighted = column_and_mass_weighted_density(density, axis=0)
    np.testing.assert_allclose(pairs.column_ratio[0, 0], (column[0] / column[0].mean())[:16, :16],
                               rtol=1e-6)
    np.testing.assert_allclose(pairs.targets[0, 0], np.log10(weighted[0])[:16, :16], atol=1e-6)
    again = build_map_pair_dataset(cubes[:1], cube_size=32, crop_size=16, crop_step=8)
    np.testing.assert_array_equal(again.targets, pairs.targets[:48])
    assert pairs.parameters["cubes"][2]["seed"] == [11, 5, 2]


def test_split_by_cube_shares_no_structure(cubes, pairs):
    split = split_realizations([cube["id"] for cube in cubes], [0] * 5, n_validation=1,
                               n_test=1, seed=0)
    parts = {name: pairs.select_realizations(ids) for name, ids in split.items()}
    assert sum(len(part) for part in parts.values()) == len(pairs)
    for first, second in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not set(parts[first].realizations) & set(parts[second].realizations)
    # Crops of different cubes never coincide (no map is shared across the split).
    assert not np.isin(parts["test"].targets[:, 0, 0, 0], parts["train"].targets[:, 0, 0, 0]).any()


def test_unet_shapes_receptive_field_and_losses():
    torch.manual_seed(0)
    net = ProbabilisticUNet(widths=(4, 8, 8), convs_per_block=1)
    assert net.spatial_multiple == 4
    assert net(torch.rand(3, 1, 48, 40)).shape == (3, 2, 48, 40)
    assert len([m for m in net.modules() if isinstance(m, torch.nn.ReLU)]) == \
        len([m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]) - 1  # all but the head
    radius = receptive_field_radius(net, size=64)
    assert 8 <= radius <= 24
    # Outside the radius the output never changes, whatever the pixel's pooling phase.
    probe = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(1))
    for centre in (28, 29, 30, 31):
        changed = probe.clone()
        changed[..., :, centre + radius + 1:] += 5.0
        changed[..., :centre - radius, :] -= 0.5
        with torch.no_grad():
            assert torch.equal(net(probe)[..., centre, centre], net(changed)[..., centre, centre])
    with torch.no_grad():  # ...while inside it the output does depend on the input
        changed = probe.clone()
        changed[..., 26:34, 26:34] += 5.0
        assert not torch.equal(net(probe)[..., 30, 30], net(changed)[..., 30, 30])
    prediction = torch.zeros(2, 2, 4, 4)
    target = torch.ones(2, 1, 4, 4)
    assert float(gaussian_nll(prediction, target)) == pytest.approx(0.5)
    assert float(mean_then_variance_loss(prediction, target)) == pytest.approx(1.5)


def test_training_is_seeded_keeps_best_epoch_and_augments_jointly(pairs):
    train_set, validation_set = pairs.select_realizations([0, 1, 2]), \
        pairs.select_realizations([3])
    results = []
    for _ in range(2):
        torch.manual_seed(5)
        net = ProbabilisticUNet(widths=(4, 8), convs_per_block=1)
        config = UNetTrainingConfig(max_epochs=3, warmup_epochs=1, patience=5, batch_size=16,
                                    seed=5)
        result = train_unet(net, train_set, validation_set, config, progress=False)
        results.append((result, [p.detach().clone() for p in net.parameters()]))
    (first, weights), (second, weights_again) = results
    assert [r["validation_nll"] for r in first.history] == \
        [r["validation_nll"] for r in second.history]
    assert all(torch.equal(a, b) for a, b in zip(weights, weights_again))
    likelihood_epochs = [r for r in first.history if r["objective"] != "mse"]
    best = min(likelihood_epochs, key=lambda record: record["validation_nll"])
    assert first.best_epoch == best["epoch"]
    with pytest.raises(ValueError, match="exceed warmup"):
        train_unet(net, train_set, validation_set,
                   UNetTrainingConfig(max_epochs=1, warmup_epochs=1), progress=False)


def test_metrics_are_correct_on_known_errors():
    truth = np.zeros((2, 10))
    predicted = np.tile(np.linspace(-0.45, 0.45, 10), (2, 1))
    curve = accuracy_curve(predicted - truth, sigmas=(0.1, 0.5))
    assert curve == {"0.1": pytest.approx(0.2), "0.5": 1.0}
    metrics = regression_metrics(predicted, truth, sigma=np.full_like(truth, 0.3))
    assert metrics["mse_log10"] == pytest.approx(np.mean(predicted ** 2))
    assert metrics["fraction_inside_68_interval"] == pytest.approx(0.6)
    assert fit_power_law(np.arange(5.0), 1 + 2 * np.arange(5.0)) == pytest.approx((1.0, 2.0))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The whole training script in its tiny configuration: data, training, export, card."""
    from training.unet.mass_weighted_density import run_experiment

    folder = tmp_path_factory.mktemp("quick")
    path = folder / "quick.onnx"
    report = run_experiment(QUICK_CONFIG, out=path, report_path=folder / "report.json",
                            log_path=folder / "log.txt", command="pytest", progress=False,
                            # Guided backprop of this barely trained net is all zero, which
                            # the saliency step rightly refuses; the shipped U-Net's graphs
                            # are checked in tests/saliency_maps/test_shipped_unet.py.
                            with_saliency=False)
    return path, report, folder


def test_unet_export_parity_card_and_dynamic_sizes(quick_run, pairs):
    path, report, _ = quick_run
    model = onnx.load(path)
    card = read_card(model, source=str(path))
    assert card["task"] == "image_to_image" and card["weights_sha256"] == weights_sha256(model)
    assert card["input"]["spatial_multiple"] == 4
    assert [value.name for value in model.graph.output] == ["prediction"]
    # Parity was checked by the exporter at several batch and tile sizes (it raises otherwise).
    assert {(r["batch_size"], r["tile_size"]) for r in report["parity"]} == \
        {(b, t) for b in (1, 3) for t in (32, 48, 64)}
    assert all(record["max_abs_diff"] <= 1e-4 for record in report["parity"])
    images = np.tile(pairs.inputs[:4], (1, 1, 4, 4))  # 64x64 realistic inputs
    odd_shape = np.ascontiguousarray(images[:2, :, :40, :56])  # not a traced size, not square
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (prediction,) = session.run(None, {"image": odd_shape})
    assert prediction.shape == (2, 2, 40, 56)
    rebuilt = torch_unet_from_onnx(path)
    with torch.no_grad():
        np.testing.assert_allclose(rebuilt(torch.from_numpy(odd_shape)).numpy(), prediction,
                                   rtol=0, atol=1e-4)
    check_unet_parity(rebuilt, path, images=images, batch_sizes=(2,), tile_sizes=(32,))
    torch.manual_seed(3)
    other = ProbabilisticUNet(widths=(4, 8, 8), convs_per_block=1)
    with pytest.raises(ParityError):
        check_unet_parity(other, path, images=images, batch_sizes=(2,), tile_sizes=(32,))


def test_quick_experiment_card_records_provenance_and_its_evaluation_command_reproduces_it(
        quick_run):
    from training.unet.evaluate import evaluate_model_file

    path, report, folder = quick_run
    card = read_card(onnx.load(path), source=str(path))
    assert card["metrics"]["unet"] == report["metrics"]["unet"]
    assert card["provenance"]["split"]["realization_ids"] == report["split"]
    assert card["provenance"]["training"]["receptive_field_radius_px"] <= \
        card["tiling"]["window_margin"]
    assert len(card["provenance"]["training_data"]["cubes"]) == 5
    again = evaluate_model_file(path)
    for name in ("unet", "baseline_power_law", "baseline_constant_depth"):
        assert again[name]["mse_log10"] == pytest.approx(card["metrics"][name]["mse_log10"],
                                                         rel=1e-6)
    assert "calibration" in (folder / "log.txt").read_text()
