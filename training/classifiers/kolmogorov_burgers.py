"""Train, evaluate and export the ``kolmogorov-burgers-fbm`` demonstration tile classifier
(lognormal random-phase fields) and its FFP controls.

Run as::

    python -m training.classifiers.kolmogorov_burgers \\
        --out onnx_models/kolmogorov-burgers-fbm.onnx \\
        --report docs/results/kolmogorov_burgers.json [--seed 0] [--quick]

After export, the run adds the vanilla and guided saliency graphs (``training.saliency.add``)
and records the model-parameter randomization sanity check in the card
(``training.saliency.sanity``), writing their reports next to ``--report`` as
``<stem>_saliency.json`` and ``<stem>_sanity.json``; both steps can also be run alone on an
exported file (see the README's Training section).

Four arms share one realization split (same realization numbers and seeds per class):

``normal``
    Tiles cut from larger periodic maps, preprocessing ``log10 > equalize_hist``. This is the
    shipped model: its tiles look like the tiles the runtime cuts from users' maps.
``ffp_periodic``
    The negative control. Each tile is a whole periodic field and preprocessing is
    ``log10 > ffp > equalize_hist``. After ``log10`` a tile is a Gaussian random field whose
    Fourier phases are uniform and independent of the spectrum, so once FFP has set every
    amplitude to one, both classes have exactly the same distribution: any classifier must
    score 0.5 up to sampling noise. A higher score means leakage somewhere in the pipeline.
``normal_periodic``
    The same periodic tiles without FFP: shows the information FFP removes was there.
``ffp_cut``
    FFP on the cut tiles of ``normal``. A tile cut from a larger field is not periodic; the
    jumps at its borders dominate many Fourier modes, and their strength against the interior
    depends on the spectral slope. FFP keeps those phases, so this arm is *not* expected to be at
    chance: it measures how much spectral information leaks through tile borders.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..common.datasets import build_tile_dataset, split_realizations
from ..common.random_fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, lognormal_field
from ..common.provenance import code_version, command_line, utc_timestamp
from ..common.script_options import parse_run_arguments, run_config, torch_thread_count

__all__ = [
    "MODEL_NAME",
    "MODEL_VERSION",
    "CLASSES",
    "NORMAL_PREPROCESS",
    "FFP_PREPROCESS",
    "ExperimentConfig",
    "FULL_CONFIG",
    "QUICK_CONFIG",
    "make_realizations",
    "make_arm_dataset",
    "build_card",
    "run_experiment",
    "main",
]

#: "-fbm": trained on lognormal random-phase (fractional-Brownian-like) fields, not turbulence;
#: the plain name ``kolmogorov-burgers`` is the classifier trained on simulations.
MODEL_NAME = "kolmogorov-burgers-fbm"
MODEL_VERSION = "1.0.0"
#: Class number -> (name, physical meaning, spectral slope of the generating field).
CLASSES = (
    ("kolmogorov", "power-law slope 11/3 (Kolmogorov-like)", KOLMOGOROV_SLOPE),
    ("burgers", "power-law slope 4 (Burgers-like)", BURGERS_SLOPE),
)
NORMAL_PREPROCESS = [{"op": "log10"}, {"op": "equalize_hist", "nbins": 256}]
FFP_PREPROCESS = [{"op": "log10"}, {"op": "ffp"}, {"op": "equalize_hist", "nbins": 256}]
#: Realization number -> identifier: class_index * REALIZATION_ID_BASE + realization_index.
REALIZATION_ID_BASE = 1000
ARMS = ("normal", "ffp_periodic", "normal_periodic", "ffp_cut")
#: Half-width of the accuracy window the negative control must fall in.
CHANCE_TOLERANCE = 0.05


@dataclass(frozen=True)
class ExperimentConfig:
    """Every parameter of one run; stored in the report and (in part) in the model card.

    Attributes
    ----------
    seed : int
        Seeds the fields, the split, weight initialisation, batch order and export.
    map_size : int
        Side of each periodic map the ``normal`` and ``ffp_cut`` tiles are cut from.
    tile_size, shift : int
        Tile side, and the periodic shift step for extra tiles.
    sigma_ln : float
        Standard deviation of ``ln`` of the lognormal fields.
    n_train, n_validation, n_test : int
        Realizations per class in each split.
    widths, hidden : tuple of int, int
        Architecture of `training.common.nets.TurbulenceCNN`.
    optimizer, learning_rate, label_smoothing, batch_size, max_epochs, patience, augment :
        See `training.common.train.TrainingConfig`.
    arms : tuple of str
        Which of `ARMS` to run; ``normal`` is always run (it is the exported model).
    """

    seed: int = 0
    map_size: int = 512
    tile_size: int = 128
    shift: int = 64
    sigma_ln: float = 1.0
    n_train: int = 16
    n_validation: int = 4
    n_test: int = 10
    widths: tuple = (8, 16, 32, 32)
    hidden: int = 32
    optimizer: str = "adam"
    learning_rate: float = 2e-3
    label_smoothing: float = 0.05
    batch_size: int = 32
    max_epochs: int = 12
    patience: int = 4
    augment: str = "dihedral"
    arms: tuple = ARMS

    @property
    def tiles_per_map(self):
        """Tiles one realization gives: grid tiles times periodic shifts."""
        return (self.map_size // self.tile_size) ** 2 * (self.tile_size // self.shift) ** 2

    def to_dict(self):
        """JSON-friendly copy."""
        record = asdict(self)
        record["widths"] = list(self.widths)
        record["arms"] = list(self.arms)
        return record


#: The run behind the shipped model (about 8 minutes on two otherwise idle CPU cores).
FULL_CONFIG = ExperimentConfig()
#: A small version for tests (under a minute on two CPU cores; its model is not shipped).
QUICK_CONFIG = ExperimentConfig(map_size=256, tile_size=64, shift=32, n_train=10, n_validation=2,
                                n_test=7, max_epochs=8, patience=3,
                                arms=("normal", "ffp_periodic"))


#: Random streams: the first entry after the seed in every field's seed list.
SEED_STREAMS = {"cut_maps": 1, "periodic_fields": 2, "parity_fields": 3}


def _field_seed(seed, stream, class_index, realization_index, field_index=0):
    """Seed list of one field; always five entries, because `numpy.random.SeedSequence`
    treats ``[a, b]`` and ``[a, b, 0]`` as the same seed."""
    return [int(seed), SEED_STREAMS[stream], int(class_index), int(realization_index),
            int(field_index)]


def make_realizations(config):
    """Realization numbers, labels and seeds of every field, and the split on them.

    Returns
    -------
    realizations : list of dict
        ``id``, ``label``, ``slope``, ``seed`` (the `numpy.random.default_rng` seed list).
    split : dict
        ``{"train": ids, "validation": ids, "test": ids}`` (see
        `training.common.datasets.split_realizations`).
    """
    per_class = config.n_train + config.n_validation + config.n_test
    realizations = [
        {"id": class_index * REALIZATION_ID_BASE + index, "label": class_index, "slope": slope,
         "seed": _field_seed(config.seed, "cut_maps", class_index, index)}
        for class_index, (_, _, slope) in enumerate(CLASSES) for index in range(per_class)
    ]
    split = split_realizations([item["id"] for item in realizations],
                               [item["label"] for item in realizations],
                               n_validation=config.n_validation, n_test=config.n_test,
                               seed=config.seed)
    return realizations, split


def _cut_fields(realizations, config):
    """One ``map_size``-square lognormal map per realization."""
    shape = (config.map_size, config.map_size)
    return [lognormal_field(shape, item["slope"], sigma_ln=config.sigma_ln, seed=item["seed"])
            for item in realizations]


def _periodic_fields(realizations, config):
    """``tiles_per_map`` independent tile-sized periodic lognormal fields per realization.

    Each is its own periodic box, so FFP sees no border jump; the count matches the cut arm so
    both controls hold the same number of tiles per realization.
    """
    shape = (config.tile_size, config.tile_size)
    stacks = []
    for item in realizations:
        class_index, index = divmod(item["id"], REALIZATION_ID_BASE)
        fields = [lognormal_field(shape, item["slope"], sigma_ln=config.sigma_ln,
                                  seed=_field_seed(config.seed, "periodic_fields", class_index,
                                                   index, number))
                  for number in range(config.tiles_per_map)]
        stacks.append(np.stack(fields))
    return stacks


def make_arm_dataset(arm, realizations, config, *, progress=None):
    """Build the tile dataset of one arm (see the module docstring).

    Parameters
    ----------
    arm : str
        One of `ARMS`.
    realizations : list of dict
        From `make_realizations`.
    config : ExperimentConfig
    progress : callable, optional
        Iteration wrapper passed to `training.common.datasets.build_tile_dataset`.

    Returns
    -------
    training.common.datasets.TileDataset
    """
    preprocess = FFP_PREPROCESS if arm.startswith("ffp") else NORMAL_PREPROCESS
    labels = [item["label"] for item in realizations]
    ids = [item["id"] for item in realizations]
    if arm.endswith("periodic"):
        # A stack of independent periodic fields per realization, "sliced" along axis 0 with
        # no shifts: rolling a periodic tile only translates it.
        fields = _periodic_fields(realizations, config)
        dataset = build_tile_dataset(fields, labels, ids, tile_size=config.tile_size,
                                     preprocess=preprocess, shift=None, axis=0, progress=progress)
        dataset.parameters["fields"] = (
            f"{config.tiles_per_map} independent periodic {config.tile_size}x{config.tile_size} "
            "fields per realization, one tile each")
    else:
        fields = _cut_fields(realizations, config)
        dataset = build_tile_dataset(fields, labels, ids, tile_size=config.tile_size,
                                     preprocess=preprocess, shift=config.shift,
                                     progress=progress)
        dataset.parameters["fields"] = (
            f"one periodic {config.map_size}x{config.map_size} map per realization; tiles cut "
            "from it are not periodic")
    return dataset


def _parity_tiles(config):
    """Preprocessed tiles from fresh fields (seeds no arm uses) for the export parity check."""
    from glue_turbml.core import build_pipeline

    from ..common.datasets import cut_tiles

    pipeline = build_pipeline(NORMAL_PREPROCESS)
    tiles = [cut_tiles(lognormal_field((config.map_size, config.map_size), slope,
                                       sigma_ln=config.sigma_ln,
                                       seed=_field_seed(config.seed, "parity_fields",
                                                        class_index, 0)),
                       tile_size=config.tile_size, shifts=[(0, 0)], pipeline=pipeline)
             for class_index, (_, _, slope) in enumerate(CLASSES)]
    return np.concatenate(tiles)[:, np.newaxis]


def _evaluate(model, dataset):
    """Accuracy, confusion matrix and per-realization scores of a model on a dataset."""
    from sklearn.metrics import confusion_matrix

    from ..evaluation.classifier_metrics import evaluate_classifier

    evaluation = evaluate_classifier(model, dataset.images, dataset.labels)
    predictions = evaluation["predictions"]
    per_realization = {}
    for ident in np.unique(dataset.realizations):
        chosen = dataset.realizations == ident
        per_realization[str(int(ident))] = float(np.mean(predictions[chosen]
                                                         == dataset.labels[chosen]))
    return {
        "accuracy": evaluation["accuracy"],
        "loss": evaluation["loss"],
        "n_tiles": int(len(dataset)),
        "n_realizations": int(len(per_realization)),
        "confusion_matrix": confusion_matrix(dataset.labels, predictions,
                                             labels=list(range(len(CLASSES)))).tolist(),
        "per_realization_accuracy": per_realization,
    }


def _train_arm(arm, dataset, split, config, *, progress, log):
    """Train one arm on its train/validation realizations; evaluate on its test realizations."""
    import torch

    from ..common.nets import TurbulenceCNN, count_weights
    from ..common.train import TrainingConfig, train_classifier

    train_set, validation_set, test_set = (dataset.select_realizations(split[name])
                                           for name in ("train", "validation", "test"))
    training_config = TrainingConfig(
        optimizer=config.optimizer, learning_rate=config.learning_rate,
        label_smoothing=config.label_smoothing, batch_size=config.batch_size,
        max_epochs=config.max_epochs, patience=config.patience, augment=config.augment,
        seed=config.seed)
    # Same initial weights in every arm, so arms differ only by their data.
    torch.manual_seed(config.seed)
    model = TurbulenceCNN(in_channels=1, n_classes=len(CLASSES), widths=config.widths,
                          hidden=config.hidden)
    result = train_classifier(model, train_set, validation_set, training_config,
                              progress=progress, description=arm, log=log)
    record = {
        "preprocess": dataset.parameters["preprocess"],
        "fields": dataset.parameters["fields"],
        "n_train_tiles": len(train_set),
        "n_validation_tiles": len(validation_set),
        "training": result.config,
        "net": dict(model.config, n_weights=count_weights(model)),
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stopped_early": result.stopped_early,
        "training_seconds": round(result.seconds, 1),
        "best_validation_accuracy": result.history[result.best_epoch - 1]["validation_accuracy"],
        "history": result.history,
        "test": _evaluate(model, test_set),
    }
    return model, record, test_set


def build_card(config, *, metrics, split, realizations, arm_records, command, date):
    """The model card of the ``normal`` model (without ``weights_sha256``).

    Parameters
    ----------
    config : ExperimentConfig
    metrics : dict
        Held-out metrics measured in this run.
    split : dict
        Realization ids per split.
    realizations : list of dict
        From `make_realizations`.
    arm_records : dict
        Per-arm training records (the ``normal`` one describes the shipped weights).
    command, date : str

    Returns
    -------
    dict
    """
    normal = arm_records["normal"]
    seeds_by_id = {str(item["id"]): item["seed"] for item in realizations}
    training_data = {
        "summary": (
            "Synthetic lognormal random-phase fields, NOT MHD or hydrodynamic simulations: "
            f"exp({config.sigma_ln} g) with g a unit-variance Gaussian random field of isotropic "
            "power spectrum P(k) ~ k^-11/3 (class kolmogorov) or k^-4 (class burgers), "
            f"{config.n_train + config.n_validation + config.n_test} periodic "
            f"{config.map_size}x{config.map_size} maps per class, cut into "
            f"{config.tile_size}x{config.tile_size} tiles with periodic shifts of "
            f"{config.shift} px. Only the spectral slope differs between classes; real "
            "turbulence also differs in phase structure (shocks, filaments), which these "
            "fields lack."),
        "generator": "training.common.random_fields.lognormal_field (white Gaussian noise "
                     "filtered by |k|^(-slope/2), k=0 removed, normalised to unit variance, "
                     "exponentiated)",
        "slopes": {name: slope for name, _, slope in CLASSES},
        "sigma_ln": config.sigma_ln,
        "map_size_px": config.map_size,
        "tile_size_px": config.tile_size,
        "shift_px": config.shift,
        "tiles_per_map": config.tiles_per_map,
        "realizations_per_class": {"train": config.n_train, "validation": config.n_validation,
                                   "test": config.n_test},
        "field_seeds": ("numpy.random.default_rng([seed, stream, class_index, "
                        "realization_index, field_index]) with streams "
                        f"{SEED_STREAMS}; seed={config.seed}"),
        "realization_seeds": seeds_by_id,
        "preprocessing_applied": "per tile, after cutting, with glue_turbml.core.build_pipeline",
    }
    return {
        "schema_version": 1,
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "task": "classification",
        "description": (
            "Classifies single-channel tiles of a positive map as Kolmogorov-like (power "
            "spectrum slope 11/3) or Burgers-like (slope 4) from their small-scale spatial "
            "statistics. A demonstration model trained only on synthetic lognormal "
            "random-phase fields; it is not calibrated on simulations or observations."),
        "classes": [{"name": name, "meaning": meaning} for name, meaning, _ in CLASSES],
        "input": {
            "name": "image",
            "kind": "column-density or density map (any positive units; log10 removes the scale)",
            "description": (
                f"{config.tile_size}x{config.tile_size} tiles of a 2D map of a positive "
                "quantity, one channel, NCHW float32, after the preprocessing steps; the graph "
                "also accepts other tile sizes (global average pooling) but was trained on "
                f"{config.tile_size}"),
            "tile_size": config.tile_size,
            "channels": 1,
            "dtype": "float32",
            "units": "",
            "layout": "NCHW",
        },
        "outputs": [{
            "name": "logits",
            "description": "class logits in the order of 'classes'; softmax gives probabilities",
            "units": "",
            "activation": "softmax",
        }],
        "preprocess": [dict(step) for step in NORMAL_PREPROCESS],
        "tiling": {"stride": config.tile_size // 2, "boundary": "reflect", "combine": "mean",
                   "min_valid_fraction": 0.5},
        "saliency": {"methods": ["occlusion"]},
        "provenance": {
            "training_data": training_data,
            "split": {
                "method": "whole realizations per class, never shared between sets "
                          "(training.common.datasets.split_realizations)",
                "seed": config.seed,
                "realization_ids": split,
                "tiles": {"train": normal["n_train_tiles"],
                          "validation": normal["n_validation_tiles"],
                          "test": normal["test"]["n_tiles"]},
            },
            "seeds": {"fields": config.seed, "split": config.seed, "torch": config.seed,
                      "export": config.seed, "streams": dict(SEED_STREAMS)},
            "training": {"net": normal["net"], "hyperparameters": normal["training"],
                         "best_epoch": normal["best_epoch"], "epochs_run": normal["epochs_run"],
                         "torch_threads": torch_thread_count(),
                         "selection": "epoch with the best validation accuracy (ties: lower "
                                      "validation loss); BatchNorm statistics recomputed on "
                                      "training tiles each epoch"},
            "command": command,
            "code_version": code_version(),
            "date": date,
        },
        "metrics": metrics,
    }


def _metrics(arm_records, periodic_check, command):
    """Card metrics, all measured on held-out test realizations in this run."""
    normal = arm_records["normal"]["test"]
    metrics = {
        "test_accuracy": normal["accuracy"],
        "n_test_tiles": normal["n_tiles"],
        "n_test_realizations": normal["n_realizations"],
        "confusion_matrix": normal["confusion_matrix"],
        "confusion_matrix_axes": "rows: true class, columns: predicted class, in 'classes' order",
        "min_realization_test_accuracy": min(normal["per_realization_accuracy"].values()),
        "best_validation_accuracy": arm_records["normal"]["best_validation_accuracy"],
        "evaluation_command": command,
        "evaluation": "held-out test realizations never used for training or validation; tiles "
                      "of one realization overlap (periodic shifts), so they are not independent",
    }
    metrics["test_accuracy_on_periodic_tiles"] = periodic_check["accuracy"]
    if "ffp_periodic" in arm_records:
        control = arm_records["ffp_periodic"]["test"]
        metrics.update({
            "ffp_negative_control_test_accuracy": control["accuracy"],
            "ffp_negative_control_n_test_tiles": control["n_tiles"],
            "ffp_negative_control": (
                "same net, training and split, preprocessing log10 > ffp > equalize_hist, on "
                "independent periodic tile-sized fields; chance (0.5) is expected because the "
                "Fourier phases of these fields carry no spectral information"),
        })
    if "normal_periodic" in arm_records:
        metrics["normal_periodic_test_accuracy"] = (
            arm_records["normal_periodic"]["test"]["accuracy"])
    if "ffp_cut" in arm_records:
        metrics["ffp_cut_tiles_test_accuracy"] = arm_records["ffp_cut"]["test"]["accuracy"]
        metrics["ffp_cut_tiles"] = (
            "FFP on the non-periodic tiles the shipped model uses: tile-border jumps keep "
            "slope information that FFP does not remove, so this is not at chance")
        border_check = arm_records["ffp_cut"].get("test_on_periodic_ffp_tiles")
        if border_check is not None:
            metrics["ffp_cut_model_on_periodic_ffp_tiles_accuracy"] = border_check["accuracy"]
    return metrics


def run_experiment(config, *, out, report_path=None, command="", progress=True):
    """Run every arm, export the ``normal`` model with its card, and write the report.

    Parameters
    ----------
    config : ExperimentConfig
    out : str or os.PathLike
        ONNX file to write.
    report_path : str or os.PathLike, optional
        JSON report to write.
    command : str, optional
        The command line recorded in the card.
    progress : bool, optional
        tqdm progress bars and per-epoch log lines.

    Returns
    -------
    dict
        The report (also written to ``report_path``).
    """
    from functools import partial

    from tqdm.auto import tqdm

    from glue_turbml.models import load_model_file

    from ..common.export import export_classifier
    from ..saliency.end_step import add_saliency_end_step

    start = time.perf_counter()
    date = utc_timestamp()
    log = tqdm.write if progress else None
    say = tqdm.write if progress else (lambda text: None)
    arms = ["normal"] + [arm for arm in config.arms if arm != "normal"]
    unknown = set(arms) - set(ARMS)
    if unknown:
        raise ValueError(f"unknown arms {sorted(unknown)}; choose from {ARMS}")
    realizations, split = make_realizations(config)
    say(f"{MODEL_NAME}: {len(realizations)} realizations; split (ids) {json.dumps(split)}")

    arm_records, models, test_sets = {}, {}, {}
    for arm in arms:
        arm_start = time.perf_counter()
        dataset = make_arm_dataset(arm, realizations, config,
                                   progress=partial(tqdm, desc=f"{arm} tiles", unit="field",
                                                    disable=not progress))
        say(f"[{arm}] {len(dataset)} tiles ({dataset.parameters['fields']}), preprocessing "
            f"{dataset.parameters['preprocess']}, built in {time.perf_counter() - arm_start:.1f} s")
        models[arm], arm_records[arm], test_sets[arm] = _train_arm(
            arm, dataset, split, config, progress=progress, log=log)
        del dataset
        test = arm_records[arm]["test"]
        say(f"[{arm}] TEST accuracy {test['accuracy']:.4f} on {test['n_tiles']} tiles of "
            f"{test['n_realizations']} held-out realizations; confusion {test['confusion_matrix']};"
            f" best epoch {arm_records[arm]['best_epoch']} "
            f"({time.perf_counter() - arm_start:.0f} s for this arm)")

    # The shipped model on the periodic test tiles of the controls: shows that the tiles the
    # negative control sees carry the slope information before FFP.
    periodic_test = test_sets.get("normal_periodic")
    if periodic_test is None:
        test_realizations = [item for item in realizations if item["id"] in split["test"]]
        periodic_test = make_arm_dataset("normal_periodic", test_realizations, config)
    periodic_check = _evaluate(models["normal"], periodic_test)
    say(f"[normal] accuracy of the shipped model on periodic test tiles "
        f"{periodic_check['accuracy']:.4f}")

    # Where does the FFP-on-cut-tiles signal live? Its model applied to FFP tiles without
    # borders (periodic fields) should fall back to chance if tile borders carry it.
    border_check = None
    if "ffp_cut" in models and "ffp_periodic" in test_sets:
        border_check = _evaluate(models["ffp_cut"], test_sets["ffp_periodic"])
        arm_records["ffp_cut"]["test_on_periodic_ffp_tiles"] = border_check
        say(f"[ffp_cut] accuracy of its model on periodic FFP test tiles "
            f"{border_check['accuracy']:.4f}")

    metrics = _metrics(arm_records, periodic_check, command)
    card = build_card(config, metrics=metrics, split=split, realizations=realizations,
                      arm_records=arm_records, command=command, date=date)
    exported = export_classifier(models["normal"], out, card, tile_size=config.tile_size,
                                 parity_images=_parity_tiles(config),
                                 parity_tile_sizes=(config.tile_size // 2, config.tile_size,
                                                    3 * config.tile_size // 4),
                                 seed=config.seed)
    worst = max(record["max_abs_diff"] for record in exported.parity)
    say(f"exported {exported.path} (weights sha256 {exported.card['weights_sha256'][:16]}...); "
        f"torch vs onnxruntime max |diff| {worst:.2e} over {len(exported.parity)} shapes")
    saliency_summary = add_saliency_end_step(out, report_path, command=command,
                                             script="training.classifiers.kolmogorov_burgers",
                                             say=say)
    final_card = load_model_file(out).card

    control_accuracy = metrics.get("ffp_negative_control_test_accuracy")
    report = {
        "model": MODEL_NAME,
        "version": MODEL_VERSION,
        "onnx_file": os.fspath(out),
        "weights_sha256": exported.card["weights_sha256"],
        "command": command,
        "code_version": exported.card["provenance"]["code_version"],
        "date": date,
        "config": config.to_dict(),
        "torch_threads": torch_thread_count(),
        "split": split,
        "metrics": metrics,
        "negative_control_at_chance": (None if control_accuracy is None else
                                       bool(abs(control_accuracy - 0.5) <= CHANCE_TOLERANCE)),
        "arms": arm_records,
        "findings": _findings(metrics),
        "normal_model_on_periodic_tiles": periodic_check,
        "parity": exported.parity,
        "saliency": saliency_summary,
        "card": final_card,
        "seconds_total": round(time.perf_counter() - start, 1),
    }
    if report_path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(report_path)), exist_ok=True)
        with open(report_path, "w", encoding="utf-8") as stream:
            json.dump(report, stream, indent=1, sort_keys=False)
            stream.write("\n")
    summary = (f"normal test accuracy {metrics['test_accuracy']:.4f} "
               f"({metrics['n_test_tiles']} tiles)")
    if control_accuracy is not None:
        summary += (f"; FFP negative control {control_accuracy:.4f} "
                    f"({metrics['ffp_negative_control_n_test_tiles']} tiles)")
    if "ffp_cut_tiles_test_accuracy" in metrics:
        summary += f"; FFP on cut tiles {metrics['ffp_cut_tiles_test_accuracy']:.4f}"
    say(f"{summary}; total {report['seconds_total']:.0f} s")
    if report["negative_control_at_chance"] is False:
        say(f"WARNING: the FFP negative control is outside 0.5 +- {CHANCE_TOLERANCE}")
    return report


def _findings(metrics):
    """Plain-language conclusions drawn from this run's numbers, for the report."""
    findings = [
        f"The shipped model classifies held-out test tiles with accuracy "
        f"{metrics['test_accuracy']:.4f} ({metrics['n_test_tiles']} tiles of "
        f"{metrics['n_test_realizations']} realizations never seen in training or validation), "
        f"and periodic tiles with {metrics['test_accuracy_on_periodic_tiles']:.4f}."]
    if "ffp_negative_control_test_accuracy" in metrics:
        accuracy = metrics["ffp_negative_control_test_accuracy"]
        verdict = ("at chance, as it must be" if abs(accuracy - 0.5) <= CHANCE_TOLERANCE
                   else "OUTSIDE the chance window: look for leakage")
        findings.append(
            f"FFP negative control (periodic tiles): accuracy {accuracy:.4f} on "
            f"{metrics['ffp_negative_control_n_test_tiles']} tiles, {verdict}.")
    if "ffp_cut_tiles_test_accuracy" in metrics:
        text = (f"FFP on tiles cut from larger maps: accuracy "
                f"{metrics['ffp_cut_tiles_test_accuracy']:.4f}, not chance. FFP removes "
                "spectral information only from periodic images; a cut tile's border jumps "
                "set the phases of many modes, and how strong they are against the interior "
                "depends on the slope.")
        if "ffp_cut_model_on_periodic_ffp_tiles_accuracy" in metrics:
            text += (f" The same model scores "
                     f"{metrics['ffp_cut_model_on_periodic_ffp_tiles_accuracy']:.4f} on periodic "
                     "FFP tiles, which have no borders.")
        text += (" FFP-trained models on cut tiles can therefore use spectral information; "
                 "their accuracy alone does not prove that phase structure is used.")
        findings.append(text)
    return findings


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m training.classifiers.kolmogorov_burgers",
        description=f"Train and export the {MODEL_NAME} classifier with its FFP controls.")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--report", required=True, help="JSON report to write")
    return parser


def main(argv=None):
    """Command-line entry point; returns the process exit status."""
    argv, arguments = parse_run_arguments(
        _parser(), argv, quick_help="small version for tests (64 px tiles, fewer fields and "
        "epochs)")
    config = run_config(arguments, quick=QUICK_CONFIG, full=FULL_CONFIG)
    run_experiment(config, out=arguments.out, report_path=arguments.report,
                   command=command_line("training.classifiers.kolmogorov_burgers", argv),
                   progress=not arguments.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
