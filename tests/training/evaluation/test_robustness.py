"""Robustness curves through onnxruntime with the shipped kolmogorov-burgers-fbm model, on
lognormal maps of its own kind: each degradation acts as stated, and accuracy responds where it
must."""

import numpy as np
import pytest

from glue_turbml.models import open_model
from training.common.random_fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field
from training.evaluation.robustness import (noisy, plot_robustness, robustness_curves,
                                            smoothed, zoomed)


@pytest.fixture(scope="module")
def maps_and_labels():
    maps, labels = [], []
    for label, slope in enumerate((KOLMOGOROV_SLOPE, BURGERS_SLOPE)):
        for number in range(3):
            maps.append(lognormal_field((256, 256), slope, sigma_ln=1.0,
                                        seed=[5151, label, number]))
            labels.append(label)
    return maps, np.array(labels)


def test_transformations_do_what_they_say():
    rng = np.random.default_rng(0)
    image = rng.lognormal(size=(64, 64))
    assert np.array_equal(smoothed(image, 0, boundary="periodic"), image)
    assert smoothed(image, 2, boundary="periodic").std() < 0.5 * image.std()
    # periodic smoothing conserves the sum exactly (up to round-off)
    assert smoothed(image, 2, boundary="periodic").sum() == pytest.approx(image.sum(), rel=1e-12)
    assert zoomed(image, 2.0, boundary="periodic").shape == (128, 128)
    assert zoomed(image, 0.5, boundary="reflect").shape == (32, 32)
    noise = noisy(image, 10.0, rng=np.random.default_rng(1)) - image
    assert noise.std() == pytest.approx(image.mean() / 10, rel=0.05)  # 4096 samples: ~1.1%
    assert np.array_equal(noisy(image, float("inf"), rng=rng), image)


def test_curves_respond_to_degradation_and_are_seeded(maps_and_labels, tmp_path):
    maps, labels = maps_and_labels
    runner = open_model("kolmogorov-burgers-fbm", device="cpu")
    curves = {"smoothing_sigma_px": (0.0, 8.0), "noise_snr": (float("inf"), 3.0)}
    result = robustness_curves(runner, maps, labels, curves=curves, tile_sizes=(64, 128),
                               groups={"seed_parity": [0, 1, 0, 1, 0, 1]}, seed=4)
    clean = result["smoothing_sigma_px"][0]
    assert clean["tile_accuracy"] >= 0.9 and clean["n_maps"] == 6
    # 8 px smoothing erases the small scales that carry the slope difference
    assert result["smoothing_sigma_px"][1]["tile_accuracy"] < clean["tile_accuracy"]
    assert result["noise_snr"][0]["tile_accuracy"] == clean["tile_accuracy"]
    sizes = {row["value"]: row for row in result["tile_size_px"]}
    assert sizes[64]["n_tiles"] > sizes[128]["n_tiles"]
    assert [row["n_maps"] for row in result["seed_parity"]] == [3, 3]
    again = robustness_curves(runner, maps, labels, curves={"noise_snr": (3.0,)}, seed=4)
    assert again["noise_snr"][0] == result["noise_snr"][1]
    png = plot_robustness(result, tmp_path / "robustness.png", title="test")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_maps_smaller_than_a_tile_are_counted_not_scored(maps_and_labels):
    maps, labels = maps_and_labels
    runner = open_model("kolmogorov-burgers-fbm", device="cpu")
    result = robustness_curves(runner, maps[:2], labels[:2], curves={"zoom_factor": (0.25,)})
    row = result["zoom_factor"][0]
    assert row["n_maps"] == 0 and row["n_maps_too_small"] == 2 and row["tile_accuracy"] is None
    with pytest.raises(ValueError, match="unknown robustness curve"):
        robustness_curves(runner, maps, labels, curves={"rotation": (1,)})
