"""Showing a finished job's results in a viewer, so nobody has to drag them in by hand."""

__all__ = ["all_viewers", "show_classification", "show_mapping", "mapping_component",
           "show_job_results"]


def all_viewers(application):
    """The data viewers of every tab of a glue application (none without one)."""
    return [viewer for tab in getattr(application, "viewers", None) or () for viewer in tab]


def show_classification(application, parent, datasets, *, viewer=None):
    """Show a classification: the classified map with the probability and saliency overlays.

    The viewer the classification was started from keeps showing its map, now with the
    overlays; otherwise a turbulence viewer of the map shows them (an open one, or a new one).

    Parameters
    ----------
    application : glue_qt.app.GlueApplication or None
    parent : glue.core.Data
        The classified map or cube.
    datasets : dict
        ``{"classification": Data, "saliency": Data or None}`` from the job.
    viewer : glue image viewer, optional
        The viewer the job was started from ("Classify this view").

    Returns
    -------
    glue image viewer or None
        The viewer showing the results; None without an application.
    """
    from .overlay import show_probability_overlay, show_saliency_overlay
    from .viewer import TurbulenceViewer

    if viewer is not None and not isinstance(viewer, TurbulenceViewer) \
            and viewer.state.reference_data is parent \
            and show_probability_overlay(viewer, datasets["classification"]) is not None:
        if datasets.get("saliency") is not None:
            show_saliency_overlay(viewer, datasets["saliency"], style="contour")
        return viewer
    shown = [candidate for candidate in all_viewers(application)
             if isinstance(candidate, TurbulenceViewer)
             and candidate.state.reference_data is parent]
    if shown:
        shown[-1].refresh()
        return shown[-1]
    if application is None or not hasattr(application, "new_data_viewer"):
        return None
    opened = application.new_data_viewer(TurbulenceViewer, data=parent)
    opened.show_plane(datasets["classification"].meta["glue_turbml"]["plane"])
    return opened


def show_mapping(application, mapping):
    """Show a U-Net mapping in an image viewer (its density, else its mapped quantity); a
    regression estimate is shown the same way (its value map).

    Parameters
    ----------
    application : glue_qt.app.GlueApplication or None
    mapping : glue.core.Data
        The mapping (or regression) dataset from the job.

    Returns
    -------
    glue image viewer or None
        A viewer already showing the mapping, or a new one; None without an application.
    """
    from glue_qt.viewers.image import ImageViewer

    shown = [candidate for candidate in all_viewers(application)
             if getattr(candidate.state, "reference_data", None) is mapping]
    if shown:
        return shown[-1]
    if application is None or not hasattr(application, "new_data_viewer"):
        return None
    opened = application.new_data_viewer(ImageViewer, data=mapping)
    component = mapping_component(mapping)
    layer_state = next(state for state in opened.state.layers if state.layer is mapping)
    layer_state.attribute = mapping.id[component]
    return opened


def mapping_component(mapping):
    """The component of a mapping dataset to show: ``density`` when there is one, else the
    mapped quantity (named in the dataset's summary; sessions saved before it was recorded hold
    ``log_density_ratio``).

    Parameters
    ----------
    mapping : glue.core.Data
        A mapping dataset (`glue_turbml.qt.glue_data.mapping_data`).

    Returns
    -------
    str
        A component label of ``mapping``.
    """
    from .glue_data import result_summary

    labels = [cid.label for cid in mapping.main_components]
    if "density" in labels:
        return "density"
    summary = (result_summary(mapping) or {}).get("summary") or {}
    name = summary.get("quantity_name", "log_density_ratio")
    # Falls back to the first component for a dataset whose components were renamed.
    return name if name in labels else labels[0]


def show_job_results(job):
    """Show a finished job's results in a viewer when its request asks for it.

    Connected to the ``finished`` signal of the jobs `glue_turbml.qt.actions` starts; a failure
    to show them is reported in a message box (the datasets are in the collection anyway).

    Parameters
    ----------
    job : glue_turbml.qt.controller.ClassifyJob, MapJob or RegressJob

    Returns
    -------
    glue image viewer or None
        Also kept as ``job.result_viewer``.
    """
    from .controller import show_error

    if job.state != "done" or not getattr(job.request, "show_results", False):
        return None
    try:
        if "mapping" in job.datasets or "regression" in job.datasets:
            shown = job.datasets["mapping" if "mapping" in job.datasets else "regression"]
            job.result_viewer = show_mapping(job.application, shown)
        else:
            job.result_viewer = show_classification(job.application, job.data, job.datasets,
                                                    viewer=job.viewer)
    except Exception as error:  # a Qt slot: an escaping exception would end glue
        show_error(job.application, error)
    return job.result_viewer
