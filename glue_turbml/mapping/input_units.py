"""What an image-to-image model maps, read from its card, and the checks of its input's units.

Two kinds of input are known: a column-density map (``card["input"]["quantity"]`` absent or
``"column_density"``, e.g. mass-weighted-density: N -> log10(<n>_m / n0)) and a density slice
(``"volume_density"``, e.g. magnetic-energy: n -> log10(E_B / <E_B>)). The first output's first
channel is the mapped quantity (its ``name`` and optional ``label``), the second its log-variance.
"""

import numpy as np

from ..inputs import InputError
from ..models import ModelCardError

__all__ = ["INPUT_QUANTITIES", "input_quantity", "mean_channel", "check_column_unit",
           "check_volume_unit", "check_input_unit", "check_input_reduction"]

#: Values of ``card["input"]["quantity"]`` this runtime maps; the first is the default.
INPUT_QUANTITIES = ("column_density", "volume_density")
#: Name and label of a column-density model's mean channel: fixed, because saved glue sessions,
#: scripts and the FITS comments of every earlier column-density model use them.
_COLUMN_DENSITY_NAME = "log_density_ratio"
_COLUMN_DENSITY_LABEL = "log10(<n>_m / n0)"


def input_quantity(card):
    """What an image-to-image model takes as input.

    Parameters
    ----------
    card : dict
        A model card.

    Returns
    -------
    {"column_density", "volume_density"}
        ``card["input"]["quantity"]``, ``"column_density"`` when the card has none.

    Raises
    ------
    glue_turbml.models.ModelCardError
        For a quantity this glue-turbml does not know.
    """
    quantity = card["input"].get("quantity", INPUT_QUANTITIES[0])
    if quantity not in INPUT_QUANTITIES:
        raise ModelCardError(f"model {card.get('name', '?')!r} maps a {quantity!r} input; this "
                             f"glue-turbml knows {', '.join(INPUT_QUANTITIES)}: update it")
    return quantity


def mean_channel(card):
    """Name and label of the quantity an image-to-image model maps (its mean channel).

    Parameters
    ----------
    card : dict

    Returns
    -------
    name : str
        ``"log_density_ratio"`` for a column-density model, else the name of the first channel
        of the first output (e.g. ``"log_magnetic_energy_ratio"``).
    label : str
        The channel's ``label`` (e.g. ``"log10(E_B / <E_B>)"``); without one,
        ``"log10(<n>_m / n0)"`` for a column-density model, else the channel's name.

    Examples
    --------
    >>> mean_channel({"input": {"quantity": "volume_density"},
    ...               "outputs": [{"channels": [{"name": "log_magnetic_energy_ratio"}]}]})
    ('log_magnetic_energy_ratio', 'log_magnetic_energy_ratio')
    """
    channels = (card.get("outputs") or [{}])[0].get("channels") or [{}]
    channel = channels[0]
    if input_quantity(card) == "column_density":
        return _COLUMN_DENSITY_NAME, channel.get("label", _COLUMN_DENSITY_LABEL)
    name = channel.get("name", "mean")
    return name, channel.get("label", name)


def check_column_unit(unit, *, depth=None, input_name="image"):
    """Check that a unit is a column density (or none), and give the output density unit.

    Parameters
    ----------
    unit : astropy.units.UnitBase or None
        The input's unit (FITS ``BUNIT`` or a Quantity's unit).
    depth : astropy.units.Quantity, optional
        Line-of-sight depth (a length); needs a physical ``unit``.
    input_name : str

    Returns
    -------
    astropy.units.UnitBase or None
        ``cm-3`` for a number column density, ``g cm-3`` for a mass surface density, ``None``
        when no depth is given.

    Raises
    ------
    glue_turbml.inputs.InputError
        For a unit that is not a column density, a depth that is not a length, or a depth
        with a unitless map.
    """
    from astropy import units as u

    accepted = "a column density (e.g. cm-2), a mass surface density (e.g. solMass pc-2) or a " \
               "dimensionless map"
    physical = unit is not None and unit != u.dimensionless_unscaled
    if physical and not (unit.is_equivalent(u.cm ** -2) or unit.is_equivalent(u.g / u.cm ** 2)):
        # A projection='sum' of a density cube keeps the cube's cm-3: say how to fix it.
        hint = ("it looks like a volume density summed over cells: multiply by the cell length"
                if unit.is_equivalent(u.cm ** -3) else
                "convert it first (e.g. dust optical depth or A_V to N_H)")
        raise InputError(
            f"{input_name}: BUNIT/unit {unit.to_string()!r} is not a column density; the model "
            f"needs {accepted}; {hint}; or, if the map is proportional to N anyway, delete "
            "BUNIT from the FITS header (in Python, pass the plain array)")
    if depth is None:
        return None
    if not isinstance(depth, u.Quantity) or not depth.unit.is_equivalent(u.cm) \
            or not np.isscalar(depth.value) or not depth.value > 0:
        raise InputError(f"--depth must be a positive length, e.g. '1 pc' (depth=1 * u.pc in "
                         f"Python), got {depth!r}")
    if not physical:
        raise InputError(f"{input_name}: --depth (depth=) was given but the map has no "
                         "column-density unit; set BUNIT (e.g. cm-2) in the FITS header (in "
                         "Python, a Quantity in cm-2) to get <n>_m in cm-3, or drop --depth to "
                         "get log10(<n>_m / n0)")
    return u.cm ** -3 if unit.is_equivalent(u.cm ** -2) else u.g / u.cm ** 3


def check_volume_unit(unit, *, depth=None, input_name="image"):
    """Check that a unit is a volume density (or none), for models mapping a density slice.

    Parameters
    ----------
    unit : astropy.units.UnitBase or None
        The input's unit (FITS ``BUNIT`` or a Quantity's unit).
    depth : None
        Refused when given: a slice has no line of sight.
    input_name : str

    Returns
    -------
    None
        Such models give ratios only (no output in physical units).

    Raises
    ------
    glue_turbml.inputs.InputError
        For a depth, a column-density unit (a projection, not a slice: the message says to
        take a plane with ``--slice``) or any other unit that is not a volume density.
    """
    from astropy import units as u

    if depth is not None:
        raise InputError(f"{input_name}: --depth (depth= in Python) applies to column-density "
                         "models only; this model maps a density slice, which has no line of "
                         "sight: drop --depth")
    if unit is None or unit.is_equivalent(u.dimensionless_unscaled) \
            or unit.is_equivalent(u.cm ** -3) or unit.is_equivalent(u.g / u.cm ** 3):
        return None
    if unit.is_equivalent(u.cm ** -2) or unit.is_equivalent(u.g / u.cm ** 2):
        raise InputError(
            f"{input_name}: BUNIT/unit {unit.to_string()!r} is a column density, but this model "
            "needs a density slice, not a projection: map one plane of the density cube with "
            "--slice N instead of --projection (slice_index=N instead of projection= in "
            "Python), or map column densities with a column-density model")
    raise InputError(
        f"{input_name}: BUNIT/unit {unit.to_string()!r} is not a volume density; the model "
        "needs a density slice: a number density (e.g. cm-3), a mass density (e.g. g cm-3) or "
        "a dimensionless map; or, if the map is proportional to the density anyway, delete "
        "BUNIT from the FITS header (in Python, pass the plain array)")


def check_input_unit(card, unit, *, depth=None, input_name="image"):
    """Check an input's unit (and depth) against what an image-to-image model maps.

    Parameters
    ----------
    card : dict
        The model's card; ``card["input"]["quantity"]`` chooses the check.
    unit : astropy.units.UnitBase or None
    depth : astropy.units.Quantity, optional
        Line-of-sight depth; column-density models only.
    input_name : str

    Returns
    -------
    astropy.units.UnitBase or None
        The unit of the physical density the result will also hold (column-density models
        with a depth), else None.

    Raises
    ------
    glue_turbml.inputs.InputError
        As `check_column_unit` or `check_volume_unit`.
    glue_turbml.models.ModelCardError
        For an input quantity this glue-turbml does not know.

    Examples
    --------
    >>> import astropy.units as u
    >>> card = {"name": "magnetic-energy", "input": {"quantity": "volume_density"}}
    >>> check_input_unit(card, u.cm ** -3) is None
    True
    """
    check = check_column_unit if input_quantity(card) == "column_density" else check_volume_unit
    return check(unit, depth=depth, input_name=input_name)


def check_input_reduction(card, *, ndim, axis=None, slice_index=None, projection=None,
                          input_name="image"):
    """Refuse cube reductions a model cannot use: a density-slice model takes planes only.

    Column-density models accept whatever `glue_turbml.inputs.reduce_to_image` does; this only
    replaces its cube messages, which offer projections, for models mapping a density slice.

    Parameters
    ----------
    card : dict
    ndim : int
        Dimensions of the input (3 for a cube).
    axis : int, optional
        The cube axis to slice along (a given one, or the cube's spectral axis); None when
        neither is known.
    slice_index : int, optional
    projection : str, optional
    input_name : str

    Raises
    ------
    glue_turbml.inputs.InputError
        For a projection, or a cube without a plane or an axis, with a density-slice model.
    """
    if input_quantity(card) == "column_density":
        return
    model = card.get("name", "this model")
    if projection is not None:
        raise InputError(
            f"{input_name}: model {model!r} maps a density slice, not a projection: a "
            f"--projection {projection} (projection= in Python) sums or averages densities "
            "along the line of sight; map one plane with --slice N along --axis 0|1|2 "
            "(slice_index=N, axis= in Python)")
    if ndim != 3:
        return
    if slice_index is None or axis is None:
        raise InputError(
            f"{input_name}: a 3D cube needs one plane for model {model!r}, which maps a density "
            "slice: give --axis 0|1|2 and --slice N (axis=, slice_index=N in Python)")
