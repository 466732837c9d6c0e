"""A density-slice (magnetic-energy style) image-to-image model through map_array, map_image,
the FITS output, the figure and ``turbml map``: units, depth and projections checked against the
card, and the output named by the card's mean channel."""

import re

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits

import glue_turbml
from glue_turbml.cli import main as turbml
from glue_turbml.inputs import InputError
from glue_turbml.mapping import (check_input_reduction, check_input_unit, input_quantity,
                                 map_array, mean_channel)
from glue_turbml.models import ModelCardError, open_model, resolve_model, validate_card
from tests.volume_density_model import (VOLUME_CHANNEL_LABEL, VOLUME_CHANNEL_NAME,
                                        VOLUME_MODEL_NAME, volume_density_card,
                                        write_volume_density_model)

from ..conftest import make_celestial_wcs

COLUMN_MODEL = "mass-weighted-density"
VOLUME_CARD = {"name": VOLUME_MODEL_NAME, "input": {"quantity": "volume_density"}}
COLUMN_CARD = {"name": COLUMN_MODEL, "input": {}}


@pytest.fixture(scope="module")
def volume_model(tmp_path_factory):
    """Path of the shipped U-Net saved with a volume-density (magnetic-energy) card."""
    return write_volume_density_model(tmp_path_factory.mktemp("volume_model"))


@pytest.fixture(scope="module")
def density_slice():
    """A 128x128 positive density slice (cm-3 when given a unit)."""
    rng = np.random.default_rng(17)
    return (100.0 * rng.lognormal(sigma=0.5, size=(128, 128))).astype(np.float32)


@pytest.fixture
def density_files(tmp_path, density_slice):
    """The slice as FITS (BUNIT cm-3), the same values as a column density (BUNIT cm-2), and a
    (3, 128, 128) density cube without a spectral axis whose plane 1 is the slice."""
    header = make_celestial_wcs(density_slice.shape).to_header()
    paths = {"slice": tmp_path / "slice.fits", "column": tmp_path / "column.fits",
             "cube": tmp_path / "cube.fits"}
    for key, unit in (("slice", "cm-3"), ("column", "cm-2")):
        header["BUNIT"] = unit
        fits.PrimaryHDU(density_slice, header=header).writeto(paths[key])
    cube = np.stack([density_slice[::-1], density_slice, density_slice.T])
    fits.PrimaryHDU(cube, header=fits.Header({"BUNIT": "cm-3"})).writeto(paths["cube"])
    return paths


def test_the_card_says_what_is_mapped_and_the_schema_knows_the_fields(volume_model):
    card = resolve_model(volume_model).card
    assert input_quantity(card) == "volume_density"
    assert mean_channel(card) == (VOLUME_CHANNEL_NAME, VOLUME_CHANNEL_LABEL)
    shipped = resolve_model(COLUMN_MODEL).card
    assert input_quantity(shipped) == "column_density"  # no key: the existing models
    assert mean_channel(shipped) == ("log_density_ratio", "log10(<n>_m / n0)")
    unlabelled = volume_density_card(shipped)
    del unlabelled["outputs"][0]["channels"][0]["label"]
    assert mean_channel(unlabelled) == (VOLUME_CHANNEL_NAME, VOLUME_CHANNEL_NAME)
    misspelt = volume_density_card(shipped)
    misspelt["input"]["quantity"] = "volume-density"
    with pytest.raises(ModelCardError, match="input/quantity"):
        validate_card(misspelt)
    with pytest.raises(ModelCardError, match="'volume-density' input"):
        input_quantity(misspelt)


def test_volume_density_units_are_accepted_or_refused_with_the_fix():
    for unit in (None, u.dimensionless_unscaled, u.cm ** -3, u.m ** -3, u.g / u.cm ** 3,
                 u.solMass / u.pc ** 3):
        assert check_input_unit(VOLUME_CARD, unit, input_name="slice") is None
    for unit in (u.cm ** -2, u.g / u.cm ** 2):
        with pytest.raises(InputError, match="density slice, not a projection.*--slice N "
                                             "instead of --projection"):
            check_input_unit(VOLUME_CARD, unit, input_name="slice")
    with pytest.raises(InputError, match="'K' is not a volume density.*cm-3"):
        check_input_unit(VOLUME_CARD, u.K, input_name="slice")
    with pytest.raises(InputError, match="--depth.*column-density models only.*no line of "
                                         "sight"):
        check_input_unit(VOLUME_CARD, u.cm ** -3, depth=1 * u.pc, input_name="slice")
    # The same call on a column-density card keeps the column-density rules.
    assert check_input_unit(COLUMN_CARD, u.cm ** -2, depth=1 * u.pc) == u.cm ** -3
    with pytest.raises(InputError, match="not a column density"):
        check_input_unit(COLUMN_CARD, u.cm ** -3)


def test_density_slice_models_take_planes_not_projections():
    with pytest.raises(InputError, match="not a projection.*--slice N along --axis"):
        check_input_reduction(VOLUME_CARD, ndim=3, axis=0, projection="sum")
    with pytest.raises(InputError, match="needs one plane.*--axis 0\\|1\\|2 and --slice N"):
        check_input_reduction(VOLUME_CARD, ndim=3, axis=None, slice_index=2)
    check_input_reduction(VOLUME_CARD, ndim=3, axis=0, slice_index=2)
    check_input_reduction(VOLUME_CARD, ndim=2)
    check_input_reduction(COLUMN_CARD, ndim=3, axis=0, projection="sum")


def test_map_image_and_map_array_name_the_output_by_the_card(volume_model, density_slice):
    result = glue_turbml.map_image(density_slice * u.cm ** -3, model=volume_model, device="cpu")
    assert result.quantity_name == VOLUME_CHANNEL_NAME
    assert result.quantity_label == VOLUME_CHANNEL_LABEL
    assert result.input_quantity == "volume_density"
    assert result.density is None and result.depth is None
    assert result.log_density_ratio is result.log_ratio  # the old name still reads the map
    assert result.mean_column_density.unit == u.cm ** -3
    # Same weights as the shipped U-Net: only the card (and so the names) differ.
    column = glue_turbml.map_image(density_slice, model=COLUMN_MODEL, device="cpu")
    np.testing.assert_array_equal(result.log_ratio, column.log_density_ratio)
    direct = map_array(density_slice, open_model(volume_model, device="cpu"), unit=u.g / u.cm ** 3)
    np.testing.assert_allclose(direct.log_ratio, result.log_ratio, atol=1e-6)
    summary = result.summary()
    assert summary["quantity_name"] == VOLUME_CHANNEL_NAME
    assert summary["median_log_ratio"] == pytest.approx(float(np.median(result.log_ratio)))
    assert "median_log_density_ratio" not in summary
    assert column.summary()["median_log_density_ratio"] == column.summary()["median_log_ratio"]
    assert f"median {VOLUME_CHANNEL_LABEL} = " in str(result) and "<n>_m" not in str(result)
    with pytest.raises(InputError, match="no line of sight"):
        glue_turbml.map_image(density_slice * u.cm ** -3, model=volume_model, device="cpu",
                              depth=1 * u.pc)
    with pytest.raises(InputError, match="--slice N instead of --projection"):
        glue_turbml.map_image(density_slice * u.cm ** -2, model=volume_model, device="cpu")


def test_fits_output_and_figure_carry_the_label(volume_model, density_files, tmp_path,
                                                monkeypatch):
    from matplotlib.figure import Figure

    from glue_turbml.figures import plot_mapping

    result = glue_turbml.map_image(density_files["slice"], model=volume_model, device="cpu")
    result.write(tmp_path / "mapped.fits")
    with fits.open(tmp_path / "mapped.fits") as hdus:
        assert [hdu.name for hdu in hdus] == ["PRIMARY", "SIGMA", "FILLED", "DOMAIN"]
        primary = hdus[0].header
        assert primary["BUNIT"] == "dex" and primary.comments["BUNIT"] == VOLUME_CHANNEL_LABEL
        assert primary["TM_QNAME"] == VOLUME_CHANNEL_NAME
        assert hdus["SIGMA"].header.comments["BUNIT"] == \
            f"1-sigma uncertainty of {VOLUME_CHANNEL_LABEL}"
        assert "TM_DEPTH" not in primary
    column = glue_turbml.map_image(density_files["column"], model=COLUMN_MODEL, device="cpu")
    header = column.to_hdulist()[0].header
    assert header.comments["BUNIT"] == "log10(<n>_m / n0)"
    assert header["TM_QNAME"] == "log_density_ratio"
    saved = []
    original_savefig = Figure.savefig
    monkeypatch.setattr(Figure, "savefig",
                        lambda figure, *args, **kwargs: saved.append(figure)
                        or original_savefig(figure, *args, **kwargs))
    plot_mapping(fits.getdata(density_files["slice"]), result, tmp_path / "mapped.png")
    (figure,) = saved
    assert f"median {VOLUME_CHANNEL_LABEL} = " in figure.get_suptitle()
    colour_bars = [axes.get_ylabel() for axes in figure.axes if axes.get_label() == "<colorbar>"]
    assert f"{VOLUME_CHANNEL_LABEL} [dex]" in colour_bars
    assert not any("<n>_m" in text for text in colour_bars)


def test_cli_maps_a_density_slice_and_refuses_depth_and_projections(
        volume_model, density_files, tmp_path, capsys):
    out = tmp_path / "energy.fits"
    arguments = ["--model", str(volume_model), "--device", "cpu"]
    assert turbml(["map", str(density_files["slice"]), *arguments, "--out", str(out),
                   "--png"]) == 0
    assert f"median {VOLUME_CHANNEL_LABEL}" in capsys.readouterr().out
    with fits.open(out) as hdus:
        assert hdus[0].header.comments["BUNIT"] == VOLUME_CHANNEL_LABEL
        assert "DENSITY" not in hdus
    assert (tmp_path / "energy.png").is_file()
    plane = tmp_path / "plane.fits"
    assert turbml(["map", str(density_files["cube"]), *arguments, "--axis", "0", "--slice", "1",
                   "--out", str(plane)]) == 0
    capsys.readouterr()
    np.testing.assert_allclose(fits.getdata(plane), fits.getdata(out), atol=1e-6)
    refused = {
        ("--depth", "1 pc"): "--depth applies to column-density models only",
        ("--axis", "0", "--projection", "sum"): "not a projection.*--slice N along --axis",
        ("--axis", "0"): "needs one plane.*--slice N",
    }
    for extra, message in refused.items():
        source = density_files["slice" if extra[0] == "--depth" else "cube"]
        assert turbml(["map", str(source), *arguments, "--out", str(tmp_path / "no.fits"),
                       *extra]) == 2
        assert re.search(message, capsys.readouterr().err), extra
    assert turbml(["map", str(density_files["column"]), *arguments, "--out",
                   str(tmp_path / "no.fits")]) == 2
    assert "--slice N instead of --projection" in capsys.readouterr().err
    assert not (tmp_path / "no.fits").exists()


def test_map_help_names_both_kinds_of_model(capsys):
    with pytest.raises(SystemExit):
        turbml(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "column density -> <n>_m" in text and "density slice -> magnetic energy" in text
