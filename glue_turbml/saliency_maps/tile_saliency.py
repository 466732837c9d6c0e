"""Saliency of a classifier or regressor over a whole map: one explained output per tile, on the
tiles `classify` analyses, blended back like its per-pixel probabilities."""

import numpy as np

from ..classification import softmax
from ..core import stitch_tiles
from ..domain import check_map
from ..domain.embedding import EMBEDDING_OUTPUT
from ..tiled_input import prepare_tiled_input, tile_progress
from .occlusion import occlusion_saliency
from .options import output_names, resolve_target, saliency_passes
from .result import SaliencyResult
from .sanity import recorded_sanity

__all__ = ["tile_model_saliency"]


def tile_model_saliency(image, runner, *, method, target, wcs, input_name, stride, boundary,
                        batch_size, progress, occlusion_window, occlusion_stride,
                        occlusion_baseline):
    """Saliency of a classifier or regressor: one output vector per tile, as `classify`."""
    from ..models.saliency_graphs import open_saliency_graph

    card = runner.card
    classifier = card["task"] == "classification"
    graph_runner = None
    if method != "occlusion":
        graph_runner = open_saliency_graph(runner.loaded, method, device=runner.info.requested)
    tiled = prepare_tiled_input(image, card, stride=stride, boundary=boundary,
                                input_name=input_name, purpose="explain")
    grid, used = tiled.grid, tiled.used

    # Pass 1: outputs of every analysed tile: class probabilities choose the explained class;
    # the domain check's embedding part reads the pooled features in the same pass
    with_embedding = "embedding" in card.get("domain", {})
    names = (card["outputs"][0]["name"], EMBEDDING_OUTPUT) if with_embedding else None
    embeddings = []
    tile_logits = None
    for chunk, tiles in tiled.chunks():
        outputs = runner.run(tiles, batch_size=batch_size, outputs=names)
        if with_embedding:
            outputs, features = outputs
            embeddings.append(features)
        outputs = np.asarray(outputs, dtype=np.float64)
        if tile_logits is None:
            tile_logits = np.full((grid.n_tiles, outputs.reshape(len(chunk), -1).shape[1]),
                                  np.nan)
        tile_logits[chunk] = outputs.reshape(len(chunk), -1)
    analysed = tile_logits[used]
    if classifier:
        class_names = [entry["name"] for entry in card["classes"]]
        softmax_output = card["outputs"][0].get("activation", "none") == "softmax"
        probability = (softmax(analysed) if softmax_output else analysed).mean(axis=0)
        target_index = resolve_target(target, class_names, probability)
    else:
        class_names = output_names(card, analysed.shape[1])
        probability = analysed.mean(axis=0)
        target_index = resolve_target(target, class_names, probability, default=0)
    n_classes = len(class_names)
    one_hot = np.zeros(n_classes, dtype=np.float32)
    one_hot[target_index] = 1.0

    # Pass 2: per-tile saliency maps.
    size = grid.tile_size
    window, step, parameters, total, unit = saliency_passes(
        method, size, used.size, occlusion_window=occlusion_window,
        occlusion_stride=occlusion_stride, occlusion_baseline=occlusion_baseline)
    tile_maps = np.full((grid.n_tiles, 1, size, size), np.nan, dtype=np.float32)
    advance, close = tile_progress(progress, total, unit=unit)
    try:
        for chunk, tiles in tiled.chunks():
            targets = np.repeat(one_hot[np.newaxis], len(chunk), axis=0)
            if method == "occlusion":
                maps = occlusion_saliency(runner.run, tiles, targets, window=window, stride=step,
                                          baseline=occlusion_baseline, batch_size=batch_size,
                                          on_pass=advance)
            else:
                _, maps = graph_runner.run(tiles, targets, batch_size=batch_size,
                                           on_batch=advance)
            tile_maps[chunk] = maps[:, :1]
    finally:
        close()
    saliency_map = stitch_tiles(tile_maps, grid)[0].astype(np.float32)
    saliency_map[~tiled.finite] = np.nan
    tile_used = np.zeros(grid.n_tiles, dtype=bool)
    tile_used[used] = True
    return SaliencyResult(
        saliency_map=saliency_map, method=method, target_index=target_index,
        class_names=class_names, probability=probability, tile_origins=grid.origins,
        tile_used=tile_used, tile_size=size, filled_mask=tiled.filled_mask, wcs=wcs,
        model_card=card, session_info=(graph_runner or runner).info,
        preprocessing=tiled.pipeline.description, input_name=input_name,
        parameters=parameters, task=card["task"], boundary=grid.boundary,
        domain=check_map(card, image, grid, used,
                         embeddings=np.concatenate(embeddings) if with_embedding else None),
        sanity=recorded_sanity(card, method))
