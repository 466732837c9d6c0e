"""``turbml evaluate`` and `glue_turbml.evaluate` on real FITS maps and cubes with the shipped
kolmogorov-burgers-fbm classifier (its training domain: lognormal maps of known spectral slope)."""

import json

import numpy as np
import pytest
from astropy.io import fits

import glue_turbml
from glue_turbml.cli import main as turbml
from glue_turbml.evaluation import expand_class_specs
from glue_turbml.inputs import InputError
from training.common.random_fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field

MODEL = "kolmogorov-burgers-fbm"
SLOPES = {"kolmogorov": KOLMOGOROV_SLOPE, "burgers": BURGERS_SLOPE}


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory):
    """Two 256^2 maps and one 4 x 128^2 cube per class, seeds unlike the model's training."""
    folder = tmp_path_factory.mktemp("labelled")
    for class_index, (name, slope) in enumerate(SLOPES.items()):
        (folder / name).mkdir()
        for number in range(2):
            field = lognormal_field((256, 256), slope, sigma_ln=1.0,
                                    seed=[4242, class_index, number])
            fits.PrimaryHDU(field.astype(np.float32)).writeto(folder / name / f"map{number}.fits")
        cube = np.stack([lognormal_field((128, 128), slope, sigma_ln=1.0,
                                         seed=[4343, class_index, plane]) for plane in range(4)])
        fits.PrimaryHDU(cube.astype(np.float32)).writeto(folder / f"{name}_cube.fits")
    return folder


def _run(*arguments):
    return turbml(["evaluate", "--model", MODEL, *map(str, arguments)])


def test_maps_are_scored_and_written_as_json_markdown_and_png(labelled_folder, tmp_path, capsys):
    out = tmp_path / "scores"
    status = _run("--class", f"kolmogorov={labelled_folder / 'kolmogorov' / '*.fits'}",
                  "--class", f"burgers={labelled_folder / 'burgers'}", "--out", out)
    assert status == 0
    report = json.loads((out / "evaluation.json").read_text())
    assert report["model"] == MODEL and len(report["samples"]) == 4
    tiles, maps = report["tiles"], report["maps"]
    assert np.sum(tiles["confusion_matrix"]) == tiles["n"] == sum(
        sample["n_tiles"] for sample in report["samples"])
    assert np.sum(maps["confusion_matrix"]) == maps["n"] == 4
    # its own domain: the card records 100% on held-out fields of this kind
    assert tiles["accuracy"] >= 0.9 and maps["accuracy"] == 1.0 and tiles["auc"] >= 0.95
    assert "| tiles (network inputs) |" in (out / "evaluation.md").read_text()
    assert (out / "evaluation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "tile accuracy" in capsys.readouterr().out


def test_swapped_labels_score_low(labelled_folder, tmp_path):
    out = tmp_path / "swapped"
    assert _run("--class", f"burgers={labelled_folder / 'kolmogorov'}",
                "--class", f"kolmogorov={labelled_folder / 'burgers'}", "--out", out) == 0
    report = json.loads((out / "evaluation.json").read_text())
    assert report["tiles"]["accuracy"] <= 0.1 and report["maps"]["accuracy"] == 0.0


def test_cube_planes_and_projections(labelled_folder, tmp_path):
    cubes = [f"{name}={labelled_folder / f'{name}_cube.fits'}" for name in SLOPES]
    classes = [item for spec in cubes for item in ("--class", spec)]
    assert _run(*classes, "--axis", 0, "--slices", "--boundary", "periodic",
                "--out", tmp_path / "planes") == 0
    planes = json.loads((tmp_path / "planes" / "evaluation.json").read_text())
    assert [sample["plane"] for sample in planes["samples"]] == [0, 1, 2, 3] * 2
    assert planes["options"]["boundary"] == "periodic"
    assert _run(*classes, "--axis", 0, "--slices", "--slice-step", 2,
                "--out", tmp_path / "every_other") == 0
    every_other = json.loads((tmp_path / "every_other" / "evaluation.json").read_text())
    assert [sample["plane"] for sample in every_other["samples"]] == [0, 2] * 2
    assert _run(*classes, "--axis", 0, "--projection", "sum", "--out", tmp_path / "sum") == 0
    projected = json.loads((tmp_path / "sum" / "evaluation.json").read_text())
    assert len(projected["samples"]) == 2 and projected["samples"][0]["plane"] is None


def test_api_gives_the_command_lines_numbers(labelled_folder, tmp_path):
    result = glue_turbml.evaluate({name: labelled_folder / name for name in SLOPES}, model=MODEL)
    out = tmp_path / "cli"
    _run(*[item for name in SLOPES for item in ("--class", f"{name}={labelled_folder / name}")],
         "--out", out)
    report = json.loads((out / "evaluation.json").read_text())
    assert result.tile_scores["accuracy"] == report["tiles"]["accuracy"]
    assert result.map_scores["confusion_matrix"] == report["maps"]["confusion_matrix"]


def test_a_bad_file_is_skipped_the_rest_scored_exit_status_2(labelled_folder, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    good = fits.getdata(labelled_folder / "burgers" / "map0.fits")
    fits.PrimaryHDU(good).writeto(bad / "a_good.fits")
    fits.PrimaryHDU(np.ones((40, 40), np.float32)).writeto(bad / "b_too_small.fits")
    status = _run("--class", f"kolmogorov={labelled_folder / 'kolmogorov'}",
                  "--class", f"burgers={bad}", "--out", tmp_path / "out")
    assert status == 2
    report = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert len(report["samples"]) == 3
    assert [entry["file"].endswith("b_too_small.fits") for entry in report["skipped"]] == [True]
    assert "1 of 4 files could not be evaluated" in capsys.readouterr().err


def test_existing_results_are_kept_without_overwrite(labelled_folder, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "evaluation.md").write_text("earlier results")
    status = _run("--class", f"kolmogorov={labelled_folder / 'kolmogorov'}", "--out", out)
    assert status == 2 and "--overwrite" in capsys.readouterr().err
    assert (out / "evaluation.md").read_text() == "earlier results"
    assert not (out / "evaluation.json").exists()
    assert _run("--class", f"kolmogorov={labelled_folder / 'kolmogorov'}", "--out", out,
                "--overwrite") == 0
    assert (out / "evaluation.md").read_text().startswith("# Evaluation of kolmogorov-burgers-fbm")


@pytest.mark.parametrize("arguments, message", [
    (["--class", "sub={folder}/kolmogorov"], "label 'sub' is not a class of the model; its "
                                             "classes are kolmogorov, burgers"),
    (["--class", "kolmogorov={folder}/nothing*.fits"], "no file matches"),
    (["--class", "kolmogorov"], "write LABEL=GLOB"),
    (["--class", "kolmogorov={folder}/kolmogorov_cube.fits"], "--axis N --slices"),
    (["--class", "kolmogorov={folder}/kolmogorov", "--slice-step", "0"], "--slice-step 0"),
])
def test_bad_requests_say_what_to_do(labelled_folder, tmp_path, capsys, arguments, message):
    arguments = [item.format(folder=labelled_folder) for item in arguments]
    assert _run(*arguments, "--out", tmp_path / "out") == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_file_labelled_twice_and_a_non_classifier_are_refused(labelled_folder):
    with pytest.raises(InputError, match="labelled both"):
        expand_class_specs([f"kolmogorov={labelled_folder / 'kolmogorov'}",
                            f"burgers={labelled_folder / 'kolmogorov' / 'map0.fits'}"],
                           list(SLOPES))
    with pytest.raises(ValueError, match="evaluation scores classifiers"):
        glue_turbml.evaluate({"x": labelled_folder}, model="mass-weighted-density")
