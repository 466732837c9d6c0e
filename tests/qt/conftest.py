"""Qt test fixtures: a real offscreen GlueApplication with the plugin set up, real FITS data."""

import os

# Before anything imports Qt: the tests run without a display.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.conftest import make_celestial_wcs  # noqa: E402


def write_fits_map(path, array, *, wcs=None, unit="cm-2"):
    """Write ``array`` with a celestial WCS (one is made when not given) and BUNIT."""
    from astropy.io import fits

    header = (wcs or make_celestial_wcs(array.shape)).to_header()
    header["BUNIT"] = unit
    fits.PrimaryHDU(array, header=header).writeto(path)
    return path


def load_glue_data(path):
    """Load a FITS file with glue's own reader, as File > Open does."""
    from glue.core.data_factories import load_data

    return load_data(str(path))


@pytest.fixture
def map_256(tmp_path):
    """A 256x256 positive map on disk, loaded as glue Data (tiles of 128: 3x3 per map)."""
    values = np.random.default_rng(3).lognormal(sigma=0.5, size=(256, 256)).astype(np.float32)
    return load_glue_data(write_fits_map(tmp_path / "column_density.fits", values * 1e21))


@pytest.fixture
def cube_data(spectral_cube_path):
    """The shared (6, 160, 170) spectral FITS cube, loaded as glue Data."""
    return load_glue_data(spectral_cube_path)


@pytest.fixture
def glue_app():
    """A real GlueApplication with the plugin's Qt parts registered; closed afterwards."""
    from glue_qt.app import GlueApplication

    from glue_turbml.qt import setup_qt

    setup_qt()
    application = GlueApplication()
    yield application
    application.close()


@pytest.fixture
def message_boxes(monkeypatch):
    """Record modal error boxes instead of blocking on them: a list of (title, text)."""
    from qtpy import QtWidgets

    shown = []

    def critical(parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QtWidgets.QMessageBox.Ok

    monkeypatch.setattr(QtWidgets.QMessageBox, "critical", critical)
    return shown


def accept_modal_dialog(monkeypatch, dialog_class):
    """Make a modal dialog class return Accepted after applying the edits in the returned list.

    Only the modal ``exec_`` is patched; the dialog itself is built and read as in the GUI.
    """
    from qtpy import QtWidgets

    edits = []

    def exec_(dialog):
        for edit in edits:
            edit(dialog)
        return QtWidgets.QDialog.Accepted

    monkeypatch.setattr(dialog_class, "exec_", exec_)
    return edits


@pytest.fixture
def accept_dialog(monkeypatch):
    """Make the modal Classify dialog return Accepted with its choices (optionally edited)."""
    from glue_turbml.qt.dialog import ClassifyDialog

    return accept_modal_dialog(monkeypatch, ClassifyDialog)


def wait_for_job(job, *, timeout_ms=60000):
    """Wait until a ClassifyJob's worker ended and its result reached the main thread."""
    from qtpy import QtCore

    job.wait(timeout_ms)
    for _ in range(50):
        if job.state not in ("new", "running"):
            return job
        QtCore.QCoreApplication.processEvents()
    raise AssertionError(f"job still {job.state} after its worker ended")
