"""Provenance of a result: FITS header cards and a summary naming its model, weights and device."""

__all__ = ["ascii_safe", "provenance_header", "provenance_summary", "provenance_primary_hdu",
           "result_tail"]


def ascii_safe(text):
    """Text a FITS header can hold: non-ASCII and unprintable characters backslash-escaped
    (``é 地图`` -> ``\\xe9 \\u5730\\u56fe``), since header values must be printable ASCII.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        ``text`` itself when it is printable ASCII, else all of it escaped; undo with
        ``text.encode("ascii").decode("unicode_escape")``.
    """
    if text.isascii() and text.isprintable():
        return text
    # escaping every backslash too keeps the escaped text reversible
    return text.encode("unicode_escape").decode("ascii")


def provenance_header(card, session_info, *, preprocessing, input_name):
    """FITS header cards naming the model, its weights, the preprocessing and the device.

    Parameters
    ----------
    card : dict
        The model card.
    session_info : glue_turbml.models.SessionInfo
    preprocessing : str
        Text of the preprocessing steps.
    input_name : str

    Returns
    -------
    astropy.io.fits.Header
    """
    from astropy.io import fits

    from ._version import __version__

    header = fits.Header()
    header["TM_MODEL"] = (card["name"], "glue-turbml model name")
    header["TM_MVER"] = (card["version"], "model version")
    header["TM_TASK"] = (card["task"], "model task")
    header["TM_SHA"] = card["weights_sha256"]  # 64 hex digits leave no room for a comment
    header["TM_PROV"] = (session_info.provider, "onnxruntime execution provider used")
    header["TM_VERS"] = (__version__, "glue-turbml version")
    header["TM_INPUT"] = (ascii_safe(input_name)[:60], "analysed data (non-ASCII escaped)")
    header["HISTORY"] = ascii_safe(f"glue-turbml preprocessing: {preprocessing}")
    # TM_PROV records the provider; why CUDA was not used on "auto" is library detail, not
    # provenance of the result (and on CPU-only machines it is noise)
    return header


def provenance_summary(card, session_info, *, input_name):
    """JSON-friendly provenance that every result's ``summary()`` starts with.

    Parameters
    ----------
    card : dict
        The model card.
    session_info : glue_turbml.models.SessionInfo or None
        ``None`` (provider ``None``) for a result built without a session.
    input_name : str

    Returns
    -------
    dict
        ``input``, ``model``, ``model_version``, ``weights_sha256`` and ``provider``, in that
        order (the order the saved summaries show).
    """
    return {
        "input": input_name,
        "model": card["name"],
        "model_version": card["version"],
        "weights_sha256": card["weights_sha256"],
        "provider": session_info.provider if session_info else None,
    }


def provenance_primary_hdu(result):
    """A header-only primary HDU carrying `provenance_header` of a result.

    Parameters
    ----------
    result : object
        A result with ``model_card``, ``session_info``, ``preprocessing`` and ``input_name``
        attributes (classification and saliency results).

    Returns
    -------
    astropy.io.fits.PrimaryHDU
    """
    from astropy.io import fits

    return fits.PrimaryHDU(header=provenance_header(
        result.model_card, result.session_info, preprocessing=result.preprocessing,
        input_name=result.input_name))


def result_tail(card, session_info, domain, *, tiles):
    """The end of a result's one-line text: tiles, model, provider, and the domain verdict
    when the map is not inside the training domain.

    Parameters
    ----------
    card : dict
    session_info : glue_turbml.models.SessionInfo
    domain : glue_turbml.domain.DomainResult or None
    tiles : str
        E.g. ``"105/105 tiles"``.

    Returns
    -------
    str
    """
    text = f"{tiles}, model {card['name']} {card['version']}, {session_info.provider})"
    if domain is not None and domain.verdict != "inside":
        text += f"; {domain.describe()}"
    return text
