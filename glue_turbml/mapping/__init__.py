"""Image-to-image mapping with a U-Net over whole maps (`tiled_mapping`), what a model maps and
the checks of its input (`input_units`), and the result (`result`).
The public entry point is `glue_turbml.map_image`."""

from .input_units import (INPUT_QUANTITIES, check_column_unit, check_input_reduction,
                          check_input_unit, check_volume_unit, input_quantity, mean_channel)
from .result import MappingResult
from .tiled_mapping import map_array, map_image, mapping_grid, margin_window

__all__ = ["MappingResult", "INPUT_QUANTITIES", "check_column_unit", "check_input_reduction",
           "check_input_unit", "check_volume_unit", "input_quantity", "mean_channel",
           "map_array", "map_image", "mapping_grid", "margin_window"]
