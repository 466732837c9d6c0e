"""The U-Net mapping action with a density-slice (magnetic-energy style) model: offered beside
the column-density U-Net, no depth, the output component named by the card, units checked."""

import numpy as np
import pytest

from tests.qt.conftest import load_glue_data, wait_for_job, write_fits_map
from tests.qt.job_starts import trigger_recording_jobs
from tests.volume_density_model import (VOLUME_CHANNEL_NAME, VOLUME_MODEL_NAME,
                                        write_volume_density_model)


@pytest.fixture
def volume_model(tmp_path, monkeypatch):
    """The density-slice model on the model search path; its registry name."""
    folder = tmp_path / "models"
    folder.mkdir()
    write_volume_density_model(folder)
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(folder))
    return VOLUME_MODEL_NAME


@pytest.fixture
def density_slice(tmp_path):
    """A 128x128 density slice in cm-3, loaded with glue's FITS reader."""
    values = (100.0 * np.random.default_rng(5).lognormal(sigma=0.5, size=(128, 128))) \
        .astype(np.float32)
    return load_glue_data(write_fits_map(tmp_path / "slice.fits", values, unit="cm-3"))


def test_mapping_action_maps_a_density_slice_without_depth(glue_app, density_slice, volume_model,
                                                           accept_dialog, message_boxes,
                                                           monkeypatch):
    from astropy import units as u

    import glue_turbml
    from glue_turbml.qt import controller
    from glue_turbml.qt.actions import MAP_ACTION_LABEL
    from glue_turbml.qt.glue_data import META_KEY

    glue_app.data_collection.append(density_slice)
    seen = {}

    def choose(dialog):
        offered = {entry.name for entry in dialog.models}
        assert {"mass-weighted-density", volume_model} <= offered
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("mass-weighted-density"))
        seen["column_depth_enabled"] = dialog.depth_spin.isEnabled()
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findData(volume_model))
        seen["volume_depth_enabled"] = dialog.depth_spin.isEnabled()
        seen["tooltip"] = dialog.depth_spin.toolTip()
        dialog.depth_spin.setValue(2.0)  # disabled: not sent
        dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))

    accept_dialog.append(choose)
    glue_app._layer_widget.ui.layerTree.set_selected_layers([density_slice])
    (job,) = trigger_recording_jobs(glue_app._layer_widget._actions[MAP_ACTION_LABEL],
                                    controller.MapJob, monkeypatch)
    wait_for_job(job)
    assert job.state == "done" and not message_boxes, message_boxes
    assert seen["column_depth_enabled"] and not seen["volume_depth_enabled"]
    assert "density slice" in seen["tooltip"]
    assert job.request.depth_pc is None

    mapped = job.datasets["mapping"]
    units = {cid.label: mapped.get_component(cid).units for cid in mapped.main_components}
    assert units == {VOLUME_CHANNEL_NAME: "dex", "sigma": "dex"}
    expected = glue_turbml.map_image(density_slice, model=volume_model, device="cpu")
    np.testing.assert_allclose(mapped[VOLUME_CHANNEL_NAME], expected.log_ratio, rtol=1e-6)
    summary = mapped.meta[META_KEY]["summary"]
    assert summary["quantity_name"] == VOLUME_CHANNEL_NAME and summary["depth"] is None
    assert expected.mean_column_density.unit == u.cm ** -3
    # The viewer opened on the mapping shows the card's quantity.
    layer = next(state for state in job.result_viewer.state.layers if state.layer is mapped)
    assert layer.attribute.label == VOLUME_CHANNEL_NAME


def test_density_slice_model_refuses_column_densities_and_depths(glue_app, tmp_path,
                                                                 density_slice, volume_model,
                                                                 message_boxes):
    from glue_turbml.qt.actions import start_mapping
    from glue_turbml.qt.jobs import MapRequest

    values = np.random.default_rng(2).lognormal(size=(128, 128)).astype(np.float32)
    column = load_glue_data(write_fits_map(tmp_path / "column.fits", values * 1e21))
    for data in (column, density_slice):
        glue_app.data_collection.append(data)
    for data, depth_pc in ((column, None), (density_slice, 1.0)):
        job = wait_for_job(start_mapping(glue_app.data_collection, data,
                                         MapRequest(model=volume_model, depth_pc=depth_pc,
                                                    device="cpu"),
                                         application=glue_app))
        assert job.state == "failed"
    (_, column_text), (_, depth_text) = message_boxes
    assert "density slice, not a projection" in column_text and "--slice" in column_text
    assert "no line of sight" in depth_text
    assert [data.label for data in glue_app.data_collection] == [column.label,
                                                                 density_slice.label]
