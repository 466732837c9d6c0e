"""`classification_scores` against values worked out by hand."""

import numpy as np
import pytest

from glue_turbml.evaluation import classification_scores

CLASSES = ["sub", "super"]


def test_two_classes_confusion_accuracy_recall_and_auc():
    labels = [0, 0, 1, 1]
    # P(super): one sub map (0.6) outranks one super map (0.4): 3 of the 4 pairs are ordered
    p_super = np.array([0.1, 0.6, 0.4, 0.9])
    scores = classification_scores(labels, np.column_stack([1 - p_super, p_super]), CLASSES)
    assert scores["n"] == 4
    assert scores["confusion_matrix"] == [[1, 1], [1, 1]]
    assert scores["accuracy"] == 0.5
    assert scores["recall"] == {"sub": 0.5, "super": 0.5}
    assert scores["auc"] == pytest.approx(0.75)
    curve = scores["roc"]["super"]
    assert curve["false_positive_rate"][0] == 0.0 and curve["true_positive_rate"][-1] == 1.0


def test_swapped_labels_score_zero():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert classification_scores([0, 1], probabilities, CLASSES)["accuracy"] == 1.0
    swapped = classification_scores([1, 0], probabilities, CLASSES)
    assert swapped["accuracy"] == 0.0 and swapped["auc"] == 0.0


def test_three_classes_auc_is_the_mean_of_one_against_rest():
    probabilities = np.eye(3)[[0, 1, 2, 2]] * 0.7 + 0.1
    scores = classification_scores([0, 1, 2, 1], probabilities, ["a", "b", "c"])
    assert scores["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    aucs = [scores["roc"][name]["auc"] for name in "abc"]
    assert scores["auc"] == pytest.approx(np.mean(aucs))
    assert aucs[0] == 1.0 and aucs[1] < 1.0


def test_one_class_only_has_no_roc():
    scores = classification_scores([1, 1], np.array([[0.3, 0.7], [0.6, 0.4]]), CLASSES)
    assert scores["roc"] == {"sub": None, "super": None} and scores["auc"] is None
    assert scores["recall"]["sub"] is None and scores["recall"]["super"] == 0.5


@pytest.mark.parametrize("labels, probabilities, message", [
    ([0, 1], np.ones((3, 2)) / 2, "do not match"),
    ([0, 2], np.ones((2, 2)) / 2, "labels must lie"),
    ([0, 1], np.array([[0.5, 0.5], [np.nan, 0.5]]), "finite"),
    ([], np.ones((0, 2)), "no sample"),
])
def test_bad_inputs_are_refused(labels, probabilities, message):
    with pytest.raises(ValueError, match=message):
        classification_scores(labels, probabilities, CLASSES)
