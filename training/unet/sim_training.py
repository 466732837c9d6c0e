"""Train, calibrate, export and evaluate a probabilistic U-Net on simulator maps.

The steps every simulator-trained U-Net shares (`training.unet.mass_weighted_density_sims`,
`training.unet.magnetic_energy`): periodic training crops, training with early stopping on
validation maps, temperature scaling of sigma on the calibration maps (whole runs the network
never trained on), export with parity, evaluation of the exported file on the held-out runs per
class of run beside the baselines, robustness curves, saliency graphs with their sanity check,
and the training-domain record. The model scripts give the maps, the baselines and the card.
"""

import json
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..common.provenance import utc_timestamp
from ..common.script_options import torch_thread_count

__all__ = ["SimUNetConfig", "FULL_CONFIG", "QUICK_CONFIG", "periodic_tiles", "train_sim_unet",
           "train_from_command"]


@dataclass(frozen=True)
class SimUNetConfig:
    """Net, crops and training settings of one simulator-trained U-Net (stored in the card).

    Attributes
    ----------
    widths, convs_per_block :
        `training.unet.nets.ProbabilisticUNet`.
    crop_size, crop_step : int
        Periodic training crops of each map.
    max_training_crops : int
        At most this many training crops (a seeded subsample), to bound the epoch time.
    tile_size, window_margin : int
        The runtime's tile and blending margin (the margin at least the receptive field).
    max_epochs, patience, warmup_epochs, batch_size, learning_rate, seed :
        `training.unet.train.UNetTrainingConfig`.
    detach_variance : bool
        `training.unet.nets.ProbabilisticUNet`'s option: the likelihood trains the variance
        head only, never the features the mean is made from.
    variance_refit : bool
        After training, refit the log-variance on the calibration runs, every class of run
        weighted alike (`training.unet.variance_refit`), and weight the classes alike in the
        temperature scaling too.
    variance_hidden : int
        `training.unet.nets.ProbabilisticUNet`'s option: channels of a separate log-variance
        head (0: the log-variance is linear in the features).
    variance_context_px : int
        `training.unet.nets.ProbabilisticUNet`'s option: the separate log-variance head also
        reads the features' means over this many px (0: none).
    variance_objective : {"likelihood", "coverage"}
        What the refit fits the log-variance to (`training.unet.variance_refit.OBJECTIVES`);
        ``"coverage"`` needs ``variance_hidden``.
    map_statistics : tuple of str
        `training.unet.nets.ProbabilisticUNet`'s option: statistics of the whole map
        (`glue_turbml.core.MAP_STATISTICS`) the separate log-variance head also reads; the
        exported graph then takes them as a second input, ``map_statistics``.
    """

    widths: tuple = (16, 32, 64)
    convs_per_block: int = 2
    crop_size: int = 48
    crop_step: int = 16
    max_training_crops: int = 12000
    tile_size: int = 128
    window_margin: int = 32
    max_epochs: int = 25
    patience: int = 5
    warmup_epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-3
    detach_variance: bool = False
    variance_refit: bool = False
    variance_hidden: int = 0
    variance_context_px: int = 0
    variance_objective: str = "likelihood"
    map_statistics: tuple = ()
    seed: int = 0

    def to_dict(self):
        """JSON-friendly copy."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}


FULL_CONFIG = SimUNetConfig()
#: For tests on tiny runs (its model is not shipped).
QUICK_CONFIG = SimUNetConfig(widths=(4, 8), convs_per_block=1, crop_size=8, crop_step=8,
                             max_training_crops=400, tile_size=32, window_margin=8,
                             max_epochs=2, patience=1, warmup_epochs=1, batch_size=16)


def periodic_tiles(raw_maps, tile_size):
    """A ``tile_size`` square of each periodic map (wrapped when the map is smaller).

    A periodic simulation map continues itself without a seam, so a tile larger than the map
    is a genuine piece of the same turbulence: these are the raw tiles the domain record fits,
    cut as the runtime cuts a user's larger map.
    """
    tiles = []
    for image in raw_maps:
        reps = [int(np.ceil(tile_size / side)) for side in image.shape]
        tiles.append(np.tile(image, reps)[:tile_size, :tile_size])
    return np.stack(tiles).astype(np.float64)


def _subsample(pairs, limit, seed):
    if len(pairs) <= limit:
        return pairs
    rng = np.random.default_rng([seed, 31])
    return pairs.select(np.sort(rng.choice(len(pairs), limit, replace=False)))


def train_sim_unet(*, name, config, sets, baselines, build_card, out, report_path=None,
                   command="", script, say=print, progress=False, with_saliency=True,
                   domain_description="", extra_sets=None):
    """Train, calibrate, export, evaluate and report one U-Net.

    Parameters
    ----------
    name : str
        Model name (for the log).
    config : SimUNetConfig
    sets : dict
        ``{"train", "validation", "calibration", "test"}`` -> list of
        `training.unet.sim_runs.MapPairs` of whole periodic maps, one entry per map size.
        ``validation`` stops the training early; ``calibration`` (runs never trained on) fits
        the sigma scale; ``test`` (held-out runs) is evaluated. ``calibration`` may be the
        same object as ``validation``.
    baselines : callable
        ``baselines(train_sets) -> predict`` (``train_sets`` the list of training
        `MapPairs`), where ``predict(pairs) -> {name: (n, 1, H, W)}``
        gives each baseline's prediction (fitted on the training maps only).
    build_card : callable
        ``build_card(metrics=..., training=..., receptive_field=..., date=...) -> dict``.
    out : str or path
        ONNX file to write.
    report_path : str or path, optional
        JSON report.
    command, script : str
        Recorded in the card; ``script`` names the module for the saliency step.
    say : callable
        Takes a line of log text.
    progress : bool
    with_saliency : bool
        End with the saliency graphs and their sanity check (barely trained test nets may
        fail the guided reference, so tests of the pipeline turn it off).
    domain_description : str
        Where the domain record's tiles come from.
    extra_sets : dict, optional
        ``{name: list of MapPairs}`` also evaluated like the test maps (e.g. the test slabs of
        the training runs), under ``metrics["held_out_extra"]``.

    Returns
    -------
    dict
        The report.
    """
    import onnx
    import torch

    from glue_turbml.models import load_model_file, write_card

    from ..common.nets import count_weights
    from ..evaluation.add_domain import record_domain
    from ..evaluation.published import add_published
    from ..saliency.end_step import add_saliency_end_step
    from .calibration import apply_sigma_scale, fit_sigma_scale, interval_coverage
    from .caveats import add_unet_caveats
    from .evaluate import onnx_predictor
    from .export import export_unet
    from .nets import ProbabilisticUNet, receptive_field_radius
    from .sim_evaluation import (evaluate_sim_maps, periodic_map_statistics, periodic_predict,
                                 robustness_curves)
    from .sim_runs import concatenate_pairs, periodic_crops
    from .train import UNetTrainingConfig, predict_maps, train_unet
    from .variance_refit import class_weights, head_features, refit_variance_head

    start = time.perf_counter()
    train_crops = _subsample(concatenate_pairs([
        periodic_crops(pairs, crop_size=config.crop_size, crop_step=config.crop_step)
        for pairs in sets["train"]]), config.max_training_crops, config.seed)
    # early stopping on crops too (maps of several sizes do not stack)
    validation_crops = concatenate_pairs([
        periodic_crops(pairs, crop_size=config.crop_size, crop_step=config.crop_size)
        for pairs in sets["validation"]])
    count = lambda name: sum(len(pairs) for pairs in sets[name])  # noqa: E731
    say(f"{name}: {len(train_crops)} training crops from {count('train')} maps; "
        f"{len(validation_crops)} validation crops; {count('calibration')} calibration and "
        f"{count('test')} test maps")
    torch.manual_seed(config.seed)
    net = ProbabilisticUNet(widths=config.widths, convs_per_block=config.convs_per_block,
                            detach_variance=config.detach_variance,
                            variance_hidden=config.variance_hidden,
                            variance_context_px=config.variance_context_px,
                            map_statistics=config.map_statistics)
    if net.map_statistics:
        net.set_statistics_scaling(np.concatenate([
            periodic_map_statistics(pairs.inputs, net.map_statistics)
            for pairs in sets["train"]]))
    multiple = net.spatial_multiple
    receptive_field = receptive_field_radius(net, size=max(128, 8 * multiple))
    if receptive_field > config.window_margin:
        raise ValueError(f"the receptive-field radius {receptive_field} px exceeds the window "
                         f"margin {config.window_margin} px")
    margin = config.window_margin

    def predict_all(predict, pair_sets):
        return [periodic_predict(predict, pairs.inputs, margin=margin, multiple=multiple,
                                 map_statistics=net.map_statistics)
                for pairs in pair_sets]

    training_config = UNetTrainingConfig(learning_rate=config.learning_rate,
                                         batch_size=config.batch_size,
                                         max_epochs=config.max_epochs, patience=config.patience,
                                         warmup_epochs=config.warmup_epochs, seed=config.seed)
    result = train_unet(net, train_crops, validation_crops, training_config,
                        progress=progress, log=say)
    say(f"{name}: kept epoch {result.best_epoch} of {len(result.history)} "
        f"({result.seconds:.0f} s)")

    calibration_predictions = predict_all(lambda *inputs: predict_maps(net, *inputs),
                                          sets["calibration"])
    pixel_classes = np.concatenate([
        np.repeat(pairs.run_classes, pairs.targets[0].size) for pairs in sets["calibration"]])
    variance_fit = None
    if config.variance_refit:
        variance_fit = refit_variance_head(
            net, predict_all(lambda *inputs: head_features(net, *inputs), sets["calibration"]),
            [prediction[:, :1].astype(np.float64) - pairs.targets
             for prediction, pairs in zip(calibration_predictions, sets["calibration"])],
            [pairs.run_classes for pairs in sets["calibration"]], seed=config.seed,
            objective=config.variance_objective)
        likelihood_fit = variance_fit.get("likelihood_step", variance_fit)
        say(f"{name}: log-variance refitted on {variance_fit['n_pixels']} calibration "
            f"pixels of {variance_fit['n_classes']} classes of run (weighted NLL "
            f"{likelihood_fit['weighted_nll_constant']:.4f} for one sigma -> "
            f"{likelihood_fit['weighted_nll_fitted']:.4f})")
        if "likelihood_step" in variance_fit:
            say(f"{name}: then to the interval edges (weighted quantile loss "
                f"{variance_fit['weighted_interval_loss_constant']:.4f} for one sigma -> "
                f"{variance_fit['weighted_interval_loss_fitted']:.4f})")
        calibration_predictions = predict_all(lambda *inputs: predict_maps(net, *inputs),
                                              sets["calibration"])
    calibration_errors = np.concatenate([
        (prediction[:, :1].astype(np.float64) - pairs.targets).ravel()
        for prediction, pairs in zip(calibration_predictions, sets["calibration"])])
    calibration_sigma = np.concatenate([np.exp(0.5 * prediction[:, 1:].astype(np.float64)).ravel()
                                        for prediction in calibration_predictions])
    calibration = fit_sigma_scale(
        calibration_errors, calibration_sigma,
        weights=class_weights(pixel_classes) if config.variance_refit else None)
    calibration["by_class_of_run_after"] = {
        group: dict(zip(("inside_68", "inside_95"), interval_coverage(
            calibration_errors[pixel_classes == group],
            calibration_sigma[pixel_classes == group], scale=calibration["scale"])))
        for group in np.unique(pixel_classes).tolist()}
    if variance_fit is not None:
        calibration["variance_refit"] = variance_fit
    apply_sigma_scale(net, calibration["scale"])
    say(f"{name}: calibration maps' 68%/95% coverage by class of run: " + ", ".join(
        f"{group} {values['inside_68']:.3f}/{values['inside_95']:.3f}"
        for group, values in calibration["by_class_of_run_after"].items()))
    say(f"{name}: sigma scale {calibration['scale']:.3f} (calibration maps' 68%/95% coverage "
        f"{calibration['validation_inside_68_before']:.3f}/"
        f"{calibration['validation_inside_95_before']:.3f} -> "
        f"{calibration['validation_inside_68_after']:.3f}/"
        f"{calibration['validation_inside_95_after']:.3f})")

    training = {"net": net.config, "n_weights": count_weights(net),
                "receptive_field_radius_px": receptive_field,
                "hyperparameters": training_config.to_dict(), "experiment": config.to_dict(),
                "best_epoch": result.best_epoch, "epochs_run": len(result.history),
                "stopped_early": result.stopped_early, "torch_threads": torch_thread_count(),
                "n_training_crops": len(train_crops),
                "sigma_calibration": calibration,
                "objective": "squared error for the mean + Gaussian NLL for the log-variance "
                             "with the mean's gradient stopped "
                             "(training.unet.nets.mean_then_variance_loss)"
                             + ("; the log-variance head reads the features with their "
                                "gradient stopped, so only the squared error shapes them"
                                if config.detach_variance else "")
                             + ("; after training its log-variance ("
                                + ("its own small head" if config.variance_hidden
                                   else "the head's row") + ") is refitted on the "
                                "calibration runs, every class of run weighted alike"
                                + (", to the Gaussian NLL and then to quantile losses at the "
                                   "68% and 95% interval edges"
                                   if config.variance_objective == "coverage" else "")
                                if config.variance_refit else ""),
                "selection": "epoch with the lowest validation Gaussian NLL after the MSE "
                             "warm-up epochs, on whole periodic validation maps"}
    date = utc_timestamp()

    def card_with_report(**parts):
        card = build_card(**parts)
        # `python -m training.evaluation.report MODEL` finds the training report here
        card["provenance"]["report"] = None if report_path is None else os.fspath(report_path)
        return card

    placeholder = card_with_report(metrics={}, training=training,
                                   receptive_field=receptive_field, date=date)
    test_inputs = sets["test"][0].inputs
    parity_size = test_inputs.shape[-1] - test_inputs.shape[-1] % multiple
    exported = export_unet(net, out, placeholder, tile_size=config.crop_size,
                           parity_images=test_inputs[:8],
                           parity_statistics=(periodic_map_statistics(test_inputs[:8],
                                                                      net.map_statistics)
                                              if net.map_statistics else None),
                           parity_tile_sizes=tuple(sorted({config.crop_size, parity_size})),
                           seed=config.seed)
    say(f"{name}: exported {exported.path}; torch/onnxruntime parity max |diff| "
        f"{max(record['max_abs_diff'] for record in exported.parity):.2e}")

    onnx_predict = onnx_predictor(exported.path)
    predict_baselines = baselines(sets["train"])
    depths = {value for pairs in sets["test"] for value in pairs.depth_fractions.tolist()}
    # per run too: with several held-out runs per class, how far one run's coverage strays
    # from its class's says how much of a miss is run-to-run scatter
    groups = ("run_classes", "runs", "depth_fractions", "times") if len(depths) > 1 \
        else ("run_classes", "runs", "times")
    evaluation = evaluate_sim_maps(sets["test"], predict_all(onnx_predict, sets["test"]),
                                   [predict_baselines(pairs) for pairs in sets["test"]],
                                   group_names=groups)
    extra = {name: evaluate_sim_maps(pair_sets, predict_all(onnx_predict, pair_sets),
                                     [predict_baselines(pairs) for pairs in pair_sets],
                                     group_names=("run_classes",))
             for name, pair_sets in (extra_sets or {}).items()}
    robustness = robustness_curves(onnx_predict, sets["test"], margin=margin,
                                   multiple=multiple, seed=config.seed,
                                   map_statistics=net.map_statistics)
    headline = evaluation["all"]
    per_class = evaluation["by_run_classes"]
    metrics = {
        "evaluation": "held-out runs (never used in training, validation or calibration), "
                      "whole periodic maps through the exported ONNX file",
        "mse_log10": headline["unet"]["mse_log10"],
        "bias_log10": headline["unet"]["mean_error_log10"],
        "fraction_inside_68_interval": headline["unet"]["fraction_inside_68_interval"],
        "fraction_inside_95_interval": headline["unet"]["fraction_inside_95_interval"],
        "n_test_maps": evaluation["n_maps"],
        **{f"baseline_{key}_mse_log10": value["mse_log10"]
           for key, value in headline.items() if key not in ("unet", "n_pixels")},
        # the whole entries too, as the lognormal-trained card had them
        "unet": headline["unet"],
        **{f"baseline_{key}": value for key, value in headline.items()
           if key not in ("unet", "n_pixels")},
        "coverage_by_class_of_run": {
            group: {"inside_68": entry["unet"]["fraction_inside_68_interval"],
                    "inside_95": entry["unet"]["fraction_inside_95_interval"],
                    "within_target": abs(entry["unet"]["fraction_inside_68_interval"] - 0.68)
                    <= 0.05 and abs(entry["unet"]["fraction_inside_95_interval"] - 0.95)
                    <= 0.03}
            for group, entry in per_class.items() if group != "all"},
        "held_out": evaluation,
        "held_out_extra": extra,
        "robustness": robustness,
        "sigma_calibration": calibration,
    }
    model_proto = onnx.load(exported.path)
    write_card(model_proto, card_with_report(metrics=metrics, training=training,
                                             receptive_field=receptive_field, date=date))
    onnx.save_model(model_proto, exported.path, save_as_external_data=False)
    for group, entry in per_class.items():
        unet = entry["unet"]
        say(f"{name}: {group:<36} MSE(log10) {unet['mse_log10']:.4f} bias "
            f"{unet['mean_error_log10']:+.4f} 68%/95% {unet['fraction_inside_68_interval']:.3f}"
            f"/{unet['fraction_inside_95_interval']:.3f}; " + "; ".join(
                f"{key} {value['mse_log10']:.4f}" for key, value in entry.items()
                if key not in ("unet", "n_pixels")))
    add_unet_caveats(out)
    add_published(out)   # the seed's number beside ours, when a seed publishes one
    saliency = None
    if with_saliency:
        saliency = add_saliency_end_step(out, report_path, command=command, script=script,
                                         say=say)
    raw_maps = lambda name: [image for pairs in sets[name]  # noqa: E731
                             for image in pairs.raw[:, 0]]
    domain = record_domain(
        out, {"fit": (periodic_tiles(raw_maps("train"), config.tile_size),
                      np.zeros(count("train"), int)),
              "calibration": None,
              "test": (periodic_tiles(raw_maps("test"), config.tile_size),
                       np.zeros(count("test"), int))},
        command=command, fit_groups=np.concatenate([pairs.runs for pairs in sets["train"]]),
        description=domain_description or (
            "raw training maps (fit; thresholds from each training run scored without it) and "
            "held-out test maps (measured), periodic maps tiled to the card's tile size"))
    held_out = domain["domain"]["measured"]["held_out_training_domain"]
    say(f"{name}: domain check flags {held_out['flagged_fraction']:.1%} of "
        f"{held_out['n_tiles']} held-out maps")
    report = {"model": name, "onnx_file": os.fspath(out), "command": command, "date": date,
              "config": config.to_dict(), "metrics": metrics, "history": result.history,
              "parity": exported.parity, "saliency": saliency, "domain": domain,
              "card": load_model_file(out).card,
              "seconds_total": round(time.perf_counter() - start, 1)}
    if report_path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(report_path)), exist_ok=True)
        with open(report_path, "w", encoding="utf-8") as stream:
            json.dump(report, stream, indent=1, default=float)
    return report


def train_from_command(arguments, *, name, config, sets, fit_baselines, build_card, command,
                       script, extra_sets=None):
    """`train_sim_unet` as a model script's ``main`` calls it, from its parsed arguments.

    Parameters
    ----------
    arguments : argparse.Namespace
        With ``out``, ``report``, ``quick`` and ``no_progress``.
    name : str
    config : SimUNetConfig
    sets : dict
        As `train_sim_unet`.
    fit_baselines : callable
        ``fit_baselines(train_sets) -> predict``; ``predict.parameters`` (if any) reach the
        card as ``baseline_parameters``.
    build_card : callable
        ``build_card(baseline_parameters=..., metrics=..., training=...,
        receptive_field=..., date=...) -> dict``.
    command, script : str
    extra_sets : dict, optional

    Returns
    -------
    dict
        The report.
    """
    from tqdm.auto import tqdm

    fitted = {}

    def baselines(train_sets):
        fitted["predict"] = fit_baselines(train_sets)
        return fitted["predict"]

    def card(**parts):
        return build_card(baseline_parameters=getattr(fitted.get("predict"), "parameters",
                                                      None), **parts)

    say = tqdm.write if not arguments.no_progress else (lambda text: print(text, flush=True))
    return train_sim_unet(name=name, config=config, sets=sets, baselines=baselines,
                          build_card=card, out=arguments.out, report_path=arguments.report,
                          command=command, script=script, say=say,
                          progress=not arguments.no_progress,
                          with_saliency=not arguments.quick, extra_sets=extra_sets)
