"""Classification of maps and cubes tile by tile (`tiled_classifier`) and its results (`result`).
The public entry point is `glue_turbml.classify`."""

from .result import ClassificationResult, CubeClassificationResult
from .tiled_classifier import classify_image, softmax

__all__ = ["ClassificationResult", "CubeClassificationResult", "classify_image", "softmax"]
