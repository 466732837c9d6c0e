"""Held-out scores of `training.evaluation.classifier_metrics` against values computed by hand."""

import math

import numpy as np
import torch
from torch import nn

from training.evaluation.classifier_metrics import evaluate_classifier


class MeanBrightness(nn.Module):
    """Logits ``(-m, m)`` with ``m`` the mean of the image: class 1 for bright images."""

    def forward(self, images):
        mean = images.mean(dim=(1, 2, 3))
        return torch.stack([-mean, mean], dim=1)


def test_accuracy_loss_and_predictions_match_a_hand_computation():
    brightness = np.array([2.0, -1.0, 0.5, -0.5], dtype=np.float32)
    images = np.ones((4, 1, 3, 3), dtype=np.float32) * brightness[:, None, None, None]
    labels = [1, 0, 0, 0]  # the third image is bright but labelled 0: one mistake in four
    scores = evaluate_classifier(MeanBrightness(), images, labels, batch_size=3)
    np.testing.assert_array_equal(scores["predictions"], [1, 0, 1, 0])
    assert scores["accuracy"] == 0.75
    # cross-entropy of logits (-m, m) for label y: log(1 + exp(-2 m (2y - 1)))
    expected = np.mean([math.log1p(math.exp(-2 * m * (2 * y - 1)))
                        for m, y in zip(brightness, labels)])
    assert abs(scores["loss"] - expected) < 1e-6
    np.testing.assert_allclose(scores["logits"][:, 1], brightness, rtol=1e-6)
