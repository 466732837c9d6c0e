"""ONNX translations of the ATen backward operators that gradient graphs need and ONNX lacks.

`torch.onnx.export` has no translation for ``aten.convolution_backward`` (plain and transposed)
or ``aten.max_pool2d_with_indices_backward``; `BACKWARD_TRANSLATIONS` supplies them, written
with standard ONNX operators only (no custom domain), so the exported saliency graphs run on
plain onnxruntime. Each translation is checked numerically against torch autograd by the
saliency parity tests (``tests/saliency``).
"""

from onnxscript import opset18 as op

__all__ = ["BACKWARD_TRANSLATIONS", "convolution_backward", "max_pool2d_with_indices_backward"]


def convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation,
                         transposed, output_padding, groups, output_mask):
    """Gradient of a 2D convolution with respect to its input.

    It is the transposed convolution of the output gradient with the same weights. A strided
    convolution drops the last ``(H + 2p - d(k - 1) - 1) mod s`` input rows (and columns); the
    transposed convolution is run with ``output_padding = s - 1`` so that it covers every input
    row, then sliced to the input's (dynamic) height and width: the rows past it are rows the
    forward pass never read.

    A transposed convolution (``ConvTranspose2d``, e.g. U-Net upsampling) is the adjoint of
    the convolution with the same weights, so its input gradient is that plain convolution of
    the output gradient: same weight tensor (its ``(C_in, C_out / groups, k, k)`` layout is
    what ``Conv`` expects for mapping ``C_out`` back to ``C_in`` channels), stride, padding,
    dilation and groups. Its output size is the input's exactly, because the forward
    ``output_padding`` is smaller than the stride.

    Only ``grad_input`` is meaningful; the weight and bias gradient slots (unused by saliency
    graphs and removed by the exporter's dead-code pass) repeat it.
    """
    stride, padding, dilation = list(stride), list(padding), list(dilation)
    if len(stride) != 2:
        raise NotImplementedError(f"only 2D convolutions are translated, got stride {stride}")
    if transposed:
        grad_input = op.Conv(grad_output, weight, strides=stride, pads=padding + padding,
                             dilations=dilation, group=groups)
        return grad_input, grad_input, grad_input
    full = op.ConvTranspose(grad_output, weight, strides=stride, pads=padding + padding,
                            dilations=dilation, group=groups,
                            output_padding=[step - 1 for step in stride])
    grad_input = op.Slice(full, op.Constant(value_ints=[0, 0]), op.Shape(input, start=2, end=4),
                          op.Constant(value_ints=[2, 3]))
    return grad_input, grad_input, grad_input


def max_pool2d_with_indices_backward(grad_output, self, kernel_size, stride, padding, dilation,
                                     ceil_mode, indices):
    """Gradient of a 2D max-pool: each output gradient is added at the input position that won.

    ``indices`` are torch's (per-plane flat positions, as the exporter's translation of
    ``max_pool2d_with_indices`` returns them); ``ScatterElements`` with ``reduction="add"``
    accumulates overlapping windows exactly as autograd does.
    """
    shape = op.Shape(self)
    zeros = op.Expand(op.Constant(value_float=0.0), shape)
    per_plane = op.Constant(value_ints=[0, 0, -1])
    scattered = op.ScatterElements(op.Reshape(zeros, per_plane), op.Reshape(indices, per_plane),
                                   op.Reshape(grad_output, per_plane), axis=2, reduction="add")
    return op.Reshape(scattered, shape)


def _table():
    import torch

    return {
        torch.ops.aten.convolution_backward.default: convolution_backward,
        torch.ops.aten.max_pool2d_with_indices_backward.default: max_pool2d_with_indices_backward,
    }


#: ``custom_translation_table`` for `torch.onnx.export` of traced gradient graphs.
BACKWARD_TRANSLATIONS = _table()
