"""The glue-qt plugin (the only part of glue-turbml that imports Qt)."""

__all__ = ["setup_qt"]

_registered = False


def setup_qt():
    """Register the Qt front end with glue; a second call does nothing.

    Raises
    ------
    ImportError
        If glue-qt is not installed, so that `glue_turbml.setup` skips the Qt front end.
    """
    global _registered
    import glue_qt  # noqa: F401  (raises ImportError without glue-qt)

    if _registered:
        return
    _registered = True
