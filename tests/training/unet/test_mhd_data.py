"""Density-slice -> log10(B^2/2) U-Net pairs from real simulator snapshots, buffered splits."""

import hashlib
import json

import numpy as np
import pytest
import torch
from astropy.io import fits

from training.sim.config import RunConfig
from training.sim.run import run_simulation
from training.unet.mhd_data import (buffered_slab_split, build_mhd_slice_splits, main,
                                    slice_autocorrelation)

RUN_SEED = 11


def _run(directory, **changes):
    values = dict(cells=16, sound_speed=0.1, mean_field=1.0, target_mach=2.0, seed=RUN_SEED,
                  end_turnovers=0.2, snapshot_turnovers=[0.1, 0.2], checkpoint_every=1000,
                  output_dir=str(directory))
    values.update(changes)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny grid on a shared machine: one thread is fastest
    try:
        run_simulation(RunConfig(**values), progress=False, log=lambda message: None)
    finally:
        torch.set_num_threads(threads)
    return sorted(directory.glob("snapshot_*.fits"))


@pytest.fixture(scope="module")
def mhd_snapshots(tmp_path_factory):
    """Two snapshots (0.1 T and 0.2 T) of a real 16^3 driven MHD run, B0 = 1."""
    return _run(tmp_path_factory.mktemp("mhd"))


@pytest.fixture(scope="module")
def hydro_snapshot(tmp_path_factory):
    """A snapshot of a real 8^3 hydro run (mean_field = 0: B = 0 everywhere)."""
    return _run(tmp_path_factory.mktemp("hydro"), cells=8, mean_field=0.0,
                end_turnovers=0.02, snapshot_turnovers=[0.02])[0]


def _direct_cubes(path):
    with fits.open(path) as hdul:
        density = hdul[0].data.astype(np.float64)
        energy = 0.5 * sum(hdul[name].data.astype(np.float64) ** 2
                           for name in ("BX", "BY", "BZ"))
    return density, energy


def _slice(cube, axis, index):
    # FITS order is (z, y, x)
    return {"z": cube[index], "y": cube[:, index], "x": cube[:, :, index]}[axis]


@pytest.mark.parametrize("axis", ["z", "x"])
def test_targets_are_log_magnetic_energy_and_inputs_normalised_density(mhd_snapshots, axis):
    splits = build_mhd_slice_splits(mhd_snapshots, axis=axis, buffer=2, seed=0,
                                    augment_copies=1)
    cubes = [_direct_cubes(path) for path in mhd_snapshots]
    checked = 0
    for _, pairs in splits.items():
        for row in np.flatnonzero(~pairs.augmented):
            density, energy = cubes[pairs.snapshots[row]]
            density_slice = _slice(density, axis, pairs.slice_indices[row])
            expected_target = np.log10(_slice(energy, axis, pairs.slice_indices[row]))
            expected_input = np.log10(density_slice / density_slice.mean())
            np.testing.assert_allclose(pairs.targets[row, 0], expected_target, rtol=0,
                                       atol=2e-6)
            np.testing.assert_allclose(pairs.inputs[row, 0], expected_input, rtol=0, atol=2e-6)
            checked += 1
    assert checked == 2 * (16 - 3 * 2)   # every slice outside the buffers, both snapshots
    # the driven run has grown structure: targets vary across a slice
    assert splits.test.targets.std() > 1e-3


def test_snapshot_mean_reference_divides_by_the_mean_energy(mhd_snapshots):
    splits = build_mhd_slice_splits(mhd_snapshots[:1], buffer=2, seed=0, augment_copies=0,
                                    target_reference="snapshot_mean")
    _, energy = _direct_cubes(mhd_snapshots[0])
    index = splits.validation.slice_indices[0]
    np.testing.assert_allclose(splits.validation.targets[0, 0],
                               np.log10(energy[index] / energy.mean()), atol=2e-6)


def test_slice_mean_reference_divides_each_slice_by_its_own_mean(mhd_snapshots):
    splits = build_mhd_slice_splits(mhd_snapshots[:1], axis="x", buffer=2, seed=0,
                                    augment_copies=0, target_reference="slice_mean")
    _, energy = _direct_cubes(mhd_snapshots[0])
    for row in range(len(splits.test)):
        energy_slice = _slice(energy, "x", splits.test.slice_indices[row])
        np.testing.assert_allclose(splits.test.targets[row, 0],
                                   np.log10(energy_slice / energy_slice.mean()), atol=2e-6)
    assert "of the slice" in splits.parameters["target"]


def _periodic_gap(first, second, length):
    distance = np.abs(np.asarray(first)[:, None] - np.asarray(second)[None, :])
    return int(np.min(np.minimum(distance, length - distance))) - 1


@pytest.mark.parametrize("buffer, offset", [(2, 0), (3, 5), (4, 14)])
def test_splits_share_no_slice_and_buffers_separate_them(mhd_snapshots, buffer, offset):
    splits = build_mhd_slice_splits(mhd_snapshots, axis="y", buffer=buffer, offset=offset,
                                    seed=0, augment_copies=0)
    indices = {name: set(pairs.slice_indices.tolist()) for name, pairs in splits.items()}
    assert not indices["train"] & indices["validation"]
    assert not indices["train"] & indices["test"]
    assert not indices["validation"] & indices["test"]
    assert sum(len(values) for values in indices.values()) == 16 - 3 * buffer
    names = list(indices)
    for first in range(3):
        for second in range(first + 1, 3):
            gap = _periodic_gap(sorted(indices[names[first]]), sorted(indices[names[second]]),
                                16)
            assert gap >= buffer, (names[first], names[second], gap)
    assert splits.parameters["buffer_cells"] == buffer
    # the training slab starts at the offset
    assert offset % 16 in indices["train"] and (offset - 1) % 16 not in indices["train"]


def test_split_sizes_follow_fractions_and_wrap_periodically():
    splits = buffered_slab_split(40, buffer=4, fractions=(0.6, 0.2, 0.2), offset=30)
    # 40 - 3 x 4 = 28 slices shared 16.8 / 5.6 / 5.6 -> 17 / 6 / 5 by largest remainders
    assert splits["train"].tolist() == list(range(0, 7)) + list(range(30, 40))
    assert splits["validation"].tolist() == list(range(11, 17))
    assert splits["test"].tolist() == list(range(21, 26))


def _dihedral_images(image):
    images = []
    for transposed in (image, np.swapaxes(image, -2, -1)):
        for flip_x in (False, True):
            for flip_y in (False, True):
                candidate = transposed[..., ::-1] if flip_x else transposed
                images.append(candidate[..., ::-1, :] if flip_y else candidate)
    return images


def test_augmentation_only_on_training_pairs_moves_input_and_target_together(mhd_snapshots):
    splits = build_mhd_slice_splits(mhd_snapshots, buffer=2, seed=4, augment_copies=2)
    for name in ("validation", "test"):
        pairs = getattr(splits, name)
        assert not pairs.augmented.any() and pairs.parameters["augmentation"] is None
        assert len(pairs) == 2 * len(splits.parameters["split_slices"][name])
    train = splits.train
    originals = np.flatnonzero(~train.augmented)
    assert len(train) == 3 * len(originals)
    assert train.parameters["augmentation"]["seed"] == 4
    source = {(train.snapshots[row], train.slice_indices[row]): row for row in originals}
    changed = 0
    for row in np.flatnonzero(train.augmented):
        original = source[(train.snapshots[row], train.slice_indices[row])]
        pair = np.concatenate([train.inputs[original], train.targets[original]])
        augmented = np.concatenate([train.inputs[row], train.targets[row]])
        assert any(np.array_equal(augmented, candidate) for candidate in _dihedral_images(pair))
        changed += not np.array_equal(augmented, pair)
    assert changed > 0


def test_seeds_and_run_parameters_are_recorded_and_reproducible(mhd_snapshots):
    first = build_mhd_slice_splits(mhd_snapshots, buffer=2, seed=9, augment_copies=1)
    again = build_mhd_slice_splits(mhd_snapshots, buffer=2, seed=9, augment_copies=1)
    other = build_mhd_slice_splits(mhd_snapshots, buffer=2, seed=10, augment_copies=1)
    np.testing.assert_array_equal(first.train.inputs, again.train.inputs)
    assert not np.array_equal(first.train.inputs, other.train.inputs)
    assert first.parameters["seed"] == 9
    records = first.parameters["snapshots"]
    assert [record["seed"] for record in records] == [RUN_SEED, RUN_SEED]
    assert records[0]["run_parameters"]["mean_field"] == pytest.approx(1.0)
    assert [record["time_turnovers"] for record in records] == pytest.approx([0.1, 0.2])


def test_measured_buffer_is_where_the_slice_correlation_drops(mhd_snapshots):
    splits = build_mhd_slice_splits(mhd_snapshots[1:], axis="z", seed=0, augment_copies=0,
                                    correlation_threshold=0.5)
    measured = splits.parameters["correlation"]
    buffer = splits.parameters["buffer_cells"]
    assert measured["buffer_cells"] == buffer
    curves = [measured["input_autocorrelation"], measured["target_autocorrelation"]]
    first_below = [int(np.flatnonzero(np.asarray(curve) < 0.5)[0]) for curve in curves]
    assert buffer == max(first_below) and buffer > 0
    # the recorded curve is the mean pixelwise correlation of slices `lag` apart
    density, _ = _direct_cubes(mhd_snapshots[1])
    log_density = np.log10(density)
    lag = 2
    fluctuation = log_density - log_density.mean()
    direct = np.mean(fluctuation * np.roll(fluctuation, -lag, axis=0)) / np.mean(fluctuation ** 2)
    assert slice_autocorrelation(log_density, axis=0)[lag] == pytest.approx(direct, rel=1e-9)


def test_snapshot_file_is_not_modified(mhd_snapshots):
    before = hashlib.sha256(mhd_snapshots[0].read_bytes()).hexdigest()
    build_mhd_slice_splits(mhd_snapshots[:1], buffer=2, seed=0)
    assert hashlib.sha256(mhd_snapshots[0].read_bytes()).hexdigest() == before


def test_hydro_snapshot_is_refused_naming_the_fix(hydro_snapshot):
    with pytest.raises(ValueError, match=r"hydro snapshot .*--mean-field"):
        build_mhd_slice_splits([hydro_snapshot], buffer=1, seed=0)


def test_fits_without_field_extensions_is_refused(tmp_path, mhd_snapshots):
    with fits.open(mhd_snapshots[0]) as hdul:
        density_only = tmp_path / "density.fits"
        fits.PrimaryHDU(hdul[0].data, header=hdul[0].header).writeto(density_only)
    with pytest.raises(ValueError, match=r"no magnetic field extensions \['BX', 'BY', 'BZ'\]"):
        build_mhd_slice_splits([density_only], buffer=1, seed=0)


def test_buffer_too_large_for_the_cube_is_refused(mhd_snapshots):
    with pytest.raises(ValueError, match=r"buffer of 5 cells is too large .* at most 4 cells"):
        build_mhd_slice_splits(mhd_snapshots, buffer=5, seed=0)


def test_cli_summary_and_error(mhd_snapshots, hydro_snapshot, capsys, tmp_path):
    assert main([str(path) for path in mhd_snapshots]
                + ["--axis", "x", "--buffer", "3", "--summary", "--output",
                   str(tmp_path / "pairs")]) == 0
    printed = capsys.readouterr().out
    assert "slicing axis x (16 cells), buffer 3 cells (argument)" in printed
    assert "smallest periodic gap between slices of different splits: 3 cells" in printed
    with np.load(tmp_path / "pairs.npz") as saved:
        assert saved["test_augmented"].sum() == 0 and saved["train_augmented"].sum() > 0
    recorded = json.loads((tmp_path / "pairs.json").read_text())
    assert recorded["train_augmentation"]["seed"] == 0 and recorded["buffer_cells"] == 3
    assert main([str(hydro_snapshot), "--buffer", "1"]) == 2
    assert "hydro snapshot" in capsys.readouterr().err
