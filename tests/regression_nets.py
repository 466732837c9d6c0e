"""Tiny real map regressors for the regression tests: a torch net exported by the training
exporter with a card like the coming ``spectral-index`` model's (value and log-variance per
tile), and hand-built ONNX graphs whose outputs break that contract."""

import copy
from pathlib import Path

import numpy as np

from tests.card_builders import untrained_classifier_card

__all__ = ["TILE_SIZE", "MODEL_NAME", "spectral_index_card", "make_spectral_index_net",
           "write_spectral_index_model", "write_wrong_width_model", "lognormal_map"]

TILE_SIZE = 32
MODEL_NAME = "tiny-spectral-index"
#: Head bias: values near a Kolmogorov slope, sigmas near 0.2 (log-variance -3.2).
_HEAD_BIAS = (3.7, -3.2)


def spectral_index_card(name=MODEL_NAME, *, domain=None, channels=None):
    """A schema-valid regression card as the training side writes for ``spectral-index``.

    Parameters
    ----------
    name : str
    domain : dict, optional
        The card's ``domain`` record (e.g. ``{"input_statistics": ...}``).
    channels : list of dict, optional
        Replaces the two channels (spectral_index, log_variance) of the first output.

    Returns
    -------
    dict
        Without ``weights_sha256`` (the exporter fills it in).
    """
    card = copy.deepcopy(untrained_classifier_card(name=name, tile_size=TILE_SIZE))
    del card["classes"]
    card["task"] = "regression"
    card["description"] = "untrained test regressor: velocity spectral index per tile"
    # log10 only: tiles keep their level, so values and sigmas differ from tile to tile
    card["preprocess"] = [{"op": "log10"}]
    card["outputs"] = [{
        "name": "prediction", "units": "", "activation": "none",
        "description": "the spectral index of each tile and the log of its variance",
        "channels": channels or [
            {"name": "spectral_index", "units": "", "label": "velocity spectral index",
             "description": "slope of the velocity power spectrum"},
            {"name": "log_variance", "units": "",
             "description": "natural log of the variance of the channel-0 value"}]}]
    card["metrics"] = {"rmse": 0.3}
    if domain is not None:
        card["domain"] = domain
    return card


def make_spectral_index_net(seed=0):
    """Strided convolutions, global average pooling and a linear head to 2 outputs, in eval mode.

    The head's weights are scaled up (the log-variance row most) so tile values and sigmas
    differ visibly from tile to tile: an inverse-variance mean then differs from a plain mean.
    """
    import torch
    from torch import nn

    class SpectralIndexNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU())
            self.head = nn.Linear(8, 2)

        def forward(self, images):
            return self.head(self.features(images).mean(dim=(2, 3)))

    torch.manual_seed(seed)
    net = SpectralIndexNet()
    with torch.no_grad():
        net.head.weight.mul_(torch.tensor([[4.0], [40.0]]))
        net.head.bias.copy_(torch.tensor(_HEAD_BIAS))
    return net.eval()


def write_spectral_index_model(folder, *, name=MODEL_NAME, domain=None, channels=None, seed=0):
    """Export `make_spectral_index_net` with `spectral_index_card` as ``folder/<name>.onnx``.

    Returns
    -------
    pathlib.Path
    """
    from tests.saliency_task_nets import export_model_file

    path = Path(folder) / f"{name}.onnx"
    return export_model_file(make_spectral_index_net(seed),
                             path, spectral_index_card(name, domain=domain, channels=channels))


def write_wrong_width_model(folder, *, name="three-outputs"):
    """A regressor whose card lists the two channels but whose graph gives ``(batch, 3)``,
    with the output's width left undeclared, so only running it tells.

    Returns
    -------
    pathlib.Path
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from glue_turbml.models import write_card

    weight = np.random.default_rng(1).normal(size=(3, 1, 1, 1)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "conv.weight"], ["features"], kernel_shape=[1, 1]),
         helper.make_node("ReduceMean", ["features", "axes"], ["prediction"], keepdims=0)],
        "three_outputs",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                       ["batch", 1, "height", "width"])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["batch", "width3"])],
        initializer=[numpy_helper.from_array(weight, "conv.weight"),
                     numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    write_card(model, spectral_index_card(name))
    path = Path(folder) / f"{name}.onnx"
    onnx.save_model(model, str(path))
    return path


def lognormal_map(shape, *, slope=11 / 3, seed=0):
    """A positive lognormal map with a power-law spectrum of the given slope, float32."""
    from training.common.random_fields import lognormal_field

    return lognormal_field(shape, slope, sigma_ln=1.0, seed=seed).astype(np.float32)
