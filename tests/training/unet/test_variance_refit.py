"""Refitting a U-Net's log-variance on calibration runs, every class of run weighted alike."""

import numpy as np
import pytest
import torch

from training.unet.calibration import fit_sigma_scale, interval_coverage
from training.unet.nets import ProbabilisticUNet
from training.unet.variance_refit import (class_weights, fit_log_variance_row, head_features,
                                          refit_variance_head)


def test_the_fit_recovers_a_known_linear_log_variance():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(200_000, 3)) * [1.0, 0.5, 2.0] + [0.0, 3.0, -1.0]
    true_row, true_bias = np.array([0.8, -1.2, 0.0]), -2.0
    sigma = np.exp(0.5 * (features @ true_row + true_bias))
    errors = rng.normal(size=len(features)) * sigma
    row, bias, info = fit_log_variance_row(features, errors)
    # maximum-likelihood standard error of each coefficient is about sqrt(2 / n) / spread
    # (~0.003-0.013 here); 0.05 is several of them
    assert np.allclose(row, true_row, atol=0.05)
    assert bias == pytest.approx(true_bias, abs=0.2)
    assert info["converged"]
    assert info["weighted_nll_fitted"] < info["weighted_nll_constant"]
    inside_68, inside_95 = interval_coverage(errors, np.exp(0.5 * (features @ row + bias)))
    assert inside_68 == pytest.approx(0.6827, abs=0.01)
    assert inside_95 == pytest.approx(0.95, abs=0.01)


def test_every_class_weighs_alike_so_the_rare_class_is_not_traded_away():
    rng = np.random.default_rng(2)
    # the feature separates the classes only partly (overlapping values)
    common = rng.normal(0.0, 1.0, 100_000)
    rare = rng.normal(1.0, 1.0, 5_000)
    features = np.concatenate([common, rare])[:, np.newaxis]
    groups = np.array(["common"] * common.size + ["rare"] * rare.size)
    errors = np.concatenate([rng.normal(0, 0.1, common.size), rng.normal(0, 1.0, rare.size)])
    weights = class_weights(groups)
    assert weights[groups == "common"].sum() == pytest.approx(0.5)
    assert weights[groups == "rare"].sum() == pytest.approx(0.5)

    def rare_coverage(row, bias):
        sigma = np.exp(0.5 * (features[:, 0] * row[0] + bias))
        return interval_coverage(errors[groups == "rare"], sigma[groups == "rare"])[0]

    unweighted = rare_coverage(*fit_log_variance_row(features, errors)[:2])
    weighted = rare_coverage(*fit_log_variance_row(features, errors, weights)[:2])
    assert weighted > unweighted + 0.05
    with pytest.raises(ValueError, match="do not match"):
        fit_log_variance_row(features[:10], errors)
    with pytest.raises(ValueError, match="every error is zero"):
        fit_log_variance_row(features[:10], np.zeros(10))


def test_weighted_scale_counts_a_pixel_of_weight_two_as_two_pixels():
    rng = np.random.default_rng(3)
    errors, sigma = rng.normal(size=3000) * 2.0, np.ones(3000)
    weights = rng.integers(1, 3, size=3000).astype(float)
    repeated = np.repeat(np.arange(3000), weights.astype(int))
    weighted = fit_sigma_scale(errors, sigma, weights=weights)
    plain = fit_sigma_scale(errors[repeated], sigma[repeated])
    assert weighted["scale"] == plain["scale"]
    assert weighted["weighted"] and not plain["weighted"]
    with pytest.raises(ValueError, match="non-negative"):
        fit_sigma_scale(errors, sigma, weights=-weights)


def test_the_refitted_head_predicts_the_fitted_row_and_leaves_the_mean_alone():
    torch.manual_seed(0)
    net = ProbabilisticUNet(widths=(4, 8), convs_per_block=1)
    rng = np.random.default_rng(4)
    inputs = rng.normal(size=(6, 1, 16, 16)).astype(np.float32)
    before = net(torch.from_numpy(inputs)).detach().numpy()
    features = head_features(net, inputs)
    assert features.shape == (6, 4, 16, 16)
    # errors whose spread grows with the input, two classes of maps
    errors = rng.normal(size=(6, 1, 16, 16)) * np.exp(inputs)
    groups = np.array(["a", "a", "a", "b", "b", "b"])
    record = refit_variance_head(net, [features], [errors], [groups])
    after = net(torch.from_numpy(inputs)).detach().numpy()
    np.testing.assert_array_equal(after[:, 0], before[:, 0])
    expected = np.einsum("nchw,c->nhw", features.astype(np.float64),
                         net.head.weight[1, :, 0, 0].detach().numpy().astype(np.float64)) \
        + float(net.head.bias[1].detach())
    np.testing.assert_allclose(after[:, 1], np.clip(expected, *net.log_variance_range),
                               rtol=1e-5, atol=1e-5)
    assert record["n_classes"] == 2 and record["n_pixels"] == errors.size

    def nll(log_variance):
        return float(np.mean(log_variance + errors[:, 0] ** 2 * np.exp(-log_variance)))

    assert nll(after[:, 1].astype(np.float64)) < nll(
        np.full(errors[:, 0].shape, np.log(np.mean(errors ** 2))))


def test_a_separate_variance_head_gives_each_class_its_own_level():
    from training.unet.variance_refit import fit_variance_head

    torch.manual_seed(1)
    head = torch.nn.Sequential(torch.nn.Conv2d(2, 8, 1), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, 1, 1))
    rng = np.random.default_rng(6)
    groups = np.repeat(["quiet", "loud"], [40_000, 4_000])
    features = rng.normal(size=(groups.size, 2)) + np.where(groups == "loud", 3.0, 0.0)[:, None]
    errors = rng.normal(size=groups.size) * np.where(groups == "loud", 0.1, 0.01)
    record = fit_variance_head(head, features, errors, class_weights(groups))
    assert record["weighted_nll_fitted"] < record["weighted_nll_constant"]
    with torch.no_grad():
        log_variance = head(torch.as_tensor(features[:, :, None, None],
                                            dtype=torch.float32)).numpy().ravel()
    # within the band (the small head steps smoothly between the feature clouds)
    for group in ("quiet", "loud"):
        rows = groups == group
        inside_68, inside_95 = interval_coverage(errors[rows], np.exp(0.5 * log_variance[rows]))
        assert inside_68 == pytest.approx(0.6827, abs=0.05)
        assert inside_95 == pytest.approx(0.95, abs=0.03)


def test_a_separate_variance_head_is_refitted_in_the_net_and_takes_the_sigma_scale():
    from training.unet.calibration import apply_sigma_scale

    torch.manual_seed(1)
    net = ProbabilisticUNet(widths=(4, 8), convs_per_block=1, variance_hidden=6)
    rng = np.random.default_rng(5)
    inputs = rng.normal(size=(6, 1, 16, 16)).astype(np.float32)
    before = net(torch.from_numpy(inputs)).detach().numpy()
    errors = rng.normal(size=(6, 1, 16, 16)) * 0.05
    record = refit_variance_head(net, [head_features(net, inputs)], [errors],
                                 [np.array(list("aaabbb"))])
    assert record["weighted_nll_fitted"] <= record["weighted_nll_constant"] + 1e-9
    after = net(torch.from_numpy(inputs)).detach().numpy()
    np.testing.assert_array_equal(after[:, 0], before[:, 0])
    # the level is the errors' (0.05), not the untrained head's
    assert np.median(np.exp(0.5 * after[:, 1])) == pytest.approx(0.05, rel=0.2)
    apply_sigma_scale(net, 2.0)
    scaled = net(torch.from_numpy(inputs)).detach().numpy()
    np.testing.assert_allclose(scaled[:, 1], after[:, 1] + 2 * np.log(2.0), atol=1e-4)


def _heavy_and_light_tailed_groups(rng):
    """Two groups the features tell apart: Student-t (5 dof) errors and Gaussian errors."""
    groups = np.repeat(["student", "gauss"], [40_000, 40_000])
    features = rng.normal(size=(groups.size, 2)) + np.where(groups == "student", 3.0, 0.0)[:, None]
    errors = np.where(groups == "student", 0.05 * rng.standard_t(5, size=groups.size),
                      0.01 * rng.normal(size=groups.size))
    return groups, features, errors


def _head_coverage(head, features, errors, groups):
    with torch.no_grad():
        log_variance = head(torch.as_tensor(features[:, :, None, None],
                                            dtype=torch.float32)).numpy().ravel()
    return {group: interval_coverage(errors[groups == group],
                                     np.exp(0.5 * log_variance[groups == group]))
            for group in np.unique(groups)}


def test_the_coverage_objective_puts_heavy_tailed_errors_inside_both_targets():
    from training.unet.variance_refit import fit_variance_head

    rng = np.random.default_rng(8)
    groups, features, errors = _heavy_and_light_tailed_groups(rng)
    torch.manual_seed(2)
    head = torch.nn.Sequential(torch.nn.Conv2d(2, 8, 1), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, 1, 1))
    fit_variance_head(head, features, errors, class_weights(groups))
    likelihood = _head_coverage(head, features, errors, groups)
    # sigma = the t errors' rms covers P(|t_5| < sqrt(5/3)) = 0.746 of them: outside 68 +- 5
    assert likelihood["student"][0] > 0.73
    record = fit_variance_head(head, features, errors, class_weights(groups),
                               objective="coverage")
    assert record["objective"] == "coverage"
    assert record["weighted_interval_loss_fitted"] < record["weighted_interval_loss_constant"]
    coverage = _head_coverage(head, features, errors, groups)
    for group, (inside_68, inside_95) in coverage.items():
        assert 0.63 <= inside_68 <= 0.73, (group, inside_68)
        assert 0.92 <= inside_95 <= 0.98, (group, inside_95)
    # the Gaussian group keeps its likelihood sigma's coverage (it was already right)
    assert coverage["gauss"][0] == pytest.approx(0.6827, abs=0.03)
    with pytest.raises(ValueError, match="unknown objective"):
        fit_variance_head(head, features, errors, class_weights(groups), objective="rms")


def test_the_coverage_refit_needs_a_separate_head_and_leaves_the_mean_alone():
    torch.manual_seed(3)
    rng = np.random.default_rng(9)
    inputs = rng.normal(size=(6, 1, 16, 16)).astype(np.float32)
    errors = rng.standard_t(4, size=(6, 1, 16, 16)) * 0.05
    groups = np.array(list("aaabbb"))
    row_net = ProbabilisticUNet(widths=(4, 8), convs_per_block=1)
    with pytest.raises(ValueError, match="variance_hidden"):
        refit_variance_head(row_net, [head_features(row_net, inputs)], [errors], [groups],
                            objective="coverage")
    net = ProbabilisticUNet(widths=(4, 8), convs_per_block=1, variance_hidden=6)
    before = net(torch.from_numpy(inputs)).detach().numpy()
    record = refit_variance_head(net, [head_features(net, inputs)], [errors], [groups],
                                 objective="coverage")
    after = net(torch.from_numpy(inputs)).detach().numpy()
    np.testing.assert_array_equal(after[:, 0], before[:, 0])
    assert record["objective"] == "coverage"
    assert record["likelihood_step"]["objective"] == "likelihood"
    assert "interval edges" in record["method"]


def test_a_context_head_reads_local_means_within_its_stated_radius_and_is_refitted():
    from training.unet.nets import receptive_field_radius

    torch.manual_seed(4)
    plain = ProbabilisticUNet(widths=(4, 8), convs_per_block=1, variance_hidden=6)
    net = ProbabilisticUNet(widths=(4, 8), convs_per_block=1, variance_hidden=6,
                            variance_context_px=7)
    assert net.config["variance_context_px"] == 7
    radius = receptive_field_radius(net, size=64)
    near = receptive_field_radius(plain, size=64)
    assert radius == near + 3
    rng = np.random.default_rng(6)
    probe = torch.from_numpy(rng.normal(size=(1, 1, 64, 64)).astype(np.float32))
    with torch.no_grad():
        for centre in (30, 31):
            # the log-variance (channel 1) is unchanged by input beyond the stated radius ...
            changed = probe.clone()
            changed[..., :, centre + radius + 1:] += 5.0
            changed[..., :centre - radius, :] -= 0.5
            assert torch.equal(net(probe)[0, :, centre, centre],
                               net(changed)[0, :, centre, centre])
        # ... but reads past the mean's own receptive field
        changed = probe.clone()
        changed[..., :, 30 + near + 1:30 + radius + 1] += 5.0
        assert torch.equal(net(probe)[0, 0, 30, 30], net(changed)[0, 0, 30, 30])
        assert not torch.equal(net(probe)[0, 1, 30, 30], net(changed)[0, 1, 30, 30])
    inputs = rng.normal(size=(6, 1, 16, 16)).astype(np.float32)
    features = head_features(net, inputs)
    assert features.shape == (6, 2 * 4, 16, 16)      # the 4 features and their local means
    errors = rng.normal(size=(6, 1, 16, 16)) * 0.05
    record = refit_variance_head(net, [features], [errors], [np.array(list("aaabbb"))])
    assert record["weighted_nll_fitted"] <= record["weighted_nll_constant"] + 1e-9
    with pytest.raises(ValueError, match="odd"):
        ProbabilisticUNet(widths=(4, 8), variance_hidden=6, variance_context_px=4)
    with pytest.raises(ValueError, match="variance_hidden"):
        ProbabilisticUNet(widths=(4, 8), variance_context_px=5)
