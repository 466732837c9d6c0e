"""Training pieces of the emission-line models: the TARGETID split, weights, export with card."""

import numpy as np
import pytest
from astropy import units as u

from glue_turbml.core.continuum_bins import EMISSION_LINE_NAMES
from training.emission_lines.desi_emission_lines import intrinsic_scatter, target_weights
from training.emission_lines.data import SPLIT_NAMES, load_emission_line_data, split_targetids


def test_split_is_over_distinct_ids_and_seeded():
    ids = np.repeat(np.arange(1000, 2000), 3)  # every galaxy three times, as across lines
    unique, split = split_targetids(ids, seed=4)
    assert unique.size == 1000
    assert np.bincount(split).tolist() == [800, 100, 100]
    np.testing.assert_array_equal(split, split_targetids(ids[::-1], seed=4)[1])
    assert not np.array_equal(split, split_targetids(ids, seed=5)[1])
    with pytest.raises(ValueError, match="summing to 1"):
        split_targetids(ids, seed=4, fractions=(0.8, 0.1, 0.2))


def test_weights_are_inverse_total_variances_of_arcsinh_ew():
    rng = np.random.default_rng(0)
    ew = rng.lognormal(1.0, 1.0, size=5000)
    ivar = rng.lognormal(0.0, 1.5, size=5000)
    weights = target_weights(ew, ivar, intrinsic_variance=0.1)
    assert weights.dtype == np.float32
    np.testing.assert_allclose(weights.mean(), 1.0, rtol=1e-5)
    total_variance = 1.0 / (ivar * (1 + ew ** 2)) + 0.1
    ratio = weights * total_variance
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)
    # The intrinsic scatter caps the weight of exquisitely measured galaxies.
    assert weights.max() / weights.min() <= (total_variance.max() / 0.1) * (1 + 1e-4)


def test_intrinsic_scatter_recovers_the_injected_scatter():
    rng = np.random.default_rng(1)
    colours = rng.normal(size=(20000, 11))
    truth = np.tanh(colours[:, 0]) + 0.5 * colours[:, 1]
    measurement_sigma = rng.uniform(0.05, 0.2, size=colours.shape[0])
    target = truth + rng.normal(0, 0.3, size=truth.shape) + rng.normal(0, measurement_sigma)
    variance = intrinsic_scatter(colours[:, :2], target, measurement_sigma ** 2, seed=0)
    # k-NN means in 2D add a little scatter of their own: allow 20%.
    assert variance == pytest.approx(0.3 ** 2, rel=0.2)


@pytest.mark.needs_shared_data
def test_split_keeps_each_galaxy_in_one_set_across_all_lines_shared_data(desi_data_path):
    data = load_emission_line_data(desi_data_path, split_seed=20240601)
    ids_per_split = {name: set() for name in SPLIT_NAMES}
    for line in EMISSION_LINE_NAMES:
        table = data.tables[line]
        assert table.colours.shape == (table.targetid.size, 11)
        for name in SPLIT_NAMES:
            ids_per_split[name].update(table.targetid[table.rows(name)].tolist())
    train, validation, test = (ids_per_split[name] for name in SPLIT_NAMES)
    assert not (train & validation) and not (train & test) and not (validation & test)
    total = len(train) + len(validation) + len(test)
    assert total == 108486  # distinct galaxies in ../shared/data/README.md
    assert abs(len(test) / total - 0.1) < 0.002 and abs(len(train) / total - 0.8) < 0.002


def test_export_writes_a_loadable_spectral_model(tmp_path):
    """A small net exported with its card loads, runs through the runtime, and matches torch."""
    import torch

    from glue_turbml import predict_emission_lines
    from glue_turbml.models import load_model_file
    from training.emission_lines.desi_emission_lines import (TrainConfig, build_card,
                                                             export_emission_line_model)
    from training.emission_lines.data import EmissionLineData
    from training.emission_lines.nets import EmissionLineNet

    torch.manual_seed(0)
    colours = np.random.default_rng(0).normal(0.05, 0.05, size=(300, 11)).astype(np.float32)
    net = EmissionLineNet(colours.mean(axis=0), colours.std(axis=0), n_lines=10, per_line=False,
                          hidden=(8,))
    data = EmissionLineData(tables={}, path="desi_sv3_emission_lines.npz", split_seed=1,
                            split_fractions=(0.8, 0.1, 0.1), split_counts={})
    card = build_card(data=data, config=TrainConfig(), architecture="multi_output",
                      choice={"chosen": "multi_output"}, command="python -m test")
    path = tmp_path / "tiny-lines.onnx"
    written, parity = export_emission_line_model(net, path, card, parity_colours=colours)
    assert max(record["max_rel_diff"] for record in parity) < 1e-4
    loaded = load_model_file(path)
    assert loaded.card["weights_sha256"] == written["weights_sha256"]
    assert loaded.card["input"]["layout"] == "NC"
    rest = np.arange(3380.0, 7020.0, 1.0)
    spectrum = (rest / 5000.0) ** -1.0
    result = predict_emission_lines(spectrum, wavelength=rest * 1.05 * u.AA, redshift=0.05,
                                    model=path, device="cpu")
    assert result.counts["n_predicted"] == 1 and np.isfinite(result.equivalent_width).all()
