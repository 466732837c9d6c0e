"""Numerics and driving controls of the classical baselines.

`training.classifiers.alfven.run_setting_controls` asks whether a network trained on one
setting (numerics and driving) carries over to another. The same question put to the
classical baselines (`training.evaluation.baselines`) on the same inputs tells what kind of
signal carries over: if a baseline that reads only the maps' anisotropy, the statistic the
physics says separates the classes, also loses many points on another setting, the class
signal itself moves with the solver at that resolution, and no classifier of those maps can
be expected to carry over; if it keeps its score, a network that loses points reads something
else.
"""

import numpy as np

from ..evaluation.baselines import fit_baselines
from .alfven import map_settings, setting_difference, tile_dataset

__all__ = ["BASELINE_CONTROL_NAMES", "run_baseline_setting_controls"]

#: The report's three baselines and the anisotropy alone.
BASELINE_CONTROL_NAMES = ("hog_svm", "spectrum_logistic", "pixels_linear", "anisotropy_logistic")


def _subsample(dataset, limit, seed):
    """At most ``limit`` inputs of ``dataset`` (images, labels), drawn without replacement."""
    if limit is None or len(dataset.labels) <= limit:
        return dataset.images, dataset.labels
    chosen = np.sort(np.random.default_rng([seed, 7]).choice(len(dataset.labels), limit,
                                                             replace=False))
    return dataset.images[chosen], dataset.labels[chosen]


def run_baseline_setting_controls(data, split, *, config, reference, names,
                                  max_train_inputs=None):
    """Each baseline fitted on one setting's training runs, scored on every setting.

    The inputs are the network's: the reference setting's training runs as degraded shifted
    copies (`tile_dataset` with ``degrade=True``, seeded by ``config.seed``), its held-out test
    runs for the same-setting score and every run of each other setting.

    Parameters
    ----------
    data : training.classifiers.alfven_data.LabelledMaps
    split : dict
        From `training.classifiers.alfven.split_runs`.
    config : training.classifiers.alfven.AlfvenConfig
    reference : str
        The setting to fit on (`training.classifiers.alfven.setting_of`).
    names : list of str
        Baselines (keys of `training.evaluation.baselines.BASELINES`).
    max_train_inputs : int, optional
        Fit on at most this many training inputs (a seeded draw): the HOG and spectrum
        features of every shifted slice are minutes each.

    Returns
    -------
    dict
        ``reference``, ``n_train``, and per baseline ``same_setting_accuracy`` and
        ``settings``: per other setting its ``difference``, ``accuracy``,
        ``accuracy_by_class`` and ``points_below_same_setting``.

    Raises
    ------
    ValueError
        For a reference setting the data does not hold.
    """
    settings = map_settings(data)
    names_of_settings = sorted(set(settings.tolist()))
    if reference not in names_of_settings:
        raise ValueError(f"no maps of the reference setting {reference!r}; the data's "
                         f"settings are {names_of_settings}")
    home = settings == reference
    train = tile_dataset(data, split["train"] & home, config=config, shifts=config.shift,
                         degrade=True)
    train_images, train_labels = _subsample(train, max_train_inputs, config.seed)
    scored = {"same": tile_dataset(data, split["test"] & home, config=config, shifts=None)}
    scored.update({name: tile_dataset(data, settings == name, config=config, shifts=None)
                   for name in names_of_settings if name != reference})
    # one fit per baseline, scored on every set at once: its decision values are cut back
    bounds = np.cumsum([0] + [len(maps.labels) for maps in scored.values()])
    fitted = fit_baselines(train_images, train_labels,
                           np.concatenate([maps.images for maps in scored.values()]),
                           np.concatenate([maps.labels for maps in scored.values()]),
                           seed=config.seed, names=list(names))
    result = {"reference": reference, "n_train": int(len(train_labels)), "baselines": {}}
    for name in names:
        # binary scikit-learn classifiers answer the second class where the decision is > 0
        answers = (np.asarray(fitted[name]["test_scores"]) > 0).astype(np.int64)
        scores = {}
        for (key, maps), start, stop in zip(scored.items(), bounds[:-1], bounds[1:]):
            correct = answers[start:stop] == maps.labels
            scores[key] = (float(np.mean(correct)), {
                class_name: float(np.mean(correct[maps.labels == label]))
                for label, class_name in enumerate(data.class_names)
                if np.any(maps.labels == label)})
        same = scores.pop("same")[0]
        result["baselines"][name] = {
            "description": fitted[name]["description"],
            "same_setting_accuracy": same,
            "settings": {key: {"difference": setting_difference(reference, key),
                               "accuracy": accuracy, "accuracy_by_class": by_class,
                               "points_below_same_setting": 100.0 * (same - accuracy)}
                         for key, (accuracy, by_class) in scores.items()}}
    return result
