"""Tiles the runtime feeds a model whose card gives the whole map fixed Fourier power."""

import copy

import numpy as np
import pytest

from glue_turbml.core import build_pipeline, extract_tiles
from glue_turbml.core.preprocess import fixed_fourier_power
from glue_turbml.models import ModelCardError, validate_card
from glue_turbml.tiled_input import prepare_tiled_input
from tests.card_builders import untrained_classifier_card

MAP_FFP = [{"op": "log10", "scope": "map"}, {"op": "ffp", "scope": "map"},
           {"op": "equalize_hist", "nbins": 64}]


@pytest.fixture
def ffp_card():
    card = untrained_classifier_card(name="ffp-test", n_classes=2, tile_size=32)
    card["preprocess"] = copy.deepcopy(MAP_FFP)
    card["tiling"]["stride"] = 16
    card["weights_sha256"] = "0" * 64  # validated as a card, never loaded as a model
    return card


@pytest.mark.parametrize("boundary, edges", [("periodic", "periodic"), ("reflect", "mirror")])
def test_fixed_power_is_given_to_the_whole_map_then_tiles_are_equalized(ffp_card, boundary,
                                                                        edges):
    image = np.random.default_rng(0).lognormal(size=(64, 80))
    tiled = prepare_tiled_input(image, ffp_card, boundary=boundary)
    whole = fixed_fourier_power(np.log10(image), edges=edges)
    expected = build_pipeline([{"op": "equalize_hist", "nbins": 64}])(
        extract_tiles(whole.astype(np.float32), tiled.grid, indices=tiled.used))
    _, tiles = next(tiled.chunks())
    np.testing.assert_allclose(tiles[:, 0], expected, atol=1e-5)
    assert f"{edges} edges" in tiled.pipeline.description
    # tile by tile would differ: the point of the map scope
    tile_steps = [{"op": "log10"}, {"op": "ffp"}, {"op": "equalize_hist", "nbins": 64}]
    per_tile = build_pipeline(tile_steps)(extract_tiles(image, tiled.grid, indices=tiled.used))
    assert np.abs(per_tile - tiles[:, 0]).max() > 0.1


def test_a_card_with_a_map_step_after_a_tile_step_is_refused(ffp_card):
    validate_card(ffp_card)
    ffp_card["preprocess"] = [{"op": "log10"}, {"op": "ffp", "scope": "map"}]
    with pytest.raises(ModelCardError, match="map steps come first"):
        validate_card(ffp_card)


@pytest.mark.parametrize("values, message", [
    (np.zeros((256, 256)), "every finite pixel has the same value; a constant map"),
    (np.full((256, 256), 7.5), "every finite pixel has the same value"),
    (-np.random.default_rng(1).lognormal(size=(256, 256)), "no pixel is positive"),
    (np.where(np.random.default_rng(2).random((256, 256)) > 0.8, 1.0, -1.0),
     "more than 50% NaN or not positive (the model takes log10)"),
])
def test_degenerate_maps_are_refused_in_every_command(values, message, tmp_path, capsys):
    from astropy.io import fits

    from glue_turbml.cli import main as turbml

    path = tmp_path / "degenerate.fits"
    fits.PrimaryHDU(values.astype(np.float32)).writeto(path)
    out = tmp_path / "out"
    commands = {
        "classify": ["classify", str(path), "--model", "kolmogorov-burgers-fbm", "--out", str(out)],
        "saliency": ["saliency", str(path), "--model", "kolmogorov-burgers-fbm", "--out", str(out)],
        "map": ["map", str(path), "--model", "mass-weighted-density", "--out",
                str(out / "mapped.fits")],
    }
    for name, command in commands.items():
        assert turbml(command) == 2, name
        error = capsys.readouterr().err
        if name == "map" and values.mean() <= 0:  # refused earlier: no mean column density
            assert "must be positive on average" in error
        else:
            assert message in error, (name, error)
    assert not list(out.glob("*.fits"))
