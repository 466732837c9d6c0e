"""glue shows the training-domain verdict: the result panel says it, the Turbulence viewer
hatches the tiles outside the domain, and its readout names them."""

import numpy as np

from tests.qt.conftest import load_glue_data, wait_for_job, write_fits_map
from tests.qt.test_viewer import _settle

MODEL = "kolmogorov-burgers-fbm"


def _classify_in_viewer(glue_app, data):
    from glue_turbml.qt.actions import start_classification
    from glue_turbml.qt.jobs import ClassifyRequest
    from glue_turbml.qt.viewer import TurbulenceViewer

    glue_app.data_collection.append(data)
    viewer = glue_app.new_data_viewer(TurbulenceViewer, data=data)
    job = wait_for_job(start_classification(glue_app.data_collection, data,
                                            ClassifyRequest(model=MODEL), application=glue_app))
    assert job.state == "done"
    _settle()
    return viewer, job


def test_galaxies_are_hatched_and_the_panel_says_outside(glue_app, tmp_path, message_boxes):
    from skimage import data as images

    from glue_turbml.qt.panel import result_panel_for

    hubble = images.hubble_deep_field().astype(np.float32).mean(axis=2)
    data = load_glue_data(write_fits_map(tmp_path / "hubble.fits", hubble, unit=""))
    viewer, job = _classify_in_viewer(glue_app, data)
    domain = job.outcome.classification.domain
    assert domain.verdict == "outside"
    assert len(viewer.domain_artist.get_paths()) == domain.n_outside
    assert f"OUTSIDE the training domain: {domain.n_outside} of" in viewer.readout.text()
    panel = result_panel_for(glue_app)
    assert "OUTSIDE the training domain" in panel.domain_label.text()
    assert panel.domain_label.isVisibleTo(panel)
    assert not message_boxes


def test_own_kind_of_map_is_inside_with_only_false_alarms_hatched(glue_app, tmp_path,
                                                                  message_boxes):
    from glue_turbml.qt.panel import result_panel_for
    from training.common.random_fields import lognormal_field

    field = lognormal_field((512, 512), 3.7, sigma_ln=1.0, seed=[4711]).astype(np.float32)
    data = load_glue_data(write_fits_map(tmp_path / "own.fits", field))
    viewer, job = _classify_in_viewer(glue_app, data)
    domain = job.outcome.classification.domain
    assert domain.verdict == "inside" and domain.n_outside <= 2  # 1% of 49 tiles, 99.9% bound
    hatched = 0 if viewer.domain_artist is None else len(viewer.domain_artist.get_paths())
    assert hatched == domain.n_outside
    assert "training domain" not in viewer.readout.text()
    assert result_panel_for(glue_app).domain_label.text().startswith("inside the model's")
