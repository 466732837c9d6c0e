"""``turbml regress``: several inputs into a folder, FITS and PNG, the domain warning, and one-line
errors for a model of another task (both ways) and for existing outputs."""

import numpy as np
import pytest
from astropy.io import fits

from tests.conftest import make_celestial_wcs
from tests.regression_nets import lognormal_map
from tests.test_cli import one_error_line, run_main


@pytest.fixture
def two_maps(tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    for index in range(2):
        image = lognormal_map((96, 112), seed=20 + index)
        header = make_celestial_wcs(image.shape).to_header()
        header["BUNIT"] = "cm-2"
        fits.PrimaryHDU(image * 1e21, header=header).writeto(folder / f"m{index}.fits")
    return folder


def test_regress_writes_one_fits_and_png_per_input(two_maps, regression_model, tmp_path,
                                                   capsys):
    import glue_turbml

    out = tmp_path / "out"
    status, stdout, stderr = run_main(capsys, "regress", two_maps, "--model", regression_model,
                                      "--out", out, "--device", "cpu", "--png")
    assert status == 0, stderr
    assert f"model {regression_model}" in stderr
    for index in range(2):
        written = out / f"m{index}_{regression_model}.fits"
        assert written.is_file() and (out / f"m{index}_{regression_model}.png").is_file()
        expected = glue_turbml.regress(two_maps / f"m{index}.fits", model=regression_model,
                                       device="cpu")
        assert f"m{index}: velocity spectral index = {expected.value:.3f} ± " \
            f"{expected.sigma:.3f}" in stdout
        assert f"->  {written}" in stdout
        with fits.open(written) as hdulist:
            assert hdulist[0].header["TM_VALUE"] == pytest.approx(expected.value)
            assert hdulist[0].header["CTYPE1"] == "RA---TAN"
            np.testing.assert_array_equal(hdulist["SIGMA"].data, expected.sigma_map)
    # the same outputs again need --overwrite
    error = one_error_line(*run_main(capsys, "regress", two_maps, "--model", regression_model,
                                     "--out", out, "--device", "cpu")[::2])
    assert "exists; pass --overwrite" in error
    status, _, stderr = run_main(capsys, "regress", two_maps, "--model", regression_model,
                                 "--out", out, "--device", "cpu", "--overwrite")
    assert status == 0, stderr


def test_classify_and_regress_name_each_other(two_maps, regression_model, tmp_path, capsys):
    source = two_maps / "m0.fits"
    error = one_error_line(*run_main(capsys, "classify", source, "--model", regression_model,
                                     "--out", tmp_path / "o", "--device", "cpu")[::2])
    assert f"--model {regression_model} is a regression model" in error
    assert "needs a model of task classification" in error and "`turbml regress`" in error
    error = one_error_line(*run_main(capsys, "regress", source, "--model",
                                     "kolmogorov-burgers-fbm", "--out", tmp_path / "o")[::2])
    assert "is a classification model" in error and "`turbml classify`" in error
    error = one_error_line(*run_main(capsys, "regress", source, "--model",
                                     "desi-emission-lines", "--out", tmp_path / "o")[::2])
    assert "per-spectrum regression model" in error and "`turbml spectra`" in error
    assert not (tmp_path / "o").exists()


def test_a_map_outside_the_training_domain_is_warned_on_stderr(tmp_path, capsys):
    """A card whose domain is a single lognormal slope: white noise lies outside it."""
    from training.evaluation.domain_record import fit_domain_record

    from glue_turbml.core import extract_tiles, make_tile_grid
    from tests.regression_nets import TILE_SIZE, write_spectral_index_model

    grid = make_tile_grid((128, 128), TILE_SIZE, stride=TILE_SIZE)
    fit, calibration = (np.concatenate([extract_tiles(lognormal_map((128, 128), seed=[seed, n]),
                                                      grid) for n in range(count)])
                        for seed, count in ((1, 10), (2, 20)))
    record = fit_domain_record(fit, calibration, k_range=(2, 8), false_alarm_rate=0.02)
    model = write_spectral_index_model(tmp_path, name="domain-index",
                                       domain={"input_statistics": record})
    noise = tmp_path / "noise.fits"
    fits.PrimaryHDU(np.random.default_rng(3).lognormal(size=(128, 128)).astype(np.float32)) \
        .writeto(noise)
    status, stdout, stderr = run_main(capsys, "regress", noise, "--model", model, "--device",
                                      "cpu", "--out", tmp_path / "noise_index.fits")
    assert status == 0, stderr
    assert "OUTSIDE the training domain" in stdout
    assert f"turbml: warning: {noise}:" in stderr and "outside the training domain" in stderr
