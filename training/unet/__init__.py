"""Image-to-image U-Nets: map-pair datasets (lognormal cubes, MHD snapshots), nets, training,
export, evaluation. Entry points: ``python -m training.unet.mass_weighted_density``, ``.evaluate``,
``.mhd_data``."""
