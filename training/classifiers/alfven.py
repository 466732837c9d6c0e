"""Train, evaluate and export a sub- vs super-Alfvenic classifier from labelled MHD cubes.

Run as::

    python -m training.classifiers.alfven \\
        --class sub_alfvenic='sets/alfven64/sub_alfvenic/*/snapshot_*.fits' \\
        --class super_alfvenic='sets/alfven64/super_alfvenic/*/snapshot_*.fits' \\
        --kind slices [--ffp] --name alfven --out onnx_models/alfven.onnx \\
        --report docs/results/alfven.json

Peek & Burkhart (2019) in our setting: density slices perpendicular to the mean field (z), or
column densities along lattice directions at angles to it (``--kind columns``), each map one
network input (whole periodic slices, rolled by ``--shift`` pixels for extra training inputs),
``log10 > [ffp >] equalize_hist``. FFP is applied to whole periodic maps, never to cut tiles
(cut tiles leak the spectrum through their borders). Whole runs are held out: the test runs
(``--test-seeds``, by default the largest seed of each class) never feed training or
validation, so the score is on turbulence the network has never seen, not on other slices of
a run it memorised. Validation (early stopping only) is the last snapshot time of the training
runs unless ``--validation-seeds`` names runs of its own.

The run reports held-out accuracy per snapshot time and per angle, the classical baselines on
the same split (`training.evaluation.baselines`), robustness curves through the exported ONNX
file (`training.evaluation.robustness`), and adds the saliency graphs and their sanity check.
"""

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..common.provenance import code_version, command_line, utc_timestamp
from ..common.script_options import parse_run_arguments, run_config, torch_thread_count

__all__ = ["CLASSES", "ALFVEN_TEXT", "CONTROL_TOLERANCE_POINTS", "AlfvenConfig", "FULL_CONFIG",
           "QUICK_CONFIG",
           "parse_directions", "preprocess_steps", "degraded", "split_runs", "setting_of",
           "map_settings",
           "setting_difference", "reference_setting", "tile_side", "runtime_tiles",
           "tile_dataset", "run_identity_control",
           "accuracy_by_true_class", "run_setting_controls", "BASELINE_CONTROL_MAX_INPUTS",
           "run_baseline_setting_controls",
           "MIN_MAPS_PER_MACH_BIN",
           "map_alfven_mach", "accuracy_by_alfven_mach",
           "record_training_domain", "parse_command", "training_data_summary", "caveats",
           "add_caveats_to_card", "run_training", "main"]

#: Half-width of the window around 0.5 the run-identity control must fall in.
CHANCE_TOLERANCE = 0.05

#: A control setting may score at most this many points below the same-setting accuracy.
CONTROL_TOLERANCE_POINTS = 3.0
#: Fewest held-out inputs in an M_A bin for the caveats to speak of it.
MIN_MAPS_PER_MACH_BIN = 20

#: Class name -> physical meaning (the recipe's B0 = 1.0 and 0.1 at M_s ~ 7).
CLASSES = (("sub_alfvenic", "sub-Alfvenic: strong mean field (M_A ~ 0.7 on the total field)"),
           ("super_alfvenic", "super-Alfvenic: weak mean field (M_A ~ 2 on the total field)"))


@dataclass(frozen=True)
class AlfvenConfig:
    """Every parameter of one run (stored in the report and the card).

    Attributes
    ----------
    seed : int
        Seeds weight initialisation, batch order, augmentation, baselines and noise.
    kind : {"slices", "columns"}
    ffp : bool
        Fixed Fourier power on each whole map before equalisation.
    directions : tuple of tuple of int
        Lattice directions of column maps.
    slice_step : int
        Slices: every n-th plane of each snapshot.
    shift : int or None
        Periodic shift step (px) for extra training inputs; None: no shifts.
    widths, hidden, learning_rate, batch_size, max_epochs, patience, schedule, label_smoothing :
        Net and training settings (`training.common.nets`, `training.common.train`).
    degrade_fraction, degrade_smoothing_px, degrade_noise_snr :
        Training inputs degraded as observed maps are (`degraded`): each shifted copy is
        smoothed with probability ``degrade_fraction`` (Gaussian sigma uniform in 0.25 to
        ``degrade_smoothing_px``) and, independently, given white noise (signal-to-noise
        log-uniform from ``degrade_noise_snr`` to 1000). 0 turns it off. Without it a network
        trained on 48^3 slices fell to chance at 1 px of smoothing: it read the dissipation
        range, which is the solver's, not the physics.
    degrade_spectral_tilt : float
        With a positive value, each training copy's power spectrum (of its logarithm) is also
        tilted, with probability ``degrade_fraction``, by a slope change uniform in
        ``-degrade_spectral_tilt`` to ``+degrade_spectral_tilt``
        (`training.common.spectral_tilt.spectrally_tilted`): two numerics at the same
        physics differ in that slope (column maps: by 0.35-0.55 between the MC and minmod
        limiters, though it is only a few points of the column model's numerics gap:
        ``docs/results/alfven_column_levers.txt``). 0 (the default) draws nothing, so the
        training copies are those of a config without it.
    degrade_zoom : float
        Above 1, each training copy is also, with probability ``degrade_fraction``, magnified
        by a factor uniform in 1 to ``degrade_zoom`` (periodic linear interpolation) and cut
        back to its own size: an input that covers less than the box at a finer pixel scale,
        as the runtime's tiles of a higher-resolution run do. 1 (the default) draws nothing.
        Not with ``ffp`` (the cut map no longer wraps around).
    control_networks : int
        Networks trained (and averaged) for each numerics and driving control
        (`run_setting_controls`): one network's score scatters by several points with its seed.
    dihedral_average : bool
        The trained net is wrapped in `training.common.nets.DihedralAverage`: its head reads
        the pooled features averaged over the 8 rotations and reflections of each map, the
        same copies it trains on (``augment="dihedral"``). Every evaluation, control and the
        exported file use the wrapped net.
    native_pixels : bool
        Maps keep their own pixel scale (runs of several resolutions are not resampled to
        one); the input is a tile of the smallest map side, cut from larger maps as the
        runtime cuts a user's map (`tile_dataset`). The runtime never resamples a map, and
        the solver's dissipation range sits at a fixed number of pixels whatever the run's
        resolution; resampled to one size, the network trained on one resolution saw another
        at a different pixel scale (``docs/results/alfven_pixel_scale.txt``).
    """

    seed: int = 0
    kind: str = "slices"
    ffp: bool = False
    directions: tuple = ((0, 1), (1, 2), (1, 1), (2, 1), (1, 0))
    slice_step: int = 1
    shift: object = 16
    widths: tuple = (16, 32, 32, 64)
    hidden: int = 32
    learning_rate: float = 1e-3
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 6
    schedule: str = "constant"
    label_smoothing: float = 0.05
    degrade_fraction: float = 0.5
    degrade_smoothing_px: float = 2.0
    degrade_noise_snr: float = 10.0
    degrade_spectral_tilt: float = 0.0
    degrade_zoom: float = 1.0
    dihedral_average: bool = True
    control_networks: int = 3
    native_pixels: bool = False

    def to_dict(self):
        """JSON-friendly copy."""
        record = asdict(self)
        record["directions"] = [list(direction) for direction in self.directions]
        record["widths"] = list(self.widths)
        return record


FULL_CONFIG = AlfvenConfig()
#: For tests on tiny cubes (its model is not shipped).
QUICK_CONFIG = AlfvenConfig(widths=(4, 8), hidden=8, max_epochs=3, patience=2, shift=None,
                            batch_size=16, control_networks=1)


def preprocess_steps(ffp):
    """The card's preprocessing: ``log10 > [ffp >] equalize_hist`` (Peek & Burkhart 2019).

    With FFP, ``log10`` and ``ffp`` act on the whole map before tiling (``"scope": "map"``):
    the runtime gives a user's map fixed power whole, as training gives each whole periodic
    slice, never tile by tile (cut tiles would leak the spectrum through their borders).
    """
    if ffp:
        return [{"op": "log10", "scope": "map"}, {"op": "ffp", "scope": "map"},
                {"op": "equalize_hist", "nbins": 256}]
    return [{"op": "log10"}, {"op": "equalize_hist", "nbins": 256}]


def split_runs(data, *, test_seeds=None, validation_seeds=None):
    """Map rows of each split: test and validation by run seed, the rest training.

    Parameters
    ----------
    data : training.classifiers.alfven_data.LabelledMaps
    test_seeds, validation_seeds : list of int, optional
        Seeds whose runs (in every class) are held out. Test: by default the largest seed of
        each class in each setting (`setting_of`), so every setting is tested. Validation:
        none by default, and the last snapshot time of each training run serves for early
        stopping.

    Returns
    -------
    dict
        ``{"train", "validation", "test"}`` -> boolean row masks, plus ``"runs"``: the run
        numbers, seeds and classes in each split (for the card).

    Raises
    ------
    ValueError
        When a class would have no training or no test run.
    """
    seeds = np.array([data.records[run]["seed"] if data.records[run]["seed"] is not None
                      else -1 - run for run in data.runs])
    if test_seeds is None:
        test_mask = np.zeros(len(data), dtype=bool)
        settings = map_settings(data)
        for label in np.unique(data.labels):
            for setting in np.unique(settings):
                rows = (data.labels == label) & (settings == setting)
                if rows.any():
                    test_mask |= rows & (seeds == seeds[rows].max())
    else:
        test_mask = np.isin(seeds, list(test_seeds))
    validation_mask = (np.isin(seeds, list(validation_seeds)) & ~test_mask
                       if validation_seeds else np.zeros(len(data), dtype=bool))
    train_mask = ~test_mask & ~validation_mask
    if not validation_seeds:
        for run in np.unique(data.runs[train_mask]):
            rows = train_mask & (data.runs == run)
            times = data.times[rows]
            if np.isfinite(times).any() and len(np.unique(times)) > 1:
                validation_mask |= rows & (data.times == np.nanmax(times))
        train_mask &= ~validation_mask
    for label, name in enumerate(data.class_names):
        for split, mask in (("training", train_mask), ("test", test_mask)):
            if not np.any(mask & (data.labels == label)):
                raise ValueError(f"class {name} has no {split} run; give at least two seeds "
                                 "per class (one held out for testing)")
    runs = {name: sorted({(int(run), data.records[run]["seed"], data.records[run]["label"])
                          for run in data.runs[mask]})
            for name, mask in (("train", train_mask), ("validation", validation_mask),
                               ("test", test_mask))}
    return {"train": train_mask, "validation": validation_mask, "test": test_mask,
            "runs": {name: [{"run": run, "seed": seed, "label": label}
                            for run, seed, label in members] for name, members in runs.items()}}


def setting_of(record):
    """A run's setting: its numerics and driving as one text (see `alfven_data`)."""
    return f"{record.get('numerics', '?')} | {record.get('driving', '?')}"


def map_settings(data):
    """``(n,)`` array of the setting of each map's run."""
    return np.array([setting_of(data.records[run]) for run in data.runs], dtype=object)


def reference_setting(data, folder):
    """The setting (`setting_of`) of the runs whose files lie in a folder named ``folder``.

    Parameters
    ----------
    data : training.classifiers.alfven_data.LabelledMaps
    folder : str
        A folder name in the runs' paths, e.g. a recipe's output folder ``alfven_48_fast``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        When no run, or runs of more than one setting, lie there.
    """
    found = {setting_of(record) for record in data.records
             if any(folder in Path(entry["file"]).parts for entry in record["files"])}
    if len(found) != 1:
        raise ValueError(f"the runs under a folder {folder!r} have {len(found)} settings "
                         f"({sorted(found)}); name a folder of one recipe's runs")
    return found.pop()


def setting_difference(reference, other):
    """What separates two settings: ``"numerics"``, ``"driving"``, ``"numerics and driving"``
    or ``"none"``."""
    (numerics_a, driving_a), (numerics_b, driving_b) = (reference.split(" | "),
                                                        other.split(" | "))
    parts = [name for name, same in (("numerics", numerics_a == numerics_b),
                                     ("driving", driving_a == driving_b)) if not same]
    return " and ".join(parts) or "none"


def degraded(image, rng, *, config):
    """A training copy of a raw map, smoothed and made noisy as `AlfvenConfig` says (or not).

    Smoothing is periodic and acts on the raw values, as the robustness curves' does
    (`training.evaluation.robustness`), so training covers what those curves test.
    """
    from ..common.spectral_tilt import spectrally_tilted
    from ..evaluation.robustness import noisy, smoothed, zoomed

    if config.degrade_fraction <= 0:
        return image
    if config.degrade_spectral_tilt > 0 and rng.random() < config.degrade_fraction:
        # before smoothing and noise, as a solver's slope is there before a telescope's beam
        image = spectrally_tilted(image, rng.uniform(-config.degrade_spectral_tilt,
                                                     config.degrade_spectral_tilt))
    if config.degrade_zoom > 1 and rng.random() < config.degrade_fraction:
        size = image.shape
        image = zoomed(image, rng.uniform(1.0, config.degrade_zoom),
                       boundary="periodic")[:size[0], :size[1]]
    if rng.random() < config.degrade_fraction:
        image = smoothed(image, rng.uniform(0.25, config.degrade_smoothing_px),
                         boundary="periodic")
    if rng.random() < config.degrade_fraction:
        snr = np.exp(rng.uniform(np.log(config.degrade_noise_snr), np.log(1000.0)))
        image = noisy(image, snr, rng=rng)
    return image


def tile_side(data):
    """The network's input side: the smallest map side in ``data`` (square maps)."""
    sides = {image.shape for image in data.maps}
    if any(len(shape) != 2 or shape[0] != shape[1] for shape in sides):
        raise ValueError(f"all maps must be square, got {sorted(sides)}")
    return min(shape[0] for shape in sides)


def runtime_tiles(image, tile):
    """The tiles the runtime cuts from a periodic map for a model of input side ``tile``.

    A map of that side is one tile; a larger one is cut on the runtime's periodic grid with
    half a tile between origins (the card's ``tiling``), so that what training scores is what
    ``turbml classify`` / ``turbml evaluate`` would feed the network.

    Returns
    -------
    numpy.ndarray
        ``(n, tile, tile)``.
    """
    from glue_turbml.core import extract_tiles, make_tile_grid

    image = np.asarray(image)
    if image.shape == (tile, tile):
        return image[None]
    grid = make_tile_grid(image.shape, tile, stride=tile // 2, boundary="periodic")
    return np.asarray(extract_tiles(image, grid))


def tile_dataset(data, mask, *, config, shifts, degrade=False):
    """Preprocessed network inputs of the selected maps.

    A map of the input side (`tile_side`, the smallest map) is one input per shift, whole. A
    larger map (``--native-pixels``: every run at its own pixel scale) gets the card's
    whole-map steps (FFP) first, then is cut: for training, one periodic crop of the input
    side per shift (the shift lattice spans the whole map); for scoring, the runtime's tiles
    (`runtime_tiles`). The tile-scope steps act on each input.

    Parameters
    ----------
    data : training.classifiers.alfven_data.LabelledMaps
    mask : numpy.ndarray of bool
    config : AlfvenConfig
    shifts : int or None
        Periodic shift step (px), or None for the maps as they are.
    degrade : bool
        Degrade each copy (`degraded`, seeded by ``config.seed``): for training sets only.

    Returns
    -------
    training.common.datasets.TileDataset
        Realizations are the run numbers; ``sources`` the map (row of ``data``) of each input.
    """
    from glue_turbml.core import build_pipeline

    from ..common.datasets import TileDataset, periodic_shifts

    steps = preprocess_steps(config.ffp)
    pipeline = build_pipeline(steps)
    whole_map_steps = build_pipeline(steps, scope="map")
    tile_steps = build_pipeline(steps, scope="tile")
    side = tile_side(data)
    rng = np.random.default_rng([config.seed, 101])
    images, sources = [], []
    for index in np.flatnonzero(mask):
        image = data.maps[index]
        offsets = periodic_shifts(image.shape[0], shifts) if shifts else [(0, 0)]
        rolled = np.stack([np.roll(image, offset, axis=(0, 1)) for offset in offsets])
        if degrade:
            rolled = np.stack([degraded(copy, rng, config=config) for copy in rolled])
        if image.shape[0] == side:
            # all steps in one go, as before --native-pixels: no float32 rounding between the
            # whole-map and tile steps, so models trained on one map size reproduce
            inputs = pipeline(rolled)
        else:
            prepared = whole_map_steps(rolled)
            cut = (prepared[:, :side, :side] if shifts
                   else np.concatenate([runtime_tiles(copy, side) for copy in prepared]))
            inputs = tile_steps(cut)
        images.append(inputs.astype(np.float32))
        sources += [index] * len(inputs)
    sources = np.asarray(sources, dtype=np.int64)
    return TileDataset(np.concatenate(images)[:, None], data.labels[sources].astype(np.int64),
                       data.runs[sources].astype(np.int64),
                       {"preprocess": steps, "shift": shifts, "tile_size": int(side)},
                       sources)


def _train_cnn(train_set, validation_set, config, *, name, progress, cache=None):
    """A freshly seeded `TurbulenceCNN` trained on ``train_set`` (wrapped in a
    `DihedralAverage` when ``config.dihedral_average``); returns (model, result).

    With ``cache`` (a `training.common.network_cache.NetworkCache`) a network trained before
    on the same inputs with the same options is loaded from it instead, and a new one is kept
    there."""
    import torch
    from tqdm.auto import tqdm

    from ..common.nets import DihedralAverage, TurbulenceCNN, fold_batch_norm
    from ..common.network_cache import network_key
    from ..common.train import TrainingConfig, train_classifier

    torch.manual_seed(config.seed)
    model = TurbulenceCNN(in_channels=1, n_classes=2, widths=config.widths,
                          hidden=config.hidden)
    training_config = TrainingConfig(learning_rate=config.learning_rate,
                                     label_smoothing=config.label_smoothing,
                                     batch_size=config.batch_size, max_epochs=config.max_epochs,
                                     patience=config.patience, schedule=config.schedule,
                                     augment="dihedral",
                                     seed=config.seed)
    key = result = None
    if cache is not None:
        key = network_key({"role": name, "net": model.config, "config": config.to_dict(),
                           "training": training_config.to_dict()},
                          train_set.images, train_set.labels,
                          validation_set.images, validation_set.labels)
        result = cache.load(key, model)
    if result is None:
        result = train_classifier(model, train_set, validation_set, training_config,
                                  progress=progress, description=name,
                                  log=tqdm.write if progress else None)
        if cache is not None:
            cache.store(key, model, result)
    if config.dihedral_average:
        model = DihedralAverage(fold_batch_norm(model)).eval()
    return model, result


def run_identity_control(data, train_mask, *, config, gap_turnovers=1.0, test_window=0.0,
                         pairs=1, progress=False, cache=None):
    """Can the same network tell two runs of one class apart on later snapshots?

    For each class, the training runs sorted by seed are paired off, (first, second), (third,
    fourth), ..., and each pair is a control of its own: its runs are relabelled 0 and 1, a
    fresh network trains on their snapshots at least ``gap_turnovers`` before
    ``t_last - test_window`` (beyond the driving's correlation time, so the large-scale flow has
    renewed itself) and is scored on those from ``t_last - test_window`` to ``t_last``. A score
    near 0.5 means a run's own pattern is not learnable; well above it, a classifier can pass by
    recognising runs instead of physics.

    One pair's score also carries whatever differed between its two runs only for a while (one
    run briefly more supersonic, say): it may land well above or below 0.5 by chance, and a
    learnt run identity lifts every pair. So the control's value, ``mean_accuracy``, is the mean
    over all pairs of all classes (disjoint pairs: independent runs), and each pair's score is
    kept.

    Parameters
    ----------
    data : training.classifiers.alfven_data.LabelledMaps
    train_mask : numpy.ndarray of bool
        The maps of the training runs (test runs are never used).
    config : AlfvenConfig
    gap_turnovers : float
    test_window : float
        Turnovers before the last snapshot that are scored too (0: the last time only).
    pairs : int or None
        Pairs per class at most (None: every disjoint pair of its training runs).
    progress : bool
    cache : training.common.network_cache.NetworkCache, optional
        Where its networks are kept and found again (`_train_cnn`).

    Returns
    -------
    dict
        Per class: ``pairs`` (each with its seeds, times, map counts and accuracy), the seeds
        of all its pairs, its first pair's times and map counts, and ``accuracy``, the mean
        over its pairs; ``mean_accuracy`` over every pair, ``n_pairs``, and ``at_chance``
        (within 0.5 +- `CHANCE_TOLERANCE`); classes whose runs are too short or too few are
        listed under ``skipped`` with the reason.
    """
    result = {"gap_turnovers": float(gap_turnovers), "test_window_turnovers": float(test_window),
              "tolerance": CHANCE_TOLERANCE, "classes": {}, "skipped": {}}
    scores = []
    for label, class_name in enumerate(data.class_names):
        rows = train_mask & (data.labels == label)
        runs = sorted(set(data.runs[rows].tolist()),
                      key=lambda run: (data.records[run]["seed"] is None,
                                       data.records[run]["seed"] or 0))
        if len(runs) < 2:
            result["skipped"][class_name] = "fewer than two training runs"
            continue
        pairings = [runs[i:i + 2] for i in range(0, len(runs) - 1, 2)]
        entries = []
        for pair_runs in pairings[:pairs]:
            entry = _identity_pair(data, rows & np.isin(data.runs, pair_runs), pair_runs,
                                   config=config, gap_turnovers=gap_turnovers,
                                   test_window=test_window,
                                   name=f"identity {class_name}", progress=progress,
                                   cache=cache)
            if isinstance(entry, str):
                result["skipped"][class_name] = entry
                entries = []
                break
            entries.append(entry)
        if not entries:
            continue
        scores += [entry["accuracy"] for entry in entries]
        result["classes"][class_name] = {
            **{key: entries[0][key] for key in ("train_times", "test_times", "n_train_maps",
                                                "n_test_maps")},
            "seeds": [seed for entry in entries for seed in entry["seeds"]],
            "accuracy": float(np.mean([entry["accuracy"] for entry in entries])),
            "pairs": entries}
    result["n_pairs"] = len(scores)
    result["mean_accuracy"] = float(np.mean(scores)) if scores else None
    # inclusive, and blind to round-off: a mean of map fractions can land on 0.45 exactly,
    # which float addition leaves a hair outside
    result["at_chance"] = (None if not scores else bool(
        abs(result["mean_accuracy"] - 0.5) <= CHANCE_TOLERANCE + 1e-9))
    return result


def _identity_pair(data, pair, runs, *, config, gap_turnovers, test_window, name, progress,
                   cache=None):
    """One pair's identity control (`run_identity_control`): its entry, or why it is skipped."""
    from ..evaluation.classifier_metrics import evaluate_classifier

    last = np.nanmax(data.times[pair])
    first_test = last - test_window
    test = pair & (data.times >= first_test - 1e-9)
    train = pair & (data.times <= first_test - gap_turnovers + 1e-9)
    if not train.any():
        return (f"no snapshot {gap_turnovers} turnovers before the first scored one "
                f"({first_test:g})")
    identity = data.select(np.arange(len(data)))
    identity.labels = (data.runs == runs[1]).astype(np.int64)
    train_set = tile_dataset(identity, train, config=config, shifts=config.shift, degrade=True)
    test_set = tile_dataset(identity, test, config=config, shifts=None)
    model, _ = _train_cnn(train_set, train_set, config, name=name, progress=progress,
                          cache=cache)
    accuracy = evaluate_classifier(model, test_set.images, test_set.labels)["accuracy"]
    return {"seeds": [data.records[run]["seed"] for run in runs],
            "train_times": sorted(set(np.round(data.times[train], 3).tolist())),
            "test_times": sorted(set(np.round(data.times[test], 3).tolist())),
            "n_train_maps": int(train.sum()), "n_test_maps": int(test.sum()),
            "accuracy": float(accuracy)}


def accuracy_by_true_class(model, maps, class_names):
    """A torch classifier's accuracy on ``maps`` (a `tile_dataset`), overall and per true
    class: which way a setting's maps are pushed.

    Returns
    -------
    accuracy : float
    by_class : dict
        Class name -> accuracy on the maps of that true class (classes present only).
    """
    accuracy, by_class, _ = _answers_of(model, maps, class_names)
    return accuracy, by_class


#: Training inputs the baselines' setting controls fit on at most (a seeded draw).
BASELINE_CONTROL_MAX_INPUTS = 8000


def _answers_of(model, maps, class_names):
    """`accuracy_by_true_class` and whether each input was answered right."""
    from ..evaluation.classifier_metrics import evaluate_classifier
    from .alfven_baseline_controls import accuracy_and_by_class

    correct = evaluate_classifier(model, maps.images, maps.labels)["predictions"] == maps.labels
    return (*accuracy_and_by_class(correct, maps.labels, class_names), correct)


def run_setting_controls(data, split, *, config, reference=None, networks=1, progress=False,
                         cache=None):
    """Numerics and driving controls: does a network trained on one setting carry over?

    A fresh network is trained on the training runs of the ``reference`` setting only
    (validation as in the main split), then scored on that setting's held-out test runs (the
    same-setting accuracy) and on every run of every other setting (none was seen in its
    training). A model that read the physics scores within `CONTROL_TOLERANCE_POINTS` of
    the same-setting accuracy on the other settings; one that read the solver or the driving
    does not. One network's answer scatters with its training seed (trained on the 48^3 main
    set, three seeds of ``alfven``'s network lost -0.4, 9.0 and 0.7 points on the same 64^3
    runs: ``docs/results/alfven_resolution_bracket_summary.txt``), so ``networks`` of them,
    seeded ``config.seed`` onwards, are trained and their scores averaged.

    Parameters
    ----------
    data : training.classifiers.alfven_data.LabelledMaps
    split : dict
        From `split_runs`.
    config : AlfvenConfig
    reference : str or sequence of str, optional
        Setting to train on (`setting_of`), or several pooled (e.g. every setting of one
        resolution: more independent runs, so the score on another resolution is less the
        runs' and more the resolution's); default the one with the most training maps.
    networks : int, optional
        Networks trained, with seeds ``config.seed`` to ``config.seed + networks - 1``.
    progress : bool
    cache : training.common.network_cache.NetworkCache, optional
        Where its networks are kept and found again (`_train_cnn`).

    Returns
    -------
    dict
        ``reference`` (as given: one setting or a list), ``networks``,
        ``same_setting_accuracy`` (and ``..._by_class``, per true class, and ``..._by_angle``,
        per angle to the field where the maps have several, else None; over the held-out
        runs of every reference setting) and per other setting its ``difference`` from the
        reference (numerics / driving; from the nearest of several), ``accuracy``,
        ``accuracy_by_class``, ``accuracy_by_angle``, ``n_maps``, ``n_runs``,
        ``points_below_same_setting`` and ``within_target`` (of the mean over the networks),
        ``points_below_by_network`` and ``points_below_spread`` (their sample standard
        deviation, None for one network); None when there is one setting.
    """
    settings = map_settings(data)
    names = sorted(set(settings.tolist()))
    if len(names) < 2:
        return None
    if networks < 1:
        raise ValueError(f"networks must be at least 1, got {networks}")
    if reference is None:
        reference = max(names, key=lambda name: np.sum(split["train"] & (settings == name)))
    pooled = [reference] if isinstance(reference, str) else sorted(set(reference))
    unknown = sorted(set(pooled) - set(names))
    if not pooled or unknown:
        raise ValueError(f"no maps of the reference setting(s) {unknown or pooled}; the "
                         f"data's settings are {names}")
    home = np.isin(settings, pooled)
    others = [name for name in names if name not in pooled]
    if not others:
        return None
    same = tile_dataset(data, split["test"] & home, config=config, shifts=None)
    other_maps = {name: tile_dataset(data, settings == name, config=config, shifts=None)
                  for name in others}
    # what does not depend on the network's seed is made once
    validation_set = tile_dataset(data, split["validation"] & home, config=config, shifts=None)
    scores = []
    for offset in range(networks):
        seeded = replace(config, seed=config.seed + offset)
        # the degraded training copies follow the network's seed too
        train_set = tile_dataset(data, split["train"] & home, config=seeded,
                                 shifts=config.shift, degrade=True)
        model, _ = _train_cnn(train_set, validation_set, seeded, name="setting control",
                              progress=progress, cache=cache)
        scores.append({key: _answers_of(model, maps, data.class_names)
                       for key, maps in (("same", same), *other_maps.items())})

    def mean_of(key):
        accuracy = float(np.mean([score[key][0] for score in scores]))
        by_class = {class_name: float(np.mean([score[key][1][class_name] for score in scores]))
                    for class_name in scores[0][key][1]}
        return accuracy, by_class

    def by_angle(key, maps):
        # every network scores the same inputs, so the mean of their answers is per input
        correct = np.mean([score[key][2] for score in scores], axis=0)
        return (_accuracy_by(data.angles[maps.sources], correct)
                if len(np.unique(data.angles[np.isfinite(data.angles)])) > 1 else None)

    same_accuracy, same_by_class = mean_of("same")
    result = {"reference": reference if isinstance(reference, str) else pooled,
              "networks": int(networks),
              "same_setting_accuracy": same_accuracy,
              "same_setting_accuracy_by_class": same_by_class,
              "same_setting_accuracy_by_angle": by_angle("same", same),
              "n_same_setting_maps": int(len(same)),
              "tolerance_points": CONTROL_TOLERANCE_POINTS, "settings": {}}
    for name in others:
        rows = settings == name
        accuracy, by_class = mean_of(name)
        by_network = [100.0 * (score["same"][0] - score[name][0]) for score in scores]
        points = float(np.mean(by_network))
        nearest = min((setting_difference(home_name, name) for home_name in pooled),
                      key=lambda difference: difference.count(" and "))
        result["settings"][name] = {
            "difference": nearest, "accuracy": accuracy,
            "accuracy_by_class": by_class,
            "accuracy_by_angle": by_angle(name, other_maps[name]),
            "n_maps": int(len(other_maps[name])),
            "n_runs": int(len(np.unique(data.runs[rows]))),
            "points_below_same_setting": points,
            "points_below_by_network": [float(value) for value in by_network],
            "points_below_spread": (float(np.std(by_network, ddof=1)) if networks > 1
                                    else None),
            "within_target": bool(points <= CONTROL_TOLERANCE_POINTS)}
    return result


def run_baseline_setting_controls(data, split, *, config, reference, names,
                                  max_train_inputs=None):
    """The classical baselines' numerics and driving controls
    (`training.classifiers.alfven_baseline_controls`): each fitted on one setting's training
    inputs, scored on every setting.

    The inputs are the network's: the reference setting's training runs as degraded shifted
    copies (`tile_dataset` with ``degrade=True``, seeded by ``config.seed``), its held-out test
    runs for the same-setting score and every run of each other setting.

    Parameters
    ----------
    data : training.classifiers.alfven_data.LabelledMaps
        Every setting's maps.
    split : dict
        From `split_runs`: which runs train and which are held out.
    config : AlfvenConfig
        Preprocessing, shifts and degradation of the inputs, as for the networks.
    reference : str
        The setting to fit on (`setting_of`).
    names : sequence of str
        Baselines (keys of `training.evaluation.baselines.BASELINES`).
    max_train_inputs : int, optional
        Fit on at most this many training inputs (a seeded draw): the HOG and spectrum
        features of every shifted slice are minutes each.

    Returns
    -------
    dict
        ``reference``, ``n_train`` and ``baselines``: per baseline its
        ``same_setting_accuracy`` and per other setting its ``difference``, ``accuracy``,
        ``accuracy_by_class`` and ``points_below_same_setting``.

    Raises
    ------
    ValueError
        For a reference setting the data does not hold.
    """
    from .alfven_baseline_controls import score_baselines_across_settings, subsample_inputs

    settings = map_settings(data)
    names_of_settings = sorted(set(settings.tolist()))
    if reference not in names_of_settings:
        raise ValueError(f"no maps of the reference setting {reference!r}; the data's "
                         f"settings are {names_of_settings}")
    home = settings == reference
    train = tile_dataset(data, split["train"] & home, config=config, shifts=config.shift,
                         degrade=True)
    train_images, train_labels = subsample_inputs(train.images, train.labels,
                                                  max_train_inputs, config.seed)
    scored = {key: tile_dataset(data, mask, config=config, shifts=None)
              for key, mask in [("same", split["test"] & home),
                                *((name, settings == name) for name in names_of_settings
                                  if name != reference)]}
    baselines = score_baselines_across_settings(
        train_images, train_labels,
        {key: (maps.images, maps.labels) for key, maps in scored.items()},
        class_names=data.class_names, names=names, seed=config.seed)
    for entry in baselines.values():
        for key, setting in entry["settings"].items():
            setting["difference"] = setting_difference(reference, key)
    return {"reference": reference, "n_train": int(len(train_labels)), "baselines": baselines}


def record_training_domain(out, data, split, *, seed=0, max_maps=2000, command=""):
    """Record the model's training domain in its card from the raw maps of the split.

    The training and validation maps fit the statistics; the thresholds come from each
    training run's maps scored by a record fitted without that run, so they allow for what a
    new run differs by (calibrating on other maps of the same runs flagged new runs several
    times too often); the held-out test runs measure the false-alarm rate
    (`training.evaluation.add_domain.record_domain`). Each set is subsampled to at most
    ``max_maps`` maps with ``seed``.

    Returns
    -------
    dict
        The domain report.
    """
    from ..evaluation.add_domain import record_domain

    rng = np.random.default_rng([seed, 4242])

    def subsample(mask):
        rows = np.flatnonzero(mask)
        if rows.size > max_maps:
            rows = np.sort(rng.choice(rows, max_maps, replace=False))
        return rows

    side = tile_side(data)

    def raw_tiles(rows):
        # the raw tiles the runtime's check would score (a larger map gives several)
        tiles = [runtime_tiles(data.maps[row], side) for row in rows]
        owners = np.repeat(rows, [len(group) for group in tiles])
        return np.concatenate(tiles).astype(np.float64), owners

    fit_tiles, fit_rows = raw_tiles(subsample(split["train"] | split["validation"]))
    test_tiles, test_rows = raw_tiles(subsample(split["test"]))
    sets = {"fit": (fit_tiles, data.labels[fit_rows]), "calibration": None,
            "test": (test_tiles, data.labels[test_rows])}
    return record_domain(out, sets, command=command, fit_groups=data.runs[fit_rows],
                         description=(
                             "raw maps (the runtime's tiles of maps larger than an input) "
                             "of the training runs (fit; thresholds from each run scored "
                             "without it) and of the held-out test runs (measured), from at "
                             f"most {max_maps} maps each (seed {seed})"))


def training_data_summary(records):
    """What the model saw, in words, from its card's run records: classes, seeds, settings,
    snapshot times and the measured Mach numbers."""
    lines = []
    for label in sorted({record["label"] for record in records}):
        runs = [record for record in records if record["label"] == label]
        files = [entry for record in runs for entry in record["files"]]
        machs = [entry["mach_sonic"] for entry in files if np.isfinite(entry["mach_sonic"])]
        alfven = [entry["mach_alfven_total"] for entry in files
                  if np.isfinite(entry["mach_alfven_total"])]
        times = sorted({round(entry["time_turnovers"], 2) for entry in files
                        if np.isfinite(entry["time_turnovers"])})
        text = f"{label}: {len(runs)} runs (seeds {sorted(r['seed'] for r in runs)})"
        if machs:
            text += f", M_s {min(machs):.1f}-{max(machs):.1f}"
        if alfven:
            text += f", M_A(total field) {min(alfven):.2f}-{max(alfven):.2f}"
        if times:
            text += f", snapshots {times[0]:g}-{times[-1]:g} T"
        lines.append(text)
    settings = sorted({setting_of(record) for record in records})
    magnetised = any((record["files"][0].get("mean_field") or 0) > 0 for record in records
                     if record["files"])
    driven = all(entry.get("driving_kind") != "none" for record in records
                 for entry in record["files"])
    kind = f"{'Driven' if driven else 'Decaying'} isothermal {'MHD' if magnetised else 'hydro'}"
    return (f"{kind} runs of our own solver (training.sim). " + "; ".join(lines)
            + f". Settings (numerics | driving): {' || '.join(settings)}.")


def _chance_threshold(rows, key="map_accuracy", level=0.6):
    """The first degradation value at which accuracy falls to ``level`` or below, or None."""
    for row in rows:
        value = row.get(key)
        if value is not None and value <= level:
            return row["value"]
    return None


def caveats(report):
    """What not to trust the model for, in sentences built from its report's measurements."""
    metrics, robustness = report["metrics"], report["robustness"]
    notes = []
    settings = metrics.get("test_accuracy_by_setting") or {}
    if len(settings) <= 1:
        notes.append("Trained and tested on ONE numerics and driving setting of one solver "
                     "at low resolution: not yet checked across numerics, driving or other "
                     "codes.")
    cells = sorted({int(key.split("cells=")[1].split()[0]) for key in settings
                    if "cells=" in key})
    if cells and max(cells) < 256:
        notes.append(f"Trained on {'-'.join(str(n) for n in cells)}^3 runs only: the recipe "
                     "was not run at 256^3 with --device cuda (a GPU lent for 15 minutes made "
                     "48-64^3 sets; 256^3 needs the GPU-hours in "
                     "docs/results/gpu_256_estimate.txt); finer dissipation ranges than these "
                     "are untested.")
    solvers = sorted({key.split("riemann=")[1].split()[0] for key in settings
                      if "riemann=" in key})
    classes = {entry.get("name") for entry in (report.get("card") or {}).get("classes", [])}
    # the anisotropy is what tells the Alfven classes apart; other models read other things
    if (solvers and all(solver.startswith("hlld") for solver in solvers)
            and "sub_alfvenic" in classes):
        notes.append("Trained on HLLD runs only: at 48-64^3 the more diffusive HLLE solver "
                     "erases the sub-Alfvenic density structure along the field that this "
                     "model reads (docs/results/alfven_numerics_physics.txt), and a network "
                     "trained on HLLD runs calls many such sub-Alfvenic maps super-Alfvenic "
                     "(docs/results/alfven_numerics_faithful.txt): measure the density "
                     "anisotropy of another code's runs before trusting it on them.")
    for key, trained in (("setting_controls", "Trained on one setting"),
                         ("pooled_setting_controls", "Trained on several settings pooled")):
        controls = (metrics.get(key) or {}).get("settings", {})
        failed = [f"{entry['difference']} ({entry['points_below_same_setting']:.1f} points "
                  "below)" for entry in controls.values() if not entry["within_target"]]
        if failed:
            notes.append(f"{trained}, it loses more than {CONTROL_TOLERANCE_POINTS:g} points "
                         f"on another: {'; '.join(failed)}; treat maps of other numerics or "
                         "driving with care.")
    for name, bins in (metrics.get("test_accuracy_by_alfven_mach") or {}).items():
        total = sum(entry["maps"] for entry in bins.values())
        overall = sum(entry["accuracy"] * entry["maps"] for entry in bins.values()) / total
        # below by more than the controls' tolerance and than two binomial standard errors
        # of the bin's own accuracy, so that one error in a small bin is not a weakness
        weak = [f"M_A {edge} ({entry['accuracy']:.2f} of {entry['maps']})"
                for edge, entry in bins.items()
                if entry["maps"] >= MIN_MAPS_PER_MACH_BIN
                and overall - entry["accuracy"] > max(
                    CONTROL_TOLERANCE_POINTS / 100,
                    2 * np.sqrt(entry["accuracy"] * (1 - entry["accuracy"]) / entry["maps"]))]
        if weak:
            notes.append(f"Held-out {name} maps are called right at {overall:.2f} overall but "
                         f"less often where their total-field Alfven Mach number is "
                         f"{'; '.join(weak)}: near the other class its answers are weaker.")
    baselines = metrics.get("baselines") or {}
    if baselines:
        best = max(baselines, key=lambda key: baselines[key]["accuracy"])
        if baselines[best]["accuracy"] >= metrics["test_accuracy"]:
            notes.append(f"The {best} baseline scores {baselines[best]['accuracy']:.3f} on the "
                         f"same split against the network's {metrics['test_accuracy']:.3f}: "
                         "the network adds nothing over it yet.")
    # the control on longer runs (training.classifiers.alfven_identity) where it was made
    identity = metrics.get("run_identity_control_long") or metrics.get("run_identity_control")
    if identity and identity.get("mean_accuracy") is not None and not identity["at_chance"]:
        gap = identity.get("gap_turnovers", 1.0)
        later = "one turnover later" if gap == 1.0 else f"{gap:g} turnovers later"
        notes.append(f"A network of this design tells two runs of one class apart at "
                     f"{identity['mean_accuracy']:.2f} (chance 0.5) {later}: part of what it "
                     "reads may be the run, not the physics.")
    failures = []
    for curve, what, identity_value in (("smoothing_sigma_px", "Gaussian smoothing of {} px", 0.0),
                                        ("noise_snr", "noise at SNR {}", float("inf")),
                                        ("zoom_factor", "rescaling by {}", 1.0)):
        value = _chance_threshold([row for row in robustness.get(curve, [])
                                   if row["value"] != identity_value])
        if value is not None:
            failures.append(what.format(f"{value:g}"))
    if failures:
        notes.append(f"{', '.join(failures)} bring(s) it to chance or near it on held-out "
                     "maps (map accuracy <= 0.6): do not trust it on beam-smoothed, noisy or "
                     "rescaled maps such as observations.")
    return notes


def add_caveats_to_card(out, report):
    """Write the training-data summary, the caveats and the run-identity control on longer
    runs (``metrics.run_identity_control_long``, where the report has it: the one-turnover
    control alone may say "not at chance" where the independent snapshots say it is) into the
    card (weights untouched)."""
    import onnx

    from glue_turbml.models import load_model_file, write_card

    card = load_model_file(out).card
    updated = json.loads(json.dumps(card))
    if report["metrics"].get("run_identity_control_long"):
        updated["metrics"]["run_identity_control_long"] = report["metrics"][
            "run_identity_control_long"]
    records = updated["provenance"]["training_data"]["runs"]
    updated["provenance"]["training_data"]["summary"] = training_data_summary(records)
    notes = caveats(report)
    updated["provenance"]["training_data"]["caveats"] = notes
    base = updated["description"].split(" NOT FOR:")[0]
    updated["description"] = base + (" NOT FOR: " + " ".join(notes) if notes else "")
    model = onnx.load(os.fspath(out))
    write_card(model, updated)
    onnx.save(model, os.fspath(out))
    return updated


def _accuracy_by(values, correct):
    """Accuracy for each distinct finite value (snapshot time, angle)."""
    values = np.asarray(values, dtype=float)
    return {f"{value:g}": float(np.mean(correct[values == value]))
            for value in np.unique(values[np.isfinite(values)])}


def _count_by(values):
    """Number of maps for each distinct finite value, keyed as `_accuracy_by` keys them."""
    values = np.asarray(values, dtype=float)
    return {f"{value:g}": int(np.sum(values == value))
            for value in np.unique(values[np.isfinite(values)])}


def map_alfven_mach(data):
    """Total-field Alfven Mach number of each map's snapshot, from its run's records (NaN
    where the snapshot header did not record it)."""
    recorded = {}
    for run, record in enumerate(data.records):
        for entry in record.get("files", []):
            if (entry.get("time_turnovers") is not None
                    and entry.get("mach_alfven_total") is not None):
                recorded[(run, round(float(entry["time_turnovers"]), 6))] = float(
                    entry["mach_alfven_total"])
    return np.array([recorded.get((int(run), round(float(time), 6)), np.nan)
                     for run, time in zip(data.runs, data.times)])


def accuracy_by_alfven_mach(mach, labels, correct, class_names, *, width=0.1):
    """Per class, held-out accuracy and number of inputs in bins of M_A ``width`` wide.

    The classes are set by the mean field, but the total-field M_A of a run scatters from
    seed to seed (super-Alfvenic 1.8-2.8 here), and a network's errors gather where one
    class comes near the other.

    Returns
    -------
    dict
        ``{class name: {"LOW-HIGH": {"accuracy", "maps"}}}``; classes without a recorded
        M_A are left out.
    """
    mach = np.asarray(mach, dtype=float)
    result = {}
    for label, name in enumerate(class_names):
        chosen = (np.asarray(labels) == label) & np.isfinite(mach)
        if not chosen.any():
            continue
        # a small lift so that values on a bin edge fall in the bin they start
        low = np.floor(mach[chosen] / width + 1e-9) * width
        right = np.asarray(correct)[chosen]
        result[name] = {f"{edge:.1f}-{edge + width:.1f}": {
            "accuracy": float(np.mean(right[low == edge])), "maps": int(np.sum(low == edge))}
            for edge in np.unique(low)}
    return result


#: The card's task sentence and map kinds of the Alfven models (other families pass their own).
ALFVEN_TEXT = {
    "task": "Sub- vs super-Alfvenic isothermal MHD turbulence",
    "slices": "density slices perpendicular to the mean field",
    "columns": "column-density maps along lines of sight at 0-90 deg to the mean field",
}


def _build_card(name, config, *, map_size, metrics, split, data, training, command, date,
                report_path, classes=CLASSES, text=None):
    text = ALFVEN_TEXT if text is None else text
    kind_text = text[config.kind]
    return {
        "schema_version": 1,
        "name": name,
        "version": "0.1.0",
        "task": "classification",
        "description": (
            f"{text['task']} from {kind_text} "
            f"({map_size}x{map_size} periodic maps; preprocessing "
            f"{' > '.join(step['op'] for step in preprocess_steps(config.ffp))})."
            + (f" Runs of every resolution kept their own pixel scale: the network saw "
               f"{map_size}-px tiles of larger maps as the runtime cuts them, so give it "
               "maps at the pixel scale of the run, not resampled."
               if config.native_pixels else "")
            + (" The network averages its pooled features over the 8 rotations and "
               "reflections of each map, so its answer does not depend on how a map is "
               "turned or mirrored." if config.dihedral_average else "")),
        "classes": [{"name": class_name, "meaning": meaning} for class_name, meaning in classes],
        "input": {"name": "image", "kind": kind_text, "description": (
            f"{map_size}x{map_size} maps, one channel, NCHW float32, after preprocessing; the "
            "graph accepts other sizes (global average pooling)"),
            "tile_size": int(map_size), "channels": 1, "dtype": "float32", "units": "",
            "layout": "NCHW"},
        "outputs": [{"name": "logits", "description": "class logits in the order of 'classes'",
                     "units": "", "activation": "softmax"}],
        "preprocess": preprocess_steps(config.ffp),
        "tiling": {"stride": int(map_size) // 2, "boundary": "periodic", "combine": "mean",
                   "min_valid_fraction": 0.5},
        "saliency": {"methods": ["occlusion"]},
        "provenance": {
            "training_data": {"summary": f"{len(data.records)} runs; {len(data)} maps",
                              "runs": data.records, "kind": config.kind,
                              "directions": [list(d) for d in config.directions]
                              if config.kind == "columns" else None},
            "split": {"method": "whole runs held out by seed (training.classifiers.alfven."
                                "split_runs)", "runs": split["runs"]},
            "seeds": {"torch": config.seed, "baselines": config.seed, "noise": config.seed},
            "training": training,
            "command": command,
            "report": None if report_path is None else os.fspath(report_path),
            "code_version": code_version(),
            "date": date,
        },
        "metrics": metrics,
    }


def run_training(data, *, config, name, out, report_path=None, test_seeds=None,
                 validation_seeds=None, identity_gap=None, identity_window=0.0,
                 identity_data=None, setting_controls=False, control_reference=None,
                 pooled_control=None, command="", progress=True, classes=CLASSES, text=None,
                 script="training.classifiers.alfven", network_cache=None):
    """Train, evaluate, export and report one classifier of simulator maps (Alfven by default).

    Parameters
    ----------
    data : training.classifiers.alfven_data.LabelledMaps
    config : AlfvenConfig
    name : str
        Model name in the card.
    out : str or path
        ONNX file.
    report_path : str or path, optional
        JSON report.
    test_seeds, validation_seeds : list of int, optional
        See `split_runs`.
    identity_gap : float, optional
        Run the run-identity control (`run_identity_control`) with this gap in turnovers.
    identity_window : float
        Turnovers before the last snapshot scored by that control.
    identity_data : training.classifiers.alfven_data.LabelledMaps, optional
        Longer runs for that control (e.g. recipe ``alfven_48_identity``); the training runs
        by default.
    setting_controls : bool
        Run the numerics and driving controls (`run_setting_controls`).
    control_reference : str, optional
        Folder of the runs those controls train on (`reference_setting`); default the
        setting with the most training maps.
    pooled_control : sequence of str, optional
        Folders whose runs' settings one more control pools (`run_setting_controls` with
        several references; e.g. every set of the smallest resolution, scored on the others).
    command : str
    progress : bool
    classes : sequence of (str, str)
        Class names (in label order) and their meanings, for the card.
    text : dict, optional
        ``{"task", "slices", "columns"}``: the card's task sentence and map kinds
        (`ALFVEN_TEXT` by default).
    script : str
        Module of the training command (for the saliency step's provenance).
    network_cache : str or path, optional
        Folder where every network trained here is kept (`NetworkCache`): the same call
        started again after a stop loads the finished ones instead of training them.

    Returns
    -------
    dict
        The report.
    """
    from tqdm.auto import tqdm

    from glue_turbml.models import load_model_file, open_model

    from ..common.export import export_classifier
    from ..common.nets import count_weights
    from ..common.network_cache import NetworkCache
    from ..evaluation.baselines import fit_baselines
    from ..evaluation.classifier_metrics import evaluate_classifier
    from ..evaluation.robustness import robustness_curves
    from ..saliency.end_step import add_saliency_end_step

    start = time.perf_counter()
    cache = None if network_cache is None else NetworkCache(network_cache)
    # without bars the steps still go to the log, one line each
    say = tqdm.write if progress else (lambda text: print(text, flush=True))
    # maps of several sizes (--native-pixels) give inputs of the smallest one
    map_size = tile_side(data)
    split = split_runs(data, test_seeds=test_seeds, validation_seeds=validation_seeds)
    train_set = tile_dataset(data, split["train"], config=config, shifts=config.shift,
                             degrade=True)
    validation_set = tile_dataset(data, split["validation"], config=config, shifts=None)
    test_set = tile_dataset(data, split["test"], config=config, shifts=None)
    say(f"{name}: {len(train_set)} training inputs, {len(validation_set)} validation, "
        f"{len(test_set)} test; runs {json.dumps(split['runs'])}")

    model, result = _train_cnn(train_set, validation_set, config, name=name, progress=progress,
                               cache=cache)
    evaluation = evaluate_classifier(model, test_set.images, test_set.labels)
    correct = evaluation["predictions"] == test_set.labels
    # the map each test input was cut from (several where a map is larger than an input)
    test_rows = test_set.sources
    baselines = fit_baselines(train_set.images, train_set.labels, test_set.images,
                              test_set.labels, seed=config.seed)
    metrics = {
        "test_accuracy": evaluation["accuracy"],
        "n_test_maps": int(len(test_set)),
        "test_accuracy_by_time_turnovers": _accuracy_by(data.times[test_rows], correct),
        "test_accuracy_by_angle_degrees": _accuracy_by(data.angles[test_rows], correct),
        "test_maps_by_angle_degrees": _count_by(data.angles[test_rows]),
        "test_accuracy_by_setting": {
            name: float(np.mean(correct[map_settings(data)[test_rows] == name]))
            for name in sorted(set(map_settings(data)[test_rows].tolist()))},
        "test_accuracy_by_alfven_mach": accuracy_by_alfven_mach(
            map_alfven_mach(data)[test_rows], test_set.labels, correct, data.class_names),
        "baselines": {key: {"accuracy": value["accuracy"], "auc": value["auc"],
                            "description": value["description"]}
                      for key, value in baselines.items()},
        "cnn_minus_best_baseline": evaluation["accuracy"] - max(
            value["accuracy"] for value in baselines.values()),
        "evaluation": "held-out runs (seeds never seen in training or validation)",
    }
    controls_to_run = []
    if setting_controls:
        controls_to_run.append(("setting_controls", "setting controls from",
                                None if control_reference is None
                                else reference_setting(data, control_reference)))
    if pooled_control:
        controls_to_run.append(("pooled_setting_controls", "pooled control from",
                                sorted({reference_setting(data, folder)
                                        for folder in pooled_control})))
    for key, title, reference in controls_to_run:
        controls = run_setting_controls(data, split, config=config, reference=reference,
                                        networks=config.control_networks, progress=progress,
                                        cache=cache)
        metrics[key] = controls
        if controls is not None:
            say(f"{name}: {title} {controls['reference']}: same-setting "
                f"{controls['same_setting_accuracy']:.4f}; " + "; ".join(
                    f"{entry['difference']} {entry['accuracy']:.4f}"
                    for entry in controls["settings"].values()))
        if key == "setting_controls" and controls is not None:
            # the same question put to the baselines: does the class signal itself move?
            from .alfven_baseline_controls import BASELINE_CONTROL_NAMES

            metrics["baseline_setting_controls"] = run_baseline_setting_controls(
                data, split, config=config, reference=controls["reference"],
                names=BASELINE_CONTROL_NAMES, max_train_inputs=BASELINE_CONTROL_MAX_INPUTS)
    if identity_gap is not None:
        if identity_data is None:
            control = run_identity_control(data, split["train"], config=config,
                                           gap_turnovers=identity_gap, test_window=identity_window,
                                           progress=progress, cache=cache)
        else:
            control = run_identity_control(identity_data, np.ones(len(identity_data), bool),
                                           config=config, gap_turnovers=identity_gap,
                                           test_window=identity_window, progress=progress,
                                           cache=cache)
            control["data"] = "separate longer runs (--identity-class)"
        metrics["run_identity_control"] = control
        say(f"{name}: run-identity control mean accuracy {control['mean_accuracy']} "
            f"(chance 0.5 +- {CHANCE_TOLERANCE}); skipped {control['skipped']}")
    training = {"net": dict(model.config, n_weights=count_weights(model)),
                "hyperparameters": result.config, "best_epoch": result.best_epoch,
                "epochs_run": len(result.history), "torch_threads": torch_thread_count(),
                "config": config.to_dict()}
    date = utc_timestamp()
    card = _build_card(name, config, map_size=map_size, metrics=metrics, split=split,
                       data=data, training=training, command=command, date=date,
                       report_path=report_path, classes=classes, text=text)
    exported = export_classifier(model, out, card, tile_size=map_size,
                                 parity_images=test_set.images[:16],
                                 parity_tile_sizes=(map_size,), seed=config.seed)
    runner = open_model(out, device="cpu")
    test_maps = np.flatnonzero(split["test"])
    robustness = robustness_curves(
        runner, [data.maps[index] for index in test_maps], data.labels[test_maps],
        boundary="periodic", seed=config.seed,
        tile_sizes=sorted({max(8, map_size // 2), max(8, 3 * map_size // 4), map_size}),
        groups={"time_turnovers": np.round(data.times[test_maps], 3)})
    saliency = add_saliency_end_step(out, report_path, command=command, script=script,
                                     say=say)
    domain = record_training_domain(out, data, split, seed=config.seed, command=command)
    held_out = domain["domain"]["measured"]["held_out_training_domain"]
    say(f"{name}: domain check flags {held_out['flagged_fraction']:.1%} of "
        f"{held_out['n_tiles']} held-out maps")
    report = {"model": name, "onnx_file": os.fspath(out), "command": command, "date": date,
              "config": config.to_dict(), "split": split["runs"], "metrics": metrics,
              "baselines": baselines, "robustness": robustness, "history": result.history,
              "parity": exported.parity, "saliency": saliency, "domain": domain,
              "test_scores": {"labels": test_set.labels.tolist(),
                              "logits": np.asarray(evaluation["logits"]).tolist(),
                              "class_names": list(data.class_names)},
              "card": load_model_file(out).card,
              "seconds_total": round(time.perf_counter() - start, 1)}
    if cache is not None:
        # seconds_total leaves out the networks loaded from an earlier call
        report["network_cache"] = cache.summary()
    report["card"] = add_caveats_to_card(out, report)
    if report_path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(report_path)), exist_ok=True)
        with open(report_path, "w", encoding="utf-8") as stream:
            json.dump(report, stream, indent=1, default=float)
    best = max(baselines, key=lambda key: baselines[key]["accuracy"])
    say(f"{name}: held-out accuracy {metrics['test_accuracy']:.4f} on {len(test_set)} maps; "
        f"best baseline {best} {baselines[best]['accuracy']:.4f}; "
        f"{report['seconds_total']:.0f} s")
    return report


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m training.classifiers.alfven",
        description="Train and export a sub- vs super-Alfvenic classifier from labelled cubes.")
    parser.add_argument("--class", dest="classes", action="append", required=True,
                        metavar="LABEL=GLOB",
                        help="density cubes of one class (sub_alfvenic or super_alfvenic), "
                             "z along the mean field; repeat per class")
    parser.add_argument("--kind", choices=("slices", "columns"), default="slices")
    parser.add_argument("--ffp", action="store_true", help="fixed Fourier power on whole maps")
    parser.add_argument("--name", default="alfven", help="model name in the card")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--report", required=True, help="JSON report to write")
    parser.add_argument("--test-seeds", type=int, nargs="+", default=None,
                        help="run seeds held out for testing (default: largest per class)")
    parser.add_argument("--validation-seeds", type=int, nargs="+", default=None,
                        help="run seeds for early stopping (default: last snapshot time of "
                             "the training runs)")
    parser.add_argument("--slice-step", type=int, default=None, help="every n-th slice")
    parser.add_argument("--identity-control", type=float, default=None, metavar="GAP",
                        help="also train a net to tell two runs of one class apart, scored on "
                             "snapshots GAP turnovers after its training ones (must be ~0.5)")
    parser.add_argument("--identity-window", type=float, default=0.0, metavar="TURNOVERS",
                        help="that control scores the snapshots of the last TURNOVERS "
                             "(default 0: the last time only)")
    parser.add_argument("--identity-class", dest="identity_classes", action="append",
                        default=None, metavar="LABEL=GLOB",
                        help="longer runs for that control (repeat per class; default: the "
                             "training runs)")
    parser.add_argument("--map-size", type=int, default=None,
                        help="resample every map to this size over the same extent (for cubes "
                             "of several resolutions; default: the smallest map size found)")
    parser.add_argument("--schedule", choices=("constant", "cosine"), default=None,
                        help="learning-rate schedule (default: the config's, constant)")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="epochs of training (default: the config's)")
    parser.add_argument("--native-pixels", action="store_true",
                        help="keep every map at its own pixel scale (no resampling): the "
                             "network's input is a tile of the smallest map side, cut from "
                             "larger maps as the runtime cuts a user's map")
    parser.add_argument("--spectral-tilt", type=float, default=None, metavar="SLOPE",
                        help="tilt the power spectrum of the training copies (as degraded) by "
                             "a slope change uniform in -SLOPE..SLOPE (default 0: none)")
    parser.add_argument("--zoom", type=float, default=None, metavar="FACTOR",
                        help="magnify the training copies (as degraded) by a factor uniform in "
                             "1..FACTOR and cut them back to size (default 1: none; not with "
                             "--ffp)")
    parser.add_argument("--directions", nargs="+", default=None, metavar="A,C",
                        help="column maps (--kind columns): the lattice directions of the "
                             "lines of sight, A cells across the field for C along it, e.g. "
                             "0,1 (along the field) 1,2 1,1 2,1 1,0 (across; the default)")
    parser.add_argument("--no-dihedral-average", action="store_true",
                        help="score with the trained net alone, not with its pooled features "
                             "averaged over the 8 rotations and reflections of each map")
    parser.add_argument("--setting-controls", action="store_true",
                        help="also train on one setting (numerics and driving) and score the "
                             "others: the numerics and driving controls")
    parser.add_argument("--control-reference", metavar="FOLDER", default=None,
                        help="those controls train on the runs under this folder (e.g. a "
                             "recipe's output folder; default: the setting with the most "
                             "training maps)")
    parser.add_argument("--pooled-control", metavar="FOLDER", nargs="+", default=None,
                        help="one more control: train on the runs under all these folders "
                             "together (e.g. every set of one resolution) and score the "
                             "other settings")
    parser.add_argument("--network-cache", metavar="FOLDER", default=None,
                        help="keep every network trained here in FOLDER (outside the "
                             "repository): the same command started again after a stop "
                             "loads the finished ones instead of training them again")
    return parser


def parse_directions(words):
    """Lattice directions from ``A,C`` words (`training.common.lattice_projection`).

    Raises
    ------
    SystemExit
        For a word that is not two non-negative integers with greatest common divisor 1, or
        a direction given twice.
    """
    directions = []
    for word in words:
        try:
            a, c = (int(part) for part in word.split(","))
        except ValueError:
            raise SystemExit(f"error: --directions takes A,C pairs of integers such as 1,2; "
                             f"got {word!r}") from None
        if a < 0 or c < 0 or math.gcd(a, c) != 1:
            raise SystemExit(f"error: direction {word} must be two integers >= 0 with no "
                             "common divisor (1,2 not 2,4; 0,1 along the field, 1,0 across)")
        if (a, c) in directions:
            raise SystemExit(f"error: direction {word} is given twice")
        directions.append((a, c))
    return tuple(directions)


def _smallest_cube_side(labelled_files):
    from astropy.io import fits

    sides = []
    for labelled in labelled_files:
        with fits.open(labelled.path) as hdul:
            sides.append(int(hdul[0].header.get("NAXIS1", 0)))
    return min(sides) if sides else None


def parse_command(argv=None):
    """This module's command line, read: its options, the config and the labelled maps.

    Parameters
    ----------
    argv : list of str, optional
        As `main`'s.

    Returns
    -------
    tuple
        ``(argv, arguments, config, data, identity_data)``; ``identity_data`` is None without
        ``--identity-class``.
    """
    from glue_turbml.evaluation import expand_class_specs

    from .alfven_data import load_labelled_maps

    argv, arguments = parse_run_arguments(_parser(), argv,
                                          quick_help="tiny net and few epochs, for tests")
    config = run_config(arguments, quick=QUICK_CONFIG, full=FULL_CONFIG, kind=arguments.kind,
                        ffp=arguments.ffp, dihedral_average=not arguments.no_dihedral_average)
    if arguments.slice_step is not None:
        config = replace(config, slice_step=arguments.slice_step)
    if arguments.native_pixels and arguments.map_size is not None:
        raise SystemExit("error: --native-pixels keeps every map's own size; drop --map-size")
    config = replace(config, native_pixels=arguments.native_pixels)
    if arguments.schedule is not None:
        config = replace(config, schedule=arguments.schedule)
    if arguments.max_epochs is not None:
        config = replace(config, max_epochs=arguments.max_epochs)
    if arguments.spectral_tilt is not None:
        if not np.isfinite(arguments.spectral_tilt) or arguments.spectral_tilt < 0:
            raise SystemExit(f"error: --spectral-tilt must be a slope change >= 0, got "
                             f"{arguments.spectral_tilt}")
        config = replace(config, degrade_spectral_tilt=arguments.spectral_tilt)
    if arguments.zoom is not None:
        if not np.isfinite(arguments.zoom) or arguments.zoom < 1:
            raise SystemExit(f"error: --zoom must be a magnification >= 1, got {arguments.zoom}")
        if arguments.ffp and arguments.zoom > 1:
            raise SystemExit("error: --zoom cuts the training copies, which then no longer wrap "
                             "around as --ffp's whole-map step needs; drop one of them")
        config = replace(config, degrade_zoom=arguments.zoom)
    if arguments.directions is not None:
        if config.kind != "columns":
            raise SystemExit("error: --directions chooses the lines of sight of column maps; "
                             "add --kind columns or drop it")
        config = replace(config, directions=parse_directions(arguments.directions))
    class_names = [name for name, _ in CLASSES]
    labelled = expand_class_specs(arguments.classes, class_names)
    map_size = (None if arguments.native_pixels
                else arguments.map_size or _smallest_cube_side(labelled))
    data = load_labelled_maps(labelled, class_names, kind=config.kind,
                              slice_step=config.slice_step,
                              directions=config.directions if config.kind == "columns" else None,
                              map_size=map_size)
    identity_data = None
    if arguments.identity_classes:
        identity_data = load_labelled_maps(
            expand_class_specs(arguments.identity_classes, class_names), class_names,
            kind=config.kind, slice_step=config.slice_step,
            directions=config.directions if config.kind == "columns" else None,
            map_size=map_size)
    return argv, arguments, config, data, identity_data


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    argv, arguments, config, data, identity_data = parse_command(argv)
    run_training(data, config=config, name=arguments.name, out=arguments.out,
                 report_path=arguments.report, test_seeds=arguments.test_seeds,
                 validation_seeds=arguments.validation_seeds,
                 identity_gap=arguments.identity_control,
                 identity_window=arguments.identity_window, identity_data=identity_data,
                 setting_controls=arguments.setting_controls,
                 control_reference=arguments.control_reference,
                 pooled_control=arguments.pooled_control,
                 command=command_line("training.classifiers.alfven", argv),
                 network_cache=arguments.network_cache,
                 progress=not arguments.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
