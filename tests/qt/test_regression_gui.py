"""The "Estimate (regression)" action in a real offscreen glue application: the estimate as a
linked dataset named by the model's channel, and failures as message boxes, never crashes."""

import numpy as np

from tests.qt.conftest import wait_for_job
from tests.qt.job_starts import trigger_recording_jobs


def test_regression_action_adds_linked_value_and_sigma(glue_app, map_256, regression_model,
                                                       accept_dialog, message_boxes,
                                                       monkeypatch):
    from glue.core.link_helpers import LinkSame

    import glue_turbml
    from glue_turbml.qt import controller
    from glue_turbml.qt.actions import REGRESS_ACTION_LABEL
    from glue_turbml.qt.glue_data import META_KEY

    glue_app.data_collection.append(map_256)
    original = np.array(map_256["PRIMARY"], copy=True)
    offered = []

    def choose(dialog):
        assert dialog.task == "regression"
        offered.extend(entry.name for entry in dialog.models)
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findData(regression_model))
        assert "spectral_index" in dialog.card_view.toPlainText()
        assert not dialog.saliency_combo.isVisibleTo(dialog)
        assert not dialog.depth_spin.isVisibleTo(dialog)
        dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))

    accept_dialog.append(choose)
    glue_app._layer_widget.ui.layerTree.set_selected_layers([map_256])
    (job,) = trigger_recording_jobs(glue_app._layer_widget._actions[REGRESS_ACTION_LABEL],
                                    controller.RegressJob, monkeypatch)
    wait_for_job(job)
    assert job.state == "done" and not message_boxes
    # map regressors only: neither classifiers, U-Nets nor the per-spectrum regressors
    assert regression_model in offered and "desi-emission-lines" not in offered
    assert "kolmogorov-burgers-fbm" not in offered and "mass-weighted-density" not in offered

    estimate = job.datasets["regression"]
    assert estimate.label == f"{map_256.label} [{regression_model} regression]"
    assert [cid.label for cid in estimate.main_components] == ["spectral_index", "sigma"]
    assert estimate.coords.wcs.compare(map_256.coords.wcs)
    assert sum(isinstance(link, LinkSame) for link in glue_app.data_collection.external_links) \
        == 2
    expected = glue_turbml.regress(map_256, model=regression_model, device="cpu")
    np.testing.assert_allclose(estimate["spectral_index"], expected.value_map, rtol=1e-6)
    np.testing.assert_allclose(estimate["sigma"], expected.sigma_map, rtol=1e-6)
    summary = estimate.meta[META_KEY]["summary"]
    assert summary["value"] == expected.value and summary["sigma"] == expected.sigma
    assert glue_app.statusBar().currentMessage() == str(job.outcome.regression)
    # the estimate opens in an image viewer showing its value map
    layer = next(state for state in job.result_viewer.state.layers
                 if state.layer is estimate)
    assert layer.attribute.label == "spectral_index"
    np.testing.assert_array_equal(map_256["PRIMARY"], original)


def test_a_failing_estimate_is_a_message_box(glue_app, tmp_path, regression_model,
                                             message_boxes):
    from glue_turbml.qt.actions import start_regression
    from glue_turbml.qt.regression_jobs import RegressRequest
    from tests.qt.conftest import load_glue_data, write_fits_map

    nan_map = np.full((64, 64), np.nan, dtype=np.float32)
    empty = load_glue_data(write_fits_map(tmp_path / "empty.fits", nan_map))
    glue_app.data_collection.append(empty)
    job = wait_for_job(start_regression(glue_app.data_collection, empty,
                                        RegressRequest(model=regression_model),
                                        application=glue_app))
    assert job.state == "failed"
    # a classifier given to the regression job: refused with the command that runs it
    wrong = wait_for_job(start_regression(glue_app.data_collection, empty,
                                          RegressRequest(model="kolmogorov-burgers-fbm"),
                                          application=glue_app))
    assert wrong.state == "failed"
    (first_title, first_text), (_, second_text) = message_boxes
    assert first_title == "Cannot analyse this map" and "entirely NaN" in first_text
    assert "`turbml classify`" in second_text
    assert [data.label for data in glue_app.data_collection] == [empty.label]
