"""Preprocessing steps shared by training and inference, built from a model card's list."""

import numbers

import numpy as np

__all__ = [
    "log10",
    "fixed_fourier_power",
    "equalize_histogram",
    "standardize",
    "PREPROCESS_STEPS",
    "SCOPES",
    "build_pipeline",
    "describe_pipeline",
    "PreprocessError",
]


class PreprocessError(ValueError):
    """A preprocessing step or its parameters are not usable."""


def _as_tile_stack(images):
    """Return ``images`` as a float64 stack of shape (n, ny, nx) and whether it was 2D."""
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 2:
        return array[np.newaxis], True
    if array.ndim == 3:
        return array, False
    raise PreprocessError(
        f"preprocessing works on one 2D image or a stack of them (n, ny, nx); "
        f"got shape {array.shape}"
    )


def _restore(stack, was_2d):
    return stack[0] if was_2d else stack


def log10(images, *, floor=None):
    """Base-10 logarithm with a floor for non-positive values.

    Parameters
    ----------
    images : array_like
        One 2D image or a stack ``(n, ny, nx)``. Not modified.
    floor : float or None, optional
        Values below ``floor`` (including zero and negative values) are raised to it before the
        logarithm. With ``None`` (the default) the floor of each image is its own smallest positive
        finite value, so empty or negative pixels (noise in an observed map, a rounding zero in a
        simulation) take the faintest real value rather than ``-inf``. An image with no positive
        value at all gets the floor ``1e-30``.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape; NaN stays NaN.

    Raises
    ------
    PreprocessError
        If ``floor`` is given and not a finite positive number, or the input is not 2D/3D.

    Examples
    --------
    >>> log10(np.array([[100.0, 0.0], [10.0, -1.0]]))
    array([[2., 1.],
           [1., 1.]])
    """
    stack, was_2d = _as_tile_stack(images)
    if floor is not None and not (
        isinstance(floor, numbers.Real) and not isinstance(floor, bool) and 0 < floor < np.inf
    ):
        raise PreprocessError(f"log10 floor must be a finite positive number, got {floor!r}")
    out = np.empty_like(stack)
    for index, image in enumerate(stack):
        if floor is None:
            positive = image[np.isfinite(image) & (image > 0)]
            image_floor = positive.min() if positive.size else 1e-30
        else:
            image_floor = floor
        with np.errstate(invalid="ignore"):
            out[index] = np.log10(np.where(image < image_floor, image_floor, image))
    return _restore(out, was_2d)


def fixed_fourier_power(images, *, relative_tolerance=1e-12, edges="periodic"):
    """Set every Fourier amplitude to one and keep the phases ("FFP", Peek & Burkhart 2019).

    FFP removes the power spectrum only from a periodic image: the edge jump of a non-periodic
    one sets the phases of many modes, and its strength against the interior depends on the
    spectrum. ``edges="mirror"`` makes any map periodic without a jump first: the image is
    extended to twice its size by even reflection, given fixed power, and its own quarter of
    the result is returned.

    Parameters
    ----------
    images : array_like
        One 2D image or a stack ``(n, ny, nx)``, finite values only. Not modified.
    relative_tolerance : float, optional
        Modes whose amplitude is below this fraction of the largest amplitude have no defined
        phase; they are given amplitude one and phase zero, so the output never holds NaN.
    edges : {"periodic", "mirror"}, optional
        ``"periodic"`` for periodic images (simulation slices); ``"mirror"`` for maps whose
        opposite edges do not meet (observations, cut tiles).

    Returns
    -------
    numpy.ndarray
        Real float64 images whose 2D Fourier transform has modulus one at every mode.

    Raises
    ------
    PreprocessError
        If an image holds NaN or infinite values (fill them first).
    """
    stack, was_2d = _as_tile_stack(images)
    if not np.all(np.isfinite(stack)):
        raise PreprocessError("fixed Fourier power needs finite images; fill NaN pixels first")
    if edges not in ("periodic", "mirror"):
        raise PreprocessError(f"ffp edges must be 'periodic' or 'mirror', got {edges!r}")
    ny, nx = stack.shape[-2:]
    if edges == "mirror":
        stack = np.concatenate([stack, stack[..., ::-1, :]], axis=-2)
        stack = np.concatenate([stack, stack[..., :, ::-1]], axis=-1)
    spectrum = np.fft.fft2(stack, axes=(-2, -1))
    amplitude = np.abs(spectrum)
    largest = amplitude.max(axis=(-2, -1), keepdims=True)
    undefined_phase = amplitude <= relative_tolerance * np.maximum(largest, np.finfo(float).tiny)
    unit = np.where(undefined_phase, 1.0, spectrum / np.where(undefined_phase, 1.0, amplitude))
    flattened = np.fft.ifft2(unit, axes=(-2, -1)).real[..., :ny, :nx]
    return _restore(flattened, was_2d)


def equalize_histogram(images, *, nbins=256):
    """Histogram-equalize each image to values in [0, 1] with scikit-image.

    Parameters
    ----------
    images : array_like
        One 2D image or a stack ``(n, ny, nx)``, finite values only. Not modified.
    nbins : int, optional
        Number of histogram bins (scikit-image's ``equalize_hist``).

    Returns
    -------
    numpy.ndarray
        float64 images; a constant image maps to 0.5 everywhere.
    """
    from skimage.exposure import equalize_hist

    stack, was_2d = _as_tile_stack(images)
    out = np.empty_like(stack)
    for index, image in enumerate(stack):
        if np.ptp(image) == 0:
            # scikit-image returns an arbitrary constant here; mid-grey says "no contrast".
            out[index] = 0.5
        else:
            out[index] = equalize_hist(image, nbins=nbins)
    return _restore(out, was_2d)


def standardize(images):
    """Subtract each image's mean and divide by its standard deviation (constant images -> 0)."""
    stack, was_2d = _as_tile_stack(images)
    mean = stack.mean(axis=(-2, -1), keepdims=True)
    std = stack.std(axis=(-2, -1), keepdims=True)
    out = (stack - mean) / np.where(std > 0, std, 1.0)
    return _restore(out, was_2d)


#: Steps a model card may name, mapped to their implementations.
PREPROCESS_STEPS = {
    "log10": log10,
    "ffp": fixed_fourier_power,
    "equalize_hist": equalize_histogram,
    "standardize": standardize,
}


#: Where a step acts: on each tile after cutting (default), or on the whole map before tiling.
SCOPES = ("tile", "map")


def describe_pipeline(steps):
    """Return a short human-readable text of a card's preprocessing steps, e.g. ``log10 > ffp``."""
    parts = []
    for step in steps:
        params = ", ".join(f"{key}={value}" for key, value in step.items() if key != "op")
        parts.append(f"{step['op']}({params})" if params else step["op"])
    return " > ".join(parts) if parts else "none"


def build_pipeline(steps, *, scope="all", edges="periodic"):
    """Build the preprocessing function a model card describes.

    A step may say ``"scope": "map"``: it acts on the whole map before tiling (FFP of a
    periodic simulation slice, say, which cut tiles would spoil); such steps come first. The
    runtime builds the map part and the tile part separately; training on whole periodic maps
    applies all steps at once, which is the same thing.

    Parameters
    ----------
    steps : list of dict
        Ordered steps, each ``{"op": NAME, **params}`` with NAME in `PREPROCESS_STEPS`, and
        optionally ``"scope": "map"`` or ``"tile"`` (the default).
    scope : {"all", "map", "tile"}, optional
        Which steps to build: all of them in order, only the map-scope ones, or only the
        tile-scope ones.
    edges : {"periodic", "mirror"}, optional
        Edges of the maps given to map-scope ``ffp`` steps (see `fixed_fourier_power`).

    Returns
    -------
    callable
        ``pipeline(tiles) -> float32 array`` applying the steps in order to one image or a stack.

    Raises
    ------
    PreprocessError
        For an unknown step name or parameters the step does not take.

    Examples
    --------
    >>> pipeline = build_pipeline([{"op": "log10"}, {"op": "equalize_hist", "nbins": 64}])
    >>> pipeline(np.random.default_rng(0).lognormal(size=(2, 8, 8))).shape
    (2, 8, 8)
    """
    import inspect

    if scope not in ("all", *SCOPES):
        raise PreprocessError(f"scope must be 'all', 'map' or 'tile', got {scope!r}")
    bound, seen_tile_step = [], False
    for position, step in enumerate(steps):
        if not isinstance(step, dict) or "op" not in step:
            raise PreprocessError(f"preprocess step {position} must be a dict with an 'op' key")
        step_scope = step.get("scope", "tile")
        if step_scope not in SCOPES:
            raise PreprocessError(f"preprocess step {position} has scope {step_scope!r}; "
                                  f"use one of {SCOPES}")
        if step_scope == "map" and seen_tile_step:
            raise PreprocessError(f"preprocess step {position} ({step['op']}) acts on the whole "
                                  "map but follows a tile step; map steps come first")
        seen_tile_step |= step_scope == "tile"
        name = step["op"]
        if name not in PREPROCESS_STEPS:
            raise PreprocessError(
                f"unknown preprocess step {name!r}; known steps: {', '.join(PREPROCESS_STEPS)}"
            )
        function = PREPROCESS_STEPS[name]
        params = {key: value for key, value in step.items() if key not in ("op", "scope")}
        accepted = set(inspect.signature(function).parameters) - {"images"}
        unknown = set(params) - accepted
        if unknown:
            raise PreprocessError(
                f"preprocess step {name!r} takes {sorted(accepted) or 'no parameters'}, "
                f"not {sorted(unknown)}"
            )
        if scope in ("all", step_scope):
            if scope == "map" and name == "ffp":
                params = dict(params, edges=params.get("edges", edges))
            bound.append((function, params))

    def pipeline(tiles):
        result = tiles
        for function, params in bound:
            result = function(result, **params)
        return np.asarray(result, dtype=np.float32)

    pipeline.description = describe_pipeline(steps)
    return pipeline
