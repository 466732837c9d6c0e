"""The classical baselines on synthetic tiles whose class signal is known: each finds the signal
it is built to see, and a baseline blind to a signal stays near chance."""

import numpy as np
import pytest

from glue_turbml.core import build_pipeline
from training.common.random_fields import power_law_gaussian_field
from training.evaluation.baselines import (anisotropy_features, fit_baselines, hog_features,
                                           pixel_features, spectrum_features)

TILE = 32
EQUALIZE = build_pipeline([{"op": "equalize_hist", "nbins": 256}])


def _slope_tiles(count, seed):
    """Equalized Gaussian tiles with P(k) slope 2.5 (class 0) or 4 (class 1), random phases."""
    tiles, labels = [], []
    for number in range(count):
        label = number % 2
        field = power_law_gaussian_field((TILE, TILE), (2.5, 4.0)[label], seed=[seed, number])
        tiles.append(field)
        labels.append(label)
    return EQUALIZE(np.asarray(tiles))[:, None], np.asarray(labels)


def _stretched_tiles(count, seed):
    """Isotropic fields stretched along x (class 0) or along y (class 1)."""
    rng = np.random.default_rng(seed)
    tiles, labels = [], []
    for number in range(count):
        label = number % 2
        field = power_law_gaussian_field((TILE, 4 * TILE), 3.0, seed=[seed, number])
        stretched = field[:, ::4]  # structures 4x longer along y than along x ...
        tiles.append(stretched if label else stretched.T)  # ... or along x
        labels.append(label)
    order = rng.permutation(count)
    return EQUALIZE(np.asarray(tiles))[order][:, None], np.asarray(labels)[order]


def test_spectrum_baseline_reads_the_slope_and_pixels_do_not():
    train, train_labels = _slope_tiles(160, seed=1)
    test, test_labels = _slope_tiles(100, seed=2)
    scores = fit_baselines(train, train_labels, test, test_labels, seed=0)
    assert scores["spectrum_logistic"]["accuracy"] >= 0.9
    assert scores["spectrum_logistic"]["auc"] >= 0.95
    # equalized pixels carry no mean signal: chance within ~4 binomial sd of 100 tiles
    assert scores["pixels_linear"]["accuracy"] <= 0.7
    assert set(scores) == {"hog_svm", "spectrum_logistic", "pixels_linear"}


def test_anisotropy_is_seen_by_hog_and_by_the_spectrum_features():
    train, train_labels = _stretched_tiles(120, seed=3)
    test, test_labels = _stretched_tiles(80, seed=4)
    scores = fit_baselines(train, train_labels, test, test_labels, seed=0,
                           names=["hog_svm", "spectrum_logistic"])
    assert scores["hog_svm"]["accuracy"] >= 0.9
    assert scores["spectrum_logistic"]["accuracy"] >= 0.9


def test_anisotropy_baseline_sees_the_stretch_and_not_the_slope():
    """The anisotropy features alone: a stretch along x or y, yes; a steeper spectrum with the
    same isotropy, no (near chance)."""
    train, train_labels = _stretched_tiles(120, seed=3)
    test, test_labels = _stretched_tiles(80, seed=4)
    stretched = fit_baselines(train, train_labels, test, test_labels,
                              names=["anisotropy_logistic"])["anisotropy_logistic"]
    assert stretched["accuracy"] >= 0.9 and stretched["n_features"] == 5
    train, train_labels = _slope_tiles(160, seed=1)
    test, test_labels = _slope_tiles(100, seed=2)
    slope = fit_baselines(train, train_labels, test, test_labels,
                          names=["anisotropy_logistic"])["anisotropy_logistic"]
    # chance within ~4 binomial sd of 100 tiles
    assert slope["accuracy"] <= 0.7
    # the features are the anisotropy columns of the spectrum features
    full = spectrum_features(test[:4])
    assert np.allclose(anisotropy_features(test[:4]), full[:, [5, 6, 8, 10, 12]])


def test_a_fixed_pattern_is_seen_by_the_linear_pixel_model():
    rng = np.random.default_rng(5)
    ramp = np.linspace(-1, 1, TILE)[None, :] * np.ones((TILE, 1))
    labels = np.arange(200) % 2
    tiles = rng.normal(size=(200, TILE, TILE)) + 0.3 * np.where(labels, 1, -1)[:, None, None] * ramp
    scores = fit_baselines(tiles[:120], labels[:120], tiles[120:], labels[120:],
                           names=["pixels_linear"])
    assert scores["pixels_linear"]["accuracy"] >= 0.95


def test_results_are_seeded_and_recorded():
    train, train_labels = _slope_tiles(40, seed=6)
    test, test_labels = _slope_tiles(20, seed=7)
    first = fit_baselines(train, train_labels, test, test_labels, seed=3)
    again = fit_baselines(train, train_labels, test, test_labels, seed=3)
    for name in first:
        assert first[name]["test_scores"] == again[name]["test_scores"]
        assert first[name]["seed"] == 3 and first[name]["n_test"] == 20


def test_feature_shapes_follow_the_tile_size_and_bad_shapes_are_refused():
    tiles = np.random.default_rng(8).normal(size=(3, 1, 64, 64))
    assert hog_features(tiles).shape == hog_features(tiles[:, :, ::2, ::2]).shape
    assert spectrum_features(tiles).shape == (3, 6 + 4 + 2 * 4)
    assert pixel_features(tiles).shape == (3, 32 * 32)
    with pytest.raises(ValueError, match="square single-channel"):
        pixel_features(np.zeros((2, 3, 8, 8)))
