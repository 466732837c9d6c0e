"""Shared helpers for the training tests: small labelled fields and a minimal valid card."""

import numpy as np
import pytest

from training.common.random_fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field

from tests.card_builders import untrained_classifier_card


@pytest.fixture(scope="session")
def small_fields():
    """Six 128x128 lognormal maps, three per class, with unique realization ids."""
    fields, labels, ids = [], [], []
    for class_index, slope in enumerate((KOLMOGOROV_SLOPE, BURGERS_SLOPE)):
        for number in range(3):
            fields.append(lognormal_field((128, 128), slope, sigma_ln=0.8,
                                          seed=[7, class_index, number]))
            labels.append(class_index)
            ids.append(100 * class_index + number)
    return fields, labels, ids


@pytest.fixture(scope="session")
def make_card():
    """Factory of minimal schema-valid classification cards: ``make_card(tile_size=64)``."""
    return untrained_classifier_card


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)
