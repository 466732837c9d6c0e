"""Image-to-image mapping with a U-Net over whole maps (`tiled_mapping`) and its result (`result`).
The public entry point is `glue_turbml.map_image`."""

from .result import MappingResult
from .tiled_mapping import check_column_unit, map_array, map_image, mapping_grid, margin_window

__all__ = ["MappingResult", "check_column_unit", "map_array", "map_image", "mapping_grid",
           "margin_window"]
