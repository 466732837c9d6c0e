"""The U-Net mapping action: output and uncertainty as a linked dataset with units, with a tiny
test model and with the shipped mass-weighted-density U-Net."""

import numpy as np
import pytest

from tests.qt.conftest import wait_for_job
from tests.qt.job_starts import trigger_recording_jobs
from tests.qt.unet_builder import write_tiny_mapping_model


@pytest.fixture
def mapping_model(tmp_path, monkeypatch):
    """A tiny image-to-image model on the model search path; its registry name."""
    folder = tmp_path / "models"
    folder.mkdir()
    write_tiny_mapping_model(folder)
    monkeypatch.setenv("GLUE_TURBML_MODEL_PATH", str(folder))
    return "tiny-mapping"


def test_mapping_action_adds_linked_output_and_uncertainty_with_units(
        glue_app, map_256, mapping_model, accept_dialog, message_boxes, monkeypatch):
    from astropy import units as u
    from glue.core.link_helpers import LinkSame

    import glue_turbml
    from glue_turbml.qt.actions import MAP_ACTION_LABEL
    from glue_turbml.qt.dialog import ClassifyDialog
    from glue_turbml.qt.glue_data import META_KEY

    glue_app.data_collection.append(map_256)
    original = np.array(map_256["PRIMARY"], copy=True)
    jobs = []

    def choose(dialog):
        assert isinstance(dialog, ClassifyDialog) and dialog.task == "image_to_image"
        # Only image-to-image models are offered (never the classifier).
        assert {entry.card["task"] for entry in dialog.models} == {"image_to_image"}
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findData(mapping_model))
        assert "untrained test mapping" in dialog.card_view.toPlainText()
        assert not dialog.saliency_combo.isVisibleTo(dialog)
        dialog.depth_spin.setValue(2.0)
        jobs.append(dialog)

    accept_dialog.append(choose)
    glue_app._layer_widget.ui.layerTree.set_selected_layers([map_256])
    from glue_turbml.qt import controller

    (job,) = trigger_recording_jobs(glue_app._layer_widget._actions[MAP_ACTION_LABEL],
                                    controller.MapJob, monkeypatch)
    wait_for_job(job)
    assert jobs and job.state == "done" and not message_boxes

    mapped = job.datasets["mapping"]
    assert mapped.label == f"{map_256.label} [{mapping_model} mapping]"
    units = {cid.label: mapped.get_component(cid).units for cid in mapped.main_components}
    assert units == {"log_density_ratio": "dex", "sigma": "dex", "density": "1 / cm3"}
    assert mapped.coords.wcs.compare(map_256.coords.wcs)
    assert sum(isinstance(link, LinkSame) for link in glue_app.data_collection.external_links) \
        == 2
    # The same numbers as the Python API on the same FITS data.
    expected = glue_turbml.map_image(map_256, model=mapping_model, depth=2 * u.pc)
    np.testing.assert_allclose(mapped["log_density_ratio"], expected.log_density_ratio,
                               rtol=1e-6)
    np.testing.assert_allclose(mapped["sigma"], expected.sigma, rtol=1e-6)
    np.testing.assert_allclose(mapped["density"], expected.density.to_value(u.cm ** -3),
                               rtol=1e-5)
    summary = mapped.meta[META_KEY]["summary"]
    assert summary["model"] == mapping_model and summary["depth"] == "2.0 pc"
    np.testing.assert_array_equal(map_256["PRIMARY"], original)


def test_mapping_refuses_a_map_that_is_not_a_column_density(glue_app, tmp_path,
                                                            mapping_model, message_boxes):
    from glue_turbml.qt.actions import start_mapping
    from glue_turbml.qt.jobs import MapRequest
    from tests.qt.conftest import load_glue_data, write_fits_map

    values = np.random.default_rng(2).lognormal(size=(128, 128)).astype(np.float32)
    temperature = load_glue_data(write_fits_map(tmp_path / "tb.fits", values, unit="K"))
    glue_app.data_collection.append(temperature)
    job = wait_for_job(start_mapping(glue_app.data_collection, temperature,
                                     MapRequest(model=mapping_model, depth_pc=1.0),
                                     application=glue_app))
    assert job.state == "failed"
    ((title, text),) = message_boxes
    assert title == "Cannot use this dataset" and "column density" in text
    assert [data.label for data in glue_app.data_collection] == [temperature.label]


#: Shipped U-Net: log10 of the mass-weighted mean density along the line of sight.
SHIPPED_UNET = "mass-weighted-density"
#: Mean density (cm-3) and depth (pc) of the test cube, for the column density in cm-2.
MEAN_DENSITY_CM3 = 100.0
DEPTH_PC = 1.0


@pytest.fixture(scope="module")
def column_and_truth():
    """A 256x256 column-density map (cm-2) of a seeded lognormal cube (128 cells deep, 1 pc),
    and the cube's true mass-weighted mean density (cm-3) along the same line of sight."""
    from astropy import units as u

    from training.common.random_fields import lognormal_field
    from training.unet.data import column_and_mass_weighted_density

    density = lognormal_field((128, 256, 256), 3.8, sigma_ln=1.2, seed=[2026, 6])
    density *= MEAN_DENSITY_CM3 / density.mean()
    column_cells, mass_weighted = column_and_mass_weighted_density(density, axis=0)
    cell_cm = (DEPTH_PC * u.pc).to_value(u.cm) / density.shape[0]
    return (column_cells[0] * cell_cm).astype(np.float32), mass_weighted[0]


def test_shipped_unet_maps_a_real_fits_column_density(glue_app, tmp_path, column_and_truth,
                                                      accept_dialog, message_boxes,
                                                      monkeypatch):
    from astropy import units as u

    import glue_turbml
    from glue_turbml.qt import controller
    from glue_turbml.qt.actions import MAP_ACTION_LABEL
    from tests.qt.conftest import load_glue_data, write_fits_map

    column, true_density = column_and_truth
    column_map = load_glue_data(write_fits_map(tmp_path / "column.fits", column))
    glue_app.data_collection.append(column_map)

    def choose(dialog):
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findData(SHIPPED_UNET))
        assert dialog.model_combo.currentData() == SHIPPED_UNET
        dialog.depth_spin.setValue(DEPTH_PC)
        dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))

    accept_dialog.append(choose)
    glue_app._layer_widget.ui.layerTree.set_selected_layers([column_map])
    (job,) = trigger_recording_jobs(glue_app._layer_widget._actions[MAP_ACTION_LABEL],
                                    controller.MapJob, monkeypatch)
    wait_for_job(job)
    assert job.state == "done" and not message_boxes

    mapped = job.datasets["mapping"]
    assert mapped.label == f"{column_map.label} [{SHIPPED_UNET} mapping]"
    assert mapped.shape == column_map.shape
    assert mapped.coords.wcs.compare(column_map.coords.wcs)
    assert mapped.get_component("density").units == "1 / cm3"
    assert mapped.meta["glue_turbml"]["summary"]["provider"] == "CPUExecutionProvider"
    expected = glue_turbml.map_image(column_map, model=SHIPPED_UNET, depth=DEPTH_PC * u.pc,
                                     device="cpu")
    np.testing.assert_allclose(mapped["density"], expected.density.to_value(u.cm ** -3),
                               rtol=1e-5)
    # The trained network recovers the cube's mass-weighted density it never saw.
    predicted_dex = np.log10(mapped["density"])
    true_dex = np.log10(true_density)
    assert np.corrcoef(predicted_dex.ravel(), true_dex.ravel())[0, 1] > 0.9
    assert np.sqrt(np.mean((predicted_dex - true_dex) ** 2)) < 0.2
    sigma = mapped["sigma"]
    assert np.all(np.isfinite(sigma)) and np.all(sigma > 0)
