"""Per-map regressors trained on simulations (e.g. the velocity spectral index)."""
