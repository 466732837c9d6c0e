"""The shipped narrow-coverage model desi-emission-lines-red (bins 4600-7000 A)."""

from glue_turbml.core.continuum_bins import DESI_BIN_EDGES_ANGSTROM, EMISSION_LINE_NAMES
from glue_turbml.models import resolve_model


def test_red_card_states_its_bins_and_test_metrics():
    loaded = resolve_model("desi-emission-lines-red")
    card = loaded.card
    spectral = card["input"]["spectral"]
    assert spectral["bin_edges"] == list(DESI_BIN_EDGES_ANGSTROM[4:])
    assert card["input"]["channels"] == 7
    assert [channel["name"] for channel in card["outputs"][0]["channels"]] == \
        list(EMISSION_LINE_NAMES)
    assert card["provenance"]["training_data"]["bin_edges_angstrom"][0] == 4600.0
    for line in EMISSION_LINE_NAMES:
        assert 0.3 < card["metrics"][f"test_spearman_rho_{line}"] <= 1.0
