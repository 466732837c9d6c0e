"""Numerics and driving controls of the classical baselines: the scoring.

`training.classifiers.alfven.run_setting_controls` asks whether a network trained on one
setting (numerics and driving) carries over to another. The same question put to the
classical baselines (`training.evaluation.baselines`) on the same inputs
(`training.classifiers.alfven.run_baseline_setting_controls` prepares them) tells what kind of
signal carries over: if a baseline that reads only the maps' anisotropy, the statistic the
physics says separates the classes, also loses many points on another setting, the class
signal itself moves with the solver at that resolution, and no classifier of those maps can
be expected to carry over; if it keeps its score, a network that loses points reads something
else.
"""

import numpy as np

from ..evaluation.baselines import DEFAULT_BASELINES, fit_baselines

__all__ = ["BASELINE_CONTROL_NAMES", "accuracy_and_by_class", "subsample_inputs",
           "score_baselines_across_settings"]

#: The report's three baselines and the anisotropy alone.
BASELINE_CONTROL_NAMES = (*DEFAULT_BASELINES, "anisotropy_logistic")


def accuracy_and_by_class(correct, labels, class_names):
    """The share of right answers, overall and per true class (classes present only)."""
    return float(np.mean(correct)), {
        class_name: float(np.mean(correct[labels == label]))
        for label, class_name in enumerate(class_names) if np.any(labels == label)}


def subsample_inputs(images, labels, limit, seed):
    """At most ``limit`` of the inputs (images, labels), a seeded draw without replacement in
    their order; all of them for ``limit`` None."""
    if limit is None or len(labels) <= limit:
        return images, labels
    chosen = np.sort(np.random.default_rng([seed, 7]).choice(len(labels), limit, replace=False))
    return images[chosen], labels[chosen]


def score_baselines_across_settings(train_images, train_labels, scored, *, class_names, names,
                                    seed):
    """Each baseline fitted once on the training inputs and scored on several sets.

    Parameters
    ----------
    train_images, train_labels : numpy.ndarray
        The reference setting's training inputs (the network's).
    scored : dict
        ``"same"`` (the reference setting's held-out inputs) and one entry per other setting,
        each an ``(images, labels)`` pair.
    class_names : list of str
    names : sequence of str
        Baselines (keys of `training.evaluation.baselines.BASELINES`).
    seed : int

    Returns
    -------
    dict
        Per baseline: ``description``, ``same_setting_accuracy`` and ``settings``: per other
        key its ``accuracy``, ``accuracy_by_class`` and ``points_below_same_setting``.
    """
    if "same" not in scored:
        raise ValueError("scored needs the reference setting's held-out inputs under 'same'")
    # one fit per baseline, scored on every set at once: its decision values are cut back
    bounds = np.cumsum([0] + [len(labels) for _, labels in scored.values()])
    fitted = fit_baselines(train_images, train_labels,
                           np.concatenate([images for images, _ in scored.values()]),
                           np.concatenate([labels for _, labels in scored.values()]),
                           seed=seed, names=list(names))
    results = {}
    for name in names:
        # binary scikit-learn classifiers answer the second class where the decision is > 0
        answers = (np.asarray(fitted[name]["test_scores"]) > 0).astype(np.int64)
        scores = {}
        for (key, (_, labels)), start, stop in zip(scored.items(), bounds[:-1], bounds[1:]):
            scores[key] = accuracy_and_by_class(answers[start:stop] == labels, labels,
                                                class_names)
        same = scores.pop("same")[0]
        results[name] = {
            "description": fitted[name]["description"], "same_setting_accuracy": same,
            "settings": {key: {"accuracy": accuracy, "accuracy_by_class": by_class,
                               "points_below_same_setting": 100.0 * (same - accuracy)}
                         for key, (accuracy, by_class) in scores.items()}}
    return results
