"""The shipped kolmogorov-burgers-fbm card's domain check, through classify, the FITS file and the
command line: its own kind of map is inside, a photograph of galaxies is outside."""

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from skimage import data as images

import glue_turbml
from glue_turbml.cli import main as turbml
from glue_turbml.domain import DomainCheck, DomainError, map_verdict
from glue_turbml.models import resolve_model
from training.common.random_fields import lognormal_field

REPOSITORY = Path(__file__).resolve().parents[2]
MODEL = "kolmogorov-burgers-fbm"


@pytest.fixture(scope="module")
def hubble_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "hubble_deep_field.fits"
    fits.PrimaryHDU(images.hubble_deep_field().astype(np.float32).mean(axis=2)).writeto(path)
    return path


def test_the_card_records_a_calibrated_domain_measured_in_the_report():
    record = resolve_model(MODEL).card["domain"]["input_statistics"]
    report = json.loads((REPOSITORY / "docs" / "results" /
                         "kolmogorov_burgers_domain.json").read_text())
    assert report["domain"]["input_statistics"]["threshold"] == record["threshold"]
    card = resolve_model(MODEL).card
    assert card["domain"]["embedding"]["threshold_rate"] == 0.005  # half the budget each
    assert card["outputs"][1]["name"] == "embedding"
    measured = card["domain"]["measured"]
    assert measured["held_out_training_domain"]["flagged_fraction"] <= 0.02
    assert measured["hubble_deep_field"]["flagged_fraction"] >= 0.95
    assert record["false_alarm_rate"] == 0.01 and record["n_calibration_tiles"] > 100


def test_its_own_kind_of_map_is_inside_and_galaxies_are_outside(hubble_path):
    field = lognormal_field((512, 512), 4.0, sigma_ln=1.0, seed=[31337])
    inside = glue_turbml.classify(field, model=MODEL)
    assert inside.domain.verdict == "inside" and "domain" not in str(inside)
    outside = glue_turbml.classify(hubble_path, model=MODEL)
    assert outside.domain.verdict == "outside"
    assert outside.domain.n_outside >= 0.95 * outside.domain.n_analysed
    assert outside.domain.summary()["parts"] == ["input statistics", "network embedding"]
    assert "OUTSIDE the training domain" in str(outside)
    assert outside.summary()["domain"]["verdict"] == "outside"


def test_fits_output_and_command_line_warning(hubble_path, tmp_path, capsys):
    assert turbml(["classify", str(hubble_path), "--model", MODEL, "--out", str(tmp_path)]) == 0
    error = capsys.readouterr().err
    assert "lie outside the training domain of kolmogorov-burgers-fbm" in error
    with fits.open(tmp_path / f"hubble_deep_field_{MODEL}.fits") as hdul:
        assert hdul[0].header["TM_DOM"] == "outside"
        assert hdul[0].header["TM_DOUT"] == len(hdul["DOMAIN"].data)
        assert not hdul["DOMAIN"].data["in_domain"].any()
    own_kind = tmp_path / "lognormal.fits"
    fits.PrimaryHDU(lognormal_field((512, 512), 3.7, sigma_ln=1.0, seed=[4711])
                    .astype(np.float32)).writeto(own_kind)
    assert turbml(["classify", str(own_kind), "--model", MODEL, "--out", str(tmp_path)]) == 0
    assert "training domain" not in capsys.readouterr().err


def test_verdict_allows_the_false_alarms_the_rate_explains():
    assert map_verdict(np.ones(100, dtype=bool), 0.01) == "inside"
    assert map_verdict(np.r_[np.ones(96, dtype=bool), np.zeros(4, dtype=bool)], 0.01) == "inside"
    assert map_verdict(np.r_[np.ones(80, dtype=bool), np.zeros(20, dtype=bool)],
                       0.01) == "partly outside"
    assert map_verdict(np.zeros(10, dtype=bool), 0.01) == "outside"


def test_a_record_of_other_statistics_is_refused():
    card = json.loads(json.dumps(resolve_model(MODEL).card))
    card["domain"]["input_statistics"]["features"] = ["mean", "max"]
    with pytest.raises(DomainError, match="update glue-turbml"):
        DomainCheck.from_card(card)
    del card["domain"]
    assert DomainCheck.from_card(card) is None


def test_the_unet_mapping_says_when_a_map_is_not_a_column_density(hubble_path, tmp_path, capsys):
    domain = resolve_model("mass-weighted-density").card["domain"]
    assert domain["measured"]["held_out_training_domain"]["flagged_fraction"] <= 0.02
    assert "embedding" not in domain  # a U-Net has no pooled head: input statistics only
    out = tmp_path / "hubble_density.fits"
    assert turbml(["map", str(hubble_path), "--model", "mass-weighted-density",
                   "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "outside the training domain of mass-weighted-density" in captured.err
    assert "OUTSIDE the training domain" in captured.out
    with fits.open(out) as hdul:
        assert hdul[0].header["TM_DOM"] == "outside"
        # the card's measured rate (85% for the simulation-trained U-Net), and most tiles
        flagged = (~hdul["DOMAIN"].data["in_domain"]).mean()
        assert flagged == pytest.approx(domain["measured"]["hubble_deep_field"]
                                        ["flagged_fraction"], abs=0.02)
        assert flagged >= 0.8
    demo = glue_turbml.map_image(REPOSITORY / "glue_turbml" / "data" / "demo_two_regimes.fits",
                                 model="mass-weighted-density")
    assert demo.domain.verdict == "inside"
