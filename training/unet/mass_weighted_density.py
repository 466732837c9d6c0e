"""Train, export and evaluate a lognormal-field U-Net (column density -> <n>_m), the
``mass-weighted-density-lognormal`` demonstration variant.

Ribeiro & Hily-Blant map a column-density map N = int n dz to the mass-weighted mean density
along each line of sight, <n>_m = (1/N) int n^2 dz. This script does the same on seeded
lognormal random-phase density cubes (not MHD simulations), writes the ONNX model with its card,
and a log and JSON report under ``docs/results/``; it ends with the saliency graphs and their
randomization sanity check (`training.saliency.end_step`). The shipped ``mass-weighted-density``
was made this way until it was retrained on our simulations
(`training.unet.mass_weighted_density_sims`); this variant is no longer shipped::

    OMP_NUM_THREADS=1 nice -n 10 python -m training.unet.mass_weighted_density \\
        --out mass-weighted-density-lognormal.onnx \\
        --report docs/results/mass_weighted_density.json --threads 1
"""

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass

from ..common.provenance import code_version, command_line, utc_timestamp
from ..common.script_options import parse_run_arguments, run_config, torch_thread_count
from .card_sections import unet_card_sections
__all__ = ["UNetExperimentConfig", "FULL_CONFIG", "QUICK_CONFIG", "build_unet_card",
           "run_experiment", "main"]

MODEL_NAME = "mass-weighted-density-lognormal"
MODEL_VERSION = "0.1.0"
#: Column-density units the runtime accepts (any scale: the map is divided by its mean).
ACCEPTED_UNITS = ("", "cm-2", "m-2", "g cm-2", "solMass pc-2")


@dataclass(frozen=True)
class UNetExperimentConfig:
    """Data, net and training settings of one run (all stored in the card)."""

    n_train: int = 40
    n_validation: int = 6
    n_test: int = 8
    cube_size: int = 128
    crop_size: int = 64
    crop_step: int = 32
    slope_range: tuple = (3.0, 4.5)
    sigma_ln_range: tuple = (0.5, 2.0)
    widths: tuple = (16, 32, 64)
    convs_per_block: int = 2
    tile_size: int = 128
    window_margin: int = 32
    max_epochs: int = 20
    patience: int = 4
    warmup_epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0

    def to_dict(self):
        """JSON-friendly copy."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}


FULL_CONFIG = UNetExperimentConfig()
#: Tiny version for tests: a few small cubes, two epochs, a narrow net.
QUICK_CONFIG = UNetExperimentConfig(n_train=3, n_validation=1, n_test=1, cube_size=64,
                                    crop_size=32, crop_step=32, widths=(4, 8, 8),
                                    convs_per_block=1, tile_size=64, window_margin=16,
                                    max_epochs=3, warmup_epochs=1, patience=2)


def build_unet_card(config, *, net_config, training_record, data_parameters, split, metrics,
                    receptive_field, command, date):
    """The model card (without ``weights_sha256``) of a mass-weighted-density U-Net.

    Parameters
    ----------
    config : UNetExperimentConfig
    net_config : dict
        ``ProbabilisticUNet.config``.
    training_record : dict
        Hyperparameters, best epoch, epochs run.
    data_parameters : dict
        `training.unet.data.MapPairDataset.parameters` (with the cube list).
    split : dict
        Cube ids per split.
    metrics : dict
        Held-out metrics (may be empty before evaluation).
    receptive_field : int
        Measured receptive-field radius in pixels.
    command, date : str

    Returns
    -------
    dict
    """
    spatial_multiple = 2 ** (len(config.widths) - 1)
    training_data = dict(data_parameters)
    training_data.update({
        "summary": (
            "Synthetic lognormal random-phase density cubes, NOT MHD or hydrodynamic "
            f"simulations: {config.n_train + config.n_validation + config.n_test} periodic "
            f"{config.cube_size}^3 cubes exp(sigma_ln g), g Gaussian with P(k) ~ k^-slope, slope "
            f"uniform in {list(config.slope_range)}, sigma_ln uniform in "
            f"{list(config.sigma_ln_range)}, each divided by its mean; projected along all three "
            f"axes over the full depth ({config.cube_size} cells = the map width) and cut into "
            f"{config.crop_size}x{config.crop_size} periodic crops every {config.crop_step} px."),
        "cube_seeds": "numpy.random.default_rng([seed, 5, cube_id]) phases; slopes and widths "
                      f"from default_rng([seed, 5]); seed={config.seed}",
    })
    return {
        "schema_version": 1,
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "task": "image_to_image",
        "description": (
            "Maps a column-density map N to the mass-weighted mean density along each line of "
            "sight, <n>_m = (1/N) int n^2 dz (Ribeiro & Hily-Blant), relative to the mean "
            "density, with a per-pixel Gaussian uncertainty (heteroscedastic likelihood). A "
            "demonstration model trained only on lognormal random-phase cubes whose depth "
            "equals the map width; it is not calibrated on simulations with gravity or on "
            "observations."),
        **unet_card_sections(config, input_fields={
            "kind": "column-density map (N = int n dz), divided by its own mean",
            "description": (
                "a 2D column-density (or mass surface density) map of any size; the runtime "
                "divides it by its mean over finite pixels, takes log10 and cuts "
                f"{config.tile_size}x{config.tile_size} tiles. The graph accepts any height "
                f"and width that are multiples of {spatial_multiple}. Pixel scale does not "
                "enter (scale-free training fields), but the model assumes a line-of-sight "
                "depth comparable to the map width in pixels."),
            "units": "cm-2", "accepted_units": list(ACCEPTED_UNITS)},
            target="log10(<n>_m / n0)", calibrated=False, channel={
                "name": "log_density_ratio",
                "description": "predicted mean of log10(<n>_m / n0), n0 = mean density = "
                               "mean(N) / depth; times n0 gives <n>_m in cm-3"}),
        "provenance": {
            "training_data": training_data,
            "split": {"method": "whole cubes (realizations) per split, never shared: all "
                                "projections and crops of a cube stay in one set",
                      "seed": config.seed, "realization_ids": split},
            "seeds": {"cubes": config.seed, "split": config.seed, "torch": config.seed,
                      "export": config.seed},
            "training": {"net": net_config, "experiment": config.to_dict(),
                         **training_record,
                         "receptive_field_radius_px": receptive_field,
                         "objective": "squared error for the mean + Gaussian NLL for the "
                                      "log-variance with the mean's gradient stopped "
                                      "(training.unet.nets.mean_then_variance_loss)",
                         "selection": "epoch with the lowest validation Gaussian NLL (after "
                                      "the MSE warm-up epochs)"},
            "command": command,
            "code_version": code_version(),
            "date": date,
        },
        "metrics": metrics,
    }


def run_experiment(config, *, out, report_path=None, log_path=None, command="", progress=True,
                   with_saliency=True):
    """Build the data, train, export, evaluate on held-out cubes and write card and report.

    Parameters
    ----------
    config : UNetExperimentConfig
    out : str or os.PathLike
        ONNX file to write.
    report_path, log_path : str, optional
        JSON report and text log to write.
    command : str
        The command line, recorded in the card.
    progress : bool
    with_saliency : bool
        End with the saliency graphs and their sanity check (`training.saliency.end_step`).
        They refuse a net whose guided-backprop reference is all zero, which a barely trained
        net (the tiny test configuration) can be, so tests of the training itself turn it off.

    Returns
    -------
    dict
        The report.
    """
    import functools

    import onnx
    import torch
    from tqdm.auto import tqdm

    from glue_turbml.models import load_model_file, write_card

    from ..common.datasets import split_realizations
    from .data import build_map_pair_dataset, random_cube_parameters
    from .evaluate import evaluate_predictions, fit_power_law, format_metrics, onnx_predictor
    from .export import export_unet
    from ..common.nets import count_weights
    from ..saliency.end_step import add_saliency_end_step
    from .nets import ProbabilisticUNet, receptive_field_radius
    from .train import UNetTrainingConfig, train_unet

    log_lines = []

    def say(text):
        log_lines.append(text)
        tqdm.write(text)

    start = time.perf_counter()
    n_cubes = config.n_train + config.n_validation + config.n_test
    cubes = random_cube_parameters(n_cubes, slope_range=config.slope_range,
                                   sigma_ln_range=config.sigma_ln_range, seed=config.seed)
    split = split_realizations([cube["id"] for cube in cubes], [0] * n_cubes,
                               n_validation=config.n_validation, n_test=config.n_test,
                               seed=config.seed)
    by_id = {cube["id"]: cube for cube in cubes}
    bar = functools.partial(tqdm, desc="cubes", disable=not progress, leave=False)
    train_set = build_map_pair_dataset([by_id[i] for i in split["train"]],
                                       cube_size=config.cube_size, crop_size=config.crop_size,
                                       crop_step=config.crop_step, progress=bar)
    validation_set = build_map_pair_dataset([by_id[i] for i in split["validation"]],
                                            cube_size=config.cube_size,
                                            crop_size=config.crop_size,
                                            crop_step=config.crop_size, progress=bar)
    # Held-out maps whole (the net is size-agnostic), no crops or shifts.
    test_set = build_map_pair_dataset([by_id[i] for i in split["test"]],
                                      cube_size=config.cube_size, crop_size=config.cube_size,
                                      crop_step=config.cube_size, progress=bar)
    say(f"data: {len(train_set)} training crops, {len(validation_set)} validation crops, "
        f"{len(test_set)} test maps ({time.perf_counter() - start:.0f} s); split {split}")

    torch.manual_seed(config.seed)
    net = ProbabilisticUNet(widths=config.widths, convs_per_block=config.convs_per_block)
    receptive_field = receptive_field_radius(net, size=max(128, 8 * net.spatial_multiple))
    if receptive_field > config.window_margin:
        raise ValueError(f"the receptive-field radius {receptive_field} px exceeds the blending "
                         f"window margin {config.window_margin} px; tiles would not reproduce "
                         "whole-map inference")
    say(f"net: {count_weights(net)} weights, receptive-field radius {receptive_field} px, "
        f"spatial multiple {net.spatial_multiple}, torch threads {torch_thread_count()}")
    training_config = UNetTrainingConfig(learning_rate=config.learning_rate,
                                         batch_size=config.batch_size,
                                         max_epochs=config.max_epochs, patience=config.patience,
                                         warmup_epochs=config.warmup_epochs, seed=config.seed)
    result = train_unet(net, train_set, validation_set, training_config, progress=progress,
                        log=say)
    say(f"kept epoch {result.best_epoch} of {len(result.history)} "
        f"({'stopped early' if result.stopped_early else 'ran all epochs'}; "
        f"{result.seconds:.0f} s)")

    power_law = fit_power_law(train_set.inputs, train_set.targets)
    data_parameters = dict(train_set.parameters, cubes=cubes)
    data_parameters.pop("realization_ids", None)
    training_record = {"hyperparameters": training_config.to_dict(),
                       "best_epoch": result.best_epoch, "epochs_run": len(result.history),
                       "stopped_early": result.stopped_early, "n_weights": count_weights(net),
                       "torch_threads": torch_thread_count(),
                       "n_training_crops": len(train_set),
                       "n_validation_crops": len(validation_set)}
    date = utc_timestamp()
    card_arguments = dict(net_config=net.config, training_record=training_record,
                          data_parameters=data_parameters, split=split,
                          receptive_field=receptive_field, command=command, date=date)
    placeholder = build_unet_card(config, metrics={}, **card_arguments)
    multiple = net.spatial_multiple
    # A size between the tracing crop and the whole map, so parity covers an unseen shape.
    between = (config.crop_size + config.cube_size) // 2 // multiple * multiple
    exported = export_unet(net, out, placeholder, tile_size=config.crop_size,
                           parity_images=test_set.inputs,
                           parity_tile_sizes=tuple(sorted({config.crop_size, between,
                                                           config.cube_size})),
                           seed=config.seed)
    say(f"exported {exported.path}; torch/onnxruntime parity max |diff| "
        f"{max(record['max_abs_diff'] for record in exported.parity):.2e}")

    metrics = evaluate_predictions(onnx_predictor(exported.path)(test_set.inputs), test_set,
                                   power_law=power_law)
    metrics.update({
        "evaluation_command": f"python -m training.unet.evaluate --model {os.fspath(out)}",
        "evaluation": "whole held-out test projections (cubes never used in training or "
                      "validation), run through the exported ONNX file with onnxruntime",
        # Flat copies of the headline numbers, for one-line summaries (turbml models info).
        "mse_log10": metrics["unet"]["mse_log10"],
        "baseline_power_law_mse_log10": metrics["baseline_power_law"]["mse_log10"],
        "baseline_constant_depth_mse_log10": metrics["baseline_constant_depth"]["mse_log10"],
        "fraction_inside_68_interval": metrics["unet"]["fraction_inside_68_interval"],
        "fraction_inside_95_interval": metrics["unet"]["fraction_inside_95_interval"],
        "best_validation_nll": min(record["validation_nll"] for record in result.history
                                   if record["objective"] != "mse"),
    })
    model_proto = onnx.load(exported.path)
    card = write_card(model_proto, build_unet_card(config, metrics=metrics, **card_arguments))
    onnx.save_model(model_proto, exported.path, save_as_external_data=False)
    for line in format_metrics(metrics):
        say(line)
    saliency_summary = None
    if with_saliency:
        saliency_summary = add_saliency_end_step(out, report_path, command=command,
                                                 script="training.unet.mass_weighted_density",
                                                 say=say)
    report = {
        "model": os.fspath(out),
        "weights_sha256": card["weights_sha256"],
        "file_bytes": os.path.getsize(exported.path),
        "config": config.to_dict(),
        "command": command,
        "date": date,
        "code_version": card["provenance"]["code_version"],
        "split": split,
        "history": result.history,
        "best_epoch": result.best_epoch,
        "parity": exported.parity,
        "metrics": metrics,
        "saliency": saliency_summary,
        "card": load_model_file(out).card,
        "seconds": time.perf_counter() - start,
    }
    if report_path:
        with open(report_path, "w") as handle:
            json.dump(report, handle, indent=1)
    if log_path:
        with open(log_path, "w") as handle:
            handle.write("\n".join(log_lines) + "\n")
    return report


def _parser():
    parser = argparse.ArgumentParser(prog="python -m training.unet.mass_weighted_density",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--report", help="JSON report to write")
    parser.add_argument("--log", help="text log to write")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    argv, arguments = parse_run_arguments(_parser(), argv, quick_help="tiny version for tests")
    config = run_config(arguments, quick=QUICK_CONFIG, full=FULL_CONFIG)
    run_experiment(config, out=arguments.out, report_path=arguments.report,
                   log_path=arguments.log,
                   command=command_line("training.unet.mass_weighted_density", argv),
                   progress=not arguments.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
