"""Seeded dataset-generation recipes (TOML) and the driver that runs them with per-class
calibration; see :func:`training.sim.recipes.driver.run_recipe`."""

from pathlib import Path

from .driver import load_recipe, run_recipe

__all__ = ["RECIPE_DIR", "load_recipe", "run_recipe"]

RECIPE_DIR = Path(__file__).resolve().parent
