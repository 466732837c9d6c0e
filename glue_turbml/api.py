"""The public Python API: the same jobs the command line and the glue plugin run."""

import numpy as np

from .classification import classify_image
from .inputs import InputError, parse_input, reduce_to_image
from .models import list_models, open_model
from .results import CubeClassificationResult

__all__ = ["classify", "list_models"]


def classify(data, *, model, device="auto", hdu=None, component=None, axis=None, slice_index=None,
             projection=None, slices=False, stride=None, boundary=None, batch_size=64,
             progress=False):
    """Classify the turbulence in a map, a cube plane, a cube projection or every cube plane.

    Parameters
    ----------
    data : array_like, (array, WCS), str, path, HDU, HDUList, SpectralCube, NDData or glue Data
        What to classify (see `glue_turbml.inputs.parse_input`). Never modified.
    model : str or path
        A model name (``turbml models list``) or a path to an exported ``.onnx`` file.
    device : {"auto", "cpu", "cuda"}
        ``"auto"`` uses CUDA when onnxruntime can, the CPU otherwise; the result reports which.
    hdu : int or str, optional
        Which HDU of a FITS file.
    component : str, optional
        Which component of a glue dataset.
    axis : int, optional
        numpy axis of a 3D cube to slice or project along (the spectral axis of spectral cubes
        by default).
    slice_index : int, optional
        Classify this plane of a cube.
    projection : {"sum", "mean", "moment0"}, optional
        Classify the cube projected along ``axis`` (a column-density map for a density cube).
    slices : bool
        Classify every plane of a cube along ``axis`` (returns a `CubeClassificationResult`).
    stride : int, optional
        Tile stride in pixels; the model card's by default.
    boundary : {"reflect", "periodic"}, optional
        How tiles past the edge are filled: ``"periodic"`` for simulation slices, ``"reflect"``
        (the usual card default) for observed maps.
    batch_size : int
        Tiles per onnxruntime call.
    progress : bool or callable
        ``True`` shows a progress bar; a callable gets ``(done, total)`` tile counts.

    Returns
    -------
    glue_turbml.results.ClassificationResult or glue_turbml.results.CubeClassificationResult
        Whole-map class probabilities with their spread across tiles, per-tile probabilities,
        per-pixel probability maps, the input WCS and the provenance; ``.write(path)`` saves FITS.

    Raises
    ------
    glue_turbml.inputs.InputError
        For unreadable or unsupported input (1D, 4D, a cube without a slicing choice).
    glue_turbml.core.TilingError
        For a map smaller than a tile or with no usable tile (all NaN).
    glue_turbml.models.ModelNotFoundError, glue_turbml.models.ModelLoadError
        For an unknown, corrupt or mismatched model.
    glue_turbml.models.DeviceError
        For ``device="cuda"`` where CUDA cannot run.

    Examples
    --------
    >>> import glue_turbml
    >>> result = glue_turbml.classify("map.fits", model="kolmogorov-burgers")  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
    >>> result.write("map_classified.fits")  # doctest: +SKIP
    """
    parsed = parse_input(data, hdu=hdu, component=component)
    runner = open_model(model, device=device)
    options = dict(stride=stride, boundary=boundary, batch_size=batch_size, progress=progress)
    if slices:
        if parsed.array.ndim != 3:
            raise InputError(f"slices=True needs a 3D cube; {parsed.name} is {parsed.array.ndim}D")
        if axis is None:
            axis = parsed.spectral_axis
        if axis is None:
            raise InputError("slices=True needs axis=0, 1 or 2 for a cube without a spectral axis")
        results = []
        for index in range(parsed.array.shape[axis]):
            plane, wcs, _ = reduce_to_image(parsed, axis=axis, slice_index=index)
            results.append(classify_image(plane, runner, wcs=wcs,
                                          input_name=f"{parsed.name}[axis {axis} = {index}]",
                                          **options))
        return CubeClassificationResult(results, int(axis) % 3)
    image, wcs, _ = reduce_to_image(parsed, axis=axis, slice_index=slice_index,
                                    projection=projection)
    return classify_image(np.asarray(image), runner, wcs=wcs, input_name=parsed.name, **options)
