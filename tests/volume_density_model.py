"""A real density-slice model: the shipped mass-weighted-density U-Net with a magnetic-energy card.

The weights are the shipped U-Net's, so its numbers equal mass-weighted-density's on the same
map; only the card says it maps a density slice to log10(E_B / <E_B>), which is what the runtime
reads to check units, refuse depths and projections, and name the output.
"""

import copy

__all__ = ["VOLUME_MODEL_NAME", "VOLUME_CHANNEL_NAME", "VOLUME_CHANNEL_LABEL",
           "volume_density_card", "write_volume_density_model"]

VOLUME_MODEL_NAME = "test-magnetic-energy"
VOLUME_CHANNEL_NAME = "log_magnetic_energy_ratio"
VOLUME_CHANNEL_LABEL = "log10(E_B / <E_B>)"


def volume_density_card(card, *, name=VOLUME_MODEL_NAME):
    """A copy of a column-density U-Net's card rewritten for a density-slice model.

    Parameters
    ----------
    card : dict
        The shipped mass-weighted-density card (not modified).
    name : str

    Returns
    -------
    dict
    """
    rewritten = copy.deepcopy(card)
    rewritten["name"] = name
    rewritten["description"] = "test model: density slice -> log10(E_B / <E_B>)"
    rewritten["input"].update(
        quantity="volume_density", units="cm-3", accepted_units=["", "cm-3", "g cm-3"],
        kind="density slice (n in one plane of a cube), divided by its own mean",
        description="a 2D density slice of any size, divided by its mean")
    mean, log_variance = rewritten["outputs"][0]["channels"][:2]
    mean.update(name=VOLUME_CHANNEL_NAME, label=VOLUME_CHANNEL_LABEL,
                description="predicted mean of log10(E_B / <E_B>), E_B = B^2 / 2")
    log_variance["description"] = "natural log of the predicted variance of log10(E_B / <E_B>)"
    return rewritten


def write_volume_density_model(folder, *, name=VOLUME_MODEL_NAME):
    """Save the shipped U-Net with `volume_density_card` as ``folder/<name>.onnx``.

    Parameters
    ----------
    folder : pathlib.Path
    name : str
        Model name in the card (and the file's stem, so the registry finds it by name).

    Returns
    -------
    pathlib.Path
    """
    import onnx

    from glue_turbml.models import read_card, resolve_model, write_card

    model = onnx.load(str(resolve_model("mass-weighted-density").path))
    write_card(model, volume_density_card(read_card(model), name=name))
    path = folder / f"{name}.onnx"
    onnx.save_model(model, str(path))
    return path
