"""Is a map like the model's training data? Scale-free input statistics of raw tiles
(`statistics`) scored against a card's calibrated record (`check`); for the spectral models,
the continuum colours under a mixture density of the training galaxies' (`colours`)."""

from .check import DomainCheck, DomainError, DomainResult, check_map, map_verdict
from .colours import ColourDomainCheck, SpectraDomainResult
from .statistics import FEATURE_NAMES, input_statistics

__all__ = ["FEATURE_NAMES", "ColourDomainCheck", "DomainCheck", "DomainError", "DomainResult",
           "SpectraDomainResult", "check_map", "input_statistics", "map_verdict"]
