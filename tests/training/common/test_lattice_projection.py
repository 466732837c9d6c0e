"""Column density along lattice directions: exact sums, every cell once, the stated angles."""

import numpy as np
import pytest

from training.common.lattice_projection import (LATTICE_DIRECTIONS, direction_angle_degrees,
                                                lattice_projection)


@pytest.fixture
def cube():
    return np.random.default_rng(0).lognormal(size=(16, 12, 16))


def test_axis_directions_are_plain_sums(cube):
    np.testing.assert_allclose(lattice_projection(cube, (0, 1)), cube.sum(axis=0), rtol=1e-12)
    along_x = lattice_projection(cube, (1, 0))
    # u = -z mod N for direction (1, 0): column u holds the plane z = -u mod N
    expected = cube.sum(axis=2)[(-np.arange(16)) % 16, :].T
    np.testing.assert_allclose(along_x, expected, rtol=1e-12)


@pytest.mark.parametrize("direction", LATTICE_DIRECTIONS)
def test_every_cell_is_counted_once(cube, direction):
    projected = lattice_projection(cube, direction)
    assert projected.shape == (12, 16)
    np.testing.assert_allclose(projected.sum(axis=1), cube.sum(axis=(0, 2)), rtol=1e-12)
    ones = lattice_projection(np.ones_like(cube), direction)
    np.testing.assert_array_equal(ones, 16.0)  # each line crosses 16 cells


def test_a_single_dense_line_lands_in_one_pixel():
    cube = np.zeros((8, 3, 8))
    for step in range(8):  # the line through (z, x) = (0, 0) along (a, c) = (1, 2)
        cube[(2 * step) % 8, 1, step % 8] = 1.0
    projected = lattice_projection(cube, (1, 2))
    assert projected[1, 0] == 8.0  # u = 2x - z = 0 along the whole line, 8 cells
    assert np.count_nonzero(projected) == 1


def test_angles_and_bad_input():
    assert [round(direction_angle_degrees(d), 1) for d in LATTICE_DIRECTIONS] == \
        [0.0, 26.6, 45.0, 63.4, 90.0]
    with pytest.raises(ValueError, match="gcd 1"):
        lattice_projection(np.zeros((4, 4, 4)), (2, 2))
    with pytest.raises(ValueError, match="z and x sides equal"):
        lattice_projection(np.zeros((4, 4, 6)), (1, 1))
