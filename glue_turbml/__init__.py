"""glue-turbml: neural-network measurements of interstellar turbulence in maps and cubes."""

from contextlib import suppress

from ._version import __version__
from .api import (classify, evaluate, list_models, map_image, predict_emission_lines, regress,
                  saliency)

__all__ = ["__version__", "classify", "evaluate", "list_models", "map_image",
           "predict_emission_lines", "regress", "saliency", "setup"]


def setup():
    """Entry point for glue's plugin loader (``glue.plugins``); safe to call more than once."""
    with suppress(ImportError):
        from .qt import setup_qt
        setup_qt()
