"""Periodic autocorrelations and structure functions along and across the mean field (z), the
statistics both the snapshot summary and the numerics check use."""

import numpy as np

__all__ = ["autocorrelation", "structure_function_along_axes"]


def autocorrelation(field):
    """Periodic autocorrelation C(r) = <f(x) f(x + r)> of the fluctuation (summed over vector
    components), shape (nz, ny, nx), lag 0 at index 0."""
    values = np.asarray(field, dtype=np.float64)
    components = values if values.ndim == 4 else values[None]
    total = np.zeros(components.shape[1:])
    for component in components:
        spectrum = np.fft.fftn(component - component.mean())
        total += np.fft.ifftn(np.abs(spectrum) ** 2).real
    return total / float(np.prod(components.shape[1:]))


def structure_function_along_axes(field):
    """Second-order structure functions SF2(l) = <|f(x + l e) - f(x)|^2> for lags along z
    (parallel to the mean field) and across it (x and y averaged), l = 0 .. min(shape) // 2 cells.

    Returns
    -------
    parallel, perpendicular : numpy.ndarray
    """
    correlation = autocorrelation(field)
    lags = min(correlation.shape) // 2 + 1
    zero = correlation[0, 0, 0]
    along_z = correlation[:lags, 0, 0]
    across = 0.5 * (correlation[0, :lags, 0] + correlation[0, 0, :lags])
    return 2.0 * (zero - along_z), 2.0 * (zero - across)
