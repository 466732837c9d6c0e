"""The card sections every probabilistic U-Net shares: input layout, the two output channels,
preprocessing, window tiling and saliency notes (`training.unet.nets.ProbabilisticUNet`)."""

__all__ = ["unet_card_sections"]


def unet_card_sections(config, *, input_fields, target, channel, calibrated):
    """``input``, ``outputs``, ``preprocess``, ``tiling`` and ``saliency`` of a U-Net card.

    Parameters
    ----------
    config : object
        With ``widths``, ``tile_size`` and ``window_margin``.
    input_fields : dict
        The model's own input fields (``kind``, ``quantity``, ``description``, ``units``,
        ``accepted_units``...); the layout fields are added here.
    target : str
        What the mean channel predicts, e.g. ``"log10(<n>_m / n0)"``.
    channel : dict
        The mean channel's ``name``, ``label`` and ``description``.
    calibrated : bool
        Whether sigma was calibrated on held-out runs (said in the variance channel).

    Returns
    -------
    dict
    """
    spatial_multiple = 2 ** (len(config.widths) - 1)
    stride = (config.tile_size - 2 * config.window_margin) // 2
    return {
        "input": {"name": "image", **input_fields, "tile_size": config.tile_size,
                  "channels": 1, "dtype": "float32", "layout": "NCHW",
                  "spatial_multiple": spatial_multiple, "normalization": "map_mean"},
        "outputs": [{
            "name": "prediction",
            "description": f"two channels per pixel: mean and log-variance of {target}",
            "units": "dex",
            "activation": "none",
            "channels": [
                {"units": "dex", **channel},
                {"name": "log_variance", "units": "",
                 "description": f"natural log of the predicted variance of {target}"
                                f"{' (calibrated)' if calibrated else ''}; sigma (dex) = "
                                "exp(0.5 * log_variance)"},
            ],
        }],
        "preprocess": [{"op": "log10"}],
        "tiling": {"stride": stride, "boundary": "reflect", "combine": "window",
                   "min_valid_fraction": 0.5, "window_margin": config.window_margin},
        "saliency": {"methods": [],
                     "notes": "nn.ReLU modules, one per use, no normalisation layers: "
                              "exportable for gradient saliency"},
    }
