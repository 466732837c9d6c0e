"""Training side of glue-turbml (needs torch), one subpackage per job.

``common`` (data, nets, train loop, export, provenance), ``evaluation`` (scores shared by all
model families), ``classifiers``, ``unet``, ``emission_lines``, ``saliency`` and ``sim`` (the MHD
solver); each subpackage's docstring names its entry points (``python -m training.<sub>.<module>``).
"""
