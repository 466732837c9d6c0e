"""Export probabilistic U-Nets to single-file ONNX with a model card, and check parity."""

import os

import numpy as np

from ..common.export import ExportResult, check_parity, export_onnx_with_card

__all__ = ["MAP_STATISTICS_INPUT", "export_unet", "check_unet_parity", "torch_unet_from_onnx"]

#: Name of the graph's second input, for a net that reads statistics of the whole map.
MAP_STATISTICS_INPUT = "map_statistics"


def check_unet_parity(model, onnx_path, *, images, batch_sizes=(1, 3), tile_sizes=(64, 128, 96),
                      tolerance=1e-4, seed=12345, statistics=None):
    """Compare torch and onnxruntime (CPU) mean/log-variance maps on realistic inputs.

    Parameters
    ----------
    model : torch.nn.Module
    onnx_path : str or os.PathLike
    images : numpy.ndarray
        ``(n, 1, H, W)`` preprocessed maps with ``H, W`` at least the largest tile size; random
        crops of them are checked.
    batch_sizes, tile_sizes : sequence of int
        Every combination is checked; tile sizes must be multiples of the net's spatial multiple.
    tolerance : float
        Largest allowed absolute difference of any output value (log10 units and natural-log
        variance units, both of order one).
    seed : int
    statistics : numpy.ndarray, optional
        ``(n, k)`` map statistics of each image, for a net that reads them.

    Returns
    -------
    list of dict
        ``batch_size``, ``tile_size``, ``max_abs_diff`` per shape.

    Raises
    ------
    training.common.export.ParityError
    ValueError
        If ``images`` is not 4-d or smaller than the largest tile size.
    """
    # Always real crops, never check_parity's noise inputs (None is rejected there as 0-d).
    images = np.asarray(images, dtype=np.float32)
    return check_parity(model, onnx_path, images=images, batch_sizes=batch_sizes,
                        tile_sizes=tile_sizes, tolerance=tolerance, seed=seed,
                        record_max_abs_logit=False, statistics=statistics)


def export_unet(model, path, card, *, tile_size, parity_images, opset_version=18,
                parity_batch_sizes=(1, 3), parity_tile_sizes=(64, 128, 96), tolerance=1e-4,
                seed=0, parity_statistics=None):
    """Export a `training.unet.nets.ProbabilisticUNet` with its card, then check parity.

    The graph takes ``image`` ``(batch, 1, height, width)`` float32, height and width any
    multiples of the net's spatial multiple, and returns ``prediction``
    ``(batch, 2, height, width)``: mean and log-variance per pixel. A net that reads map
    statistics (``model.map_statistics``) takes them as a second input, ``map_statistics``
    ``(batch, k)`` float32.

    Parameters
    ----------
    model : ProbabilisticUNet
        Exported in eval mode on the CPU.
    path : str or os.PathLike
    card : dict
        Model card without ``weights_sha256`` (validated and completed by
        `glue_turbml.models.write_card`).
    tile_size : int
        Side of the tracing example.
    parity_images : numpy.ndarray
        Realistic preprocessed inputs not used in training, for `check_unet_parity`.
    opset_version, parity_batch_sizes, parity_tile_sizes, tolerance, seed
        As in `check_unet_parity`; ``seed`` seeds the tracing example.
    parity_statistics : numpy.ndarray, optional
        ``(n, k)`` map statistics of ``parity_images``; needed when the net reads them.

    Returns
    -------
    training.common.export.ExportResult

    Raises
    ------
    training.common.export.ExportError, training.common.export.ParityError,
    glue_turbml.models.ModelCardError
    """
    import torch
    from torch.export import Dim

    model = model.cpu().eval()
    multiple = model.spatial_multiple
    generator = torch.Generator().manual_seed(int(seed))
    example = torch.rand((2, model.config["in_channels"], tile_size, tile_size),
                         generator=generator)
    # Skip connections concatenate maps of equal size only when H and W are multiples of the
    # pooling factor; saying so keeps the graph valid for every such size.
    batch = Dim("batch", min=1)
    dynamic_shapes = {"images": {0: batch,
                                 2: multiple * Dim("height_blocks", min=2, max=4096),
                                 3: multiple * Dim("width_blocks", min=2, max=4096)}}
    examples, input_names = (example,), ["image"]
    statistics_count = len(getattr(model, "map_statistics", ()))
    if statistics_count:
        if parity_statistics is None:
            raise ValueError("the net reads map statistics: give parity_statistics")
        examples += (model.statistics_centre.detach().clone()[None].repeat(2, 1),)
        input_names.append(MAP_STATISTICS_INPUT)
        dynamic_shapes["map_statistics"] = {0: batch}
    path, written_card = export_onnx_with_card(
        model, examples, path, card, input_names=input_names, output_names=["prediction"],
        dynamic_shapes=dynamic_shapes, opset_version=opset_version)
    parity = check_unet_parity(model, path, images=parity_images, batch_sizes=parity_batch_sizes,
                               tile_sizes=parity_tile_sizes, tolerance=tolerance,
                               seed=int(seed) + 12345, statistics=parity_statistics)
    return ExportResult(path=path, card=written_card, parity=parity)


def torch_unet_from_onnx(source):
    """Rebuild a `ProbabilisticUNet` from an exported file (benchmarks, checks, fine-tuning).

    The architecture comes from the card (``provenance.training.net``); convolution weights are
    matched to the layers in graph node order, which follows the module order of the forward
    pass (encoders, then per level the up-convolution and the decoder, then the head).

    Parameters
    ----------
    source : str or os.PathLike
        A file written by `export_unet`.

    Returns
    -------
    ProbabilisticUNet
        In eval mode.

    Raises
    ------
    training.common.export.ExportError
        If the card has no net description or the graph does not match it.
    """
    import onnx
    import torch
    from onnx import numpy_helper

    from glue_turbml.models import read_card

    from ..common.export import ExportError
    from .nets import ProbabilisticUNet

    model_proto = onnx.load(os.fspath(source))
    card = read_card(model_proto, source=os.fspath(source))
    net_config = card["provenance"].get("training", {}).get("net")
    if not net_config:
        raise ExportError(f"{source}: the card has no provenance.training.net description")
    net = ProbabilisticUNet(in_channels=net_config["in_channels"], widths=net_config["widths"],
                            convs_per_block=net_config["convs_per_block"],
                            log_variance_range=net_config["log_variance_range"],
                            variance_hidden=net_config.get("variance_hidden", 0),
                            variance_context_px=net_config.get("variance_context_px", 0),
                            map_statistics=net_config.get("map_statistics", ()))
    if net.map_statistics:
        net.load_statistics_scaling(net_config["map_statistics_centre"],
                                    net_config["map_statistics_scale"])
    weights = {tensor.name: numpy_helper.to_array(tensor)
               for tensor in model_proto.graph.initializer}
    convs = []
    for encoder in net.encoders:
        convs += [module for module in encoder if isinstance(module, torch.nn.Conv2d)]
    for upsample, decoder in zip(net.upsamples, net.decoders):
        convs += [module for module in upsample if isinstance(module, torch.nn.Conv2d)]
        convs += [module for module in decoder if isinstance(module, torch.nn.Conv2d)]
    convs.append(net.head)
    if net.variance_head is not None:
        convs += [module for module in net.variance_head if isinstance(module, torch.nn.Conv2d)]
    nodes = [node for node in model_proto.graph.node if node.op_type == "Conv"]
    if len(nodes) != len(convs):
        raise ExportError(f"{source}: {len(nodes)} Conv nodes in the graph, {len(convs)} "
                          "convolutions in the card's net")
    for node, module in zip(nodes, convs):
        kernel = weights[node.input[1]]
        if tuple(kernel.shape) != tuple(module.weight.shape):
            raise ExportError(f"{source}: Conv node {node.name} has weights {kernel.shape}, the "
                              f"matching layer expects {tuple(module.weight.shape)}")
        with torch.no_grad():
            module.weight.copy_(torch.tensor(kernel))
            module.bias.copy_(torch.tensor(weights[node.input[2]]))
    return net.eval()
