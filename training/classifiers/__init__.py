"""Tile classifiers (Kolmogorov/Burgers; the Alfven models go here) and the demo map.
Entry points: ``python -m training.classifiers.kolmogorov_burgers``, ``... .demo_map``."""
