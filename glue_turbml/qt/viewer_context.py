"""What an image viewer shows, as a classification request: its data, component, plane and, when
the user zoomed in, its visible region.

The zoom rule (`view_is_zoomed`): a view counts as zoomed in when its limits cut the map on both
axes, or on one axis while the view is off the map's centre or shows less area than the map.
glue's home view shows the whole map, and resizing a viewer with square pixels scales one axis up
and the other down about the centre at constant area, so it can cut one axis of an unzoomed map
(a 300x300 map in glue's default viewer shows rows 26:274 only); such a view is not zoomed in.
"""

import math

from .jobs import ClassifyRequest

__all__ = ["CENTRE_TOLERANCE_PX", "request_for_viewer", "visible_region", "view_is_zoomed",
           "displayed_data"]

#: How far (in pixels) a view's centre may be from the map's and still count as centred.
CENTRE_TOLERANCE_PX = 0.5


def _visible_range(low, high, size):
    """Pixels ``[start, stop)`` of an axis of ``size`` pixels seen between limits low..high.

    Pixel ``i`` covers ``i - 0.5 .. i + 0.5`` in glue's pixel coordinates; partly visible
    pixels count as visible.
    """
    low, high = sorted((float(low), float(high)))
    start = max(0, int(math.floor(low + 0.5)))
    stop = min(size, int(math.ceil(high + 0.5)))
    return start, stop


def view_is_zoomed(limits, shape):
    """Whether a view's limits count as zoomed in on a map (the module's zoom rule).

    Parameters
    ----------
    limits : sequence of two (low, high) pairs
        The view's limits in glue's pixel coordinates along the map's two axes.
    shape : sequence of two int
        The map's size along the same axes.

    Returns
    -------
    bool
        False when the view shows the whole map, or cuts it on one axis only while centred on
        the map and showing at least its area (glue's home view of a resized viewer); True
        otherwise.

    Examples
    --------
    >>> view_is_zoomed([(25.6, 273.4), (-94.9, 393.9)], (300, 300))  # default viewer, no zoom
    False
    >>> view_is_zoomed([(10.0, 150.0), (-94.9, 393.9)], (300, 300))  # zoomed onto a strip
    True
    """
    ranges = [_visible_range(low, high, size) for (low, high), size in zip(limits, shape)]
    cut = [(start, stop) != (0, size) for (start, stop), size in zip(ranges, shape)]
    if not any(cut):
        return False
    if all(cut):
        return True
    centred = all(abs(0.5 * (low + high) - 0.5 * (size - 1)) <= CENTRE_TOLERANCE_PX
                  for (low, high), size in zip(limits, shape))
    view_area = math.prod(abs(high - low) for low, high in limits)
    return not (centred and view_area >= math.prod(shape) * (1 - 1e-9))


def visible_region(viewer_state):
    """The part of the displayed plane to classify: the visible part when zoomed in.

    Parameters
    ----------
    viewer_state : glue.viewers.image.state.ImageViewerState

    Returns
    -------
    tuple of two (start, stop) pairs or None
        ``((start, stop), (start, stop))`` along the reference data's two displayed pixel
        axes in increasing axis order (the order of the classified plane's y and x), clipped
        to the data; None when the view is not zoomed in (`view_is_zoomed`): the whole plane.

    Raises
    ------
    glue_turbml.inputs.InputError
        When the view shows none of the data (panned away).
    """
    from ..inputs import InputError

    data = viewer_state.reference_data
    limits = {viewer_state.x_att.axis: (viewer_state.x_min, viewer_state.x_max),
              viewer_state.y_att.axis: (viewer_state.y_min, viewer_state.y_max)}
    if any(value is None for pair in limits.values() for value in pair):
        return None
    axes = sorted(limits)
    region = tuple(_visible_range(*limits[axis], data.shape[axis]) for axis in axes)
    if any(start >= stop for start, stop in region):
        raise InputError(f"this viewer shows none of {data.label!r} (it is panned or zoomed "
                         "away from the data); use the viewer's home button to show the map")
    if not view_is_zoomed([limits[axis] for axis in axes], [data.shape[axis] for axis in axes]):
        return None
    return region


def displayed_data(viewer_state, data_collection=None):
    """The dataset to analyse for what an image viewer shows, and the plane it shows.

    The viewer's reference data, except when that is a result of this plugin (a probability,
    saliency or mapping dataset): then its parent map, on the plane the result was made from,
    so the model never analyses its own output.

    Parameters
    ----------
    viewer_state : glue.viewers.image.state.ImageViewerState
    data_collection : glue.core.DataCollection, optional
        Where to look for a result's parent when the viewer does not show it.

    Returns
    -------
    data : glue.core.Data
    plane : dict or None
        The result's plane (``component``, ``axis``, ``slice_index``, ``projection``) when
        ``data`` is a result's parent; None for the reference data itself.

    Raises
    ------
    glue_turbml.inputs.InputError
        If the viewer shows no data, or shows a result whose parent is not in the collection
        (or one, such as emission-line maps, that is not a plane of its parent).
    """
    from glue.core import BaseData

    from ..inputs import InputError
    from .glue_data import RESULT_KINDS, is_result, not_a_map_message, result_parent

    data = viewer_state.reference_data
    if data is None:
        raise InputError("this viewer shows no data; add a map or a cube to it first")
    if not is_result(data):
        return data, None
    info = data.meta["glue_turbml"]
    if data_collection is None:  # the datasets the viewer shows (not its subsets)
        data_collection = [state.layer for state in viewer_state.layers
                           if isinstance(state.layer, BaseData)]
    parent = result_parent(data_collection, data)
    if parent is None or info["kind"] not in RESULT_KINDS:
        raise InputError(not_a_map_message(data))
    return parent, info["plane"]


def request_for_viewer(viewer_state, *, model, saliency_method="guided", use_region=False,
                       data_collection=None):
    """The dataset an image viewer shows and a `ClassifyRequest` for its current plane.

    Parameters
    ----------
    viewer_state : glue.viewers.image.state.ImageViewerState
    model : str
        Model name or path.
    saliency_method : str or None
    use_region : bool
        Ask for just the visible region when the viewer is zoomed in (`visible_region`); the
        whole plane otherwise.
    data_collection : glue.core.DataCollection, optional
        Where to find the parent map of a result the viewer shows (`displayed_data`).

    Returns
    -------
    data : glue.core.Data
        The viewer's reference data, or its parent map when that is a plugin result.
    request : ClassifyRequest
        Its displayed component, the visible region when zoomed in and, for a cube, the axis
        perpendicular to the screen and the plane the viewer's slider shows (the result's
        plane when ``data`` is a result's parent).

    Raises
    ------
    glue_turbml.inputs.InputError
        If the viewer shows no data, none of its data is in view, or it shows a result whose
        parent map cannot be found.
    """
    data, result_plane = displayed_data(viewer_state, data_collection)
    options = {}
    if result_plane is not None:
        # The result's axes are the parent's plane axes in order: its view maps one to one.
        options = {"component": result_plane.get("component")}
        if data.ndim == 3:
            options.update(axis=result_plane.get("axis"),
                           slice_index=result_plane.get("slice_index"),
                           projection=result_plane.get("projection"))
    else:
        options["component"] = next(
            (state.attribute.label for state in viewer_state.layers
             if state.layer is data and getattr(state, "attribute", None) is not None), None)
        if data.ndim == 3:
            shown = {viewer_state.x_att.axis, viewer_state.y_att.axis}
            axis = next(index for index in range(3) if index not in shown)
            options.update(axis=axis, slice_index=int(viewer_state.slices[axis]))
    if use_region:
        options["region"] = visible_region(viewer_state)
    return data, ClassifyRequest(model=model, saliency_method=saliency_method, **options)
