"""Emission-line equivalent widths predicted from the continuum (`predict`), measured from side
bands (`measured_ew`), and their result. Entry point: `glue_turbml.predict_emission_lines`."""

from .measured_ew import (LINE_WINDOWS, MIN_BAND_PIXELS, measurable_lines,
                          measure_equivalent_widths)
from .predict import (DEFAULT_SPECTRAL_MODEL, REDSHIFT_KEYWORDS, air_to_vacuum,
                      predict_emission_lines, redshift_from_header, spectral_axis_angstrom,
                      wcs_spectral_axis)
from .result import EmissionLineResult

__all__ = ["DEFAULT_SPECTRAL_MODEL", "EmissionLineResult", "LINE_WINDOWS", "MIN_BAND_PIXELS",
           "REDSHIFT_KEYWORDS", "air_to_vacuum", "measurable_lines", "measure_equivalent_widths",
           "predict_emission_lines", "redshift_from_header", "spectral_axis_angstrom",
           "wcs_spectral_axis"]
