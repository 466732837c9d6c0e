"""Saliency maps over whole maps without torch: classifiers and regressors tile by tile
(`tile_saliency`), U-Net regions (`region_saliency`); entry point `glue_turbml.saliency`.

The package is named ``saliency_maps`` because ``glue_turbml.saliency`` is the public function.
"""

from .explain import saliency_image
from .occlusion import occlusion_saliency
from .options import SALIENCY_METHODS, output_names, resolve_target
from .region_saliency import image_to_image_saliency, region_mask
from .result import DEFAULT_CONTOUR_QUANTILE, DEFAULT_SMOOTHING_SIGMA_PX, SaliencyResult
from .sanity import SaliencySanityWarning, sanity_failure_message

__all__ = ["SALIENCY_METHODS", "DEFAULT_CONTOUR_QUANTILE", "DEFAULT_SMOOTHING_SIGMA_PX",
           "SaliencyResult", "SaliencySanityWarning", "image_to_image_saliency",
           "occlusion_saliency", "output_names",
           "region_mask", "resolve_target", "saliency_image", "sanity_failure_message"]
