"""Saliency overlays in a glue image viewer: finding the saliency dataset and styling its layer.

Works on glue viewer and layer *states* only (no Qt), so the same code serves the toolbar tool,
the interactive viewer and the tests.
"""

from .glue_data import result_summary

__all__ = ["OVERLAY_STYLES", "PROBABILITY_ALPHA", "glue_colormap", "find_saliency_for",
           "show_saliency_overlay", "show_probability_overlay"]

#: Overlay styles: the smoothed map in a colormap with transparency, the salient region only,
#: or its outline (the paper's one-contour style).
OVERLAY_STYLES = {
    "colormap": {"component": "saliency_smoothed", "cmap": "inferno", "alpha": 0.5},
    "region": {"component": "saliency_region", "cmap": "hot", "alpha": 0.6},
    "contour": {"component": "saliency_outline", "cmap": "YlOrRd", "alpha": 1.0},
}

#: Opacity of the probability layer over the map (the map and the saliency contour show through).
PROBABILITY_ALPHA = 0.35


def glue_colormap(name):
    """The colormap object glue registered under matplotlib name ``name``.

    glue's layer options only accept its own registered colormap objects.
    """
    from glue.config import colormaps

    for _, cmap in colormaps.members:
        if cmap.name == name:
            return cmap
    raise ValueError(f"glue has no colormap {name!r}")


def _is_saliency(data):
    info = result_summary(data)
    return isinstance(info, dict) and info.get("kind") == "saliency"


def find_saliency_for(data_collection, data):
    """The saliency dataset to overlay on ``data``.

    ``data``'s own saliency result first (the newest), else the saliency result of any dataset
    glue can show on ``data`` (one linked to it, e.g. by WCS).

    Parameters
    ----------
    data_collection : glue.core.DataCollection
    data : glue.core.Data

    Returns
    -------
    glue.core.Data or None
    """
    saliency = [candidate for candidate in data_collection if _is_saliency(candidate)]
    own = [candidate for candidate in saliency
           if result_summary(candidate).get("parent_uuid") == getattr(data, "uuid", None)]
    if own:
        return own[-1]
    linked = [candidate for candidate in saliency
              if candidate is not data and _pixel_linked(candidate, data)]
    return linked[-1] if linked else None


def _pixel_linked(result, data):
    """Whether glue can compute ``result``'s pixel coordinates from ``data`` (any link path)."""
    from glue.core.exceptions import IncompatibleAttribute

    corner = tuple(slice(0, 1) for _ in data.shape)  # one pixel: cheap on any size
    try:
        for cid in result.pixel_component_ids:
            data.get_data(cid, view=corner)
    except IncompatibleAttribute:
        return False
    return True


def show_saliency_overlay(viewer, saliency, *, style="contour", alpha=None):
    """Show a saliency dataset over the image in ``viewer``, styled for comparison.

    The viewer switches to glue's colormap mode, keeps its reference layer in grey, and shows
    the saliency layer above it in the style's colormap and transparency. Calling it again
    restyles the same layer rather than adding another.

    Parameters
    ----------
    viewer : glue image viewer
        A viewer whose reference data the saliency dataset is linked to (pixel or WCS).
    saliency : glue.core.Data
        A saliency dataset made by the plugin.
    style : {"contour", "region", "colormap"}
        See `OVERLAY_STYLES`.
    alpha : float, optional
        Layer opacity; the style's by default.

    Returns
    -------
    glue.viewers.image.state.ImageLayerState
        The saliency layer's state.

    Raises
    ------
    ValueError
        For an unknown style, a dataset that is not a saliency result, or one glue cannot
        show in this viewer (not linked to its data).
    """
    if style not in OVERLAY_STYLES:
        raise ValueError(f"style must be one of {sorted(OVERLAY_STYLES)}, got {style!r}")
    if not _is_saliency(saliency):
        raise ValueError(f"{saliency.label!r} is not a glue-turbml saliency dataset; run "
                         "Classify turbulence with a saliency method first")
    settings = OVERLAY_STYLES[style]
    layer_state = _layer_state(viewer, saliency)
    if layer_state is None:
        viewer.add_data(saliency)
        layer_state = _layer_state(viewer, saliency)
    artist = next(artist for artist in viewer.layers if artist.layer is saliency)
    if not artist.enabled:
        viewer.remove_data(saliency)
        raise ValueError(
            f"{saliency.label!r} cannot be shown over {viewer.state.reference_data.label!r}: "
            f"the two are not linked ({artist.disabled_message}). Link the datasets (e.g. by "
            "WCS in glue's Link Data dialog) and try again")
    viewer.state.color_mode = "Colormaps"
    for other in viewer.state.layers:
        if other.layer is viewer.state.reference_data:
            other.cmap = glue_colormap("gray")
    layer_state.attribute = saliency.id[settings["component"]]
    layer_state.cmap = glue_colormap(settings["cmap"])
    layer_state.alpha = settings["alpha"] if alpha is None else float(alpha)
    # glue draws NaN opaque by default; transparent NaN lets the image show outside the
    # salient region (glue applies this "bad" colour to every layer of the viewer).
    layer_state.cmap_bad = (0.0, 0.0, 0.0, 0.0)
    if style == "contour":
        # The outline holds only 1 and NaN: pin the limits so it draws in the colormap's top.
        layer_state.v_min, layer_state.v_max = 0.0, 1.0
    else:
        layer_state.percentile = 99.5
    layer_state.visible = True
    # Draw the overlay above the image whatever order the layers were added in.
    top = max(state.zorder for state in viewer.state.layers)
    if layer_state.zorder < top:
        layer_state.zorder = top + 1
    return layer_state


def show_probability_overlay(viewer, classification):
    """Show a classification's per-pixel probability of its first class over the image.

    Diverging colours (red to blue) fixed to 0..1, with transparency, so the map shows through;
    calling it again restyles the same layer.

    Parameters
    ----------
    viewer : glue image viewer
        A viewer whose reference data the classification is linked to.
    classification : glue.core.Data
        A probabilities dataset made by the plugin.

    Returns
    -------
    glue.viewers.image.state.ImageLayerState or None
        The probability layer's state; None when glue cannot show the dataset in this viewer
        (not linked to its reference data), in which case the viewer is left as it was.
    """
    summary = result_summary(classification)["summary"]
    first_class = next(iter(summary["probability"]))
    layer_state = _layer_state(viewer, classification)
    if layer_state is None:
        viewer.add_data(classification)
        layer_state = _layer_state(viewer, classification)
    artist = next((artist for artist in viewer.layers if artist.layer is classification), None)
    if layer_state is None or artist is None or not artist.enabled:
        if layer_state is not None:
            viewer.remove_data(classification)
        return None
    viewer.state.color_mode = "Colormaps"
    layer_state.attribute = classification.id[f"p_{first_class}"]
    layer_state.cmap = glue_colormap("RdBu")
    layer_state.v_min, layer_state.v_max = 0.0, 1.0
    layer_state.alpha = PROBABILITY_ALPHA
    layer_state.visible = True
    return layer_state


def _layer_state(viewer, data):
    for state in viewer.state.layers:
        if state.layer is data:
            return state
    return None
