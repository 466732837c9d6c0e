"""Held-out scores of any tile classifier: cross-entropy loss, accuracy and predicted classes."""

import numpy as np
import torch
from torch import nn

from ..common.inference import predict_logits

__all__ = ["evaluate_classifier"]


def evaluate_classifier(model, images, labels, *, batch_size=256):
    """Cross-entropy loss, accuracy and predicted classes of a classifier on labelled images.

    Parameters
    ----------
    model : torch.nn.Module
        Any classifier returning logits; put in evaluation mode.
    images : numpy.ndarray or torch.Tensor
        ``(n, c, H, W)`` float32 inputs, preprocessed as in training.
    labels : array_like
        ``(n,)`` class indices.
    batch_size : int, optional

    Returns
    -------
    dict
        ``loss`` (float), ``accuracy`` (float), ``predictions`` (int64 array), ``logits``.
    """
    logits = predict_logits(model, images, batch_size=batch_size)
    labels = np.asarray(labels, dtype=np.int64)
    loss = nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)).item()
    predictions = logits.argmax(axis=1)
    return {"loss": float(loss), "accuracy": float(np.mean(predictions == labels)),
            "predictions": predictions, "logits": logits}
