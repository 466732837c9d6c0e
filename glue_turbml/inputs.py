"""One input parser for arrays, (array, WCS), FITS files/HDUs, SpectralCube, NDData and glue
Data, and the reduction of cubes to maps."""

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["InputError", "ParsedInput", "parse_input", "reduce_to_image", "PROJECTIONS",
           "FITS_SUFFIXES"]

#: File endings read as FITS when a folder is given for its files.
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")

#: Ways to turn a 3D cube into one map.
PROJECTIONS = ("sum", "mean", "moment0")


class InputError(ValueError):
    """The input cannot be analysed as given; the message says what would work."""


@dataclass
class ParsedInput:
    """An image or cube with what we know about it.

    Attributes
    ----------
    array : numpy.ndarray
        The values as a read-only array (the caller's data is never written to).
    wcs : astropy.wcs.WCS or None
        World coordinates matching ``array``'s axes, if known.
    unit : astropy.units.UnitBase or None
        Units of the values, if known.
    name : str
        What to call the data in messages and output names.
    spectral_axis : int or None
        The numpy axis that is spectral (SpectralCube and spectral FITS cubes).
    header : astropy.io.fits.Header or None
        The FITS header it came from, if any.
    """

    array: np.ndarray
    wcs: object = None
    unit: object = None
    name: str = "image"
    spectral_axis: object = None
    header: object = None
    cube: object = None


def _read_only(array):
    view = np.asarray(array)
    if view.dtype.kind not in "fiu":
        raise InputError(f"the data must be numeric, got dtype {view.dtype}")
    view = view.view()
    view.flags.writeable = False
    return view


def _squeeze(array, wcs):
    """Drop length-1 axes (e.g. a FITS Stokes axis) from the array and its WCS."""
    if array.ndim <= 2 or 1 not in array.shape:
        return array, wcs
    for numpy_axis in reversed(range(array.ndim)):
        if array.shape[numpy_axis] == 1 and array.ndim > 2:
            array = np.take(array, 0, axis=numpy_axis)
            if wcs is not None and wcs.naxis > array.ndim:
                wcs = wcs.dropaxis(wcs.naxis - 1 - numpy_axis)
    return array, wcs


def _spectral_numpy_axis(wcs, ndim):
    if wcs is None or ndim != 3:
        return None
    try:
        world_axis = wcs.wcs.spec
    except AttributeError:
        return None
    return None if world_axis < 0 else ndim - 1 - world_axis


def _from_hdu(hdu, name, source):
    from astropy import units as u
    from astropy.wcs import WCS, FITSFixedWarning

    if hdu.data is None:
        raise InputError(f"{source}: this HDU holds no image data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(hdu.header) if hdu.header.get("NAXIS", 0) >= 2 else None
    unit = None
    if "BUNIT" in hdu.header:
        try:
            unit = u.Unit(hdu.header["BUNIT"], parse_strict="raise")
        except ValueError:
            unit = None
    array, wcs = _squeeze(_read_only(hdu.data), wcs)
    if wcs is not None and wcs.naxis != array.ndim:
        wcs = None
    return ParsedInput(array, wcs, unit, name, _spectral_numpy_axis(wcs, array.ndim), hdu.header)


def _first_image_hdu(hdulist, hdu, source):
    from astropy.io import fits

    if hdu is not None:
        try:
            return hdulist[hdu]
        except (KeyError, IndexError):
            raise InputError(f"{source}: no HDU {hdu!r}; it has {len(hdulist)} HDUs") from None
    for candidate in hdulist:
        if isinstance(candidate, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)) \
                and candidate.data is not None:
            return candidate
    raise InputError(f"{source}: no image HDU with data (only tables or empty HDUs)")


def _from_path(path, hdu):
    from astropy.io import fits

    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a directory; give FITS files (e.g. {path}/*.fits)")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        with fits.open(path, memmap=False) as hdulist:
            chosen = _first_image_hdu(hdulist, hdu, str(path))
            parsed = _from_hdu(chosen, path.stem, str(path))
            parsed.array = _read_only(np.array(parsed.array))
            return parsed
    except OSError as error:
        raise InputError(f"{path}: not a readable FITS file ({error})") from None


def _is_glue_data(data):
    return type(data).__module__.startswith("glue.") and hasattr(data, "main_components")


def _from_glue(data, component):
    from astropy import units as u

    components = list(data.main_components)
    if not components:
        raise InputError(f"glue dataset {data.label!r} has no data components")
    if component is None:
        cid = components[0]
    else:
        matches = [cid for cid in components if cid.label == str(component) or cid is component]
        if not matches:
            labels = ", ".join(cid.label for cid in components)
            raise InputError(f"glue dataset {data.label!r} has no component {component!r}; "
                             f"it has: {labels}")
        cid = matches[0]
    array = _read_only(data.get_data(cid))
    wcs = data.coords if hasattr(data.coords, "pixel_to_world") and hasattr(data.coords, "wcs") \
        else None
    units = data.get_component(cid).units
    try:
        unit = u.Unit(units) if units else None
    except ValueError:
        unit = None
    return ParsedInput(array, wcs, unit, f"{data.label}", _spectral_numpy_axis(wcs, array.ndim))


def parse_input(data, *, hdu=None, component=None):
    """Read any supported input into a `ParsedInput`.

    Parameters
    ----------
    data : array_like, tuple, str, path, HDU, HDUList, SpectralCube, NDData or glue Data
        - numpy array (masked arrays: masked pixels become NaN) or astropy Quantity;
        - ``(array, WCS)`` or ``(array, Header)``;
        - path to a FITS file, an HDU or an HDUList (the first image HDU, or ``hdu``);
        - ``spectral_cube.SpectralCube`` (masked voxels become NaN);
        - ``astropy.nddata.NDData`` (e.g. CCDData);
        - glue ``Data`` (``component`` picks the component, the first by default).
    hdu : int or str, optional
        Which HDU of a FITS file or HDUList.
    component : str, optional
        Which component of a glue dataset.

    Returns
    -------
    ParsedInput

    Raises
    ------
    InputError
        For unsupported types, unreadable files, tables, or non-numeric data.
    """
    from astropy import units as u
    from astropy.io import fits
    from astropy.nddata import NDData
    from astropy.wcs import WCS

    if isinstance(data, (str, os.PathLike)):
        return _from_path(data, hdu)
    if isinstance(data, fits.HDUList):
        return _from_hdu(_first_image_hdu(data, hdu, "HDUList"), "image", "HDUList")
    if isinstance(data, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        return _from_hdu(data, data.name.lower() or "image", "HDU")
    if isinstance(data, (fits.BinTableHDU, fits.TableHDU)):
        raise InputError("a FITS table holds no image; give an image HDU or file")
    if type(data).__name__ in ("SpectralCube", "VaryingResolutionSpectralCube"):
        values = data.filled_data[:]
        return ParsedInput(_read_only(values.value), data.wcs, values.unit, "cube",
                           spectral_axis=0, header=data.header, cube=data)
    if isinstance(data, NDData):
        array = np.asarray(data.data, dtype=float)
        if data.mask is not None:
            array = np.where(data.mask, np.nan, array)
        return ParsedInput(_read_only(array), data.wcs, data.unit, "image")
    if _is_glue_data(data):
        return _from_glue(data, component)
    if isinstance(data, tuple) and len(data) == 2:
        array, meta = data
        wcs = WCS(meta) if isinstance(meta, fits.Header) else meta
        if wcs is not None and not isinstance(wcs, WCS):
            raise InputError("the second item of an (array, wcs) pair must be a WCS or a Header")
        parsed_array = parse_input(array)
        if wcs is not None and wcs.naxis != parsed_array.array.ndim:
            raise InputError(f"the WCS has {wcs.naxis} axes but the array has "
                             f"{parsed_array.array.ndim}")
        parsed_array.wcs = wcs
        parsed_array.spectral_axis = _spectral_numpy_axis(wcs, parsed_array.array.ndim)
        return parsed_array
    if isinstance(data, u.Quantity):
        return ParsedInput(_read_only(data.value), None, data.unit, "image")
    if isinstance(data, np.ma.MaskedArray):
        return ParsedInput(_read_only(data.astype(float).filled(np.nan)), None, None, "image")
    if isinstance(data, (np.ndarray, list)):
        return ParsedInput(_read_only(np.asarray(data)), None, None, "image")
    raise InputError(
        f"cannot read input of type {type(data).__name__}; give a numpy array, (array, WCS), a "
        "FITS path/HDU/HDUList, a SpectralCube, NDData or a glue Data object"
    )


def _plane_wcs(wcs, ndim, dropped_numpy_axis):
    from astropy.wcs import WcsError

    if wcs is None:
        return None
    try:
        plane = wcs.dropaxis(ndim - 1 - dropped_numpy_axis)
    except WcsError:
        # A plane across a celestial axis (position-velocity) keeps one celestial axis, which
        # wcslib refuses: such a plane has no map coordinates to carry.
        return None
    return plane.celestial if plane.has_celestial and plane.celestial.naxis == 2 else plane


def _spectral_cube_of(parsed):
    """A SpectralCube of a parsed cube whose WCS has a spectral axis (a FITS cube, an HDU, an
    ``(array, WCS)`` pair or glue data), read the way ``SpectralCube.read`` reads a file."""
    from astropy.io import fits
    from astropy.wcs import FITSFixedWarning
    from spectral_cube import SpectralCube

    header = parsed.wcs.to_header()
    with warnings.catch_warnings():
        # The WCS was already read (and fixed) once; spectral-cube only re-reads it.
        warnings.simplefilter("ignore", FITSFixedWarning)
        cube = SpectralCube.read(fits.PrimaryHDU(np.asarray(parsed.array), header=header))
    # The values are in memory already: spectral-cube's guard against loading huge files
    # protects nothing here.
    cube.allow_huge_operations = True
    return cube


def _moment0(parsed, axis):
    """The integral over the spectral axis (spectral-cube's moment 0), its WCS and unit."""
    if parsed.spectral_axis is None or axis != parsed.spectral_axis:
        where = "has no spectral WCS axis" if parsed.spectral_axis is None else \
            f"has its spectral axis along axis {parsed.spectral_axis}, not {axis}"
        raise InputError(f"{parsed.name}: --projection moment0 (projection='moment0' in Python) "
                         f"integrates over the spectral axis and this cube {where}; use "
                         "--projection sum or mean (projection='sum'|'mean')")
    if parsed.cube is not None:
        moment = parsed.cube.moment0()
        return _read_only(moment.value), moment.wcs.celestial, moment.unit
    try:
        moment = _spectral_cube_of(parsed).moment0()
    except (ValueError, TypeError) as error:
        raise InputError(f"{parsed.name}: spectral-cube cannot integrate this cube for "
                         f"--projection moment0 ({error}); use --projection sum or mean") from None
    # The data came in without BUNIT: the moment is in spectral units and takes the cube's.
    unit = moment.unit if parsed.unit is None else parsed.unit * moment.unit
    return _read_only(moment.value), moment.wcs.celestial, unit


def reduce_to_image(parsed, *, axis=None, slice_index=None, projection=None):
    """Turn a parsed input into one 2D map (a slice or a projection of a cube).

    Parameters
    ----------
    parsed : ParsedInput
    axis : int, optional
        numpy axis of a cube to slice or project along; the spectral axis for spectral cubes,
        required otherwise.
    slice_index : int, optional
        Take this plane of the cube.
    projection : {"sum", "mean", "moment0"}, optional
        Project the cube along ``axis``. ``moment0`` integrates over the spectral axis with
        spectral-cube (a SpectralCube, or any cube whose WCS has a spectral axis).

    Returns
    -------
    image : numpy.ndarray
        2D read-only map.
    wcs : astropy.wcs.WCS or None
        Its celestial (or 2D) WCS.
    unit : astropy.units.UnitBase or None

    Raises
    ------
    InputError
        For 1D or 4D+ data, or a cube with no slice/projection chosen (the message lists them).
    """
    array = parsed.array
    if array.ndim == 2:
        if slice_index is not None or projection is not None:
            raise InputError(f"{parsed.name} is a 2D map: --slice and --projection (slice_index= "
                             "and projection= in Python) apply to 3D cubes only")
        wcs = parsed.wcs.celestial if parsed.wcs is not None and parsed.wcs.has_celestial \
            and parsed.wcs.celestial.naxis == 2 else parsed.wcs
        return array, wcs, parsed.unit
    if array.ndim != 3:
        raise InputError(
            f"{parsed.name}: got a {array.ndim}D array of shape {array.shape}; glue-turbml "
            "analyses 2D maps and 3D cubes (take a 2D slice or a 3D sub-cube first)"
        )
    # Messages name the command-line flags first, then the Python keywords, since both the
    # command line and the API (and the glue plugin) report them.
    if axis is None:
        axis = parsed.spectral_axis
    if axis is None:
        raise InputError(
            f"{parsed.name}: a 3D cube of shape {array.shape} without a spectral WCS axis needs "
            "an axis: --axis 0|1|2 with --slice N or --projection sum|mean (axis=, "
            "slice_index=N, projection='sum'|'mean' in Python); classify and evaluate also "
            "take --slices (slices=True) for every plane"
        )
    if not -3 <= axis < 3:
        raise InputError(f"--axis (axis= in Python) must be 0, 1 or 2 for a 3D cube, got {axis}")
    axis %= 3
    if slice_index is None and projection is None:
        raise InputError(
            f"{parsed.name}: a 3D cube needs --slice N or --projection sum|mean|moment0 "
            f"along axis {axis} (slice_index=N, projection='sum'|'mean'|'moment0' in Python); "
            "classify and evaluate also take --slices (slices=True) for every plane"
        )
    if slice_index is not None and projection is not None:
        raise InputError("give either --slice or --projection, not both (slice_index= or "
                         "projection= in Python)")
    if projection == "moment0":
        return _moment0(parsed, axis)
    wcs = _plane_wcs(parsed.wcs, 3, axis)
    if slice_index is not None:
        if not -array.shape[axis] <= slice_index < array.shape[axis]:
            raise InputError(f"--slice {slice_index} (slice_index= in Python) is outside "
                             f"0..{array.shape[axis] - 1} along axis {axis}")
        return np.take(array, slice_index, axis=axis), wcs, parsed.unit
    if projection not in PROJECTIONS:
        raise InputError(f"--projection (projection= in Python) must be one of "
                         f"{', '.join(PROJECTIONS)}, got {projection!r}")
    reducer = np.nansum if projection == "sum" else np.nanmean
    all_nan = np.all(~np.isfinite(array), axis=axis)
    with warnings.catch_warnings():
        # All-NaN lines of sight are expected (masked regions); they become NaN below.
        warnings.simplefilter("ignore", RuntimeWarning)
        projected = reducer(array, axis=axis).astype(np.float64)
    projected[all_nan] = np.nan
    return _read_only(projected), wcs, parsed.unit
