"""The side-band EW measurement (`glue_turbml.emission_lines.measured_ew`) on spectra of known
EW."""

import numpy as np
import pytest

from glue_turbml.emission_lines.measured_ew import (LINE_WINDOWS, measurable_lines,
                                                    measure_equivalent_widths)

REST = np.arange(3600.0, 7000.0, 0.8)


def _spectra(line, known_ew, *, sigma=2.0, slope=0.0):
    """A straight continuum (1 at the line, ``slope`` per A) plus a Gaussian of ``known_ew``."""
    centre = LINE_WINDOWS[line][0]
    continuum = 1.0 + slope * (REST - centre)
    profile = np.exp(-0.5 * ((REST - centre) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return continuum[None, :] * (1.0 + np.asarray(known_ew)[:, None] * profile[None, :])


@pytest.mark.parametrize("line", ["HBETA", "OIII_5007", "HALPHA", "SII_6716"])
def test_known_ew_is_recovered_on_a_sloped_continuum(line):
    known = np.array([-3.0, 0.0, 5.0, 80.0])
    ew = measure_equivalent_widths(REST, _spectra(line, known, slope=2e-4), line)
    assert np.all(np.abs(ew - known) <= 0.02 + 0.005 * np.abs(known)), (ew, known)


def test_bad_spectra_give_nan_and_the_input_is_not_modified():
    spectra = _spectra("HALPHA", [10.0, 10.0, 10.0, 10.0])
    window = (REST > 6560) & (REST < 6562)
    band = (REST >= 6480) & (REST < 6530)
    spectra[1, window] = np.nan                  # a NaN inside the line window
    spectra[2, band] = np.nan
    spectra[2, (REST >= 6605) & (REST < 6660)] = np.nan  # no continuum at all
    spectra[3] *= -1                             # negative continuum
    before = spectra.copy()
    ew = measure_equivalent_widths(REST, spectra, "HALPHA")
    assert np.isfinite(ew[0]) and np.isnan(ew[1:]).all()
    np.testing.assert_array_equal(spectra, before)


def test_coverage_and_errors_name_the_problem():
    assert measurable_lines(np.arange(4280.0, 6700.0, 1.0)) == [
        "HGAMMA", "HBETA", "OIII_4959", "OIII_5007", "NII_6548", "HALPHA", "NII_6584"]
    assert measurable_lines(REST, ["HALPHA", "NOT_A_LINE"]) == ["HALPHA"]
    with pytest.raises(ValueError, match="does not cover the window and side bands of SII_6716"):
        measure_equivalent_widths(np.arange(4300.0, 6700.0, 1.0), np.ones((1, 2400)), "SII_6716")
    with pytest.raises(KeyError, match="no measurement window"):
        measure_equivalent_widths(REST, np.ones((1, REST.size)), "LYALPHA")
