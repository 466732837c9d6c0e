"""Estimating one scalar of a map, with its uncertainty, tile by tile with a regression model
(`tiled_regression`), and the result (`result`). The public entry point is
`glue_turbml.regress`."""

from .result import RegressionResult
from .tiled_regression import (LOG_VARIANCE_CHANNEL, RegressionOutput, TileCombination,
                               combine_tile_estimates, regress_array, regress_image,
                               regression_output)

__all__ = ["LOG_VARIANCE_CHANNEL", "RegressionOutput", "RegressionResult", "TileCombination",
           "combine_tile_estimates", "regress_array", "regress_image", "regression_output"]
