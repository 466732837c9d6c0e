"""Occlusion saliency of preprocessed tiles (Zeiler & Fergus 2014, Captum ``Occlusion`` layout):
forward passes only, so it explains any ONNX model, with or without saliency graphs."""

import numpy as np

__all__ = ["occlusion_saliency", "occlusion_starts"]

#: Occluded copies sent to onnxruntime per call at most (bounds memory).
_OCCLUSION_COPIES = 512


def occlusion_starts(size, window, stride):
    """Window origins along one axis, as Captum lays them: every ``stride`` from 0 until the
    window reaches the far edge; the last window may run past it and is cut at the edge."""
    count = int(np.ceil((size - window) / stride)) + 1
    return range(0, count * stride, stride)


def occlusion_saliency(forward, tiles, targets, *, window, stride, baseline="mean",
                       batch_size=64, on_pass=None):
    """Occlusion saliency of preprocessed tiles (Captum ``Occlusion`` semantics).

    For every window position (``window`` x ``window`` squares every ``stride`` pixels from the
    top-left corner until the far edges are reached, cut at the edges, as Captum lays them out;
    so every pixel is covered) the tile is copied with the window set to the
    baseline; the pixel's saliency is the mean, over the windows covering it, of
    ``score(tile) - score(occluded copy)``, with ``score = sum(output * target)``.

    Parameters
    ----------
    forward : callable
        ``forward(batch (n, C, T, T) float32, batch_size=...) -> output``, e.g.
        ``ModelRunner.run``: ``(n, n_classes)`` logits, ``(n, n_outputs)``, or ``(n, C_out, T,
        T)`` maps of an image-to-image model.
    tiles : numpy.ndarray
        ``(n, C, T, T)`` preprocessed tiles.
    targets : numpy.ndarray
        Weights of the output, of its shape (one-hot rows for one class).
    window, stride : int
        Occluding square side and step in pixels.
    baseline : float or "mean"
        Value of occluded pixels; ``"mean"`` uses each tile's mean (a neutral grey for
        histogram-equalized tiles).
    batch_size : int
    on_pass : callable, optional
        Called with the number of forward passes done after each call.

    Returns
    -------
    numpy.ndarray
        ``(n, C, T, T)`` float64.
    """
    tiles = np.ascontiguousarray(tiles, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.float64)
    count, channels, height, width = tiles.shape
    if not (0 < window <= min(height, width) and 0 < stride <= window):
        raise ValueError(f"occlusion window {window} and stride {stride} (--occlusion-window, "
                         "--occlusion-stride; occlusion_window=, occlusion_stride= in Python) "
                         "must be positive, the "
                         f"stride at most the window and the window at most the tile size "
                         f"{min(height, width)}")
    if isinstance(baseline, str):
        if baseline != "mean":
            raise ValueError(f"baseline must be a number or 'mean', got {baseline!r}")
        fill = tiles.mean(axis=(1, 2, 3), dtype=np.float64).astype(np.float32)
    else:
        fill = np.full(count, float(baseline), dtype=np.float32)
    positions = [(y0, x0) for y0 in occlusion_starts(height, window, stride)
                 for x0 in occlusion_starts(width, window, stride)]
    targets = targets.reshape(count, -1)
    base_score = (forward(tiles, batch_size=batch_size).astype(np.float64).reshape(count, -1)
                  * targets).sum(axis=1)
    if on_pass is not None:
        on_pass(count)
    total = np.zeros(tiles.shape, dtype=np.float64)
    coverage = np.zeros((height, width), dtype=np.float64)
    for y0, x0 in positions:
        coverage[y0:y0 + window, x0:x0 + window] += 1
    group = max(1, _OCCLUSION_COPIES // max(count, 1))
    for first in range(0, len(positions), group):
        chosen = positions[first:first + group]
        copies = np.repeat(tiles[np.newaxis], len(chosen), axis=0)  # (positions, n, C, T, T)
        for number, (y0, x0) in enumerate(chosen):
            copies[number, :, :, y0:y0 + window, x0:x0 + window] = fill[:, None, None, None]
        logits = forward(copies.reshape((-1,) + tiles.shape[1:]), batch_size=batch_size)
        scores = (np.asarray(logits, dtype=np.float64).reshape(len(chosen), count, -1)
                  * targets[np.newaxis]).sum(axis=2)
        drops = base_score[np.newaxis] - scores  # (positions, n)
        for number, (y0, x0) in enumerate(chosen):
            total[:, :, y0:y0 + window, x0:x0 + window] += drops[number][:, None, None, None]
        if on_pass is not None:
            on_pass(len(chosen) * count)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = total / coverage
    result[:, :, coverage == 0] = 0.0
    return result
