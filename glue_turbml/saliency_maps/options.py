"""What a saliency run explains and how many passes it takes: methods, targets, output names.

Shared by the tile models' saliency (`tile_saliency`) and the U-Net's (`region_saliency`), so
both default the occlusion window the same way and count progress in the same units.
"""

import numpy as np

from .occlusion import occlusion_starts

__all__ = ["SALIENCY_METHODS", "saliency_passes", "resolve_target", "output_names"]

SALIENCY_METHODS = ("guided", "vanilla", "occlusion")


def saliency_passes(method, tile_size, n_tiles, *, occlusion_window, occlusion_stride,
                    occlusion_baseline):
    """Occlusion window and stride, the parameters a result records, and the progress total.

    Parameters
    ----------
    method : str
        ``"occlusion"`` or a gradient method.
    tile_size : int
    n_tiles : int
        Tiles explained.
    occlusion_window, occlusion_stride : int or None
        Pixels; ``None`` for an eighth of the tile (at least 2) and half the window.
    occlusion_baseline : str or float

    Returns
    -------
    window, stride : int or None
        Occlusion window and stride in pixels (``None`` for a gradient method).
    parameters : dict
        Method parameters for `SaliencyResult.parameters`.
    total : int
        Progress steps: every occluded pass plus the unoccluded one per tile, or one per tile.
    unit : str
        ``"pass"`` or ``"tile"``.
    """
    if method != "occlusion":
        return None, None, {}, int(n_tiles), "tile"
    window = int(occlusion_window or max(2, tile_size // 8))
    stride = int(occlusion_stride or max(1, window // 2))
    parameters = {"window_px": window, "stride_px": stride, "baseline": occlusion_baseline}
    n_positions = len(occlusion_starts(tile_size, window, stride)) ** 2
    return window, stride, parameters, int(n_tiles) * (n_positions + 1), "pass"


def resolve_target(target, class_names, probability, *, default=None):
    """Index of the explained class (or output, or output channel).

    Parameters
    ----------
    target : int, str or None
        Index or name; ``None`` picks ``default``.
    class_names : list of str
        Names of the classes (or outputs, or output channels).
    probability : numpy.ndarray
        Whole-map class probabilities (used when ``target`` and ``default`` are ``None``).
    default : int, optional
        Index used for ``target=None``; the most probable class when not given.

    Raises
    ------
    ValueError
        For an unknown name or an index out of range.
    """
    if target is None:
        return int(np.argmax(probability)) if default is None else int(default)
    if isinstance(target, str) and not target.isdigit():
        if target not in class_names:
            kind = "class" if default is None else "output"
            raise ValueError(f"unknown target {kind} {target!r}; the model's {kind}s are "
                             f"{class_names}")
        return class_names.index(target)
    index = int(target)
    if not 0 <= index < len(class_names):
        raise ValueError(f"target index {index} is out of range for {class_names}")
    return index


def output_names(card, count):
    """Names of a model's ``count`` output components (regression) or channels (image-to-image).

    The card's ``outputs[0].channels`` names when it lists ``count`` of them; otherwise the
    output's name, indexed when there are several.
    """
    output = card["outputs"][0]
    channels = [entry["name"] for entry in output.get("channels", [])]
    if len(channels) == count:
        return channels
    if count == 1:
        return [output["name"]]
    return [f"{output['name']}[{index}]" for index in range(count)]
