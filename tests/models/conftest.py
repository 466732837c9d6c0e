"""Builders of a tiny ONNX classifier and a valid model card for it, shared by the model tests.

Use the fixtures (``tiny_classifier_model``, ``valid_card``, ``carded_classifier``,
``carded_classifier_path``) or, for other sizes and tasks, the factory fixtures
``classifier_factory``, ``card_factory`` and ``classifier_reference``, which return
`make_tiny_classifier`, `make_valid_card` and `tiny_classifier_reference`.
"""

import numpy as np
import pytest

#: Opset and IR version of the tiny models: old enough for every onnxruntime we support.
TINY_OPSET = 18
TINY_IR_VERSION = 8


def make_tiny_classifier(n_classes=2, *, in_channels=1, hidden_channels=4, seed=0):
    """A small, valid ONNX classifier: Conv 3x3 -> Relu -> global mean -> Gemm.

    Parameters
    ----------
    n_classes : int
        Number of logits.
    in_channels : int
        Channels of the input image.
    hidden_channels : int
        Feature maps of the convolution.
    seed : int
        Seed of the random weights.

    Returns
    -------
    onnx.ModelProto
        Opset 18, input ``"image"`` float32 ``[batch, in_channels, height, width]`` (batch, height
        and width dynamic), output ``"logits"`` float32 ``[batch, n_classes]``. The weights are
        initializers named ``conv.weight``, ``conv.bias``, ``head.weight``, ``head.bias``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    conv_shape = (hidden_channels, in_channels, 3, 3)
    conv_weight = rng.normal(scale=0.5, size=conv_shape).astype(np.float32)
    conv_bias = rng.normal(scale=0.1, size=hidden_channels).astype(np.float32)
    head_weight = rng.normal(scale=0.5, size=(n_classes, hidden_channels)).astype(np.float32)
    head_bias = rng.normal(scale=0.1, size=n_classes).astype(np.float32)
    initializers = [
        numpy_helper.from_array(conv_weight, "conv.weight"),
        numpy_helper.from_array(conv_bias, "conv.bias"),
        numpy_helper.from_array(head_weight, "head.weight"),
        numpy_helper.from_array(head_bias, "head.bias"),
        numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "pool.axes"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["features"],
                         name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["features"], ["activated"], name="relu"),
        helper.make_node("ReduceMean", ["activated", "pool.axes"], ["pooled"], name="pool",
                         keepdims=0),
        helper.make_node("Gemm", ["pooled", "head.weight", "head.bias"], ["logits"], name="head",
                         transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_classifier",
        inputs=[helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                              ["batch", in_channels, "height", "width"])],
        outputs=[helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", n_classes])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", TINY_OPSET)],
                              producer_name="glue-turbml-tests")
    model.ir_version = TINY_IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def tiny_classifier_reference(model, images):
    """Logits of `make_tiny_classifier`'s model computed with numpy (no ONNX runtime).

    Parameters
    ----------
    model : onnx.ModelProto
        A model from `make_tiny_classifier`.
    images : numpy.ndarray
        ``(batch, in_channels, height, width)`` float array.

    Returns
    -------
    numpy.ndarray
        ``(batch, n_classes)`` float64 logits.
    """
    from onnx import numpy_helper

    weights = {tensor.name: numpy_helper.to_array(tensor).astype(np.float64)
               for tensor in model.graph.initializer}
    images = np.asarray(images, dtype=np.float64)
    batch, _, height, width = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv_weight = weights["conv.weight"]
    features = np.zeros((batch, conv_weight.shape[0], height, width))
    for dy in range(3):
        for dx in range(3):
            window = padded[:, :, dy:dy + height, dx:dx + width]
            features += np.einsum("bchw,oc->bohw", window, conv_weight[:, :, dy, dx])
    features += weights["conv.bias"][None, :, None, None]
    pooled = np.maximum(features, 0).mean(axis=(2, 3))
    return pooled @ weights["head.weight"].T + weights["head.bias"]


def make_valid_card(model=None, *, n_classes=2, task="classification", name="tiny-classifier",
                    tile_size=32, stride=None, boundary="periodic", combine="mean",
                    preprocess=None, channels=1, activation="softmax", **overrides):
    """A model card that validates against schema version 1.

    Parameters
    ----------
    model : onnx.ModelProto, optional
        If given, ``weights_sha256`` is that model's hash; otherwise a placeholder of 64 zeros
        (`glue_turbml.models.write_card` fills in the real one).
    n_classes : int
        Number of classes (``classes`` is only written for ``task="classification"``).
    task : {"classification", "regression", "image_to_image"}
    name, tile_size, stride, boundary, combine, preprocess, channels, activation
        The card fields of the same name; ``stride`` defaults to ``tile_size // 2`` and
        ``preprocess`` to ``log10 > ffp > equalize_hist``.
    **overrides
        Top-level keys replaced (or added) as given.

    Returns
    -------
    dict
    """
    from glue_turbml.models.card import CARD_SCHEMA_VERSION, weights_sha256

    if preprocess is None:
        preprocess = [{"op": "log10"}, {"op": "ffp"}, {"op": "equalize_hist", "nbins": 256}]
    card = {
        "schema_version": CARD_SCHEMA_VERSION,
        "name": name,
        "version": "0.1.0",
        "task": task,
        "description": "Tiny test model: Conv 3x3, ReLU, global mean, linear head.",
        "input": {
            "name": "image",
            "kind": "density slice perpendicular to the mean magnetic field",
            "description": "log10 of the gas density in a periodic simulation slice",
            "tile_size": tile_size,
            "channels": channels,
            "dtype": "float32",
            "units": "cm-3",
            "layout": "NCHW",
        },
        "outputs": [{
            "name": "logits",
            "description": "class logits; softmax gives the class probabilities",
            "units": "",
            "activation": activation,
        }],
        "preprocess": [dict(step) for step in preprocess],
        "tiling": {
            "stride": tile_size // 2 if stride is None else stride,
            "boundary": boundary,
            "combine": combine,
            "min_valid_fraction": 0.5,
        },
        "saliency": {"methods": ["gradient"]},
        "provenance": {
            "training_data": {"simulator": "none (random weights)",
                              "summary": "no training data: random weights for tests"},
            "split": {"train": 0.8, "validation": 0.1, "test": 0.1},
            "seeds": {"weights": 0},
            "command": "make_tiny_classifier()",
            "code_version": "0.0.0",
            "date": "2025-01-01",
        },
        "metrics": {"accuracy": 0.5, "n_test": 100},
        "weights_sha256": "0" * 64 if model is None else weights_sha256(model),
    }
    if task == "classification":
        card["classes"] = [{"name": f"class_{index}", "meaning": f"test class number {index}"}
                           for index in range(n_classes)]
    card.update(overrides)
    return card


@pytest.fixture
def classifier_factory():
    """`make_tiny_classifier`, for tests that need other sizes or seeds."""
    return make_tiny_classifier


@pytest.fixture
def card_factory():
    """`make_valid_card`, for tests that need other fields."""
    return make_valid_card


@pytest.fixture
def tiny_classifier_model():
    """A fresh two-class `make_tiny_classifier` model without a card."""
    return make_tiny_classifier(n_classes=2)


@pytest.fixture
def valid_card(tiny_classifier_model):
    """A valid card for ``tiny_classifier_model`` (its ``weights_sha256`` filled in)."""
    return make_valid_card(tiny_classifier_model, n_classes=2)


@pytest.fixture
def carded_classifier(tiny_classifier_model, valid_card):
    """``tiny_classifier_model`` with ``valid_card`` written into its metadata."""
    from glue_turbml.models.card import write_card

    write_card(tiny_classifier_model, valid_card)
    return tiny_classifier_model


@pytest.fixture
def carded_classifier_path(carded_classifier, tmp_path):
    """Path of an ``.onnx`` file holding ``carded_classifier``."""
    import onnx

    path = tmp_path / "tiny-classifier.onnx"
    onnx.save_model(carded_classifier, str(path))
    return path


@pytest.fixture
def classifier_reference():
    """`tiny_classifier_reference`: numpy logits of a `make_tiny_classifier` model."""
    return tiny_classifier_reference
