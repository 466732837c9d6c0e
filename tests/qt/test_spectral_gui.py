"""The "Predict emission lines" action in a real GlueApplication on a real FITS spectral cube."""

import numpy as np
import pytest

from tests.qt.conftest import accept_modal_dialog, load_glue_data, wait_for_job, write_fits_map
from tests.qt.spectral_cube_builder import halpha_cube_array
from tests.spectra_builders import CUBE_REDSHIFT, cube_header

CHOSEN_LINES = ("HBETA", "HALPHA", "NII_6584")


@pytest.fixture
def halpha_cube(tmp_path):
    """The H-alpha cube written as a FITS file, loaded as glue Data, with its known EW map."""
    from astropy.io import fits

    cube, known_ew = halpha_cube_array()
    path = tmp_path / "galaxy.fits"
    fits.PrimaryHDU(cube, header=cube_header(cube.shape[1:])).writeto(path)
    return path, load_glue_data(path), known_ew


@pytest.fixture
def accept_spectral_dialog(monkeypatch):
    """Make the modal dialog return Accepted after applying the listed edits to it."""
    from glue_turbml.qt.spectral import SpectralDialog

    return accept_modal_dialog(monkeypatch, SpectralDialog)


def _registered_callback():
    from glue_qt.config import layer_action

    from glue_turbml.qt.spectral import SPECTRAL_ACTION_LABEL

    items = [item for item in layer_action.members if item.label == SPECTRAL_ACTION_LABEL]
    assert len(items) == 1 and items[0].single and items[0].data
    return items[0].callback


def _choose(redshift, lines):
    def edit(dialog):
        dialog.redshift_spin.setValue(redshift)
        dialog.set_lines(lines)
    return edit


def test_action_adds_linked_ew_maps_equal_to_the_runtime(glue_app, halpha_cube,
                                                         accept_spectral_dialog):
    from glue_turbml import predict_emission_lines

    path, cube_data, known_ew = halpha_cube
    collection = glue_app.data_collection
    collection.append(cube_data)
    original = np.array(cube_data.get_data(cube_data.main_components[0]))
    accept_spectral_dialog.append(_choose(CUBE_REDSHIFT, CHOSEN_LINES))

    job = wait_for_job(_registered_callback()(cube_data, collection))

    assert job.state == "done", job.error_message
    result = job.datasets["emission_lines"]
    assert result in collection and result.label == "galaxy [desi-emission-lines EW]"
    labels = [cid.label for cid in result.main_components]
    assert labels == ["HBETA", "HBETA_measured", "HBETA_predicted_minus_measured",
                      "HALPHA", "HALPHA_measured", "HALPHA_predicted_minus_measured",
                      "NII_6584", "NII_6584_measured", "NII_6584_predicted_minus_measured",
                      "domain_score"]
    assert {result.get_component(label).units for label in labels[:-1]} == {"Angstrom"}

    expected = predict_emission_lines(path, redshift=CUBE_REDSHIFT, device="cpu")
    for line in CHOSEN_LINES:
        np.testing.assert_allclose(result[line], expected.ew(line), rtol=1e-5, atol=1e-4,
                                   equal_nan=True)
    # Scored slab by slab, the whole cube's verdict: as the runtime's on the file.
    np.testing.assert_allclose(result["domain_score"], expected.domain.scores, rtol=1e-5,
                               atol=1e-5, equal_nan=True)
    assert result.meta["glue_turbml"]["summary"]["domain"] == expected.domain.summary()
    measured = result["HALPHA_measured"]
    np.testing.assert_allclose(measured, known_ew, rtol=0.01, equal_nan=True)
    np.testing.assert_allclose(result["HALPHA_predicted_minus_measured"],
                               result["HALPHA"] - measured, rtol=1e-6, equal_nan=True)
    assert np.isnan(result["HALPHA"][0, 0]) and np.isfinite(result["HALPHA"][1:]).all()

    summary = result.meta["glue_turbml"]["summary"]
    assert summary["n_spectra"] == 20 and summary["n_predicted"] == 19
    assert summary["n_mostly_nan"] == 1 and summary["n_outside_coverage"] == 0
    assert summary["n_measured_nan"]["HALPHA"] == 1
    assert summary["measured_lines"] == list(CHOSEN_LINES)

    # The parent's celestial WCS, and pixel links to the cube's spatial axes.
    world = result.coords.pixel_to_world_values(3, 2)
    np.testing.assert_allclose(world, cube_data.coords.celestial.pixel_to_world_values(3, 2))
    np.testing.assert_array_equal(result[cube_data.pixel_component_ids[1]],
                                  np.indices(result.shape)[0])
    np.testing.assert_array_equal(result[cube_data.pixel_component_ids[2]],
                                  np.indices(result.shape)[1])
    np.testing.assert_array_equal(cube_data.get_data(cube_data.main_components[0]), original)


def test_running_again_with_other_lines_replaces_the_dataset(glue_app, halpha_cube):
    from glue_turbml.qt.spectral import start_spectral_job
    from glue_turbml.qt.spectral_jobs import SpectralRequest

    _, cube_data, _ = halpha_cube
    collection = glue_app.data_collection
    collection.append(cube_data)
    for lines in (("HALPHA",), ("OIII_5007", "HALPHA")):
        request = SpectralRequest(model="desi-emission-lines", redshift=CUBE_REDSHIFT,
                                  lines=lines)
        job = wait_for_job(start_spectral_job(collection, cube_data, request,
                                              application=glue_app))
        assert job.state == "done", job.error_message
    assert len(collection) == 2
    labels = [cid.label for cid in collection[1].main_components]
    assert labels[:2] == ["OIII_5007", "OIII_5007_measured"]


def test_cancel_leaves_the_session_as_it_was(glue_app, halpha_cube):
    from glue_turbml.qt.spectral import SpectralJob
    from glue_turbml.qt.spectral_jobs import SpectralRequest

    _, cube_data, _ = halpha_cube
    collection = glue_app.data_collection
    collection.append(cube_data)
    job = SpectralJob(collection, cube_data,
                      SpectralRequest(model="desi-emission-lines", redshift=CUBE_REDSHIFT),
                      application=glue_app)
    job.cancel()  # before the first slab, so the outcome does not race the worker
    assert job.start()
    wait_for_job(job)
    assert job.state == "cancelled" and job.datasets is None and len(collection) == 1


def _flat_cube_data(tmp_path):
    """A cube whose third axis is not spectral (CTYPE3 LINEAR)."""
    from astropy.io import fits

    cube, _ = halpha_cube_array()
    header = cube_header(cube.shape[1:])
    header["CTYPE3"], header["CUNIT3"] = "LINEAR", ""
    fits.PrimaryHDU(cube, header=header).writeto(tmp_path / "flat.fits")
    return load_glue_data(tmp_path / "flat.fits")


@pytest.mark.parametrize("case, expected_text", [
    ("map", "2D dataset"),
    ("no_spectral_axis", "no spectral axis"),
    ("no_coverage", "missing every bin"),
    ("negative_redshift", "redshift must be >= 0"),
])
def test_bad_input_shows_a_message_and_leaves_the_data_untouched(
        glue_app, tmp_path, halpha_cube, accept_spectral_dialog, message_boxes, case,
        expected_text):
    _, cube_data, _ = halpha_cube
    redshift = {"no_coverage": 3.0, "negative_redshift": -0.1}.get(case, CUBE_REDSHIFT)
    if case == "map":
        data = load_glue_data(write_fits_map(tmp_path / "map.fits",
                                             np.ones((16, 16), dtype=np.float32)))
    elif case == "no_spectral_axis":
        data = _flat_cube_data(tmp_path)
    else:
        data = cube_data
    collection = glue_app.data_collection
    collection.append(data)
    before = np.array(data.get_data(data.main_components[0]))
    accept_spectral_dialog.append(_choose(redshift, CHOSEN_LINES))

    job = _registered_callback()(data, collection)

    if job is not None:
        assert job.state == "failed" and job.error_message == message_boxes[0][1]
    assert len(message_boxes) == 1
    title, text = message_boxes[0]
    assert title == "Cannot predict emission lines"
    assert expected_text in text and "Select a 3D cube with a spectral" in text
    assert len(collection) == 1
    np.testing.assert_array_equal(data.get_data(data.main_components[0]), before)


def test_dialog_offers_only_spectral_models_and_their_lines(glue_app, halpha_cube):
    from glue_turbml.qt.spectral import SpectralDialog
    from glue_turbml.qt.spectral_jobs import SpectralRequest, model_line_names

    _, cube_data, _ = halpha_cube
    dialog = SpectralDialog(cube_data, parent=glue_app)
    names = [dialog.model_combo.itemData(i) for i in range(dialog.model_combo.count())]
    assert {"desi-emission-lines", "desi-emission-lines-red"} <= set(names)
    assert all(entry.card["input"].get("spectral") for entry in dialog.models)
    dialog.set_request(SpectralRequest(model="desi-emission-lines-red", redshift=0.0881,
                                       lines=("HALPHA", "SII_6716")))
    card = dialog.models[dialog.model_combo.currentIndex()].card
    assert [dialog.line_list.item(i).text() for i in range(dialog.line_list.count())] \
        == model_line_names(card)
    assert dialog.request() == SpectralRequest(
        model="desi-emission-lines-red", redshift=0.0881, lines=("HALPHA", "SII_6716"),
        component=cube_data.main_components[0].label)
    dialog.close()


def test_muse_cube_in_glue_matches_the_runtime_and_refuses_the_full_model(
        glue_app, message_boxes):
    """Real IFU data: the Abell 478 MUSE cube shipped in the mpdaf wheel (test extra)."""
    from glue.core.data_factories import load_data

    from glue_turbml import predict_emission_lines
    from glue_turbml.qt.spectral import start_spectral_job
    from glue_turbml.qt.spectral_jobs import SpectralRequest
    from training.emission_lines.muse_check import A478_REDSHIFT, muse_cube_path

    path = muse_cube_path()
    cube = next(data for data in load_data(str(path)) if data.label.endswith("[DATA]"))
    collection = glue_app.data_collection
    collection.append(cube)
    refused = start_spectral_job(collection, cube, SpectralRequest(
        model="desi-emission-lines", redshift=A478_REDSHIFT), application=glue_app)
    assert refused.state == "failed" and len(collection) == 1
    assert "missing 4 of 12 bins" in message_boxes[0][1]
    assert "desi-emission-lines-red" in message_boxes[0][1]

    job = wait_for_job(start_spectral_job(collection, cube, SpectralRequest(
        model="desi-emission-lines-red", redshift=A478_REDSHIFT, lines=("HALPHA",)),
        application=glue_app))
    assert job.state == "done", job.error_message
    result = job.datasets["emission_lines"]
    expected = predict_emission_lines(path, hdu="DATA", redshift=A478_REDSHIFT,
                                      model="desi-emission-lines-red", device="cpu")
    np.testing.assert_allclose(result["HALPHA"], expected.ew("HALPHA"), rtol=1e-5, atol=1e-4)
    assert "air wavelengths converted to vacuum" in result.meta["glue_turbml"]["summary"]["notes"]
    assert np.isfinite(result["HALPHA_measured"]).all()
    # Its continua are far redder than any training galaxy's: the GUI says so without
    # blocking, and the scores are a component to look at.
    domain = result.meta["glue_turbml"]["summary"]["domain"]
    assert domain["verdict"] == "outside" == expected.domain.verdict
    assert job.domain_message_box is not None and job.domain_message_box.isVisible()
    assert not job.domain_message_box.isModal()
    text = job.domain_message_box.text()
    assert f"{expected.domain.n_outside} of 1600 spectra" in text and "domain_score" in text
    np.testing.assert_allclose(result["domain_score"], expected.domain.scores, rtol=1e-5)
    job.domain_message_box.close()


def test_dialog_takes_the_redshift_from_the_cube_header(glue_app, tmp_path):
    from astropy.io import fits

    from glue_turbml.qt.spectral import SpectralDialog

    cube, _ = halpha_cube_array()
    header = cube_header(cube.shape[1:])
    header["REDSHIFT"] = 0.04321
    path = tmp_path / "stated.fits"
    fits.PrimaryHDU(cube, header=header).writeto(path)
    dialog = SpectralDialog(load_glue_data(path), parent=glue_app)
    assert dialog.request().redshift == pytest.approx(0.04321)
    assert dialog.redshift_source.text() == "from the header keyword REDSHIFT"
    dialog.redshift_spin.setValue(0.05)
    assert dialog.redshift_source.text() == ""
    dialog.close()
    plain = tmp_path / "plain.fits"
    fits.PrimaryHDU(cube, header=cube_header(cube.shape[1:])).writeto(plain)
    dialog = SpectralDialog(load_glue_data(plain), parent=glue_app)
    assert dialog.request().redshift == 0.0 and dialog.redshift_source.text() == ""
    dialog.close()
