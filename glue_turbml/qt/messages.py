"""Error messages for people: what went wrong in glue-turbml terms and what to do about it."""

__all__ = ["describe_error"]


def describe_error(error):
    """A short title and a message naming the problem and the fix.

    Parameters
    ----------
    error : BaseException

    Returns
    -------
    title : str
    message : str
    """
    from ..core.tiling import TilingError
    from ..inputs import InputError
    from ..models import DeviceError, ModelCardError, ModelLoadError, ModelNotFoundError

    text = str(error) or type(error).__name__
    if isinstance(error, InputError):
        return ("Cannot use this dataset",
                f"{text}\n\nSelect a 2D map or a 3D cube (with a slice or projection) in the "
                "units the model expects.")
    if isinstance(error, TilingError):
        return ("Cannot analyse this map",
                f"{text}\n\nUse a map at least one model tile across with enough finite "
                "pixels, or a model with smaller tiles.")
    if isinstance(error, (ModelLoadError, ModelCardError, ModelNotFoundError)):
        return ("Cannot load the model",
                f"{text}\n\nPick another model ('turbml models list' shows the usable ones) "
                "or re-export this one with training/export.")
    if isinstance(error, DeviceError):
        return ("Cannot use this device",
                f"{text}\n\nglue-turbml falls back to the CPU with device='auto'.")
    return ("glue-turbml failed", f"{type(error).__name__}: {text}")
