"""Analysis results as glue datasets: building, pixel-linking and updating them in place (no Qt).

Results are plain glue `Data` objects (components, astropy WCS coordinates, a JSON-friendly
``meta``) joined to their parent with `LinkSame` links on pixel components, so a saved ``.glu``
session reloads them with glue alone, without this plugin.
"""

import json

import numpy as np

__all__ = ["META_KEY", "RESULT_KINDS", "OUTLINE_WIDTH_PX", "classification_data", "saliency_data",
           "mapping_data", "regression_data", "result_label", "find_result",
           "add_or_update_result", "link_to_parent", "result_summary", "is_result",
           "result_parent", "not_a_map_message", "region_text"]

#: Key in ``Data.meta`` holding the JSON-friendly description of a glue-turbml result.
META_KEY = "glue_turbml"
#: Kinds of result datasets the plugin creates that are planes of their parent.
RESULT_KINDS = ("classification", "saliency", "mapping", "regression")
#: Width of the saliency outline band in pixels.
OUTLINE_WIDTH_PX = 2


def _json_friendly(value):
    """Round-trip through JSON so only dicts, lists, strings, numbers and None remain."""
    return json.loads(json.dumps(value, default=float))


def result_label(parent_label, model_name, kind):
    """Dataset label of a result, named after the parent and the model.

    Parameters
    ----------
    parent_label : str
    model_name : str
    kind : {"classification", "saliency", "mapping", "regression"}

    Returns
    -------
    str
    """
    what = {"classification": "probabilities"}.get(kind, kind)
    return f"{parent_label} [{model_name} {what}]"


def _plane_coords(result_wcs, parent, plane_axes):
    """Coordinates for a 2D result: the result's celestial WCS, else a 2D parent's coords."""
    if result_wcs is not None:
        return result_wcs
    if parent.ndim == 2 and tuple(plane_axes) == (0, 1):
        return parent.coords
    return None


def _base_meta(kind, parent, plane, summary):
    return {META_KEY: _json_friendly({
        "kind": kind,
        "parent": parent.label,
        "parent_uuid": getattr(parent, "uuid", None),
        "plane": plane,
        "summary": summary,
    })}


def classification_data(result, parent, *, plane):
    """A glue dataset of per-pixel class probabilities, with the whole-map result in ``meta``.

    Parameters
    ----------
    result : glue_turbml.classification.ClassificationResult
    parent : glue.core.Data
        The analysed dataset (a 2D map or a cube).
    plane : dict
        How the map was taken from the parent: ``component``, ``axis`` (None for 2D),
        ``slice_index``, ``projection`` and ``plane_axes`` (the parent's pixel axes of the
        result's (y, x) axes).

    Returns
    -------
    glue.core.Data
        Components ``p_<class>`` (one per class, 0..1, NaN where the input is NaN) and
        ``filled`` (1 where NaN input pixels were filled for the network).
    """
    from glue.core import Data

    model_name = result.model_card["name"]
    components = {f"p_{name}": np.asarray(result.probability_map[index], dtype=np.float32)
                  for index, name in enumerate(result.class_names)}
    components["filled"] = result.filled_mask.astype(np.float32)
    data = Data(label=result_label(parent.label, model_name, "classification"),
                coords=_plane_coords(result.wcs, parent, plane["plane_axes"]), **components)
    summary = result.summary()
    summary["class_meanings"] = dict(zip(result.class_names, result.class_meanings))
    summary["tiles"] = {
        "origins_yx": result.tile_origins.tolist(),
        "probabilities": [[None if not np.isfinite(p) else float(p) for p in row]
                          for row in result.tile_probabilities],
    }
    data.meta.update(_base_meta("classification", parent, plane, summary))
    return data


def saliency_data(result, parent, *, plane):
    """A glue dataset of a saliency map with its smoothed form and the overlay region.

    Parameters
    ----------
    result : glue_turbml.saliency_maps.SaliencyResult
    parent : glue.core.Data
    plane : dict
        As for `classification_data`.

    Returns
    -------
    glue.core.Data
        Components ``saliency_<method>`` (raw map), ``saliency_smoothed``,
        ``saliency_region`` (the smoothed map where it reaches the overlay contour level, NaN
        elsewhere, so an image layer of it is transparent outside the salient region) and
        ``saliency_outline`` (1 on the region's edge, NaN elsewhere: the paper's one-contour
        style as an ordinary image layer).
    """
    from glue.core import Data

    from scipy.ndimage import binary_erosion

    smoothed, level = result.overlay()
    finite = np.isfinite(smoothed)
    inside = np.zeros(smoothed.shape, dtype=bool)
    if np.isfinite(level):
        inside[finite] = smoothed[finite] >= level
    region = np.where(inside, smoothed, np.nan).astype(np.float32)
    # A band two pixels wide inside the region's edge: stays visible when glue shows the map
    # zoomed out, where a one-pixel line would vanish between screen pixels.
    edge = inside & ~binary_erosion(inside, iterations=OUTLINE_WIDTH_PX)
    outline = np.where(edge, 1.0, np.nan).astype(np.float32)
    data = Data(label=result_label(parent.label, result.model_card["name"], "saliency"),
                coords=_plane_coords(result.wcs, parent, plane["plane_axes"]),
                **{f"saliency_{result.method}": result.saliency_map.astype(np.float32),
                   "saliency_smoothed": smoothed.astype(np.float32),
                   "saliency_region": region, "saliency_outline": outline})
    data.meta.update(_base_meta("saliency", parent, plane, result.summary()))
    return data


def mapping_data(result, parent, *, plane):
    """A glue dataset of a U-Net mapping and its uncertainty, with units.

    Parameters
    ----------
    result : glue_turbml.mapping.MappingResult
    parent : glue.core.Data
    plane : dict
        As for `classification_data`.

    Returns
    -------
    glue.core.Data
        Components named by the result's ``quantity_name`` (``log_density_ratio`` for a
        column-density model, the mean channel's name from the card otherwise, e.g.
        ``log_magnetic_energy_ratio``) and ``sigma`` (units ``dex``) and, when a depth was
        given for a column-density map, ``density`` in physical units (e.g. ``1 / cm3``).
    """
    from glue.core import Component, Data

    data = Data(label=result_label(parent.label, result.model_card["name"], "mapping"),
                coords=_plane_coords(result.wcs, parent, plane["plane_axes"]))
    data.add_component(Component(np.asarray(result.log_ratio, dtype=np.float32),
                                 units="dex"), result.quantity_name)
    data.add_component(Component(np.asarray(result.sigma, dtype=np.float32), units="dex"),
                       "sigma")
    if result.density is not None:
        data.add_component(Component(np.asarray(result.density.value, dtype=np.float32),
                                     units=result.density.unit.to_string()), "density")
    data.meta.update(_base_meta("mapping", parent, plane, result.summary()))
    return data


def regression_data(result, parent, *, plane):
    """A glue dataset of a regressor's per-pixel value and sigma, with units.

    Parameters
    ----------
    result : glue_turbml.regression.RegressionResult
    parent : glue.core.Data
    plane : dict
        As for `classification_data`.

    Returns
    -------
    glue.core.Data
        Components named by the estimated quantity (the card's channel 0, e.g.
        ``spectral_index``) and ``sigma``, both in the quantity's units; the whole-map value
        and sigma are in ``meta`` (``summary``: ``value``, ``sigma``).
    """
    from glue.core import Component, Data

    quantity = result.quantity
    data = Data(label=result_label(parent.label, result.model_card["name"], "regression"),
                coords=_plane_coords(result.wcs, parent, plane["plane_axes"]))
    data.add_component(Component(np.asarray(result.value_map, dtype=np.float32),
                                 units=quantity.units), quantity.name)
    data.add_component(Component(np.asarray(result.sigma_map, dtype=np.float32),
                                 units=quantity.units), "sigma")
    summary = result.summary()
    summary["tiles"] = {
        "origins_yx": result.tile_origins.tolist(),
        "values": [None if not np.isfinite(value) else float(value)
                   for value in result.tile_values],
        "sigmas": [None if not np.isfinite(sigma) else float(sigma)
                   for sigma in result.tile_sigmas],
    }
    data.meta.update(_base_meta("regression", parent, plane, summary))
    return data


def result_summary(data):
    """The glue-turbml description stored in a result dataset's ``meta``, or None."""
    return data.meta.get(META_KEY)


def is_result(data):
    """Whether ``data`` is a dataset made by this plugin (its ``meta`` names a result kind)."""
    info = result_summary(data)
    return isinstance(info, dict) and "kind" in info


def result_parent(data_collection, data):
    """The dataset a plugin result was computed from, if it is still in the collection.

    Matched by the parent's ``uuid`` (kept by saved sessions), else by its label.

    Parameters
    ----------
    data_collection : glue.core.DataCollection
    data : glue.core.Data
        A result dataset (see `is_result`).

    Returns
    -------
    glue.core.Data or None
        None for a dataset that is not a result, or whose parent was removed.
    """
    if not is_result(data):
        return None
    info = result_summary(data)
    candidates = [candidate for candidate in data_collection
                  if candidate is not data and not is_result(candidate)]
    for candidate in candidates:
        if info.get("parent_uuid") is not None \
                and getattr(candidate, "uuid", None) == info["parent_uuid"]:
            return candidate
    return next((candidate for candidate in candidates
                 if candidate.label == info.get("parent")), None)


def not_a_map_message(data):
    """Why a result dataset is not analysed again, and what to analyse instead.

    Parameters
    ----------
    data : glue.core.Data
        A result dataset (see `is_result`).

    Returns
    -------
    str
    """
    info = result_summary(data)
    model = info.get("summary", {}).get("model", "a glue-turbml model")
    return (f"{data.label!r} is the {info['kind']} output of {model} on {info.get('parent')!r}, "
            f"not a map of the sky: analysing it would feed the model its own output. Select "
            f"{info.get('parent')!r} (load it again if it was removed) and analyse that")


def region_text(plane):
    """Which part of the map a result covers, in words (for the panel and the status bar).

    Parameters
    ----------
    plane : dict
        A result's ``meta[META_KEY]["plane"]``.

    Returns
    -------
    str
        E.g. ``"the whole 300x300 map"`` or ``"y 10:170, x 40:220 of the 256x256 map (the
        viewer's visible part)"``; results saved before the plane shape was recorded say
        ``"the whole map"``.
    """
    shape = plane.get("shape")
    of_map = f"{shape[0]}x{shape[1]} map" if shape else "map"
    region = plane.get("region")
    if not region:
        return f"the whole {of_map}"
    return (f"y {region['y'][0]}:{region['y'][1]}, x {region['x'][0]}:{region['x'][1]} of the "
            f"{of_map} (the viewer's visible part)")


def find_result(data_collection, parent, kind, model_name):
    """The existing result dataset of this parent, kind and model in the collection, or None."""
    for candidate in data_collection:
        info = result_summary(candidate)
        if not isinstance(info, dict):
            continue
        same_parent = (info.get("parent_uuid") == getattr(parent, "uuid", None)
                       or info.get("parent") == parent.label)
        if same_parent and info.get("kind") == kind \
                and info.get("summary", {}).get("model") == model_name:
            return candidate
    return None


def link_to_parent(data_collection, parent, result, plane_axes):
    """Pixel-link a 2D result to its parent (`LinkSame` on each matching pixel axis).

    Links that already join the two are not added again.

    Parameters
    ----------
    data_collection : glue.core.DataCollection
    parent, result : glue.core.Data
    plane_axes : sequence of two int
        The parent's pixel axes matching the result's axes 0 (y) and 1 (x).

    Returns
    -------
    list of glue.core.link_helpers.LinkSame
        The links added.
    """
    from glue.core.link_helpers import LinkSame

    existing = set()
    for link in data_collection.external_links:
        cids = tuple(link.cids1) + tuple(link.cids2) if hasattr(link, "cids1") else ()
        existing.add(frozenset(cids))
    added = []
    for result_axis, parent_axis in enumerate(plane_axes):
        parent_cid = parent.pixel_component_ids[parent_axis]
        result_cid = result.pixel_component_ids[result_axis]
        if frozenset((parent_cid, result_cid)) in existing:
            continue
        added.append(LinkSame(parent_cid, result_cid))
    if added:
        data_collection.add_link(added)
    return added


def _same_coords(old, new):
    """Whether two datasets' coordinates are the same sky grid (astropy WCS), or both none."""
    if old is None or new is None:
        return old is new
    old_wcs, new_wcs = getattr(old, "wcs", None), getattr(new, "wcs", None)
    if not hasattr(old_wcs, "compare") or new_wcs is None:
        return old is new
    return bool(old_wcs.compare(new_wcs))


def add_or_update_result(data_collection, parent, new_data):
    """Add a result dataset, or update the existing one of the same parent, kind and model.

    Updating keeps the existing dataset (its component IDs, links, viewer layers and styles)
    and replaces its values, coordinates and ``meta``; the collection and the links change
    inside `delay_link_manager_update`, so glue rebuilds its link graph once.

    Parameters
    ----------
    data_collection : glue.core.DataCollection
    parent : glue.core.Data
    new_data : glue.core.Data
        Made by `classification_data`, `saliency_data`, `mapping_data` or `regression_data`.

    Returns
    -------
    glue.core.Data
        The dataset now in the collection (``new_data`` or the updated existing one).
    """
    info = result_summary(new_data)
    plane_axes = info["plane"]["plane_axes"]
    existing = find_result(data_collection, parent, info["kind"], info["summary"]["model"])
    with data_collection.delay_link_manager_update():
        if existing is not None and result_summary(existing)["plane"]["plane_axes"] != plane_axes:
            # A plane along another cube axis: the old pixel links would join the wrong axes.
            data_collection.remove(existing)
            existing = None
        if existing is None:
            data_collection.append(new_data)
            target = new_data
        else:
            label = existing.label  # keep a name the user may have chosen
            if _same_coords(existing.coords, new_data.coords):
                # glue rebuilds the world components when the coordinates change, which
                # breaks viewers using this dataset as reference and links made by WCS.
                new_data.coords = existing.coords
            # meta first: the update below tells viewers, which then read it.
            existing.meta[META_KEY] = info
            existing.update_values_from_data(new_data)
            existing.label = label
            target = existing
        link_to_parent(data_collection, parent, target, plane_axes)
    return target
