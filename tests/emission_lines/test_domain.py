"""The shipped spectral models say when a spectrum's continuum is unlike their training galaxies'
(real DESI data: needs_shared_data)."""

import numpy as np
import pytest
from astropy.io import fits

from glue_turbml.cli import main
from glue_turbml.domain import ColourDomainCheck
from glue_turbml.models import resolve_model

from tests.spectra_builders import (CUBE_REDSHIFT, DESI_DATA_PATH, N_CHANNELS, cube_header,
                                    cube_wavelengths, piecewise_constant_spectra)

SPECTRAL_MODELS = ("desi-emission-lines", "desi-emission-lines-red")


@pytest.fixture(scope="module")
def desi_data():
    from training.emission_lines.data import load_emission_line_data

    if not DESI_DATA_PATH.is_file():
        pytest.skip(f"{DESI_DATA_PATH} is absent")
    return load_emission_line_data(DESI_DATA_PATH)


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("name", SPECTRAL_MODELS)
def test_held_out_galaxies_are_inside_and_non_galaxies_outside(name, desi_data):
    from copy import deepcopy

    from training.emission_lines.data import restrict_bins
    from training.emission_lines.domain_record import galaxy_colours, non_galaxy_colours

    card = resolve_model(name).card
    check = ColourDomainCheck.from_card(card)
    assert check is not None, f"{name} has no domain record"
    data = desi_data
    edges = card["input"]["spectral"]["bin_edges"]
    if edges[0] != data.bin_edges[0]:
        data = restrict_bins(deepcopy(data), edges[0])
    colours, split = galaxy_colours(data)
    # The galaxies the threshold never saw: the calibrated 1% plus sampling, well under 2%.
    flagged = np.mean(check.scores(colours[split == 2]) > 1.0)
    assert 0.003 < flagged <= 0.02
    recorded = card["domain"]["measured"]["held_out_training_domain"]["flagged_fraction"]
    # the record's own measurement, up to spectra that round-off moves across the threshold
    assert flagged == pytest.approx(recorded, abs=3 / len(colours[split == 2]))
    others = non_galaxy_colours(edges)
    assert np.mean(check.scores(others["noise_dominated"]) > 1.0) >= 0.95
    # The coolest and hottest stars and the steepest power laws are no galaxy continua.
    black_bodies = check.scores(others["black_bodies"])
    power_laws = check.scores(others["power_laws"])
    assert black_bodies[0] > 1.0 and black_bodies[-1] > 1.0
    assert power_laws[0] > 1.0 and power_laws[-1] > 1.0


def _cube_of(bin_fluxes, path):
    rest = cube_wavelengths() / (1 + CUBE_REDSHIFT)
    cube = piecewise_constant_spectra(rest, bin_fluxes).T.reshape(N_CHANNELS, 4, 5)
    fits.PrimaryHDU(cube.astype(np.float32), header=cube_header((4, 5))).writeto(path)
    return path


@pytest.mark.needs_shared_data
def test_command_line_warns_on_noise_and_not_on_real_galaxy_continua(desi_data, tmp_path,
                                                                     capsys):
    table = desi_data.tables["HALPHA"]
    galaxies = table.bin_flux[table.rows("test")][:20].astype(np.float64)
    galaxy_cube = _cube_of(galaxies, tmp_path / "galaxies.fits")
    assert main(["spectra", str(galaxy_cube), "--redshift", str(CUBE_REDSHIFT), "--out",
                 str(tmp_path / "galaxies_ew.fits"), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "outside the training domain" not in captured.err
    assert "inside the training domain" in captured.out

    # Flat continua under noise of signal-to-noise 5 per bin: random colours.
    noisy = np.abs(1.0 + np.random.default_rng(1).normal(0.0, 0.2, size=(20, 12)))
    noise_cube = _cube_of(noisy, tmp_path / "noise.fits")
    out = tmp_path / "noise_ew.fits"
    assert main(["spectra", str(noise_cube), "--redshift", str(CUBE_REDSHIFT), "--out",
                 str(out), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "lie outside the training domain of desi-emission-lines" in captured.err
    assert "OUTSIDE the training domain" in captured.out
    with fits.open(out) as hdulist:
        assert hdulist[0].header["TM_DOM"] == "outside"
        assert np.mean(hdulist["DOMAIN"].data > 1.0) >= 0.9
