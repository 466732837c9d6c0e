"""``turbml spectra CUBE --redshift Z --model NAME --out DIR``."""

import json

import numpy as np
from astropy.io import fits

from glue_turbml.cli import main
from glue_turbml.core.continuum_bins import EMISSION_LINE_NAMES

from .conftest import CUBE_REDSHIFT


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
