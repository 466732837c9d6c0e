"""What an image viewer shows, as a classification request: its data, component, plane and
visible region."""

import math

from .jobs import ClassifyRequest

__all__ = ["request_for_viewer", "visible_region"]


def _visible_range(low, high, size):
    """Pixels ``[start, stop)`` of an axis of ``size`` pixels seen between limits low..high.

    Pixel ``i`` covers ``i - 0.5 .. i + 0.5`` in glue's pixel coordinates; partly visible
    pixels count as visible.
    """
    low, high = sorted((float(low), float(high)))
    start = max(0, int(math.floor(low + 0.5)))
    stop = min(size, int(math.ceil(high + 0.5)))
    return start, stop


def visible_region(viewer_state):
    """The part of the displayed plane inside an image viewer's x/y limits.

    Parameters
    ----------
    viewer_state : glue.viewers.image.state.ImageViewerState

    Returns
    -------
    tuple of two (start, stop) pairs or None
        ``((start, stop), (start, stop))`` along the reference data's two displayed pixel
        axes in increasing axis order (the order of the classified plane's y and x), clipped
        to the data; None when the whole plane is visible.

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
    region = tuple(_visible_range(*limits[axis], data.shape[axis]) for axis in sorted(limits))
    if any(start >= stop for start, stop in region):
        raise InputError(f"this viewer shows none of {data.label!r} (it is panned or zoomed "
                         "away from the data); use the viewer's home button to show the map")
    if all(region_axis == (0, data.shape[axis])
           for region_axis, axis in zip(region, sorted(limits))):
        return None
    return region


def request_for_viewer(viewer_state, *, model, saliency_method="guided", use_region=False):
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

    Returns
    -------
    data : glue.core.Data
        The viewer's reference data.
    request : ClassifyRequest
        Its displayed component, the visible region when zoomed in and, for a cube, the axis
        perpendicular to the screen and the plane the viewer's slider shows.

    Raises
    ------
    glue_turbml.inputs.InputError
        If the viewer shows no data, or none of its data is in view.
    """
    from ..inputs import InputError

    data = viewer_state.reference_data
    if data is None:
        raise InputError("this viewer shows no data; add a map or a cube to it first")
    component = None
    for layer_state in viewer_state.layers:
        if layer_state.layer is data and getattr(layer_state, "attribute", None) is not None:
            component = layer_state.attribute.label
            break
    options = {}
    if data.ndim == 3:
        shown = {viewer_state.x_att.axis, viewer_state.y_att.axis}
        axis = next(index for index in range(3) if index not in shown)
        options = {"axis": axis, "slice_index": int(viewer_state.slices[axis])}
    if use_region:
        options["region"] = visible_region(viewer_state)
    return data, ClassifyRequest(model=model, component=component,
                                 saliency_method=saliency_method, **options)
