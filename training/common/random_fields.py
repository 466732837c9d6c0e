"""Seeded Gaussian and lognormal random fields with a power-law power spectrum."""

import numpy as np

__all__ = [
    "KOLMOGOROV_SLOPE",
    "BURGERS_SLOPE",
    "power_law_gaussian_field",
    "lognormal_field",
]

#: Spectral index of Kolmogorov (incompressible) turbulence, P(k) ~ k^-11/3.
KOLMOGOROV_SLOPE = 11.0 / 3.0
#: Spectral index of Burgers (shock-dominated) turbulence, P(k) ~ k^-4.
BURGERS_SLOPE = 4.0


def _wavenumber_magnitude(shape):
    """``|k|`` in cycles per pixel on the half-complex grid `numpy.fft.rfftn` returns.

    Working in cycles per pixel on every axis keeps the spectrum isotropic on non-square grids.
    """
    axes = [np.fft.fftfreq(size) for size in shape[:-1]] + [np.fft.rfftfreq(shape[-1])]
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    return np.sqrt(sum(grid ** 2 for grid in grids))


def power_law_gaussian_field(shape, slope, *, seed, unit_variance=True):
    """Gaussian random field with isotropic power spectrum ``P(k) ~ |k|^-slope``.

    White Gaussian noise is filtered in Fourier space by ``|k|^(-slope/2)``, so the phases are
    uniformly random and independent of ``slope``: two calls with the same ``seed`` and shape
    but different slopes give fields with identical phases (used to build maps whose spectrum
    changes across the field of view). The field is periodic; the ``k = 0`` mode is removed.

    Parameters
    ----------
    shape : tuple of int
        2D ``(ny, nx)`` or 3D ``(nz, ny, nx)`` grid.
    slope : float
        Spectral index: the power per Fourier mode falls as ``|k|^-slope``. Note that a 2D slice
        through a 3D field with index ``n`` has a 2D index ``n - 1``; a projection keeps ``n``.
    seed : int, sequence of int or numpy.random.SeedSequence
        Seed of the white noise (passed to `numpy.random.default_rng`).
    unit_variance : bool, optional
        Rescale the field to zero mean and unit variance (the default).

    Returns
    -------
    numpy.ndarray
        float64 field of the given shape.

    Raises
    ------
    ValueError
        If the shape is not 2D or 3D or an axis is shorter than 2 pixels.

    Examples
    --------
    >>> field = power_law_gaussian_field((64, 64), KOLMOGOROV_SLOPE, seed=0)
    >>> field.shape, round(float(field.std()), 6)
    ((64, 64), 1.0)
    """
    shape = tuple(int(size) for size in shape)
    if len(shape) not in (2, 3) or min(shape) < 2:
        raise ValueError(f"power_law_gaussian_field needs a 2D or 3D shape of at least 2 pixels "
                         f"per axis, got {shape}")
    rng = np.random.default_rng(seed)
    white_noise = rng.standard_normal(shape)
    k_magnitude = _wavenumber_magnitude(shape)
    with np.errstate(divide="ignore"):
        amplitude = np.where(k_magnitude > 0, k_magnitude, np.inf) ** (-0.5 * slope)
    axes = tuple(range(len(shape)))
    field = np.fft.irfftn(np.fft.rfftn(white_noise, axes=axes) * amplitude, s=shape, axes=axes)
    if unit_variance:
        field = (field - field.mean()) / field.std()
    return field


def lognormal_field(shape, slope, *, sigma_ln, seed):
    """Lognormal field ``exp(sigma_ln * g)`` from a unit-variance power-law Gaussian field ``g``.

    A lognormal density or column density is the textbook one-point statistic of isothermal
    supersonic turbulence; here it is only a stand-in with the chosen spectrum and random phases,
    not the outcome of any fluid simulation.

    Parameters
    ----------
    shape : tuple of int
        2D or 3D grid.
    slope : float
        Spectral index of ``g`` (see `power_law_gaussian_field`).
    sigma_ln : float
        Standard deviation of ``ln(field)``; must be positive.
    seed : int, sequence of int or numpy.random.SeedSequence
        Seed of ``g``.

    Returns
    -------
    numpy.ndarray
        Strictly positive float64 field with mean of ``ln(field)`` zero.

    Raises
    ------
    ValueError
        If ``sigma_ln`` is not positive, or for shapes `power_law_gaussian_field` rejects.

    Examples
    --------
    >>> density = lognormal_field((32, 32), BURGERS_SLOPE, sigma_ln=1.0, seed=1)
    >>> bool((density > 0).all())
    True
    """
    if not sigma_ln > 0:
        raise ValueError(f"sigma_ln must be positive, got {sigma_ln!r}")
    gaussian = power_law_gaussian_field(shape, slope, seed=seed, unit_variance=True)
    return np.exp(sigma_ln * gaussian)
