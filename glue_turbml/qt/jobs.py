"""Plugin jobs in three steps: prepare (main thread), run (worker), apply (main thread).

Two jobs: "Classify turbulence" (`run_job`, classification and saliency) and "U-Net
mapping" (`run_map_job`); "Estimate (regression)" is in `regression_jobs`, on the same
`prepare_job`.

`prepare_job` reads the glue dataset into a plain numpy map on the main thread, `run_job` does
only numpy and onnxruntime work so it can run in a worker thread (with progress and a cancel
check between batches of tiles), and `apply_outcome` turns the results into glue datasets on the
main thread. None of this imports Qt, so it is tested without a GUI.
"""

import threading
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ClassifyRequest", "MapRequest", "PreparedJob", "JobOutcome", "JobCancelled",
           "CancelToken", "classification_models", "image_to_image_models", "prepare_job",
           "run_job", "run_map_job", "apply_outcome", "apply_map_outcome", "GUI_BATCH_SIZE"]

#: Tiles per onnxruntime call in the plugin: small enough that Cancel answers within a batch.
GUI_BATCH_SIZE = 16


class JobCancelled(Exception):
    """The user cancelled a running job."""


class CancelToken:
    """A flag the main thread sets and the worker checks between batches of tiles."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self):
        """Ask the running job to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self):
        return self._event.is_set()

    def check(self):
        """Raise `JobCancelled` if `cancel` was called."""
        if self._event.is_set():
            raise JobCancelled("cancelled by the user")


@dataclass(frozen=True)
class ClassifyRequest:
    """What the user asked for in the dialog or the viewer tool.

    Attributes
    ----------
    model : str
        Model name from the registry, or a path to an ``.onnx`` file.
    component : str, optional
        Component label of the dataset; the first one by default.
    axis : int, optional
        numpy axis of a cube to slice or project along.
    slice_index : int, optional
        Plane of a cube to classify.
    projection : {"sum", "mean"}, optional
        Cube projection to classify instead of a plane.
    saliency_method : {"guided", "vanilla", "occlusion"} or None
        Saliency map to compute with the classification; None for none.
    region : tuple of two (start, stop) pairs, optional
        Part of the 2D plane to classify, as ``((y_start, y_stop), (x_start, x_stop))`` pixel
        ranges along the plane's axes (e.g. the visible part of a zoomed-in viewer); the
        whole plane by default.
    device : {"auto", "cpu", "cuda"}
        onnxruntime device; ``"cuda"`` fails (with a message) where CUDA cannot run.
    show_results : bool
        Show the results in a viewer when the job ends (the map with the probability and
        saliency overlays); they are added to the data collection either way.
    """

    model: str
    component: str = None
    axis: int = None
    slice_index: int = None
    projection: str = None
    saliency_method: str = "guided"
    region: tuple = None
    device: str = "auto"
    show_results: bool = True


@dataclass
class PreparedJob:
    """A 2D map copied out of a glue dataset, ready for the worker thread.

    Attributes
    ----------
    image : numpy.ndarray
        Private copy of the map (the user's data is never touched by the worker).
    wcs : astropy.wcs.WCS or None
        Celestial WCS of the map.
    input_name : str
    plane : dict
        JSON-friendly: ``component``, ``axis``, ``slice_index``, ``projection``, ``plane_axes``,
        ``shape`` (the whole plane's ``[ny, nx]``) and, for a part of the plane, ``region``.
    unit : astropy.units.UnitBase or None
        Units of the map's values.
    region : tuple of two (start, stop) pairs or None
        Where ``image`` (a cut-out) lies in the plane; None when it is the whole plane.
    plane_shape : tuple of int or None
        ``(ny, nx)`` of the whole plane.
    plane_wcs : astropy.wcs.WCS or None
        Celestial WCS of the whole plane (``wcs`` is the cut-out's).
    """

    image: np.ndarray
    wcs: object
    input_name: str
    plane: dict
    unit: object = None
    region: tuple = None
    plane_shape: tuple = None
    plane_wcs: object = None


@dataclass(frozen=True)
class MapRequest:
    """A U-Net mapping asked for in the dialog.

    Attributes
    ----------
    model : str
        Image-to-image model name from the registry, or a path to an ``.onnx`` file.
    component, axis, slice_index, projection
        As for `ClassifyRequest`.
    depth_pc : float, optional
        Line-of-sight depth in parsec, for column-density models only (refused for models
        mapping a density slice); with a column-density map the output then also holds the
        mean density in physical units.
    device : {"auto", "cpu", "cuda"}
        As for `ClassifyRequest`.
    show_results : bool
        Show the mapping in an image viewer when the job ends.
    """

    model: str
    component: str = None
    axis: int = None
    slice_index: int = None
    projection: str = None
    depth_pc: float = None
    device: str = "auto"
    show_results: bool = True


@dataclass
class JobOutcome:
    """What the worker computed."""

    classification: object = None
    saliency: object = None
    mapping: object = None
    timings_s: dict = field(default_factory=dict)
    regression: object = None


#: The picker's first (default) classifier when it is installed: the model of the demo (trained
#: on lognormal random fields), whose answer users can compare with `turbml demo`; the others
#: follow by name.
DEFAULT_CLASSIFIER = "kolmogorov-burgers-fbm"


def classification_models():
    """Registry entries of the classification models, for the model picker (the default,
    `DEFAULT_CLASSIFIER`, first)."""
    from ..models import list_models

    entries = [entry for entry in list_models() if entry.card.get("task") == "classification"]
    return sorted(entries, key=lambda entry: entry.name != DEFAULT_CLASSIFIER)


def image_to_image_models():
    """Registry entries of the image-to-image (U-Net) models, for the model picker."""
    from ..models import list_models

    return [entry for entry in list_models() if entry.card.get("task") == "image_to_image"]


def prepare_job(data, request):
    """Read the map to classify out of a glue dataset (main thread).

    Parameters
    ----------
    data : glue.core.Data
    request : ClassifyRequest, MapRequest or glue_turbml.qt.regression_jobs.RegressRequest

    Returns
    -------
    PreparedJob

    Raises
    ------
    glue_turbml.inputs.InputError
        For a table or 1D dataset, a 4D dataset, a missing component, a cube without a
        slice or projection, or a result of this plugin (the message says what would work).
    """
    from ..inputs import InputError, parse_input, reduce_to_image
    from .glue_data import is_result, not_a_map_message

    if is_result(data):
        raise InputError(not_a_map_message(data))
    parsed = parse_input(data, component=request.component)
    if parsed.array.ndim < 2:
        raise InputError(
            f"{data.label!r} is a {parsed.array.ndim}D dataset (a table or a spectrum); "
            "glue-turbml needs a 2D map or a 3D cube")
    axis = request.axis
    if parsed.array.ndim == 3 and axis is None:
        axis = parsed.spectral_axis if parsed.spectral_axis is not None else 0
    image, wcs, unit = reduce_to_image(parsed, axis=axis if parsed.array.ndim == 3 else None,
                                       slice_index=request.slice_index,
                                       projection=request.projection)
    if parsed.array.ndim == 3:
        axis %= 3
        plane_axes = [index for index in range(3) if index != axis]
        if request.projection is not None:
            input_name = f"{data.label} ({request.projection} along axis {axis})"
        else:
            input_name = f"{data.label} [axis {axis} = {request.slice_index}]"
    else:
        axis, plane_axes, input_name = None, [0, 1], str(data.label)
    component = request.component or data.main_components[0].label
    plane = {"component": component, "axis": axis,
             "slice_index": None if request.slice_index is None else int(request.slice_index),
             "projection": request.projection, "plane_axes": plane_axes,
             "shape": [int(size) for size in image.shape]}
    region = _check_region(getattr(request, "region", None), image.shape, data.label)
    plane_shape, plane_wcs = tuple(image.shape), wcs
    if region is not None:
        (y_start, y_stop), (x_start, x_stop) = region
        image = image[y_start:y_stop, x_start:x_stop]
        if wcs is not None:
            wcs = wcs[y_start:y_stop, x_start:x_stop]
        input_name = f"{input_name} region y {y_start}:{y_stop}, x {x_start}:{x_stop}"
        plane["region"] = {"y": [y_start, y_stop], "x": [x_start, x_stop]}
    # A private copy: the worker must not read glue-owned memory the user may edit meanwhile.
    return PreparedJob(image=np.array(image), wcs=wcs, input_name=input_name, plane=plane,
                       unit=unit, region=region, plane_shape=plane_shape, plane_wcs=plane_wcs)


def _check_region(region, shape, label):
    """``((y0, y1), (x0, x1))`` as ints inside ``shape``; None for none or the whole plane."""
    from ..inputs import InputError

    if region is None:
        return None
    try:
        checked = tuple((int(start), int(stop)) for start, stop in region)
    except (TypeError, ValueError):
        raise InputError(f"region must be ((y_start, y_stop), (x_start, x_stop)), got "
                         f"{region!r}") from None
    if len(checked) != 2 or any(not 0 <= start < stop <= size
                                for (start, stop), size in zip(checked, shape)):
        raise InputError(f"region {checked!r} is not inside the {shape[0]}x{shape[1]} plane of "
                         f"{label!r}; pan the viewer back onto the data")
    if checked == ((0, shape[0]), (0, shape[1])):
        return None
    return checked


def _check_region_fits_tile(prepared, runner):
    """A visible region smaller than the model's tile cannot be classified: say to zoom out."""
    from ..inputs import InputError

    tile = int(runner.card["input"]["tile_size"])
    if prepared.region is None or min(prepared.image.shape) >= tile:
        return
    ny, nx = prepared.image.shape
    raise InputError(
        f"the region to classify (the viewer's visible part of the "
        f"{prepared.plane_shape[0]}x{prepared.plane_shape[1]} map) is "
        f"{ny}x{nx} pixels, smaller than the {tile}x{tile}-pixel tile of model "
        f"{runner.card['name']!r}; zoom out until at least {tile} pixels show along each axis")


def run_job(prepared, request, *, progress=None, cancel=None):
    """Classify (and explain) a prepared map: numpy and onnxruntime only, safe in a thread.

    Parameters
    ----------
    prepared : PreparedJob
    request : ClassifyRequest
    progress : callable, optional
        ``progress(phase, done, total)`` with ``phase`` ``"classify"`` or ``"saliency"``.
    cancel : CancelToken, optional
        Checked before each batch of tiles; a cancelled job raises `JobCancelled`.

    Returns
    -------
    JobOutcome

    Raises
    ------
    JobCancelled
    glue_turbml.core.TilingError
        For a map smaller than a tile or with no usable tile (all NaN).
    glue_turbml.models.ModelNotFoundError, glue_turbml.models.ModelLoadError
    """
    import time

    from ..classification import classify_image
    from ..models import open_model
    from ..saliency_maps import saliency_image

    cancel = cancel or CancelToken()

    def reporter(phase):
        return _reporter(phase, progress, cancel)

    cancel.check()
    runner = open_model(request.model, device=getattr(request, "device", "auto"))
    _check_region_fits_tile(prepared, runner)
    cancel.check()
    start = time.perf_counter()
    classification = classify_image(prepared.image, runner, wcs=prepared.wcs,
                                    input_name=prepared.input_name, batch_size=GUI_BATCH_SIZE,
                                    progress=reporter("classify"))
    timings = {"classify": time.perf_counter() - start}
    saliency = None
    if request.saliency_method:
        cancel.check()
        start = time.perf_counter()
        saliency = saliency_image(prepared.image, runner, method=request.saliency_method,
                                  wcs=prepared.wcs, input_name=prepared.input_name,
                                  batch_size=GUI_BATCH_SIZE, progress=reporter("saliency"))
        timings["saliency"] = time.perf_counter() - start
    return JobOutcome(classification, saliency, timings)


def _reporter(phase, progress, cancel):
    def report(done, total):
        cancel.check()
        if progress is not None:
            progress(phase, done, total)
    return report


def run_map_job(prepared, request, *, progress=None, cancel=None):
    """Run a U-Net over a prepared map: numpy and onnxruntime only, safe in a thread.

    Parameters
    ----------
    prepared : PreparedJob
    request : MapRequest
    progress : callable, optional
        ``progress("map", done, total)``.
    cancel : CancelToken, optional

    Returns
    -------
    JobOutcome
        With ``mapping``, a `glue_turbml.mapping.MappingResult`.

    Raises
    ------
    JobCancelled
    glue_turbml.inputs.InputError
        For a map whose units are not what the model maps (a column density, or a density
        for a density-slice model), a depth with a unitless map or with a density-slice model,
        or a cube projection for a density-slice model.
    glue_turbml.core.TilingError
    glue_turbml.models.ModelNotFoundError, glue_turbml.models.ModelLoadError
    ValueError
        For a model that is not an image-to-image model.
    """
    import time

    from astropy import units as u

    from ..mapping import check_input_reduction, check_input_unit, map_array
    from ..models import open_model, resolve_model

    cancel = cancel or CancelToken()
    depth = None if not request.depth_pc else request.depth_pc * u.pc
    # The card alone says what the model maps: refuse a wrong input before making a session.
    loaded = resolve_model(request.model)
    plane = prepared.plane
    check_input_reduction(loaded.card, ndim=2 if plane.get("axis") is None else 3,
                          axis=plane.get("axis"), slice_index=plane.get("slice_index"),
                          projection=plane.get("projection"), input_name=prepared.input_name)
    check_input_unit(loaded.card, prepared.unit, depth=depth, input_name=prepared.input_name)
    runner = open_model(loaded, device=request.device)
    cancel.check()
    start = time.perf_counter()
    mapping = map_array(prepared.image, runner, unit=prepared.unit, depth=depth,
                        wcs=prepared.wcs, input_name=prepared.input_name,
                        batch_size=GUI_BATCH_SIZE, progress=_reporter("map", progress, cancel))
    return JobOutcome(mapping=mapping, timings_s={"map": time.perf_counter() - start})


def apply_map_outcome(data_collection, parent, prepared, outcome):
    """Add or update the mapping dataset of a finished U-Net job (main thread).

    Returns
    -------
    dict
        ``{"mapping": Data}``.
    """
    from .glue_data import add_or_update_result, mapping_data

    return {"mapping": add_or_update_result(
        data_collection, parent, mapping_data(outcome.mapping, parent, plane=prepared.plane))}


def _on_whole_plane(prepared, array, fill):
    """``array`` of a region placed in a plane-sized array filled with ``fill`` elsewhere."""
    (y_start, y_stop), (x_start, x_stop) = prepared.region
    array = np.asarray(array)
    whole = np.full(prepared.plane_shape, fill, dtype=array.dtype)
    whole[y_start:y_stop, x_start:x_stop] = array
    return whole


def _outcome_on_whole_plane(prepared, outcome):
    """The results of a region, as plane-sized maps (NaN outside) on the plane's WCS.

    Plane-sized results keep the plain pixel links to the parent (`LinkSame` needs equal
    shapes) and can be updated in place whatever region the next run covers.
    """
    from dataclasses import replace

    if prepared.region is None:
        return outcome
    offset = np.array([prepared.region[0][0], prepared.region[1][0]])
    classification = outcome.classification
    probability_map = np.stack([_on_whole_plane(prepared, channel, np.nan)
                                for channel in classification.probability_map])
    classification = replace(
        classification, probability_map=probability_map, wcs=prepared.plane_wcs,
        filled_mask=_on_whole_plane(prepared, classification.filled_mask, False),
        tile_origins=np.asarray(classification.tile_origins) + offset)
    saliency = outcome.saliency
    if saliency is not None:
        saliency = replace(
            saliency, wcs=prepared.plane_wcs,
            saliency_map=_on_whole_plane(prepared, saliency.saliency_map, np.nan),
            filled_mask=_on_whole_plane(prepared, saliency.filled_mask, False),
            tile_origins=np.asarray(saliency.tile_origins) + offset)
    return replace(outcome, classification=classification, saliency=saliency)


def apply_outcome(data_collection, parent, prepared, outcome):
    """Add or update the result datasets of a finished job (main thread).

    Returns
    -------
    dict
        ``{"classification": Data, "saliency": Data or None}``, the datasets in the collection.
    """
    from .glue_data import add_or_update_result, classification_data, saliency_data

    outcome = _outcome_on_whole_plane(prepared, outcome)
    datasets = {"classification": add_or_update_result(
        data_collection, parent,
        classification_data(outcome.classification, parent, plane=prepared.plane)),
        "saliency": None}
    if outcome.saliency is not None:
        datasets["saliency"] = add_or_update_result(
            data_collection, parent,
            saliency_data(outcome.saliency, parent, plane=prepared.plane))
    return datasets
