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
    assert len(data) == 8 * len(LATTICE_DIRECTIONS)
    np.testing.assert_allclose(np.unique(data.angles), [0.0, 26.565, 45.0, 63.435, 90.0],
                               atol=1e-3)
    # mass: every column map of a snapshot holds the whole box
    totals = [image.sum() for image in data.maps[:len(LATTICE_DIRECTIONS)]]
    np.testing.assert_allclose(totals, totals[0], rtol=1e-5)


def test_a_cube_without_a_seed_is_its_own_run_and_bad_cubes_are_refused(tmp_path):
    cube = np.random.default_rng(0).lognormal(size=(8, 8, 8)).astype(np.float32)
    for name in ("a", "b"):
        fits.PrimaryHDU(cube).writeto(tmp_path / f"{name}.fits")
    fits.PrimaryHDU(cube[:, :, :4]).writeto(tmp_path / "bad.fits")
    good = expand_class_specs({"sub_alfvenic": [str(tmp_path / "a.fits"),
                                                str(tmp_path / "b.fits")]}, CLASSES)
    data = load_labelled_maps(good, CLASSES, kind="columns", directions=[(1, 1)])
    assert list(data.runs) == [0, 1] and np.isnan(data.times).all()
    np.testing.assert_allclose(data.maps[0], lattice_projection(cube, (1, 1)), rtol=1e-6)
    bad = expand_class_specs({"sub_alfvenic": str(tmp_path / "bad.fits")}, CLASSES)
    with pytest.raises(ValueError, match="z along the mean field"):
        load_labelled_maps(bad, CLASSES)
    with pytest.raises(ValueError, match="lattice directions"):
        maps_of_cube(cube, kind="columns")
