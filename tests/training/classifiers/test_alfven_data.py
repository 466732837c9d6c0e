"""Labelled maps from real simulator snapshots: runs kept whole, times and angles recorded."""

import numpy as np
import pytest
from astropy.io import fits

from glue_turbml.evaluation import expand_class_specs
from tests.training.classifiers.alfven_runs import CLASSES, simulate_alfven_runs
from training.classifiers.alfven_data import load_labelled_maps, maps_of_cube
from training.common.lattice_projection import LATTICE_DIRECTIONS, lattice_projection


@pytest.fixture(scope="module")
def snapshot_folders(tmp_path_factory):
    """Two seeds per class of real 8^3 driven MHD runs (B0 = 1 and 0.1), two snapshots each."""
    return simulate_alfven_runs(tmp_path_factory.mktemp("alfven"), seeds=(1, 2),
                                snapshot_turnovers=(0.05, 0.1))


def _labelled(root):
    return expand_class_specs({label: str(root / label / "*" / "snapshot_*.fits")
                               for label in CLASSES}, CLASSES)


def test_slices_keep_runs_times_and_the_cube_planes(snapshot_folders):
    labelled = _labelled(snapshot_folders)
    assert len(labelled) == 8
    data = load_labelled_maps(labelled, CLASSES, kind="slices")
    assert len(data) == 8 * 8 and data.maps[0].shape == (8, 8)
    assert len(np.unique(data.runs)) == 4  # two snapshots of one seed are one run
    for run in np.unique(data.runs):
        assert len(np.unique(data.labels[data.runs == run])) == 1
    np.testing.assert_allclose(sorted(np.unique(data.times)), [0.05, 0.1], atol=0.01)
    assert np.all(np.isnan(data.angles))
    first = fits.getdata(labelled[0].path).astype(np.float32)
    np.testing.assert_array_equal(data.maps[3], first[3])
    assert {record["seed"] for record in data.records} == {1, 2}
    every_other = load_labelled_maps(labelled, CLASSES, kind="slices", slice_step=2)
    assert len(every_other) == len(data) // 2
    held_out = data.select(data.runs == data.runs[-1])
    assert len(held_out) == 16 and np.all(held_out.runs == data.runs[-1])


def test_columns_along_lattice_directions(snapshot_folders):
    data = load_labelled_maps(_labelled(snapshot_folders), CLASSES, kind="columns",
                              directions=LATTICE_DIRECTIONS)
    # each direction in the z-x and the z-y plane, the line along z once
    assert len(data) == 8 * (2 * len(LATTICE_DIRECTIONS) - 1)
    np.testing.assert_allclose(np.unique(data.angles), [0.0, 26.565, 45.0, 63.435, 90.0],
                               atol=1e-3)
    # mass: every column map of a snapshot holds the whole box
    totals = [image.sum() for image in data.maps[:2 * len(LATTICE_DIRECTIONS) - 1]]
    np.testing.assert_allclose(totals, totals[0], rtol=1e-5)


def test_a_cube_without_a_seed_is_its_own_run_and_bad_cubes_are_refused(tmp_path):
    cube = np.random.default_rng(0).lognormal(size=(8, 8, 8)).astype(np.float32)
    for name in ("a", "b"):
        fits.PrimaryHDU(cube).writeto(tmp_path / f"{name}.fits")
    fits.PrimaryHDU(cube[:, :, :4]).writeto(tmp_path / "bad.fits")
    good = expand_class_specs({"sub_alfvenic": [str(tmp_path / "a.fits"),
                                                str(tmp_path / "b.fits")]}, CLASSES)
    data = load_labelled_maps(good, CLASSES, kind="columns", directions=[(1, 1)])
    assert list(data.runs) == [0, 0, 1, 1] and np.isnan(data.times).all()
    np.testing.assert_allclose(data.maps[0], lattice_projection(cube, (1, 1)), rtol=1e-6)
    np.testing.assert_allclose(data.maps[1], lattice_projection(cube.swapaxes(1, 2), (1, 1)),
                               rtol=1e-6)
    bad = expand_class_specs({"sub_alfvenic": str(tmp_path / "bad.fits")}, CLASSES)
    with pytest.raises(ValueError, match="z along the mean field"):
        load_labelled_maps(bad, CLASSES)
    with pytest.raises(ValueError, match="lattice directions"):
        maps_of_cube(cube, kind="columns")


def test_records_say_the_runs_numerics_and_driving(snapshot_folders):
    data = load_labelled_maps(_labelled(snapshot_folders), CLASSES, kind="slices")
    record = data.records[0]
    assert "cells=8" in record["numerics"] and "limiter=mc" in record["numerics"]
    assert "forcing_shape=flat" in record["driving"]
    assert record["files"][0]["numerics"] == record["numerics"]


def test_periodic_resampling_keeps_the_field_and_its_periodicity():
    from training.classifiers.alfven_data import resample_periodic
    from training.common.random_fields import lognormal_field

    # band-limited log density: its modes all fit the smaller grid, so 64 -> 48 -> 64 returns
    # it to round-off of float32 storage
    x = np.arange(64) * 2 * np.pi / 64
    logged = 0.8 * np.sin(3 * x)[:, None] + 0.5 * np.cos(5 * x)[None, :] + 0.3 * np.sin(
        2 * x[:, None] + 7 * x[None, :])
    image = np.exp(logged)
    smaller = resample_periodic(image, 48)
    assert smaller.shape == (48, 48) and smaller.dtype == np.float32
    x48 = np.arange(48) * 2 * np.pi / 48
    expected = np.exp(0.8 * np.sin(3 * x48)[:, None] + 0.5 * np.cos(5 * x48)[None, :]
                      + 0.3 * np.sin(2 * x48[:, None] + 7 * x48[None, :]))
    np.testing.assert_allclose(smaller, expected, rtol=1e-5)
    # a turbulent-looking field with its sharpest peaks: stays positive (resampled in log)
    field = lognormal_field((64, 64), 2.0, sigma_ln=1.5, seed=3)
    assert np.all(resample_periodic(field, 48) > 0)
    assert resample_periodic(field, 64) is field
    with pytest.raises(ValueError, match="positive"):
        resample_periodic(field - field.mean(), 48)


def test_cubes_of_two_resolutions_make_one_set_of_maps(snapshot_folders, tmp_path):
    cube = fits.getdata(_labelled(snapshot_folders)[0].path).astype(np.float64)
    fits.PrimaryHDU(np.kron(cube, np.ones((2, 2, 2)))).writeto(tmp_path / "fine.fits")
    labelled = expand_class_specs({"sub_alfvenic": str(tmp_path / "fine.fits"),
                                   "super_alfvenic": _labelled(snapshot_folders)[-1].path},
                                  CLASSES)
    data = load_labelled_maps(labelled, CLASSES, kind="slices", map_size=8)
    assert {image.shape for image in data.maps} == {(8, 8)} and len(data) == 16 + 8
    # the mean over a box survives resampling (a resampled block-replicated map keeps its mass
    # up to the log-space smoothing: within 5%)
    assert data.maps[0].mean() == pytest.approx(cube[0].mean(), rel=0.05)


def test_each_map_gets_its_snapshots_alfven_mach_and_accuracy_is_binned_per_class():
    from training.classifiers.alfven import accuracy_by_alfven_mach, map_alfven_mach
    from training.classifiers.alfven_data import LabelledMaps

    records = [{"files": [{"time_turnovers": 2.0, "mach_alfven_total": 0.66},
                          {"time_turnovers": 2.25, "mach_alfven_total": 0.71}]},
               {"files": [{"time_turnovers": 2.0, "mach_alfven_total": 1.85},
                          {"time_turnovers": 2.25, "mach_alfven_total": None}]}]
    maps = [np.zeros((4, 4))] * 5
    data = LabelledMaps(maps, np.array([0, 0, 1, 1, 1]), np.array([0, 0, 1, 1, 1]),
                        np.array([2.0, 2.25, 2.0, 2.0, 2.25]), np.full(5, np.nan),
                        ["sub_alfvenic", "super_alfvenic"], records)
    mach = map_alfven_mach(data)
    assert mach[:4] == pytest.approx([0.66, 0.71, 1.85, 1.85]) and np.isnan(mach[4])
    correct = np.array([True, False, True, False, True])
    bins = accuracy_by_alfven_mach(mach, data.labels, correct, data.class_names)
    # the map without a recorded M_A is left out, not put in a bin
    assert bins == {"sub_alfvenic": {"0.6-0.7": {"accuracy": 1.0, "maps": 1},
                                     "0.7-0.8": {"accuracy": 0.0, "maps": 1}},
                    "super_alfvenic": {"1.8-1.9": {"accuracy": 0.5, "maps": 2}}}
