"""The spectra and cube fixtures of `tests.spectra_builders`, for these tests."""

from tests.spectra_builders import cube_spaxels, desi_data_path, galaxy_cube_path  # noqa: F401
