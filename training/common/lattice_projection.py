"""Column density of a periodic cube along lattice directions at an angle to the mean field.

A line of sight along the integer direction ``(a, c)`` in the (x, z) plane (z along the mean
field, ``gcd(a, c) = 1``) wraps around the periodic box and closes after ``N`` cells, passing
through exactly one cell of every (y, x, z) column it crosses: summing the density along it
needs no interpolation, and every cell is counted once. The lines are labelled by
``u = (c x - a z) mod N``, constant along each line, so the projected map is ``(N_y, N)`` with
``y`` along rows and ``u`` along columns. Neighbouring ``u`` are neighbouring lines, spaced
``1 / sqrt(a^2 + c^2)`` cells apart across the line of sight (a finer, exact sampling than the
grid; the map keeps ``N`` pixels per row).

The angle between the line of sight and the mean field is ``atan(a / c)``: ``(0, 1)`` is along
the field (0 deg), ``(1, 2)`` 26.6 deg, ``(1, 1)`` 45 deg, ``(2, 1)`` 63.4 deg, ``(1, 0)`` across
it (90 deg).
"""

import math

import numpy as np

__all__ = ["LATTICE_DIRECTIONS", "direction_angle_degrees", "lattice_projection"]

#: Lattice directions (a, c) closest to 0, 30, 60 and 90 degrees from the field, and 45.
LATTICE_DIRECTIONS = ((0, 1), (1, 2), (1, 1), (2, 1), (1, 0))


def direction_angle_degrees(direction):
    """Angle between the lattice direction ``(a, c)`` and the z (mean-field) axis, in degrees."""
    a, c = direction
    return math.degrees(math.atan2(abs(a), abs(c)))


def lattice_projection(cube, direction):
    """Sum of a periodic ``(z, y, x)`` cube along the lattice direction ``(a, c)``.

    Parameters
    ----------
    cube : array_like
        ``(N, N_y, N)`` values (density), z along the mean field; periodic. Not modified.
    direction : tuple of int
        ``(a, c)``: ``a`` cells along x for ``c`` cells along z, ``gcd(a, c) = 1``.

    Returns
    -------
    numpy.ndarray
        ``(N_y, N)`` float64 column map (sum over the ``N`` cells of each line; for
        ``(0, 1)`` exactly the sum along z, for ``(1, 0)`` exactly the sum along x).

    Raises
    ------
    ValueError
        For a cube that is not 3D with equal z and x sides, or a direction that is not a
        primitive integer pair.
    """
    values = np.asarray(cube, dtype=np.float64)
    if values.ndim != 3 or values.shape[0] != values.shape[2]:
        raise ValueError(f"need a (N, N_y, N) cube (z and x sides equal), got {values.shape}")
    a, c = (int(component) for component in direction)
    if (a, c) != tuple(direction) or math.gcd(a, c) != 1:
        raise ValueError(f"direction {direction} must be two integers with gcd 1, e.g. (1, 2)")
    n, n_y, _ = values.shape
    z, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    line = (c * x - a * z) % n                        # (z, x) -> line label u
    flat = values.transpose(1, 0, 2).reshape(n_y, n * n)  # (y, z*x)
    projected = np.zeros((n_y, n))
    for row in range(n_y):
        projected[row] = np.bincount(line.ravel(), weights=flat[row], minlength=n)
    return projected
