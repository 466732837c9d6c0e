"""Wall-clock timing shared by the benchmark scripts (`best_time` lives in glue_turbml.core)."""

from glue_turbml.core.timing import best_time

__all__ = ["best_time", "time_saliency_graphs"]


def time_saliency_graphs(runner, tiles, targets, *, device, batch_size, repeats, heading="",
                         graph_details=None, map_statistics=None):
    """Time a model's forward graph and its vanilla and guided saliency graphs; print a table.

    Parameters
    ----------
    runner : glue_turbml.models.ModelRunner
        The opened model (``open_model``); its saliency graphs are opened on ``device``.
    tiles : numpy.ndarray
        ``(n, 1, T, T)`` float32 preprocessed tiles.
    targets : numpy.ndarray
        The saliency graphs' ``target`` input for every tile.
    device : str
    batch_size, repeats : int
    heading : str, optional
        Printed before the first line (e.g. ``"[1] "``).
    graph_details : callable, optional
        ``graph_details(method, graph) -> (figures, note)``: extra figures of a saliency graph
        and text printed after its cost.
    map_statistics : numpy.ndarray, optional
        For a model that reads them (its card's ``input.map_statistics``): the statistics of
        the map the tiles stand for, fed with every tile.

    Returns
    -------
    dict
        ``model``, ``provider``, ``tiles``, ``tile_size``, ``batch_size``,
        ``forward_tiles_per_s``, then per method ``<method>_maps_per_s``,
        ``<method>_cost_in_forward_passes`` and the ``graph_details`` figures.
    """
    from glue_turbml.models import open_saliency_graph

    n_tiles, tile_size = len(tiles), tiles.shape[-1]
    forward_seconds = best_time(lambda: runner.run(tiles, batch_size=batch_size,
                                                   map_statistics=map_statistics), repeats)
    figures = {"model": runner.card["name"], "provider": runner.info.provider,
               "tiles": n_tiles, "tile_size": tile_size, "batch_size": batch_size,
               "forward_tiles_per_s": n_tiles / forward_seconds}
    print(f"\n{heading}{n_tiles} tiles of {tile_size}^2, batch {batch_size}")
    print(f"    forward graph          : {n_tiles / forward_seconds:9.1f} tiles/s")
    for method in ("vanilla", "guided"):
        graph = open_saliency_graph(runner.loaded, method, device=device)
        seconds = best_time(lambda: graph.run(tiles, targets, batch_size=batch_size,
                                              map_statistics=map_statistics), repeats)
        figures[f"{method}_maps_per_s"] = n_tiles / seconds
        figures[f"{method}_cost_in_forward_passes"] = seconds / forward_seconds
        note = ""
        if graph_details is not None:
            details, note = graph_details(method, graph)
            figures.update(details)
        print(f"    {method:<7} saliency graph : {n_tiles / seconds:9.1f} maps/s   "
              f"(one map costs {seconds / forward_seconds:.2f} forward passes{note})")
    return figures
