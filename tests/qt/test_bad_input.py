"""Bad input inside glue: a clear message box, and the session and the data left untouched."""

import numpy as np
import pytest

from tests.qt.conftest import load_glue_data, wait_for_job, write_fits_map

MODEL = "kolmogorov-burgers-fbm"


def _snapshot(data_collection):
    return ([data.label for data in data_collection], len(data_collection.external_links),
            [np.array(data.get_data(data.main_components[0]), copy=True)
             for data in data_collection])


def _assert_unchanged(data_collection, before):
    labels, n_links, arrays = _snapshot(data_collection)
    assert labels == before[0] and n_links == before[1]
    for array, original in zip(arrays, before[2]):
        np.testing.assert_array_equal(array, original)


def test_table_gets_a_message_instead_of_the_dialog(glue_app, message_boxes, monkeypatch):
    from glue.core import Data

    from glue_turbml.qt.actions import LAYER_ACTION_LABEL
    from glue_turbml.qt.dialog import ClassifyDialog

    catalog = Data(label="catalog", flux=np.arange(10.0), size=np.ones(10))
    glue_app.data_collection.append(catalog)
    before = _snapshot(glue_app.data_collection)
    monkeypatch.setattr(ClassifyDialog, "exec_", lambda dialog: pytest.fail("dialog opened"))
    glue_app._layer_widget.ui.layerTree.set_selected_layers([catalog])
    glue_app._layer_widget._actions[LAYER_ACTION_LABEL].trigger()
    assert len(message_boxes) == 1
    title, text = message_boxes[0]
    assert title == "Cannot use this dataset"
    assert "1D dataset" in text and "2D map or a 3D cube" in text
    _assert_unchanged(glue_app.data_collection, before)


@pytest.mark.parametrize("case, expected_title, expected_text", [
    ("all_nan", "Cannot analyse this map", "entirely NaN"),
    ("smaller_than_tile", "Cannot analyse this map", "128"),
    ("corrupt_model", "Cannot load the model", "corrupt.onnx"),
])
def test_failures_show_a_message_and_leave_the_session_untouched(
        glue_app, tmp_path, message_boxes, case, expected_title, expected_text):
    from glue_turbml.qt.actions import start_classification
    from glue_turbml.qt.jobs import ClassifyRequest

    model = MODEL
    values = np.random.default_rng(1).lognormal(size=(256, 256)).astype(np.float32)
    if case == "all_nan":
        values[:] = np.nan
    elif case == "smaller_than_tile":
        values = values[:64, :96]
    else:
        model = tmp_path / "corrupt.onnx"
        model.write_bytes(b"this is not an ONNX protobuf")
        model = str(model)
    data = load_glue_data(write_fits_map(tmp_path / f"{case}.fits", values))
    glue_app.data_collection.append(data)
    before = _snapshot(glue_app.data_collection)

    job = wait_for_job(start_classification(glue_app.data_collection, data,
                                            ClassifyRequest(model=model),
                                            application=glue_app))
    assert job.state == "failed"
    assert len(message_boxes) == 1
    title, text = message_boxes[0]
    assert title == expected_title and expected_text in text
    assert text == job.error_message
    _assert_unchanged(glue_app.data_collection, before)
