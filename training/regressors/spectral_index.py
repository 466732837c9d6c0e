"""Train the ``spectral-index`` regressor: the velocity power-spectrum slope from column density.

The data are the decaying hydro runs of ``training/sim/recipes/spectral_index_64_cpu.toml``:
initial velocity spectra P_v ~ k^-s with s = 3.0, 3.25, ..., 4.5, Mach-matched at M_s ~ 1.41,
snapshots at 0.1-0.2 turnovers. The target of each map is its run's s. Column-density maps
along lattice directions (`training.classifiers.alfven_data`, as for the Alfven column model),
``log10 > equalize_hist`` (the value's spatial structure, not the density PDF's width, which
also changes with s at fixed M_s), whole runs held out (the largest seed of each slope tests,
the next validates and calibrates sigma). The network is a `TurbulenceCNN` with two outputs,
the slope and its log-variance. Against it on the same split: the obvious baseline, the slope of
the map's own 2D power spectrum mapped linearly to s, and HOG + SVR. Run as::

    python -m training.regressors.spectral_index /work/simdata/hydro/spectral_index_64_cpu \\
        --out onnx_models/spectral-index.onnx --report docs/results/spectral_index.json
"""

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..common.provenance import code_version, command_line, utc_timestamp
from ..common.script_options import parse_run_arguments, run_config, torch_thread_count

__all__ = ["MODEL_NAME", "class_slopes", "map_spectrum_slope", "fit_baselines",
           "regression_scores", "robustness_curves", "main"]

MODEL_NAME = "spectral-index"
#: Wavenumbers of the map's own power-spectrum fit (the baseline): above the driving scales,
#: below the 64^3 dissipation range.
SLOPE_FIT_K = (2.0, 12.0)
#: The run-identity control trains on the first snapshot (0.1 T) and scores the last (0.2 T):
#: the largest gap the recipe's snapshots allow.
IDENTITY_GAP_TURNOVERS = 0.1


def class_slopes(set_folder):
    """Class name -> initial velocity spectral slope, from the recipe record of the run set."""
    recipe = json.loads((Path(set_folder) / "recipe.json").read_text())
    return {name: float(parameters["initial_velocity_slope"])
            for name, parameters in recipe["classes"].items()}


def map_spectrum_slope(image):
    """Slope of the radially averaged 2D power spectrum of ``image / mean`` over `SLOPE_FIT_K`."""
    from glue_turbml.core import fit_power_law_slope, radial_power_spectrum

    image = np.asarray(image, dtype=np.float64)
    k, power = radial_power_spectrum(image / image.mean())
    return float(fit_power_law_slope(k, power, k_min=SLOPE_FIT_K[0], k_max=SLOPE_FIT_K[1]))


def fit_baselines(raw_maps, inputs, targets):
    """The map's own spectral slope (mapped linearly to the target) and HOG + SVR.

    Parameters
    ----------
    raw_maps : sequence of numpy.ndarray
        Training maps before preprocessing (the spectrum baseline reads these).
    inputs : numpy.ndarray
        ``(n, 1, H, W)`` preprocessed training maps (HOG reads these).
    targets : numpy.ndarray

    Returns
    -------
    callable
        ``predict(raw_maps, inputs) -> {"map_spectrum_slope": ..., "hog_svr": ...}``; its
        ``parameters`` attribute records the fits.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    from ..evaluation.baselines import hog_features

    slopes = np.array([map_spectrum_slope(image) for image in raw_maps])
    design = np.stack([np.ones_like(slopes), slopes], axis=1)
    coefficients = np.linalg.lstsq(design, np.asarray(targets, dtype=np.float64), rcond=None)[0]
    hog = make_pipeline(StandardScaler(), SVR(C=1.0, epsilon=0.05))
    hog.fit(hog_features(inputs), targets)

    def predict(test_raw, test_inputs):
        test_slopes = np.array([map_spectrum_slope(image) for image in test_raw])
        return {"map_spectrum_slope": coefficients[0] + coefficients[1] * test_slopes,
                "hog_svr": hog.predict(hog_features(test_inputs))}
    predict.parameters = {"map_spectrum_slope": {
        "intercept": float(coefficients[0]), "per_unit_of_map_slope": float(coefficients[1]),
        "k_range": list(SLOPE_FIT_K)},
        "hog_svr": "scikit-image HOG (training.evaluation.baselines.hog_features) + "
                   "StandardScaler + SVR(C=1, epsilon=0.05), seed-free"}
    return predict


def regression_scores(predicted, truth, sigma=None):
    """RMSE, bias and (with sigma) 68%/95% coverage."""
    errors = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    scores = {"rmse": float(np.sqrt(np.mean(errors ** 2))), "bias": float(np.mean(errors)),
              "n_maps": int(errors.size)}
    if sigma is not None:
        from ..unet.calibration import interval_coverage

        scores["inside_68"], scores["inside_95"] = interval_coverage(errors, sigma)
    return scores


def _by_value(values, predicted, truth, sigma):
    values = np.asarray(values, dtype=np.float64)
    return {f"{value:g}": regression_scores(predicted[values == value], truth[values == value],
                                            sigma[values == value])
            for value in np.unique(values[np.isfinite(values)])}


def robustness_curves(session, raw_maps, targets, *, pipeline, seed):
    """RMSE and 68% coverage of the exported regressor as held-out maps are degraded."""
    from ..evaluation.robustness import DEFAULT_CURVES, noisy, smoothed, zoomed

    input_name = session.get_inputs()[0].name
    transforms = {"smoothing_sigma_px": lambda image, value, rng: smoothed(
        image, value, boundary="periodic"),
        "zoom_factor": lambda image, value, rng: zoomed(image, value, boundary="periodic"),
        "noise_snr": lambda image, value, rng: noisy(image, value, rng=rng)}
    results = {"seed": int(seed)}
    for name, values in DEFAULT_CURVES.items():
        rows = []
        for value in values:
            rng = np.random.default_rng([seed, len(rows), 23])
            outputs = np.concatenate([
                session.run(None, {input_name: pipeline(
                    transforms[name](image, value, rng)[np.newaxis]).astype(
                        np.float32)[:, np.newaxis]})[0] for image in raw_maps])
            rows.append({"value": float(value),
                         **regression_scores(outputs[:, 0], targets,
                                             np.exp(0.5 * outputs[:, 1]))})
        results[name] = rows
    return results


def _build_card(*, config, net, training, metrics, records, slopes, split, map_size, command,
                date, report_path):
    from ..classifiers.alfven import preprocess_steps, training_data_summary

    return {
        "schema_version": 1,
        "name": MODEL_NAME,
        "version": "0.1.0",
        "task": "regression",
        "description": (
            "The velocity power-spectrum slope s (P_v ~ k^-s, about 3 to 4.5) of decaying "
            "isothermal hydro turbulence at M_s ~ 1.41, from a column-density map, with a "
            "calibrated per-map Gaussian uncertainty. Trained on our own 64^3 runs "
            "(training.sim) whose initial velocity spectra span s = 3.0-4.5, 0.1-0.2 "
            "turnovers into the decay."),
        "input": {"name": "image", "kind": "column-density map", "description": (
            f"{map_size}x{map_size} maps, one channel, NCHW float32, after preprocessing; the "
            "graph accepts other sizes (global average pooling)"),
            "tile_size": int(map_size), "channels": 1, "dtype": "float32", "units": "",
            "layout": "NCHW"},
        "outputs": [{"name": "prediction", "units": "", "activation": "none", "description": (
            "two values per map: the slope s and the natural log of its variance"),
            "channels": [
                {"name": "spectral_index", "units": "", "label": "velocity spectral index",
                 "description": "s of the velocity power spectrum P_v ~ k^-s"},
                {"name": "log_variance", "units": "",
                 "description": "natural log of the variance of s (calibrated); sigma = "
                                "exp(0.5 * log_variance)"}]}],
        "preprocess": preprocess_steps(False),
        "tiling": {"stride": int(map_size) // 2, "boundary": "periodic", "combine": "mean",
                   "min_valid_fraction": 0.5},
        "saliency": {"methods": ["occlusion"]},
        "provenance": {
            "training_data": {
                "summary": training_data_summary(records),
                "runs": records, "kind": "columns",
                "directions": [list(direction) for direction in config.directions],
                "class_slopes": slopes,
                "target": "the run's initial velocity spectral slope s (recipe parameter "
                          "initial_velocity_slope); the measured 3D slopes at each snapshot "
                          "are in docs/results/sim_recipes_hydro.txt"},
            "split": {"method": "whole runs: the largest seed of each slope tests, the next "
                                "validates (early stopping) and calibrates sigma",
                      "runs": split},
            "seeds": {"torch": config.seed, "baselines": config.seed, "noise": config.seed},
            "training": training,
            "report": None if report_path is None else os.fspath(report_path),
            "command": command, "code_version": code_version(), "date": date},
        "metrics": metrics,
    }


def _parser():
    parser = argparse.ArgumentParser(prog="python -m training.regressors.spectral_index",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("set", help="output folder of the spectral_index_64_cpu recipe")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--report", required=True, help="JSON report to write")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    import onnx
    import onnxruntime
    import torch

    from glue_turbml.core import build_pipeline
    from glue_turbml.evaluation import expand_class_specs
    from glue_turbml.models import load_model_file, write_card

    from ..classifiers.alfven import (FULL_CONFIG, QUICK_CONFIG, preprocess_steps,
                                      run_identity_control, tile_dataset)
    from ..classifiers.alfven_data import load_labelled_maps
    from ..common.export import check_parity, export_onnx_with_card
    from ..common.nets import TurbulenceCNN, count_weights
    from ..evaluation.add_domain import record_domain
    from ..saliency.end_step import add_saliency_end_step
    from ..unet.calibration import fit_sigma_scale
    from .train import RegressionTrainingConfig, predict_values, train_regressor

    argv, arguments = parse_run_arguments(_parser(), argv, quick_help="tiny net, for tests")
    config = replace(run_config(arguments, quick=QUICK_CONFIG, full=FULL_CONFIG),
                     kind="columns")
    command = command_line("training.regressors.spectral_index", argv)
    start = time.perf_counter()
    slopes = class_slopes(arguments.set)
    names = sorted(slopes, key=slopes.get)
    data = load_labelled_maps(
        expand_class_specs([f"{name}={Path(arguments.set) / name / 'seed_*' / 'snapshot_*.fits'}"
                            for name in names], names), names,
        kind="columns", directions=config.directions)
    seeds = np.array([data.records[run]["seed"] for run in data.runs])
    unique = sorted(set(seeds.tolist()))
    masks = {"test": seeds == unique[-1], "validation": seeds == unique[-2]}
    masks["train"] = ~masks["test"] & ~masks["validation"]
    values = np.array([slopes[name] for name in names])
    sets = {name: tile_dataset(data, mask, config=config,
                               shifts=config.shift if name == "train" else None,
                               degrade=name == "train") for name, mask in masks.items()}
    targets = {name: values[dataset.labels] for name, dataset in sets.items()}
    map_size = data.maps[0].shape[0]
    print(f"{MODEL_NAME}: {len(sets['train'])} training inputs, {len(sets['validation'])} "
          f"validation, {len(sets['test'])} test maps; slopes {values.tolist()}", flush=True)

    torch.manual_seed(config.seed)
    net = TurbulenceCNN(in_channels=1, n_classes=2, widths=config.widths, hidden=config.hidden)
    with torch.no_grad():   # start at the middle of the range, unit variance
        net.head[-1].bias.copy_(torch.tensor([float(values.mean()), 0.0]))
    training_config = RegressionTrainingConfig(
        learning_rate=config.learning_rate, batch_size=config.batch_size,
        max_epochs=config.max_epochs, patience=config.patience, seed=config.seed,
        warmup_epochs=1 if arguments.quick else 3)
    result = train_regressor(net, sets["train"].images, targets["train"],
                             sets["validation"].images, targets["validation"],
                             training_config, log=lambda text: print(text, flush=True))
    validation_output = predict_values(net, sets["validation"].images)
    calibration = fit_sigma_scale(validation_output[:, 0] - targets["validation"],
                                  np.exp(0.5 * validation_output[:, 1]))
    with torch.no_grad():   # fold the sigma scale into the last layer
        net.head[-1].bias[1] += 2.0 * float(np.log(calibration["scale"]))
    print(f"{MODEL_NAME}: kept epoch {result.best_epoch}; sigma scale "
          f"{calibration['scale']:.3f}", flush=True)

    rows = {name: np.flatnonzero(mask) for name, mask in masks.items()}
    raw = {name: [data.maps[index] for index in indices] for name, indices in rows.items()}
    baselines = fit_baselines(raw["train"], tile_dataset(data, masks["train"], config=config,
                                                         shifts=None).images,
                              values[data.labels[rows["train"]]])
    training = {"net": dict(net.config, n_weights=count_weights(net)),
                "hyperparameters": training_config.to_dict(), "config": config.to_dict(),
                "best_epoch": result.best_epoch, "epochs_run": len(result.history),
                "torch_threads": torch_thread_count(), "sigma_calibration": calibration,
                "baselines": baselines.parameters}
    date = utc_timestamp()
    split = {name: sorted({f"{data.records[run]['label']}:{data.records[run]['seed']}"
                           for run in data.runs[mask]}) for name, mask in masks.items()}
    card_parts = dict(config=config, net=net, training=training, records=data.records,
                      slopes=slopes, split=split, map_size=map_size, command=command, date=date,
                      report_path=arguments.report)
    net = net.cpu().eval()
    from torch.export import Dim

    example = torch.rand((2, 1, map_size, map_size), generator=torch.Generator().manual_seed(0))
    path, _ = export_onnx_with_card(
        net, (example,), arguments.out, _build_card(metrics={}, **card_parts),
        input_names=["image"], output_names=["prediction"],
        dynamic_shapes={"images": {0: Dim("batch", min=1), 2: Dim("height", min=8),
                                   3: Dim("width", min=8)}})
    parity = check_parity(net, path, images=sets["test"].images[:16], batch_sizes=(1, 5),
                          tile_sizes=(map_size,), tolerance=1e-4, seed=config.seed + 12345)

    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    output = np.concatenate([session.run(None, {"image": sets["test"].images[start:start + 64]})[0]
                             for start in range(0, len(sets["test"]), 64)])
    truth, sigma = targets["test"], np.exp(0.5 * output[:, 1])
    baseline_predictions = baselines(raw["test"], sets["test"].images)
    test_rows = rows["test"]
    metrics = {
        "evaluation": "held-out runs (the largest seed of each slope), whole maps through the "
                      "exported ONNX file",
        "rmse": regression_scores(output[:, 0], truth)["rmse"],
        **{f"baseline_{key}_rmse": regression_scores(value, truth)["rmse"]
           for key, value in baseline_predictions.items()},
        "network": regression_scores(output[:, 0], truth, sigma),
        "baselines": {key: regression_scores(value, truth)
                      for key, value in baseline_predictions.items()},
        "by_true_slope": _by_value(truth, output[:, 0], truth, sigma),
        "by_time_turnovers": _by_value(np.round(data.times[test_rows], 3), output[:, 0], truth,
                                       sigma),
        "by_angle_degrees": _by_value(data.angles[test_rows], output[:, 0], truth, sigma),
        "robustness": robustness_curves(session, raw["test"], truth,
                                        pipeline=build_pipeline(preprocess_steps(False)),
                                        seed=config.seed),
        # Seed-vs-seed: can the same CNN tell two runs of one slope apart 0.1 T later? If so,
        # a split by snapshot would let a regressor recognise runs; the split above holds out
        # whole seeds for that reason.
        "run_identity_control": run_identity_control(data, masks["train"], config=config,
                                                     gap_turnovers=IDENTITY_GAP_TURNOVERS),
    }
    model_proto = onnx.load(os.fspath(path))
    write_card(model_proto, _build_card(metrics=metrics, **card_parts))
    onnx.save(model_proto, os.fspath(path))
    print(f"{MODEL_NAME}: held-out RMSE {metrics['rmse']:.4f} (68%/95% "
          f"{metrics['network']['inside_68']:.3f}/{metrics['network']['inside_95']:.3f}); "
          + "; ".join(f"{key} {value['rmse']:.4f}" for key, value in metrics["baselines"].items()),
          flush=True)
    for value, scores in metrics["by_true_slope"].items():
        print(f"   s = {value}: RMSE {scores['rmse']:.3f} bias {scores['bias']:+.3f}", flush=True)
    identity = metrics["run_identity_control"]
    print(f"{MODEL_NAME}: run-identity control mean accuracy {identity['mean_accuracy']} "
          f"(chance 0.5 +- {identity['tolerance']}); skipped {identity['skipped']}", flush=True)
    saliency = None
    if not arguments.quick:
        saliency = add_saliency_end_step(path, arguments.report, command=command,
                                         script="training.regressors.spectral_index",
                                         say=lambda text: print(text, flush=True))
    domain = record_domain(
        path, {"fit": (np.stack(raw["train"] + raw["validation"]).astype(np.float64),
                       np.zeros(len(rows["train"]) + len(rows["validation"]), int)),
               "calibration": None,
               "test": (np.stack(raw["test"]).astype(np.float64),
                        np.zeros(len(test_rows), int))},
        command=command, fit_groups=np.concatenate([data.runs[rows["train"]],
                                                    data.runs[rows["validation"]]]),
        description="raw maps of the training and validation runs (fit; thresholds from each "
                    "run scored without it) and of the held-out runs (measured)")
    report = {"model": MODEL_NAME, "command": command, "date": date, "metrics": metrics,
              "history": result.history, "parity": parity, "saliency": saliency,
              "domain": domain, "card": load_model_file(path).card,
              "seconds_total": round(time.perf_counter() - start, 1)}
    os.makedirs(os.path.dirname(os.path.abspath(arguments.report)), exist_ok=True)
    with open(arguments.report, "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=1, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
