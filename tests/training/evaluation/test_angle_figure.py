"""The accuracy-against-angle figure of the column-density classifiers' reports."""

import pytest

from training.evaluation.angle_figure import accuracy_by_angle_rows, plot_accuracy_by_angle

METRICS = {"test_accuracy_by_angle_degrees": {"90": 0.96, "0": 0.9, "45": 0.875},
           "test_maps_by_angle_degrees": {"90": 50, "0": 20, "45": 40},
           "baselines": {"hog_svm": {"accuracy": 0.8}, "pixels_linear": {"accuracy": 0.6}}}


def test_rows_are_sorted_by_angle_with_their_map_counts():
    assert accuracy_by_angle_rows(METRICS) == [(0.0, 0.9, 20), (45.0, 0.875, 40),
                                               (90.0, 0.96, 50)]
    older = {"test_accuracy_by_angle_degrees": METRICS["test_accuracy_by_angle_degrees"]}
    assert [row[2] for row in accuracy_by_angle_rows(older)] == [None, None, None]
    with pytest.raises(ValueError, match="no accuracy per angle"):
        accuracy_by_angle_rows({"test_accuracy_by_angle_degrees": {}})


@pytest.mark.parametrize("metrics", [METRICS, {"test_accuracy_by_angle_degrees": {
    "0": 0.9, "90": 0.8}}])
def test_the_figure_is_a_png_with_or_without_counts(metrics, tmp_path):
    path = plot_accuracy_by_angle(metrics, tmp_path / "angles.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
