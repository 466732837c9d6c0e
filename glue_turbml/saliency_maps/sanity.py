"""The card's saliency sanity check, read before a saliency map is computed.

Training runs the model-parameter randomization check of Adebayo et al. (2018) for each saliency
method and records in the card whether the method's maps change when the network's weights are
randomized (``saliency.sanity_checks.model_parameter_randomization``). A method that fails
draws the input's own structure whatever the network learned, so its map must not be read as
"what the network looks at": every entry point warns before running it.
"""

import warnings

__all__ = ["SaliencySanityWarning", "recorded_sanity", "sanity_failure_message",
           "warn_if_insane"]


class SaliencySanityWarning(UserWarning):
    """The requested saliency method fails the model's recorded sanity check."""


def recorded_sanity(card, method):
    """The card's sanity-check entry for ``method`` (``passes`` and its scores), or None when
    the card records no check of it."""
    checks = card.get("saliency", {}).get("sanity_checks", {})
    entry = checks.get("model_parameter_randomization", {}).get(method)
    if entry is None:
        return None
    return {"passes": bool(entry.get("passes")), "rule": checks.get("pass_rule"),
            **{key: value for key, value in entry.items() if key != "passes"}}


def sanity_failure_message(card, method, *, brief=False):
    """One line saying that ``method`` fails the card's sanity check and which methods pass,
    or None when it passes or was not checked; ``brief`` leaves out the pass rule and the
    model's name (for a dialog that already shows them)."""
    entry = recorded_sanity(card, method)
    if entry is None or entry["passes"]:
        return None
    checks = card["saliency"]["sanity_checks"]["model_parameter_randomization"]
    passing = sorted(name for name, value in checks.items() if value.get("passes"))
    instead = (f"; methods that pass: {', '.join(passing)}" if passing
               else "; no method of this model passes")
    if brief:
        return (f"'{method}' FAILS this model's saliency sanity check: its map shows the "
                f"input, not what the network uses{instead}.")
    rule = f" ({entry['rule']})" if entry.get("rule") else ""
    return (f"saliency method {method!r} FAILS the sanity check recorded for model "
            f"{card['name']!r}{rule}: its map shows the input's own structure whatever the "
            f"network learned, not what the network looks at{instead}")


def warn_if_insane(card, method, *, stacklevel=3):
    """Issue a `SaliencySanityWarning` when ``method`` fails the card's sanity check.

    Returns
    -------
    str or None
        The warning's text, or None.
    """
    message = sanity_failure_message(card, method)
    if message is not None:
        warnings.warn(message, SaliencySanityWarning, stacklevel=stacklevel)
    return message
