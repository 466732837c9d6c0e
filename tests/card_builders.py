"""Schema-valid model cards for untrained test networks, shared by export, saliency and Qt tests."""

__all__ = ["untrained_classifier_card", "untrained_image_to_image_card"]


def untrained_classifier_card(*, name="test-net", n_classes=2, tile_size=64):
    """Classification card (without ``weights_sha256``) with classes ``class0``, ``class1``, ...

    Preprocessing is ``log10 > equalize_hist``; the exporter fills in the weights hash.
    """
    return {
        "schema_version": 1, "name": name, "version": "0.0.1", "task": "classification",
        "description": "untrained test network",
        "classes": [{"name": f"class{index}", "meaning": f"test class {index}"}
                    for index in range(n_classes)],
        "input": {"name": "image", "kind": "test map", "description": "random tiles",
                  "tile_size": tile_size, "channels": 1, "dtype": "float32", "units": "",
                  "layout": "NCHW"},
        "outputs": [{"name": "logits", "description": "logits", "units": "",
                     "activation": "softmax"}],
        "preprocess": [{"op": "log10"}, {"op": "equalize_hist", "nbins": 256}],
        "tiling": {"stride": tile_size // 2, "boundary": "reflect", "combine": "mean",
                   "min_valid_fraction": 0.5},
        "saliency": {"methods": ["occlusion"]},
        "provenance": {"training_data": {"summary": "none"}, "split": {}, "command": "pytest",
                       "code_version": "test", "date": "2000-01-01T00:00:00Z"},
        "metrics": {},
    }


def untrained_image_to_image_card(*, name, tile_size, output_description, channels):
    """``image_to_image`` card: `untrained_classifier_card` with one per-pixel output.

    Parameters
    ----------
    name : str
    tile_size : int
    output_description : str
        Description of the ``prediction`` output.
    channels : list of dict
        Its channels (``name``, ``description``, ``units``).

    Returns
    -------
    dict
        Tiles are combined by the margin window (``tiling.combine = "window"``).
    """
    card = untrained_classifier_card(name=name, tile_size=tile_size)
    del card["classes"]
    card["task"] = "image_to_image"
    card["outputs"] = [{"name": "prediction", "units": "", "activation": "none",
                        "description": output_description, "channels": channels}]
    card["tiling"]["combine"] = "window"
    return card
