"""Accuracy against the angle between the line of sight and the mean field, as a figure.

The column-density classifiers (``alfven-column``) are scored per lattice direction; the card
holds the accuracy per angle and, from 2026-12-04 on, the number of held-out maps per angle,
which gives each point its binomial standard error. `training.evaluation.report` draws this
figure for any classifier whose report has more than one angle.
"""

import numpy as np

__all__ = ["accuracy_by_angle_rows", "plot_accuracy_by_angle"]


def accuracy_by_angle_rows(metrics):
    """``[(angle, accuracy, n_maps or None), ...]`` sorted by angle, from a report's metrics.

    Raises
    ------
    ValueError
        When the metrics hold no per-angle accuracy.
    """
    accuracy = metrics.get("test_accuracy_by_angle_degrees") or {}
    if not accuracy:
        raise ValueError("the report has no accuracy per angle (a slice model?)")
    counts = metrics.get("test_maps_by_angle_degrees") or {}
    return sorted((float(key), float(value), counts.get(key)) for key, value in accuracy.items())


def plot_accuracy_by_angle(metrics, path, *, title):
    """Write the accuracy-against-angle PNG; error bars where the map counts are recorded.

    Parameters
    ----------
    metrics : dict
        A classifier's report metrics (``test_accuracy_by_angle_degrees``, optionally
        ``test_maps_by_angle_degrees`` and ``baselines``).
    path : str or path
    title : str

    Returns
    -------
    path
        ``path``.
    """
    from matplotlib.figure import Figure

    rows = accuracy_by_angle_rows(metrics)
    angles = np.array([row[0] for row in rows])
    accuracy = np.array([row[1] for row in rows])
    counts = [row[2] for row in rows]
    figure = Figure(figsize=(5.5, 3.8), layout="constrained")
    axes = figure.subplots()
    if all(count for count in counts):
        errors = np.sqrt(accuracy * (1 - accuracy) / np.asarray(counts, dtype=float))
        axes.errorbar(angles, accuracy, yerr=errors, fmt="o-", capsize=3,
                      label="CNN (binomial 1-sigma)")
        for angle, value, count in zip(angles, accuracy, counts):
            axes.annotate(f"n={count}", (angle, value), textcoords="offset points",
                          xytext=(0, -14), ha="center", fontsize="x-small")
    else:
        axes.plot(angles, accuracy, "o-", label="CNN (map counts not recorded)")
    best = max(((key, entry["accuracy"]) for key, entry in
                (metrics.get("baselines") or {}).items()), key=lambda item: item[1],
               default=None)
    if best is not None:
        axes.axhline(best[1], color="tab:grey", ls="--", lw=0.8,
                     label=f"best baseline, all angles ({best[0]})")
    axes.axhline(0.5, color="black", lw=0.5)
    axes.set_xlabel("angle between line of sight and mean field (deg)")
    axes.set_ylabel("held-out accuracy")
    axes.set_xticks(angles, [f"{angle:.0f}" for angle in angles])
    axes.set_ylim(0.4, 1.02)
    axes.legend(fontsize="x-small", loc="lower right")
    axes.set_title(title, fontsize="medium")
    figure.savefig(path, format="png", dpi=100)
    return path
