"""``turbml spectra CUBE --redshift Z --model NAME --out DIR``."""

import json

import numpy as np
from astropy.io import fits

from glue_turbml.cli import main
from glue_turbml.core.continuum_bins import EMISSION_LINE_NAMES

from tests.spectra_builders import CUBE_REDSHIFT


def test_spectra_writes_one_ew_map_per_line(galaxy_cube_path, tmp_path, capsys):
    out = tmp_path / "maps"
    status = main(["spectra", str(galaxy_cube_path), "--redshift", str(CUBE_REDSHIFT),
                   "--model", "desi-emission-lines", "--out", str(out), "--device", "cpu"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "17 of 20 spectra predicted" in printed and "2 mostly NaN" in printed
    cube_header = fits.getheader(galaxy_cube_path)
    for line in EMISSION_LINE_NAMES:
        with fits.open(out / f"galaxy_cube_{line}_ew.fits") as hdulist:
            header, data = hdulist[0].header, hdulist[0].data
        assert data.shape == (4, 5)
        assert header["BUNIT"] == "Angstrom" and header["TM_LINE"] == line
        assert header["CTYPE1"] == cube_header["CTYPE1"] and header["NAXIS"] == 2
        assert np.isfinite(data).sum() == 17
    summary = json.loads((out / "galaxy_cube_emission_lines.json").read_text())
    assert summary["n_predicted"] == 17 and summary["n_nonpositive_continuum"] == 1
    # A second run refuses to overwrite without --overwrite.
    again = main(["spectra", str(galaxy_cube_path), "--redshift", "0.03", "--out", str(out)])
    assert again == 2
    assert "--overwrite" in capsys.readouterr().err


def test_spectra_errors_are_one_line(spectral_cube_path, tmp_path, capsys):
    status = main(["spectra", str(spectral_cube_path), "--redshift", "0.03",
                   "--out", str(tmp_path / "maps")])
    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith("turbml: error:") and "is a velocity" in error


def test_spectra_reads_the_redshift_from_the_header(galaxy_cube_path, tmp_path, capsys):
    stated = tmp_path / "stated.fits"
    with fits.open(galaxy_cube_path) as hdulist:
        hdulist[0].header["Z"] = CUBE_REDSHIFT
        hdulist.writeto(stated)
    assert main(["spectra", str(stated), "--out", str(tmp_path / "maps"), "--device",
                 "cpu"]) == 0
    printed = capsys.readouterr().out
    assert f"redshift {CUBE_REDSHIFT:g} from the header keyword Z" in printed
    assert "17 of 20 spectra predicted" in printed
    # without the keyword (or --redshift) the command says what to pass
    assert main(["spectra", str(galaxy_cube_path), "--out", str(tmp_path / "other")]) == 2
    error = capsys.readouterr().err
    assert "no --redshift given" in error and "REDSHIFT, Z, ZSPEC, Z_SPEC" in error


def test_redshift_keywords_take_numbers_in_range_only():
    from glue_turbml.emission_lines import redshift_from_header

    assert redshift_from_header(fits.Header({"REDSHIFT": 0.5, "Z": 0.7})) == (0.5, "REDSHIFT")
    assert redshift_from_header({"REDSHIFT": "unknown", "ZSPEC": "0.25"}) == (0.25, "ZSPEC")
    assert redshift_from_header({"Z": -0.1, "Z_SPEC": True}) is None
    assert redshift_from_header({"Z": float("nan")}) is None
    assert redshift_from_header({}) is None


def test_the_api_takes_the_header_redshift_too(galaxy_cube_path, tmp_path):
    from glue_turbml.emission_lines import predict_emission_lines

    stated = tmp_path / "stated.fits"
    with fits.open(galaxy_cube_path) as hdulist:
        hdulist[0].header["REDSHIFT"] = CUBE_REDSHIFT
        hdulist.writeto(stated)
    result = predict_emission_lines(stated, device="cpu")
    assert result.redshift == CUBE_REDSHIFT
    assert f"redshift {CUBE_REDSHIFT:g} from the header keyword REDSHIFT" in result.notes
