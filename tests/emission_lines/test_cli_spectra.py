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
    captured = capsys.readouterr()
    printed = captured.out
    assert "17 of 20 spectra predicted" in printed and "2 mostly NaN" in printed
    assert "%|" not in captured.err  # no progress bar where stderr is not a terminal
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
    assert "--rest-wavelength '6564.61 Angstrom'" in error
    assert "wavelength=` explicitly" not in error


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


def test_a_run_that_predicts_nothing_writes_nothing_and_exits_2(galaxy_cube_path, tmp_path,
                                                                capsys):
    # At z = 0.5 the cube's rest frame (2320-5070 A) misses the model's red bins: no spectrum
    # can be predicted, and ten all-NaN maps would only look like results.
    out = tmp_path / "maps"
    status = main(["spectra", str(galaxy_cube_path), "--redshift", "0.5", "--out", str(out),
                   "--device", "cpu"])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    errors = [line for line in captured.err.splitlines() if line.startswith("turbml: error:")]
    assert len(errors) == 1, captured.err
    assert "0 of 20 spectra predicted" in errors[0]
    assert "20 outside the rest-frame coverage" in errors[0] and "--redshift" in errors[0]
    assert not out.exists()
    single = tmp_path / "cube_ew.fits"
    assert main(["spectra", str(galaxy_cube_path), "--redshift", "0.5", "--out", str(single),
                 "--device", "cpu"]) == 2
    assert not single.exists()


def test_out_may_name_one_multi_extension_file(galaxy_cube_path, tmp_path, capsys):
    target = tmp_path / "galaxy_ew.fits"
    assert main(["spectra", str(galaxy_cube_path), "--redshift", str(CUBE_REDSHIFT), "--out",
                 str(target), "--device", "cpu"]) == 0
    assert str(target) in capsys.readouterr().out
    folder = tmp_path / "maps"
    assert main(["spectra", str(galaxy_cube_path), "--redshift", str(CUBE_REDSHIFT), "--out",
                 str(folder), "--device", "cpu"]) == 0
    with fits.open(target) as hdulist:
        assert hdulist[0].header["TM_NPRED"] == 17
        assert [hdu.name for hdu in hdulist[1:]] == list(EMISSION_LINE_NAMES) + ["DOMAIN"]
        for line in EMISSION_LINE_NAMES:
            np.testing.assert_array_equal(hdulist[line].data,
                                          fits.getdata(folder / f"galaxy_cube_{line}_ew.fits"))
        # The domain scores: finite exactly where an EW was predicted, in both layouts.
        scores = hdulist["DOMAIN"].data
        np.testing.assert_array_equal(np.isfinite(scores), np.isfinite(hdulist["HALPHA"].data))
        np.testing.assert_array_equal(scores, fits.getdata(folder
                                                           / "galaxy_cube_domain_score.fits"))
        assert hdulist[0].header["TM_DOM"] in ("inside", "partly outside", "outside")
    # --overwrite is needed to replace it, and says so in one line
    assert main(["spectra", str(galaxy_cube_path), "--redshift", str(CUBE_REDSHIFT), "--out",
                 str(target)]) == 2
    assert f"{target} exists; pass --overwrite" in capsys.readouterr().err


def velocity_cube(galaxy_cube_path, path, *, ctype, rest_angstrom):
    """The galaxy cube with its wavelength axis rewritten as a linear velocity axis over the
    same wavelength range, and the v/c of each channel.

    For VOPT the channels keep their wavelengths exactly (lambda is linear in v); for VRAD
    the ends match and the channels between follow the radio formula lambda0 / (1 - v/c).
    """
    from astropy import constants

    c = constants.c.to_value("m/s")
    with fits.open(galaxy_cube_path) as hdulist:
        header = hdulist[0].header
        n_channels = header["NAXIS3"]
        first = header["CRVAL3"]
        last = first + header["CDELT3"] * (n_channels - 1)
        if ctype == "VOPT":
            beta_first, beta_last = first / rest_angstrom - 1, last / rest_angstrom - 1
        else:
            beta_first, beta_last = 1 - rest_angstrom / first, 1 - rest_angstrom / last
        header["CTYPE3"] = ctype
        header["CUNIT3"] = "m/s"
        header["CRVAL3"] = c * beta_first
        header["CDELT3"] = c * (beta_last - beta_first) / (n_channels - 1)
        hdulist.writeto(path)
    return path, np.linspace(beta_first, beta_last, n_channels)


def test_velocity_cubes_take_the_rest_wavelength(galaxy_cube_path, tmp_path, capsys):
    import astropy.units as u

    from astropy.wcs import WCS

    from glue_turbml.emission_lines import predict_emission_lines, wcs_spectral_axis

    rest = 6564.61
    vopt, _ = velocity_cube(galaxy_cube_path, tmp_path / "vopt.fits", ctype="VOPT",
                            rest_angstrom=rest)
    # Without the line's rest wavelength the command says which flag to give.
    assert main(["spectra", str(vopt), "--redshift", str(CUBE_REDSHIFT), "--out",
                 str(tmp_path / "none")]) == 2
    assert "--rest-wavelength" in capsys.readouterr().err
    assert main(["spectra", str(vopt), "--redshift", str(CUBE_REDSHIFT), "--rest-wavelength",
                 f"{rest} Angstrom", "--out", str(tmp_path / "vopt"), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "17 of 20 spectra predicted" in printed
    assert "VOPT velocity axis converted" in printed and "optical Doppler convention" in printed
    assert main(["spectra", str(galaxy_cube_path), "--redshift", str(CUBE_REDSHIFT), "--out",
                 str(tmp_path / "wave"), "--device", "cpu"]) == 0
    for line in EMISSION_LINE_NAMES:
        np.testing.assert_allclose(fits.getdata(tmp_path / "vopt" / f"vopt_{line}_ew.fits"),
                                   fits.getdata(tmp_path / "wave" / f"galaxy_cube_{line}_ew.fits"),
                                   rtol=1e-5, atol=1e-5)
    # A VRAD axis uses the radio formula, lambda = lambda0 / (1 - v/c); the rest may be a
    # frequency.
    vrad, beta = velocity_cube(galaxy_cube_path, tmp_path / "vrad.fits", ctype="VRAD",
                               rest_angstrom=rest)
    rest_frequency = (rest * u.AA).to(u.GHz, equivalencies=u.spectral())
    observed, medium = wcs_spectral_axis(WCS(fits.getheader(vrad)), beta.size,
                                         rest_wavelength=rest_frequency)
    np.testing.assert_allclose(observed, rest / (1 - beta), rtol=1e-9)
    assert medium == "vacuum"
    assert np.max(np.abs(observed - rest * (1 + beta))) > 100  # not the optical reading
    radio = predict_emission_lines(vrad, redshift=CUBE_REDSHIFT, device="cpu",
                                   rest_wavelength=rest_frequency)
    assert any("VRAD velocity axis" in note and "radio Doppler convention" in note
               for note in radio.notes)
    # A bare number is refused with the form to write.
    assert main(["spectra", str(vopt), "--redshift", str(CUBE_REDSHIFT), "--rest-wavelength",
                 "6564.61", "--out", str(tmp_path / "bare")]) == 2
    assert "'6564.61 Angstrom'" in capsys.readouterr().err
