"""A tiny image-to-image ONNX model (a U-Net's interface: mean and log-variance per pixel)."""

import numpy as np

from tests.card_builders import untrained_image_to_image_card

__all__ = ["make_tiny_mapping_model", "write_tiny_mapping_model"]

TILE_SIZE = 64
WINDOW_MARGIN = 8


def _mapping_card(name):
    """A schema-valid ``image_to_image`` card like the shipped U-Nets' (map-mean input)."""
    card = untrained_image_to_image_card(
        name=name, tile_size=TILE_SIZE,
        output_description="per-pixel log10(<n>_m/n0) and ln of its variance",
        channels=[{"name": "mean", "description": "log10(<n>_m/n0)", "units": "dex"},
                  {"name": "log_variance", "description": "ln variance", "units": ""}])
    card["description"] = "untrained test mapping: one 3x3 convolution, two output channels"
    card["input"].update({"spatial_multiple": 1, "normalization": "map_mean",
                          "accepted_units": ["cm-2", "g cm-2", ""]})
    card["preprocess"] = [{"op": "log10"}]
    card["tiling"].update({"window_margin": WINDOW_MARGIN,
                           "stride": (TILE_SIZE - 2 * WINDOW_MARGIN) // 2})
    card["saliency"] = {"methods": []}
    return card


def make_tiny_mapping_model(*, name="tiny-mapping", seed=0):
    """An ONNX ``image (batch, 1, H, W) -> prediction (batch, 2, H, W)`` convolution with card.

    Returns
    -------
    onnx.ModelProto
    """
    from onnx import TensorProto, helper, numpy_helper

    from glue_turbml.models import write_card

    rng = np.random.default_rng(seed)
    weight = rng.normal(scale=0.3, size=(2, 1, 3, 3)).astype(np.float32)
    bias = np.array([0.0, -2.0], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["prediction"],
                          name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        "tiny_mapping",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                       ["batch", 1, "height", "width"])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT,
                                       ["batch", 2, "height", "width"])],
        initializer=[numpy_helper.from_array(weight, "conv.weight"),
                     numpy_helper.from_array(bias, "conv.bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)],
                              ir_version=8)
    write_card(model, _mapping_card(name))
    return model


def write_tiny_mapping_model(folder, *, name="tiny-mapping"):
    """Save `make_tiny_mapping_model` as ``folder/<name>.onnx`` and return the path."""
    import onnx

    path = folder / f"{name}.onnx"
    onnx.save_model(make_tiny_mapping_model(name=name), str(path))
    return path
