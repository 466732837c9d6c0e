"""Per-spectrum emission-line models: DESI data, MLPs, metrics, baselines, evaluation, MUSE
check. Entry points: ``python -m training.emission_lines.desi_emission_lines``, ``.evaluate``,
``.muse_check``."""
