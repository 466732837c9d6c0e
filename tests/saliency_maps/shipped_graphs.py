"""Checks shared by the shipped models' saliency tests: the graph files are the pinned ones."""

import hashlib

__all__ = ["check_pinned_graph_files", "SHIPPED_METHODS"]

#: Methods every shipped model offers; the first two have exported gradient graphs.
SHIPPED_METHODS = ["vanilla", "guided", "occlusion"]


def check_pinned_graph_files(loaded, *, folder):
    """Assert the card offers `SHIPPED_METHODS` and each graph file has the card's sha256.

    Parameters
    ----------
    loaded : glue_turbml.models.LoadedModel
        A shipped model, as `glue_turbml.models.resolve_model` returns it.
    folder : pathlib.Path
        Where its graph files are (``onnx_models/``).

    Returns
    -------
    dict
        ``{method: (path of the graph file, the card's graph entry)}`` for ``vanilla`` and
        ``guided``, for the caller's own checks of each graph.
    """
    saliency = loaded.card["saliency"]
    assert saliency["methods"] == SHIPPED_METHODS
    graph_files = {}
    for method in ("vanilla", "guided"):
        entry = saliency["graphs"][method]
        path = folder / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        graph_files[method] = (path, entry)
    return graph_files
