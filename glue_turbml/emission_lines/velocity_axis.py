"""Observed wavelengths of a cube whose spectral axis is a velocity, given the line's rest
wavelength: the Doppler convention follows the FITS axis type (WCS Paper III)."""

import numpy as np

from ..inputs import InputError

__all__ = ["VELOCITY_CTYPES", "doppler_convention", "velocity_axis_wavelength"]

#: FITS spectral axis types that are velocities (or redshifts): no rest frame without a line.
VELOCITY_CTYPES = ("VELO", "VRAD", "VOPT", "ZOPT", "BETA", "VTRO")


def doppler_convention(ctype):
    """The Doppler convention of a velocity axis type.

    Parameters
    ----------
    ctype : str
        The FITS ``CTYPE`` of the spectral axis (``VOPT-F2W`` etc. allowed).

    Returns
    -------
    {"optical", "radio", "relativistic"}
        ``optical`` for ``VOPT`` and ``ZOPT`` (lambda = lambda0 (1 + v/c)), ``radio`` for
        ``VRAD`` (nu = nu0 (1 - v/c)), ``relativistic`` otherwise (``VELO``, ``BETA``: the
        apparent radial velocity of Paper III).
    """
    kind = ctype.upper()[:4]
    if kind in ("VOPT", "ZOPT"):
        return "optical"
    if kind == "VRAD":
        return "radio"
    return "relativistic"


def _checked_rest(rest_wavelength):
    from astropy import units as u

    message = ("--rest-wavelength (rest_wavelength= in Python) must be one positive wavelength "
               "or frequency with units, e.g. '6564.61 Angstrom' or '1420.406 MHz'")
    if not isinstance(rest_wavelength, u.Quantity) or not rest_wavelength.isscalar:
        raise InputError(f"{message}; got {rest_wavelength!r}")
    try:
        angstrom = rest_wavelength.to_value(u.AA, equivalencies=u.spectral())
    except u.UnitConversionError:
        raise InputError(f"{message}; got {rest_wavelength}") from None
    if not (np.isfinite(angstrom) and angstrom > 0):
        raise InputError(f"{message}; got {rest_wavelength}")
    return rest_wavelength


def velocity_axis_wavelength(values, unit, ctype, rest_wavelength):
    """Observed wavelengths in Angstrom of the channels of a velocity axis.

    Parameters
    ----------
    values : array_like
        World values of the channels (velocities; redshifts for ``ZOPT``, v/c for ``BETA``).
    unit : astropy.units.UnitBase or str
        Their unit (a velocity; ignored for the dimensionless ``ZOPT`` and ``BETA``).
    ctype : str
        The FITS ``CTYPE`` of the axis, which sets the convention (`doppler_convention`).
    rest_wavelength : astropy.units.Quantity
        Rest wavelength (or frequency) of the line the velocities refer to; the observed
        wavelengths are in its medium (vacuum for the models).

    Returns
    -------
    wavelength : numpy.ndarray
        float64 observed wavelengths in Angstrom.
    convention : str
        The Doppler convention used.

    Raises
    ------
    glue_turbml.inputs.InputError
        For a rest wavelength that is not one positive spectral Quantity, or velocities in a
        unit that is not a speed.

    Examples
    --------
    >>> import astropy.units as u
    >>> velocity_axis_wavelength([0.0, 2997.92458], "km/s", "VOPT", 5000 * u.AA)[0]
    array([5000., 5050.])
    """
    from astropy import constants
    from astropy import units as u

    rest = _checked_rest(rest_wavelength)
    convention = doppler_convention(ctype)
    values = np.asarray(values, dtype=np.float64)
    if ctype.upper()[:4] in ("ZOPT", "BETA"):
        velocity = values * constants.c  # c z is the optical velocity, c beta the true one
    else:
        velocity = values * u.Unit(unit)
        if not velocity.unit.is_equivalent(u.m / u.s):
            unit_name = velocity.unit.to_string() or "no unit"
            raise InputError(f"the {ctype} axis is in {unit_name}, not a speed; fix CUNIT of "
                             "the spectral axis")
    equivalency = {"optical": u.doppler_optical, "radio": u.doppler_radio,
                   "relativistic": u.doppler_relativistic}[convention](rest)
    with np.errstate(divide="ignore", invalid="ignore"):
        wavelength = velocity.to_value(u.AA, equivalencies=equivalency)
    if not np.all(np.isfinite(wavelength) & (wavelength > 0)):
        raise InputError(f"the {ctype} axis reaches {np.nanmax(np.abs(velocity)):.4g}, where the "
                         f"{convention} Doppler formula has no wavelength; check CRVAL, CDELT "
                         "and CUNIT of the spectral axis")
    return np.asarray(wavelength, dtype=np.float64), convention
