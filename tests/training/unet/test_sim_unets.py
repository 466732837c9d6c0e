"""U-Nets trained on simulator runs: run discovery and split, projection and slice pairs,
sigma calibration, and the two training commands end to end on tiny real MHD runs."""

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from astropy.io import fits

from glue_turbml.models import read_card
from tests.training.sim_sets import simulate_set
from training.unet.calibration import apply_sigma_scale, fit_sigma_scale, interval_coverage
from training.unet.magnetic_energy import main as magnetic_energy_main
from training.unet.magnetic_energy import slice_pairs
from training.unet.mass_weighted_density_sims import main as mass_weighted_main
from training.unet.nets import ProbabilisticUNet
from training.unet.sim_runs import (SimRun, find_runs, periodic_crops, projection_pairs,
                                    split_by_run)
from training.unet.sim_training import periodic_tiles

CLASSES = {"sub_alfvenic": 1.0, "super_alfvenic": 0.1}


@pytest.fixture(scope="module")
def mhd_set(tmp_path_factory):
    """A recipe-like output folder: 3 seeds per class of tiny real 16^3 driven MHD runs."""
    return simulate_set(tmp_path_factory.mktemp("sets") / "tiny_mhd",
                        {label: {"mean_field": mean_field}
                         for label, mean_field in CLASSES.items()},
                        cells=16, sound_speed=0.1, target_mach=2.0, end_turnovers=0.2,
                        snapshot_turnovers=[0.1, 0.2])


def test_runs_are_found_split_by_seed_and_unfinished_runs_left_out(mhd_set, tmp_path):
    runs = find_runs([mhd_set])
    assert [run.key for run in runs][:3] == [f"tiny_mhd:sub_alfvenic:{seed}"
                                             for seed in (0, 1, 2)]
    split = split_by_run(runs)
    assert split["test"] == ["tiny_mhd:sub_alfvenic:2", "tiny_mhd:super_alfvenic:2"]
    assert split["validation"] == ["tiny_mhd:sub_alfvenic:1", "tiny_mhd:super_alfvenic:1"]
    assert split["train"] == ["tiny_mhd:sub_alfvenic:0", "tiny_mhd:super_alfvenic:0"]
    # a run with fewer snapshots than its siblings is still running: left out, with a warning
    partial = tmp_path / "partial"
    for seed, count in ((0, 2), (1, 1)):
        folder = partial / "a" / f"seed_{seed:04d}"
        folder.mkdir(parents=True)
        for index in range(count):
            (folder / f"snapshot_{index:03d}.fits").write_bytes(b"")
    with pytest.warns(UserWarning, match="unfinished runs a/seed_0001"):
        assert [run.seed for run in find_runs([partial])] == [0]
    with pytest.raises(ValueError, match="needs at least 3"):
        split_by_run(find_runs([mhd_set])[:2])
    with pytest.raises(FileNotFoundError, match="run its recipe"):
        find_runs([tmp_path / "nothing"])


def test_a_held_out_fraction_holds_out_several_runs_of_classes_with_many_runs():
    runs = ([SimRun("many", "a", seed, ()) for seed in range(12)]
            + [SimRun("few", "b", seed, ()) for seed in range(4)])
    split = split_by_run(runs, held_out_fraction=0.25)
    assert split["test"] == ["few:b:3", "many:a:9", "many:a:10", "many:a:11"]
    assert split["validation"] == ["few:b:2", "many:a:6", "many:a:7", "many:a:8"]
    assert split["train"] == ["few:b:0", "few:b:1"] + [f"many:a:{seed}" for seed in range(6)]
    # the default keeps one run each, whatever the count
    assert split_by_run(runs)["test"] == ["few:b:3", "many:a:11"]
    with pytest.raises(ValueError, match="needs at least 3"):
        split_by_run(runs[:2], held_out_fraction=0.25)
    with pytest.raises(ValueError, match="held_out_fraction"):
        split_by_run(runs, held_out_fraction=0.5)


def test_projection_targets_are_relative_to_the_mean_density_along_the_lines_of_sight(mhd_set):
    run = find_runs([mhd_set])[0]
    pairs = projection_pairs([run], axes=(1,), depth_fractions=(0.5,))
    density = fits.getdata(run.files[0]).astype(np.float64)
    density /= density.mean()
    slab = density[:, :8, :]                      # first half-box slab along numpy axis 1
    column = slab.sum(axis=1)
    weighted = (slab ** 2).sum(axis=1) / column
    n0 = column.mean() / 8
    np.testing.assert_allclose(pairs.targets[0, 0], np.log10(weighted / n0), atol=2e-6)
    np.testing.assert_allclose(pairs.inputs[0, 0], np.log10(column / column.mean()), atol=2e-6)
    assert len(pairs) == 2 * 2                    # 2 snapshots x 2 slabs
    assert set(pairs.depth_fractions.tolist()) == {0.5}
    crops = periodic_crops(pairs, crop_size=8, crop_step=8)
    assert len(crops) == 4 * len(pairs)
    np.testing.assert_array_equal(crops.targets[1, 0], pairs.targets[0, 0, :8, 8:])


def test_magnetic_energy_slices_are_ratios_to_their_own_mean(mhd_set):
    run = find_runs([mhd_set])[3]
    (pairs,) = slice_pairs([run], axis="x")
    with fits.open(run.files[1]) as hdul:
        energy = 0.5 * sum(hdul[name].data.astype(np.float64) ** 2 for name in ("BX", "BY", "BZ"))
    expected = energy[:, :, 5] / energy[:, :, 5].mean()
    np.testing.assert_allclose(pairs.targets[16 + 5, 0], np.log10(expected), atol=2e-6)
    assert abs(np.log10(np.mean(10.0 ** pairs.targets[16 + 5, 0]))) < 1e-5


def test_sigma_scale_is_recovered_and_folded_into_the_net():
    rng = np.random.default_rng(5)
    true_sigma = rng.uniform(0.1, 0.5, 200_000)
    errors = rng.normal(0.0, true_sigma)
    fitted = fit_sigma_scale(errors, true_sigma / 2.5)      # a net over-confident by 2.5x
    assert abs(fitted["scale"] - 2.5) < 0.05
    inside_68, inside_95 = interval_coverage(errors, true_sigma / 2.5, scale=fitted["scale"])
    assert abs(inside_68 - 0.68) < 0.01 and abs(inside_95 - 0.95) < 0.01
    torch.manual_seed(0)
    net = ProbabilisticUNet(widths=(4, 8), convs_per_block=1).eval()
    images = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        before = net(images)
        apply_sigma_scale(net, 3.0)
        after = net(images)
    torch.testing.assert_close(after[:, 0], before[:, 0])
    torch.testing.assert_close(torch.exp(0.5 * after[:, 1]), 3.0 * torch.exp(0.5 * before[:, 1]))
    with pytest.raises(ValueError, match="positive"):
        apply_sigma_scale(net, 0.0)


def test_periodic_tiles_continue_a_periodic_map_without_a_seam():
    image = np.arange(36.0).reshape(6, 6)
    (tile,) = periodic_tiles([image], 10)
    np.testing.assert_array_equal(tile[6:, 6:], image[:4, :4])
    np.testing.assert_array_equal(tile[:6, :6], image)


@pytest.mark.parametrize("command, name, channel", [
    (mass_weighted_main, "mass-weighted-density", "log_density_ratio"),
    (magnetic_energy_main, "magnetic-energy", "log_magnetic_energy_ratio"),
])
def test_training_command_writes_a_calibrated_model_with_per_class_metrics(
        mhd_set, tmp_path, command, name, channel):
    out, report = tmp_path / "model.onnx", tmp_path / "report.json"
    # here the mass-weighted-density head reads the features' local means too, beside the
    # whole map's statistics, and is refitted to the interval edges (its default)
    options = (["--variance-objective", "coverage", "--variance-context-px", "3"]
               if name == "mass-weighted-density" else [])
    assert command([str(mhd_set), "--out", str(out), "--report", str(report), "--quick",
                    "--threads", "1", "--no-progress", *options]) == 0
    card = read_card(onnx.load(str(out)), source=str(out))
    assert card["name"] == name and card["task"] == "image_to_image"
    assert card["outputs"][0]["channels"][0]["name"] == channel
    metrics = card["metrics"]
    classes = set(metrics["coverage_by_class_of_run"])
    assert classes == {"tiny_mhd:sub_alfvenic", "tiny_mhd:super_alfvenic"}
    assert metrics["sigma_calibration"]["scale"] > 0
    # the calibration brought the calibration runs' coverage nearer nominal (what it
    # minimises, 68% and 95% together; no scale at all is among its candidates)
    calibration = metrics["sigma_calibration"]

    def distance(when):
        return ((calibration[f"validation_inside_68_{when}"] - 0.68) ** 2
                + (calibration[f"validation_inside_95_{when}"] - 0.95) ** 2)
    assert distance("after") <= distance("before") + 1e-12
    assert {"smoothing_sigma_px", "zoom_factor", "noise_snr"} <= set(metrics["robustness"])
    assert card["provenance"]["split"]["runs"]["test"] == [
        "tiny_mhd:sub_alfvenic:2", "tiny_mhd:super_alfvenic:2"]
    assert "held_out_training_domain" in card["domain"]["measured"]
    # every held-out run is scored on its own too (run-to-run scatter within a class)
    assert set(metrics["held_out"]["by_runs"]) == {"all", "tiny_mhd:sub_alfvenic:2",
                                                   "tiny_mhd:super_alfvenic:2"}
    written = json.loads(report.read_text())
    assert written["metrics"]["mse_log10"] == pytest.approx(metrics["mse_log10"])
    if name == "magnetic-energy":
        assert card["input"]["quantity"] == "volume_density"
        assert set(metrics["held_out_extra"]) == {"test_slabs_of_training_runs",
                                                  "held_out_runs_sliced_perpendicular_to_z"}
        assert "power_law" in metrics["held_out"]["all"] and "constant" in \
            metrics["held_out"]["all"]
    else:
        assert card["input"]["quantity"] == "column_density"
        assert set(metrics["held_out"]["by_depth_fractions"]) == {"all", "1", "0.5"}
        # its log-variance was refitted on the calibration runs, each class weighted alike
        refit = calibration["variance_refit"]
        assert refit["n_classes"] == 2
        # first to the likelihood, then to the interval edges, each no worse than one sigma
        assert refit["objective"] == "coverage"
        likelihood = refit["likelihood_step"]
        assert likelihood["weighted_nll_fitted"] <= likelihood["weighted_nll_constant"]
        assert refit["weighted_interval_loss_fitted"] <= refit["weighted_interval_loss_constant"]
        assert calibration["weighted"]
        assert set(calibration["by_class_of_run_after"]) == classes
        # with its separate log-variance head, the torch net rebuilt from the file (as the
        # saliency step rebuilds it) gives the file's output
        from training.unet.export import torch_unet_from_onnx

        assert card["provenance"]["training"]["net"]["variance_hidden"] == 4
        # the log-variance head reads the features' 3 px means as well, and the card's
        # receptive field (inside the tiling margin) includes their reach
        assert card["provenance"]["training"]["net"]["variance_context_px"] == 3
        from training.unet.nets import receptive_field_radius
        plain = ProbabilisticUNet(widths=(4, 8), convs_per_block=1)
        assert card["provenance"]["training"]["receptive_field_radius_px"] == \
            receptive_field_radius(plain, size=128) + 1
        # and the statistics of the whole map, the graph's second input, as the card names
        from training.unet.mass_weighted_density_sims import DEFAULT_MAP_STATISTICS
        from training.unet.sim_evaluation import periodic_map_statistics

        declared = card["input"]["map_statistics"]
        assert declared["names"] == list(DEFAULT_MAP_STATISTICS)
        images = np.random.default_rng(0).normal(size=(2, 1, 16, 16)).astype(np.float32)
        statistics = periodic_map_statistics(images, declared["names"])
        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        assert [argument.name for argument in session.get_inputs()] == [
            "image", declared["input"]]
        rebuilt = torch_unet_from_onnx(out)
        from_file = session.run(None, {"image": images, declared["input"]: statistics})[0]
        with torch.no_grad():
            np.testing.assert_allclose(
                rebuilt(torch.from_numpy(images), torch.from_numpy(statistics)).numpy(),
                from_file, rtol=0, atol=1e-4)
        # the statistics reach the log-variance only. How far a change of them shows depends
        # on the weights (on these random inputs this tiny net's log-variance can sit at its
        # clamp, as it does on some CPUs, until the change is large): shifts of either sign
        # and several sizes, the mean never moving and the log-variance moving for some
        log_variance_changes = []
        for shift in (-32.0, -8.0, -2.0, -0.5, 0.5, 2.0, 8.0, 32.0):
            shifted = session.run(None, {"image": images,
                                         declared["input"]: statistics + np.float32(shift)})[0]
            np.testing.assert_array_equal(shifted[:, 0], from_file[:, 0])
            log_variance_changes.append(np.abs(shifted[:, 1] - from_file[:, 1]).max())
        assert max(log_variance_changes) > 1e-4, log_variance_changes


def test_caveats_name_what_breaks_the_model_and_where_a_baseline_wins():
    from training.unet.caveats import unet_caveats

    def entry(unet, constant):
        return {"n_pixels": 1, "unet": {"mse_log10": unet}, "constant": {"mse_log10": constant}}

    metrics = {"mse_log10": 0.1,
               "robustness": {"smoothing_sigma_px": [
                   {"value": 0.0, "mse_log10": 0.1, "fraction_inside_68_interval": 0.68},
                   {"value": 1.0, "mse_log10": 0.12, "fraction_inside_68_interval": 0.6},
                   {"value": 2.0, "mse_log10": 0.2, "fraction_inside_68_interval": 0.6}]},
               "held_out": {"by_run_classes": {"all": entry(0.1, 0.2), "a:x": entry(0.1, 0.2),
                                               "a:y": entry(0.3, 0.2)}},
               "coverage_by_class_of_run": {"a:x": {"within_target": True},
                                            "a:y": {"within_target": False}}}
    notes = unet_caveats(metrics)
    assert "Gaussian smoothing of 2 px" in notes[0] and "of 1 px" not in notes[0]
    assert notes[1].startswith("On held-out runs of a:y the constant baseline")
    assert notes[2].endswith("on held-out a:y.")
    metrics["robustness"]["smoothing_sigma_px"][2]["mse_log10"] = 0.12
    metrics["held_out"]["by_run_classes"]["a:y"] = entry(0.1, 0.2)
    metrics["coverage_by_class_of_run"]["a:y"]["within_target"] = True
    assert unet_caveats(metrics) == []


def test_training_summary_reads_hydro_runs_whose_alfven_mach_is_infinite():
    from training.unet.mass_weighted_density_sims import _training_summary

    records = [{"set": "hydro", "label": "a", "seed": 0,
                "run_parameters": {"cells": 64},
                "snapshots": [{"mach_sonic": 1.4, "mach_alfven_total": "inf",
                               "time_turnovers": 0.1}]},
               {"set": "mhd", "label": "b", "seed": 0, "run_parameters": {"cells": 48},
                "snapshots": [{"mach_sonic": 7.0, "mach_alfven_total": 0.7,
                               "time_turnovers": 2.0}]}]
    text = _training_summary(records, {})
    assert "hydro:a: 1 runs (seeds [0]), 64^3, M_s 1.40-1.40, snapshots 0.1-0.1 T" in text
    assert "M_A(total field) 0.70-0.70" in text
