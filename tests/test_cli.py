"""The turbml command: listing, classifying, the demo, and one-line errors for bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from .conftest import make_celestial_wcs


def turbml(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glue_turbml.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def assert_one_line_error(completed, *fragments):
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("turbml: error:")]
    assert len(errors) == 1, completed.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_models_list_json_and_info():
    listed = turbml("models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    cards = json.loads(listed.stdout)
    assert any(card["name"] == "kolmogorov-burgers" and card["task"] == "classification"
               for card in cards)
    info = turbml("models", "info", "kolmogorov-burgers")
    assert info.returncode == 0
    assert "kolmogorov" in info.stdout and "weights sha256" in info.stdout


def test_models_markdown_matches_the_committed_catalogue():
    from pathlib import Path

    generated = turbml("models", "markdown")
    assert generated.returncode == 0, generated.stderr
    committed = (Path(__file__).resolve().parents[1] / "onnx_models" / "MODELS.md").read_text()
    assert generated.stdout.strip() == committed.strip(), \
        "regenerate with: turbml models markdown > onnx_models/MODELS.md"


def test_classify_files_and_directory(tmp_path):
    rng = np.random.default_rng(0)
    inputs = tmp_path / "maps"
    inputs.mkdir()
    for index in range(2):
        image = rng.lognormal(size=(160, 200)).astype(np.float32)
        fits.PrimaryHDU(image, header=make_celestial_wcs(image.shape).to_header()).writeto(
            inputs / f"m{index}.fits")
    out = tmp_path / "out"
    completed = turbml("classify", inputs, "--model", "kolmogorov-burgers", "--out", out,
                       "--device", "cpu", "--png")
    assert completed.returncode == 0, completed.stderr
    for index in range(2):
        written = out / f"m{index}_kolmogorov-burgers.fits"
        assert written.exists() and written.with_suffix(".png").stat().st_size > 10_000
        with fits.open(written) as hdulist:
            assert hdulist[0].header["TM_MODEL"] == "kolmogorov-burgers"
            assert hdulist["PROB_KOLMOGOROV"].header["CTYPE1"] == "RA---TAN"


@pytest.fixture
def bad_inputs(tmp_path):
    paths = {}
    paths["small"] = tmp_path / "small.fits"
    fits.PrimaryHDU(np.ones((40, 40))).writeto(paths["small"])
    paths["nan"] = tmp_path / "nan.fits"
    fits.PrimaryHDU(np.full((200, 200), np.nan)).writeto(paths["nan"])
    paths["4d"] = tmp_path / "4d.fits"
    fits.PrimaryHDU(np.ones((2, 3, 130, 130), dtype=np.float32)).writeto(paths["4d"])
    paths["corrupt"] = tmp_path / "corrupt.onnx"
    paths["corrupt"].write_bytes(b"\x00garbage" * 64)
    paths["empty_dir"] = tmp_path / "empty"
    paths["empty_dir"].mkdir()
    paths["good"] = tmp_path / "good.fits"
    fits.PrimaryHDU(np.random.default_rng(1).lognormal(size=(200, 200))).writeto(paths["good"])
    return paths


def test_bad_input_gives_one_line_and_nonzero_exit(bad_inputs, tmp_path):
    model = ("--model", "kolmogorov-burgers", "--out", tmp_path / "o")
    assert_one_line_error(turbml("classify", bad_inputs["small"], *model), "smaller than",
                          "128x128")
    assert_one_line_error(turbml("classify", bad_inputs["nan"], *model), "entirely NaN")
    assert_one_line_error(turbml("classify", bad_inputs["4d"], *model), "4D array")
    assert_one_line_error(turbml("classify", bad_inputs["good"], "--model", bad_inputs["corrupt"]),
                          "corrupt.onnx", "not a readable ONNX file")
    assert_one_line_error(turbml("classify", bad_inputs["good"], "--model", "no-such-model"),
                          "unknown model 'no-such-model'", "kolmogorov-burgers")
    assert_one_line_error(turbml("classify", bad_inputs["empty_dir"], *model), "no FITS files")


def test_demo_writes_fits_and_png(tmp_path):
    completed = turbml("demo", "--out", tmp_path / "demo", "--device", "cpu")
    assert completed.returncode == 0, completed.stderr
    fits_path = tmp_path / "demo" / "demo_two_regimes_kolmogorov-burgers.fits"
    png_path = fits_path.with_suffix(".png")
    assert fits_path.exists() and png_path.stat().st_size > 20_000
    assert "left half" in completed.stdout and "right half" in completed.stdout
    with fits.open(fits_path) as hdulist:
        assert hdulist["PROB_BURGERS"].header["CTYPE1"] == "RA---TAN"
        burgers = hdulist["PROB_BURGERS"].data
    # The bundled map is Kolmogorov-like on the left and Burgers-like on the right.
    ny, nx = burgers.shape
    assert np.nanmean(burgers[:, : nx // 3]) < 0.5 < np.nanmean(burgers[:, 2 * nx // 3:])
