"""What an image viewer shows, as a classification request: its data, component and plane."""

from .jobs import ClassifyRequest

__all__ = ["request_for_viewer"]


def request_for_viewer(viewer_state, *, model, saliency_method="guided"):
    """The dataset an image viewer shows and a `ClassifyRequest` for its current plane.

    Parameters
    ----------
    viewer_state : glue.viewers.image.state.ImageViewerState
    model : str
        Model name or path.
    saliency_method : str or None

    Returns
    -------
    data : glue.core.Data
        The viewer's reference data.
    request : ClassifyRequest
        Its displayed component and, for a cube, the axis perpendicular to the screen and the
        plane the viewer's slider shows.

    Raises
    ------
    glue_turbml.inputs.InputError
        If the viewer shows no data.
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
    return data, ClassifyRequest(model=model, component=component,
                                 saliency_method=saliency_method, **options)
