"""Shared helpers for the training tests: small labelled fields and a minimal valid card."""

import numpy as np
import pytest

from training.fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field


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


def _minimal_card(*, tile_size=64, name="test-net"):
    """A schema-valid classification card (without weights_sha256) for export tests."""
    return {
        "schema_version": 1,
        "name": name,
        "version": "0.0.1",
        "task": "classification",
        "description": "untrained test network",
        "classes": [{"name": "a", "meaning": "class a"}, {"name": "b", "meaning": "class b"}],
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


@pytest.fixture(scope="session")
def make_card():
    """Factory of minimal schema-valid classification cards: ``make_card(tile_size=64)``."""
    return _minimal_card


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)
