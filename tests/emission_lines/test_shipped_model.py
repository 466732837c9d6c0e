"""The shipped desi-emission-lines model: its card's contract and its skill on real DESI data."""

import numpy as np
import pytest
from astropy import units as u

from glue_turbml import predict_emission_lines
from glue_turbml.core.continuum_bins import (DEFAULT_MASK_HALF_WIDTH_ANGSTROM,
                                             DESI_BIN_EDGES_ANGSTROM, EMISSION_LINE_NAMES,
                                             EMISSION_LINE_WAVELENGTHS_VACUUM)
from glue_turbml.models import open_model, resolve_model
from training.emission_lines.data import load_emission_line_data
from training.emission_lines.metrics import ew_scores

from tests.spectra_builders import piecewise_constant_spectra

MODEL = "desi-emission-lines"


def test_card_states_the_runtime_contract_and_test_metrics():
    loaded = resolve_model(MODEL)
    card = loaded.card
    assert card["task"] == "regression" and loaded.input_name == "colours"
    spectral = card["input"]["spectral"]
    assert spectral["bin_edges"] == list(DESI_BIN_EDGES_ANGSTROM)
    assert spectral["masked_lines"] == {name: list(centres) for name, centres
                                        in EMISSION_LINE_WAVELENGTHS_VACUUM.items()}
    assert spectral["mask_half_width_angstrom"] == DEFAULT_MASK_HALF_WIDTH_ANGSTROM
    assert card["input"]["channels"] == len(DESI_BIN_EDGES_ANGSTROM) - 2
    output = card["outputs"][0]
    assert output["units"] == "Angstrom" and "positive = emission" in output["description"]
    assert [channel["name"] for channel in output["channels"]] == list(EMISSION_LINE_NAMES)
    provenance = card["provenance"]
    assert provenance["split"]["by"].startswith("TARGETID")
    assert provenance["seeds"]["split"] == provenance["split"]["seed"]
    assert provenance["training"]["architecture"] in ("per_line", "multi_output")
    for line in EMISSION_LINE_NAMES:
        assert 0.5 < card["metrics"][f"test_spearman_rho_{line}"] <= 1.0
        assert card["metrics"][f"test_nmad_angstrom_{line}"] > 0
    # A shipped card keeps the command it was made with: the module was
    # training.evaluate_emission_lines before the layout change (now
    # training.emission_lines.evaluate).
    assert "training.evaluate_emission_lines" in card["metrics"]["evaluation_command"]


@pytest.mark.needs_shared_data
def test_real_desi_test_galaxies_shared_data(desi_data_path):
    """Spectra rebuilt from real test galaxies' bins give the model's EWs, and they rank well."""
    card = resolve_model(MODEL).card
    data = load_emission_line_data(desi_data_path, split_seed=card["provenance"]["split"]["seed"])
    halpha = data.tables["HALPHA"]
    test = halpha.rows("test")
    predicted = open_model(MODEL, device="cpu").run(halpha.colours[test])
    index = EMISSION_LINE_NAMES.index("HALPHA")
    scores = ew_scores(halpha.ew_obs[test], predicted[:, index])
    # The card's number comes from the same rows (training.emission_lines.evaluate).
    assert scores["spearman_rho"] == pytest.approx(card["metrics"]["test_spearman_rho_HALPHA"],
                                                   abs=1e-3)
    assert scores["spearman_rho"] >= 0.89

    redshift = 0.1
    rest = np.arange(3380.0, 7020.0, 0.9)
    bin_fluxes = halpha.bin_flux[test][:200].astype(np.float64)
    spectra = piecewise_constant_spectra(rest, bin_fluxes)
    result = predict_emission_lines(spectra, wavelength=rest * (1 + redshift) * u.AA,
                                    redshift=redshift, model=MODEL, device="cpu")
    assert result.counts["n_predicted"] == 200
    np.testing.assert_allclose(result.equivalent_width.T, predicted[:200], rtol=1e-4, atol=1e-4)
