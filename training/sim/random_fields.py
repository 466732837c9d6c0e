"""Seeded Gaussian random fields with a power-law spectrum (scalar, or solenoidal vectors)."""

import numpy as np

__all__ = ["power_law_field", "KOLMOGOROV_SLOPE", "BURGERS_SLOPE"]

# slopes n of the 3D velocity power spectrum P(k) ~ k^-n (shell-integrated E(k) ~ k^(2-n))
KOLMOGOROV_SLOPE = 11.0 / 3.0
BURGERS_SLOPE = 4.0


def power_law_field(shape, slope, *, seed, components=1, solenoidal=False, k_min=1.0,
                    k_max=None, stretch=(1.0, 1.0, 1.0), rms=1.0):
    """A real periodic Gaussian random field whose power spectrum is P(k) ~ k^-slope.

    Parameters
    ----------
    shape : tuple of 3 int
        Cells along the three array axes.
    slope : float
        Spectral index n of P(k) ~ k^-n (11/3 Kolmogorov, 4 Burgers, or any value).
    seed : int
        Seed of the numpy generator that draws every random number (on the CPU, in float64).
    components : {1, 3}
        A scalar field (shape ``shape``) or a vector field (3,) + shape whose component i points
        along array axis i.
    solenoidal : bool
        Project each Fourier mode onto the plane normal to k (vector fields only): k . v_k = 0.
    k_min, k_max : float
        Band of |k| (cycles per box side) that carries power; ``k_max`` defaults to the Nyquist
        number min(shape) // 2. Nyquist planes are always left empty.
    stretch : tuple of 3 float
        Anisotropy: the spectrum is a function of |(k_i * stretch_i)|, so structures are
        ``stretch_i`` times longer along axis i (the band still uses the unstretched |k|).
    rms : float
        Root-mean-square of the returned field (summed over components).

    Returns
    -------
    numpy.ndarray
        float64 field with zero mean.

    Examples
    --------
    >>> v = power_law_field((16, 16, 16), 11 / 3, seed=1, components=3, solenoidal=True)
    >>> v.shape
    (3, 16, 16, 16)
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 4:
        raise ValueError(f"need three axes of at least 4 cells, got {shape}")
    if components not in (1, 3):
        raise ValueError(f"components must be 1 or 3, got {components!r}")
    if solenoidal and components != 3:
        raise ValueError("a solenoidal field needs components=3")
    k_max = min(shape) // 2 if k_max is None else k_max
    if not 0.0 < k_min <= k_max:
        raise ValueError(f"need 0 < k_min <= k_max, got {k_min}, {k_max}")
    wavenumbers = np.meshgrid(*[np.fft.fftfreq(n, d=1.0 / n) for n in shape], indexing="ij")
    magnitude = np.sqrt(sum(k * k for k in wavenumbers))
    stretched = np.sqrt(sum((k * s) ** 2 for k, s in zip(wavenumbers, stretch)))
    in_band = (magnitude >= k_min) & (magnitude <= k_max)
    for k, n in zip(wavenumbers, shape):
        in_band &= np.abs(k) < n / 2          # no Nyquist modes: their parity is ambiguous
    amplitude = np.zeros(shape)
    amplitude[in_band] = stretched[in_band] ** (-0.5 * slope)
    generator = np.random.default_rng(seed)
    draws = generator.standard_normal((components, 2) + shape)
    coefficients = (draws[:, 0] + 1j * draws[:, 1]) * amplitude
    if solenoidal:
        safe = np.where(magnitude > 0, magnitude, 1.0)
        unit = [k / safe for k in wavenumbers]
        along = sum(u * c for u, c in zip(unit, coefficients))
        coefficients = np.stack([c - along * u for c, u in zip(coefficients, unit)])
    # the real part keeps k . v_k = 0 (it averages v_k with conj(v_-k), both normal to k)
    field = np.fft.ifftn(coefficients, axes=(1, 2, 3)).real
    field -= field.mean(axis=(1, 2, 3), keepdims=True)
    norm = np.sqrt((field ** 2).sum(axis=0).mean())
    if norm == 0.0:
        raise ValueError(f"no modes in the band {k_min} <= |k| <= {k_max} on {shape}")
    field *= rms / norm
    return field if components == 3 else field[0]
