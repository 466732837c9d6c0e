"""Held-out scores shared by every model family (classifier loss, accuracy and predictions).
No entry points; the family scripts (`training.classifiers`, `training.unet`, ...) call it."""
