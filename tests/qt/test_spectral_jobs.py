"""The spectral job's worker step without Qt: slabs, progress, Cancel, merged NaN counts."""

import numpy as np
import pytest

from tests.qt.conftest import load_glue_data
from tests.qt.spectral_cube_builder import halpha_cube_array
from tests.spectra_builders import CUBE_REDSHIFT, cube_header


@pytest.fixture
def prepared_cube(tmp_path):
    from astropy.io import fits

    from glue_turbml.qt.spectral_jobs import SpectralRequest, prepare_spectral_job

    cube, _ = halpha_cube_array()
    cube[:, 2, 3] = -1.0  # a non-positive continuum, counted apart from the NaN spaxel
    path = tmp_path / "slabs.fits"
    fits.PrimaryHDU(cube, header=cube_header(cube.shape[1:])).writeto(path)
    request = SpectralRequest(model="desi-emission-lines", redshift=CUBE_REDSHIFT,
                              lines=("HALPHA", "SII_6731"))
    return path, request, prepare_spectral_job(load_glue_data(path), request)


def test_slabs_report_progress_and_merge_to_the_whole_cube_result(prepared_cube, monkeypatch):
    from glue_turbml import predict_emission_lines
    from glue_turbml.qt import spectral_jobs

    path, request, prepared = prepared_cube
    monkeypatch.setattr(spectral_jobs, "GUI_CHUNK_SPAXELS", 5)  # one row of 5 per slab
    calls = []
    outcome = spectral_jobs.run_spectral_job(prepared, request,
                                             progress=lambda *args: calls.append(args))
    assert calls == [("spectra", row, 4) for row in range(1, 5)]
    whole = predict_emission_lines(path, redshift=CUBE_REDSHIFT, device="cpu")
    merged = outcome.emission_lines
    assert merged.counts == whole.counts
    assert merged.counts["n_mostly_nan"] == 1 and merged.counts["n_nonpositive_continuum"] == 1
    np.testing.assert_allclose(merged.equivalent_width, whole.equivalent_width, rtol=1e-5,
                               atol=1e-4, equal_nan=True)
    assert set(outcome.measured) == {"HALPHA", "SII_6731"}
    assert np.isnan(outcome.measured["HALPHA"][[0, 2], [0, 3]]).all()


def test_cancel_between_slabs_stops_the_worker(prepared_cube, monkeypatch):
    from glue_turbml.qt import spectral_jobs
    from glue_turbml.qt.jobs import CancelToken, JobCancelled

    _, request, prepared = prepared_cube
    monkeypatch.setattr(spectral_jobs, "GUI_CHUNK_SPAXELS", 5)
    token, calls = CancelToken(), []

    def progress(*args):
        calls.append(args)
        token.cancel()  # the user presses Cancel while the first slab is reported

    with pytest.raises(JobCancelled):
        spectral_jobs.run_spectral_job(prepared, request, progress=progress, cancel=token)
    assert calls == [("spectra", 1, 4)]
