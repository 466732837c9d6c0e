"""Which glue-turbml entry point runs which kind of model: the hint of wrong-task errors."""

__all__ = ["MODEL_KINDS", "model_kind", "right_tool"]

#: The Python function and the ``turbml`` subcommand of each kind of model (`model_kind`).
MODEL_KINDS = {
    "classification": ("glue_turbml.classify", "turbml classify"),
    "regression": ("glue_turbml.regress", "turbml regress"),
    "image_to_image": ("glue_turbml.map_image", "turbml map"),
    "spectral": ("glue_turbml.predict_emission_lines", "turbml spectra"),
}


def model_kind(card):
    """The kind of a model: ``"spectral"`` for per-spectrum models, else the card's task.

    Per-spectrum models (card ``input.layout`` ``"NC"``) are regressors by task, but read
    spectral cubes, not maps, so `glue_turbml.regress` cannot run them.

    Parameters
    ----------
    card : dict
        A model card.

    Returns
    -------
    str
        A key of `MODEL_KINDS`, or the card's task when this glue-turbml knows no entry point
        for it.

    Examples
    --------
    >>> model_kind({"task": "regression", "input": {"layout": "NC"}})
    'spectral'
    """
    return "spectral" if card.get("input", {}).get("layout") == "NC" else card["task"]


def right_tool(card, *, command_line=False):
    """What to run a model with instead, as the end of an error message.

    Parameters
    ----------
    card : dict
        The model card of the model that was refused.
    command_line : bool
        Name only the ``turbml`` subcommand (for command-line errors).

    Returns
    -------
    str
        E.g. ``"use glue_turbml.regress / `turbml regress` for it"``, or ``"pick another
        model"`` for a kind without an entry point.

    Examples
    --------
    >>> right_tool({"task": "regression", "input": {"layout": "NCHW"}}, command_line=True)
    'use `turbml regress` for it'
    """
    tools = MODEL_KINDS.get(model_kind(card))
    if tools is None:
        return "pick another model"
    python, command = tools
    return f"use `{command}` for it" if command_line else f"use {python} / `{command}` for it"
