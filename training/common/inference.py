"""Batched torch inference without gradients, shared by training, validation and evaluation."""

import numpy as np
import torch

__all__ = ["predict_logits", "predict_in_batches"]


def predict_logits(model, images, *, batch_size=256):
    """Logits of a model for a float32 image array, in evaluation mode and without gradients.

    Parameters
    ----------
    model : torch.nn.Module
    images : numpy.ndarray or torch.Tensor
        ``(n, c, H, W)``.
    batch_size : int, optional

    Returns
    -------
    numpy.ndarray
        ``(n, n_classes)`` float32.
    """
    return predict_in_batches(model, images, batch_size=batch_size)


def predict_in_batches(model, inputs, *, batch_size, extra=None):
    """Outputs of a model for an input array, in evaluation mode and without gradients.

    The batched inference behind `predict_logits` and `training.unet.train.predict_maps`.

    Parameters
    ----------
    model : torch.nn.Module
        Put in eval mode.
    inputs : numpy.ndarray or torch.Tensor
        ``(n, ...)``, of the dtype the model expects.
    batch_size : int
    extra : numpy.ndarray, optional
        ``(n, ...)`` second argument of the model, batched alike (a U-Net's map statistics).

    Returns
    -------
    numpy.ndarray
        The outputs of all batches, concatenated along the first axis.
    """
    model.eval()
    tensor = torch.as_tensor(inputs)
    extras = None if extra is None else torch.as_tensor(np.asarray(extra, dtype=np.float32))
    with torch.no_grad():
        outputs = [(model(tensor[start:start + batch_size]) if extras is None
                    else model(tensor[start:start + batch_size],
                               extras[start:start + batch_size])).numpy()
                   for start in range(0, len(tensor), batch_size)]
    return np.concatenate(outputs, axis=0)
