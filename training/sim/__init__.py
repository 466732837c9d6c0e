"""An isothermal ideal-MHD turbulence simulator in PyTorch (CPU and CUDA), with its verification
suite and dataset recipes. Entry point: ``turbml-sim`` (``python -m training.sim``) with the
commands run, verify, stats and recipe."""

from .grid import Grid
from .solver import MHDSolver, NonPhysicalStateError, SolverOptions
from .state import MHDState

__all__ = ["Grid", "MHDSolver", "MHDState", "NonPhysicalStateError", "SolverOptions",
           "__version__"]

# the simulator's own version, written into every snapshot and checkpoint
__version__ = "0.5.0"  # the hlld_no_order_check Riemann solver (0.4.0: minmod, forcing options)
