"""``python -m training.sim``: see :mod:`training.sim.cli`."""

import sys

from .cli import main

sys.exit(main())
