"""The public Python API: the same jobs the command line and the glue plugin run."""

import numpy as np

from .classification import CubeClassificationResult, classify_image
from .emission_lines import predict_emission_lines
from .evaluation import classifier_classes, evaluate_labelled, expand_class_specs
from .inputs import InputError, parse_input, reduce_to_image
from .mapping import map_image
from .models import list_models, open_model
from .regression import regress_image
from .saliency_maps import saliency_image

__all__ = ["classify", "evaluate", "list_models", "map_image", "predict_emission_lines",
           "regress", "saliency"]


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
    glue_turbml.classification.ClassificationResult or
    glue_turbml.classification.CubeClassificationResult
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
    >>> result = glue_turbml.classify("map.fits", model="kolmogorov-burgers-fbm")  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
    >>> result.write("map_classified.fits")  # doctest: +SKIP
    """
    parsed = parse_input(data, hdu=hdu, component=component)
    runner = open_model(model, device=device)
    options = dict(stride=stride, boundary=boundary, batch_size=batch_size, progress=progress)
    if slices:
        if parsed.array.ndim != 3:
            raise InputError(f"--slices (slices=True in Python) needs a 3D cube; {parsed.name} "
                             f"is {parsed.array.ndim}D")
        if axis is None:
            axis = parsed.spectral_axis
        if axis is None:
            raise InputError(f"{parsed.name}: --slices needs --axis 0|1|2 for a cube without a "
                             "spectral WCS axis (slices=True, axis= in Python)")
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


def regress(data, *, model, device="auto", hdu=None, component=None, axis=None,
            slice_index=None, projection=None, stride=None, boundary=None, batch_size=64,
            progress=False):
    """Estimate one scalar of a map with a regression model, with its uncertainty.

    E.g. the velocity power-spectrum slope of a column-density map (``spectral-index``). The
    map is tiled as `classify` tiles it; each tile gives a value and a Gaussian sigma, and the
    whole-map value is their inverse-variance weighted mean, its sigma the root mean square of
    the tile sigmas combined with the spread of the tile values (tiles of one map are
    correlated; see `glue_turbml.regression.combine_tile_estimates`).

    Parameters
    ----------
    data : array_like, (array, WCS), str, path, HDU, HDUList, SpectralCube, NDData or glue Data
        What to measure (see `glue_turbml.inputs.parse_input`). Never modified.
    model : str or path
        A map regressor's name (``turbml models list``) or ``.onnx`` path: a card of task
        ``regression`` whose first output lists the value and its ``log_variance``.
    device : {"auto", "cpu", "cuda"}
    hdu, component, axis, slice_index, projection, stride, boundary, batch_size, progress
        As for `classify`.

    Returns
    -------
    glue_turbml.regression.RegressionResult
        ``value`` and ``sigma`` of the whole map, per-tile values and sigmas, per-pixel
        ``value_map`` and ``sigma_map``, the domain check, the input WCS and the provenance;
        ``.write(path)`` saves FITS.

    Raises
    ------
    ValueError
        For a model that is not a map regressor (the message names the command to use).
    glue_turbml.inputs.InputError, glue_turbml.core.TilingError
        As for `classify`.
    glue_turbml.models.ModelNotFoundError, glue_turbml.models.ModelLoadError,
    glue_turbml.models.ModelCardError
        For an unknown, corrupt or mismatched model.

    Examples
    --------
    >>> import glue_turbml
    >>> result = glue_turbml.regress("N_H.fits", model="spectral-index")  # doctest: +SKIP
    >>> result.value, result.sigma  # doctest: +SKIP
    >>> result.write("N_H_spectral-index.fits")  # doctest: +SKIP
    """
    return regress_image(data, model=model, device=device, hdu=hdu, component=component,
                         axis=axis, slice_index=slice_index, projection=projection,
                         stride=stride, boundary=boundary, batch_size=batch_size,
                         progress=progress)


def saliency(data, *, model, method="guided", target=None, region=None, device="auto",
             hdu=None, component=None, axis=None, slice_index=None, projection=None, stride=None,
             boundary=None, batch_size=32, progress=False, occlusion_window=None,
             occlusion_stride=None, occlusion_baseline="mean"):
    """Which pixels drive a model's output: a full-resolution saliency map.

    For classifiers and regressors the map is computed tile by tile on exactly the tiles and
    preprocessing `classify` uses, then blended with the same smooth window. For image-to-image
    models (U-Nets) it is the gradient of the blended output channel summed over ``region``,
    on the tiles `map_image` uses (see `glue_turbml.saliency_maps.region_saliency`). Gradient
    methods run the model's exported saliency graphs (no torch needed); occlusion runs forward
    passes only and works with any ONNX model.

    Parameters
    ----------
    data : array_like, (array, WCS), str, path, HDU, HDUList, SpectralCube, NDData or glue Data
        What to explain (see `glue_turbml.inputs.parse_input`); a 2D map, or a cube reduced by
        ``slice_index`` or ``projection``. Never modified.
    model : str or path
        A model name (``turbml models list``) or a path to an exported ``.onnx`` file.
    method : {"guided", "vanilla", "occlusion"}
        Guided backpropagation (Springenberg et al. 2014; Peek & Burkhart 2019 Fig. 4), the
        plain gradient (Simonyan et al. 2013), or occlusion (Zeiler & Fergus 2014).
    target : int, str or None
        The class to explain (index or name); the whole-map most probable class by default.
        Regressors: the output (index or name), the first by default. Image-to-image models:
        the output channel (index or name), the first (the predicted mean) by default.
    region : array_like of bool, optional
        Image-to-image models: mask, of the map's shape, of the output pixels to explain (a
        region of interest); the whole map by default.
    device : {"auto", "cpu", "cuda"}
    hdu, component, axis, slice_index, projection, stride, boundary
        As for `classify`.
    batch_size : int
        Tiles (or occluded copies) per onnxruntime call.
    progress : bool or callable
        ``True`` shows a progress bar; a callable gets ``(done, total)``.
    occlusion_window, occlusion_stride : int, optional
        Occluding square and step in pixels (``tile_size // 8`` and half of it by default).
    occlusion_baseline : float or "mean"
        Value of occluded pixels (each tile's mean by default).

    Returns
    -------
    glue_turbml.saliency_maps.SaliencyResult
        The map, the explained class, whole-map probabilities, the input WCS and the
        provenance; ``.overlay()`` gives the smoothed map and the contour level, ``.write(path)``
        saves FITS.

    Raises
    ------
    ValueError
        For an unknown method or target class.
    glue_turbml.inputs.InputError, glue_turbml.core.TilingError
        As for `classify`.
    glue_turbml.models.ModelLoadError
        If the model ships no graph for ``method`` (``"occlusion"`` always works) or its
        saliency file does not match its card.

    Examples
    --------
    >>> import glue_turbml
    >>> result = glue_turbml.saliency("map.fits", model="kolmogorov-burgers-fbm")  # doctest: +SKIP
    >>> smoothed, level = result.overlay()  # doctest: +SKIP
    >>> result.write("map_saliency.fits")  # doctest: +SKIP
    """
    parsed = parse_input(data, hdu=hdu, component=component)
    runner = open_model(model, device=device)
    image, wcs, _ = reduce_to_image(parsed, axis=axis, slice_index=slice_index,
                                    projection=projection)
    return saliency_image(np.asarray(image), runner, method=method, target=target,
                          region=region, wcs=wcs,
                          input_name=parsed.name, stride=stride, boundary=boundary,
                          batch_size=batch_size, progress=progress,
                          occlusion_window=occlusion_window, occlusion_stride=occlusion_stride,
                          occlusion_baseline=occlusion_baseline)


def evaluate(classes, *, model, device="auto", hdu=None, axis=None, slices=False,
             projection=None, slice_step=1, stride=None, boundary=None, batch_size=64,
             progress=False):
    """Score a classifier on labelled maps or cubes: accuracy, confusion matrix, ROC and AUC.

    This is how to check a shipped model (or your own) on simulations or maps whose class you
    know, with no torch: every tile is scored (the network's unit) and every map, cube plane or
    projection (the mean over its tiles, as `classify` reports it).

    Parameters
    ----------
    classes : dict or list of str
        ``{label: pattern or list of paths}``, or ``["LABEL=GLOB", ...]`` as on the command
        line; each label must be a class of the model; a folder stands for its FITS files.
    model : str or path
        A classifier's name or ``.onnx`` path.
    device : {"auto", "cpu", "cuda"}
    hdu, axis, slices, projection, slice_step, stride, boundary, batch_size, progress
        How maps are made of each file and tiled, as for
        `glue_turbml.evaluation.evaluate_labelled` (``boundary="periodic"`` for slices of
        periodic simulation boxes).

    Returns
    -------
    glue_turbml.evaluation.EvaluationResult
        ``.write(folder)`` saves ``evaluation.json``, ``.md`` and ``.png``.

    Raises
    ------
    glue_turbml.inputs.InputError
        For an unknown label, a pattern matching no file, or when no file could be classified.
    ValueError
        For a model that is not a classifier.

    Examples
    --------
    >>> result = glue_turbml.evaluate(  # doctest: +SKIP
    ...     {"sub_alfvenic": "runs/b1/*.fits", "super_alfvenic": "runs/b01/*.fits"},
    ...     model="alfven", axis=0, slices=True, boundary="periodic")
    >>> print(result); result.write("evaluation/")  # doctest: +SKIP
    """
    runner = open_model(model, device=device)
    labelled = expand_class_specs(classes, classifier_classes(runner.card))
    return evaluate_labelled(labelled, runner, hdu=hdu, axis=axis, slices=slices,
                             projection=projection, slice_step=slice_step, stride=stride,
                             boundary=boundary, batch_size=batch_size, progress=progress)
