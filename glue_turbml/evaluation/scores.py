"""Accuracy, confusion matrix and ROC/AUC of class probabilities against true labels."""

import numpy as np

__all__ = ["classification_scores", "MAX_ROC_POINTS"]

#: ROC curves are thinned to at most this many points in the written results.
MAX_ROC_POINTS = 200


def _thinned(values, keep):
    return [float(value) for value in np.asarray(values)[keep]]


def _roc(truth, score):
    """ROC curve and AUC of one class against the rest; ``None`` where a side is empty."""
    from sklearn.metrics import roc_auc_score, roc_curve

    if truth.all() or not truth.any():
        return None
    false_positive, true_positive, _ = roc_curve(truth, score)
    keep = np.unique(np.linspace(0, len(false_positive) - 1,
                                 min(len(false_positive), MAX_ROC_POINTS)).astype(int))
    return {"auc": float(roc_auc_score(truth, score)),
            "false_positive_rate": _thinned(false_positive, keep),
            "true_positive_rate": _thinned(true_positive, keep)}


def classification_scores(true_labels, probabilities, class_names):
    """Scores of predicted class probabilities.

    Parameters
    ----------
    true_labels : array_like of int
        ``(n,)`` index of each sample's true class.
    probabilities : array_like
        ``(n, n_classes)`` predicted probabilities (rows of NaN are not allowed).
    class_names : list of str

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``confusion_matrix`` (rows: true class, columns: predicted, in
        ``class_names`` order), ``recall`` per class, and ``roc``: per class, the one-vs-rest
        curve and its AUC (``None`` when the samples hold only one side). For two classes
        ``auc`` is that of the second class's probability; for more, the mean of the
        one-vs-rest AUCs over the classes present.

    Raises
    ------
    ValueError
        For shapes that do not match, labels out of range or non-finite probabilities.
    """
    from sklearn.metrics import confusion_matrix

    true_labels = np.asarray(true_labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n_classes = len(class_names)
    if probabilities.ndim != 2 or probabilities.shape != (len(true_labels), n_classes):
        raise ValueError(f"probabilities of shape {probabilities.shape} do not match "
                         f"{len(true_labels)} labels and {n_classes} classes")
    if len(true_labels) == 0:
        raise ValueError("no sample to score")
    if true_labels.min() < 0 or true_labels.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    if not np.all(np.isfinite(probabilities)):
        raise ValueError("probabilities must be finite (drop the skipped tiles first)")
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(true_labels, predicted, labels=list(range(n_classes)))
    counts = matrix.sum(axis=1)
    roc = {name: _roc(true_labels == index, probabilities[:, index])
           for index, name in enumerate(class_names)}
    aucs = [curve["auc"] for curve in roc.values() if curve is not None]
    if n_classes == 2:
        auc = roc[class_names[1]]["auc"] if roc[class_names[1]] is not None else None
    else:
        auc = float(np.mean(aucs)) if aucs else None
    return {
        "n": int(len(true_labels)),
        "accuracy": float(np.mean(predicted == true_labels)),
        "confusion_matrix": matrix.tolist(),
        "recall": {name: (float(matrix[index, index] / counts[index]) if counts[index] else None)
                   for index, name in enumerate(class_names)},
        "auc": auc,
        "roc": roc,
    }
