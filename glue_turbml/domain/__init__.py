"""Is a map like the model's training data? Scale-free input statistics of raw tiles
(`statistics`) scored against a card's calibrated record (`check`)."""

from .check import DomainCheck, DomainError, DomainResult, check_map, map_verdict
from .statistics import FEATURE_NAMES, input_statistics

__all__ = ["FEATURE_NAMES", "DomainCheck", "DomainError", "DomainResult", "check_map",
           "input_statistics", "map_verdict"]
