"""Pure-numpy building blocks shared by training and inference: preprocessing, tiling, spectra,
map statistics."""

from .map_statistics import MAP_STATISTICS, SPECTRAL_SLOPE_RANGE, map_statistics
from .preprocess import (PREPROCESS_STEPS, PreprocessError, build_pipeline, describe_pipeline,
                         equalize_histogram, fixed_fourier_power, log10, standardize)
from .spectra import fit_power_law_slope, radial_power_spectrum
from .tiling import (BOUNDARIES, TileGrid, TilingError, blend_window, extract_tiles,
                     fill_nan_nearest, make_tile_grid, stitch_tiles)

__all__ = [
    "MAP_STATISTICS", "SPECTRAL_SLOPE_RANGE", "map_statistics",
    "PREPROCESS_STEPS", "PreprocessError", "build_pipeline", "describe_pipeline",
    "equalize_histogram", "fixed_fourier_power", "log10", "standardize",
    "fit_power_law_slope", "radial_power_spectrum",
    "BOUNDARIES", "TileGrid", "TilingError", "blend_window", "extract_tiles",
    "fill_nan_nearest", "make_tile_grid", "stitch_tiles",
]
