"""Tiled datasets: glue_turbml.core preprocessing per tile, shifts, cubes, realization splits."""

import numpy as np
import pytest

from glue_turbml.core import build_pipeline, extract_tiles, make_tile_grid
from training.common.datasets import (build_tile_dataset, cut_tiles, map_slices, periodic_shifts,
                                      split_realizations)
from training.common.random_fields import KOLMOGOROV_SLOPE, lognormal_field

PREPROCESS = [{"op": "log10"}, {"op": "equalize_hist", "nbins": 256}]


def test_periodic_shifts_cover_the_shift_lattice():
    assert periodic_shifts(128, 64) == [(0, 0), (0, 64), (64, 0), (64, 64)]
    assert periodic_shifts(64, None) == [(0, 0)]
    assert len(periodic_shifts(64, 16)) == 16
    with pytest.raises(ValueError):
        periodic_shifts(64, 0)


def test_cut_tiles_equals_core_tiling_then_core_pipeline_per_tile():
    image = lognormal_field((128, 128), KOLMOGOROV_SLOPE, sigma_ln=1.0, seed=1)
    original = image.copy()
    pipeline = build_pipeline(PREPROCESS)
    tiles = cut_tiles(image, tile_size=64, shifts=[(0, 0), (32, 0)], pipeline=pipeline)
    assert tiles.shape == (8, 64, 64) and tiles.dtype == np.float32
    np.testing.assert_array_equal(image, original)  # input not modified

    grid = make_tile_grid(image.shape, 64, stride=64, boundary="periodic")
    expected_unshifted = pipeline(extract_tiles(image, grid))
    expected_shifted = pipeline(extract_tiles(np.roll(image, (32, 0), axis=(0, 1)), grid))
    np.testing.assert_array_equal(tiles[:4], expected_unshifted)
    np.testing.assert_array_equal(tiles[4:], expected_shifted)
    # The shifted tile (0, 0) holds the last 32 rows of the map followed by the first 32.
    raw_first = np.concatenate([image[-32:, :64], image[:32, :64]])
    np.testing.assert_array_equal(tiles[4], pipeline(raw_first))


def test_preprocessing_is_per_tile_not_per_map():
    image = lognormal_field((128, 128), KOLMOGOROV_SLOPE, sigma_ln=1.0, seed=2)
    pipeline = build_pipeline(PREPROCESS)
    tiles = cut_tiles(image, tile_size=64, shifts=[(0, 0)], pipeline=pipeline)
    whole_map_then_cut = pipeline(image)[:64, :64]
    # Each equalized tile spans the full [0, 1] range on its own; a cut of the equalized map
    # generally does not.
    assert tiles[0].max() == pytest.approx(1.0)
    assert not np.allclose(tiles[0], whole_map_then_cut)


def test_build_tile_dataset_shapes_labels_and_parameters(small_fields):
    fields, labels, ids = small_fields
    dataset = build_tile_dataset(fields, labels, ids, tile_size=64, preprocess=PREPROCESS,
                                 shift=32)
    per_field = 4 * 4  # 2x2 grid, 4 shifts
    assert dataset.images.shape == (len(fields) * per_field, 1, 64, 64)
    assert dataset.images.dtype == np.float32
    assert dataset.labels.dtype == np.int64
    assert dataset.class_counts() == {0: 3 * per_field, 1: 3 * per_field}
    assert sorted(set(dataset.realizations.tolist())) == sorted(ids)
    pipeline = build_pipeline(PREPROCESS)
    first = cut_tiles(fields[0], tile_size=64, shifts=periodic_shifts(64, 32), pipeline=pipeline)
    np.testing.assert_array_equal(dataset.images[:per_field, 0], first)
    assert dataset.parameters["preprocess"] == PREPROCESS
    assert dataset.parameters["shifts"] == [[0, 0], [0, 32], [32, 0], [32, 32]]
    assert dataset.parameters["n_realizations"] == len(ids)


def test_cubes_are_sliced_along_the_requested_axis():
    cube = np.exp(np.random.default_rng(3).normal(size=(4, 64, 32)))
    slices = map_slices(cube, axis=2, slice_step=8)
    assert len(slices) == 4 and slices[0].shape == (4, 64)
    np.testing.assert_array_equal(slices[1], cube[:, :, 8])
    cube = np.exp(np.random.default_rng(4).normal(size=(6, 64, 64)))
    dataset = build_tile_dataset([cube], [1], [7], tile_size=32, preprocess=PREPROCESS,
                                 axis=0, slice_step=2)
    assert len(dataset) == 3 * 4
    np.testing.assert_array_equal(
        dataset.images[4:8, 0],
        cut_tiles(cube[2], tile_size=32, shifts=[(0, 0)], pipeline=build_pipeline(PREPROCESS)))


def test_a_realization_cannot_carry_two_labels(small_fields):
    fields, _, _ = small_fields
    with pytest.raises(ValueError, match="belongs to one class"):
        build_tile_dataset(fields[:2], [0, 1], [5, 5], tile_size=64, preprocess=PREPROCESS)


def test_split_never_shares_a_realization_and_is_stratified(small_fields):
    fields, labels, ids = small_fields
    dataset = build_tile_dataset(fields, labels, ids, tile_size=64, preprocess=PREPROCESS,
                                 shift=32)
    split = split_realizations(ids, labels, n_validation=1, n_test=1, seed=0)
    sets = {name: set(members) for name, members in split.items()}
    assert not sets["train"] & sets["validation"]
    assert not sets["train"] & sets["test"]
    assert not sets["validation"] & sets["test"]
    assert sets["train"] | sets["validation"] | sets["test"] == set(ids)
    label_of = dict(zip(ids, labels))
    for name, members in split.items():
        assert sorted(label_of[ident] for ident in members).count(0) == len(members) // 2
    parts = {name: dataset.select_realizations(members) for name, members in split.items()}
    assert sum(len(part) for part in parts.values()) == len(dataset)
    for name, part in parts.items():
        assert set(part.realizations.tolist()) == sets[name]
    # Same seed, same split; another seed reshuffles.
    assert split_realizations(ids, labels, n_validation=1, n_test=1, seed=0) == split
    splits = [split_realizations(range(40), [0] * 20 + [1] * 20, n_validation=3, n_test=3,
                                 seed=seed) for seed in range(2)]
    assert splits[0]["test"] != splits[1]["test"]


def test_split_needs_enough_realizations():
    with pytest.raises(ValueError, match="need at least"):
        split_realizations([1, 2, 3], [0, 0, 0], n_validation=1, n_test=2, seed=0)
