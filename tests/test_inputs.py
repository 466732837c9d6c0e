"""One input parser for every supported type; cubes reduced to maps only when asked."""

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS

from glue_turbml.inputs import InputError, parse_input, reduce_to_image


def test_numpy_array_is_read_only_view_and_unchanged(lognormal_map):
    before = lognormal_map.copy()
    parsed = parse_input(lognormal_map)
    assert not parsed.array.flags.writeable
    with pytest.raises(ValueError):
        parsed.array[0, 0] = 5
    np.testing.assert_array_equal(lognormal_map, before)
    assert lognormal_map.flags.writeable


def test_array_wcs_pair_and_header_pair(lognormal_map, fits_map_path):
    header = fits.getheader(fits_map_path)
    for meta in (WCS(header), header):
        parsed = parse_input((lognormal_map, meta))
        assert parsed.wcs.wcs.ctype[0] == "RA---TAN"
    with pytest.raises(InputError, match="WCS has 2 axes but the array has 3"):
        parse_input((np.ones((2, 3, 4)), WCS(header)))


def test_fits_path_hdu_and_hdulist(fits_map_path):
    from_path = parse_input(fits_map_path)
    assert from_path.unit == u.Unit("cm-2")
    assert from_path.name == "map"
    with fits.open(fits_map_path) as hdulist:
        from_list = parse_input(hdulist)
        from_hdu = parse_input(hdulist[0])
        np.testing.assert_array_equal(from_list.array, from_path.array)
        np.testing.assert_array_equal(from_hdu.array, from_path.array)


def test_fits_table_and_directory_and_missing_file(tmp_path, fits_map_path):
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=[1.0])])
    with pytest.raises(InputError, match="table"):
        parse_input(table)
    with pytest.raises(InputError, match="is a directory"):
        parse_input(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        parse_input(tmp_path / "absent.fits")
    not_fits = tmp_path / "notes.fits"
    not_fits.write_text("hello")
    with pytest.raises(InputError, match="not a readable FITS file"):
        parse_input(not_fits)


def test_quantity_masked_array_nddata(lognormal_map):
    assert parse_input(lognormal_map * u.K).unit == u.K
    masked = np.ma.masked_array(lognormal_map, mask=np.zeros_like(lognormal_map, bool))
    masked.mask[3, 4] = True
    assert np.isnan(parse_input(masked).array[3, 4])
    nddata = NDData(lognormal_map, unit="cm-2", mask=masked.mask)
    parsed = parse_input(nddata)
    assert np.isnan(parsed.array[3, 4]) and parsed.unit == u.Unit("cm-2")


def test_unsupported_type_says_what_works():
    with pytest.raises(InputError, match="give a numpy array"):
        parse_input({"not": "an image"})
    with pytest.raises(InputError, match="numeric"):
        parse_input(np.array([["a", "b"]]))


def test_four_d_and_one_d_are_refused_with_the_fix():
    with pytest.raises(InputError, match="4D array .* 2D maps and 3D cubes"):
        reduce_to_image(parse_input(np.ones((2, 2, 40, 40))))
    with pytest.raises(InputError, match="1D array"):
        reduce_to_image(parse_input(np.ones(40)))


def test_degenerate_stokes_axis_is_dropped(tmp_path, lognormal_map):
    path = tmp_path / "stokes.fits"
    fits.PrimaryHDU(lognormal_map[np.newaxis]).writeto(path)
    image, _, _ = reduce_to_image(parse_input(path))
    assert image.shape == lognormal_map.shape


def test_cube_needs_a_choice_and_slices_or_projects(spectral_cube_path):
    parsed = parse_input(spectral_cube_path)
    assert parsed.spectral_axis == 0
    with pytest.raises(InputError, match="slice_index=N, projection="):
        reduce_to_image(parsed)
    plane, wcs, unit = reduce_to_image(parsed, slice_index=2)
    np.testing.assert_array_equal(plane, parsed.array[2])
    assert wcs.naxis == 2 and wcs.wcs.ctype[0] == "RA---TAN"
    summed, _, _ = reduce_to_image(parsed, projection="sum")
    np.testing.assert_allclose(summed, parsed.array.sum(axis=0), rtol=1e-6)
    plain = parse_input(np.asarray(parsed.array))
    with pytest.raises(InputError, match="needs an axis"):
        reduce_to_image(plain, projection="sum")
    mean_y, _, _ = reduce_to_image(plain, axis=1, projection="mean")
    np.testing.assert_allclose(mean_y, parsed.array.mean(axis=1), rtol=1e-6)


def test_all_nan_lines_of_sight_stay_nan_in_projections():
    cube = np.ones((4, 20, 20))
    cube[:, 5, 5] = np.nan
    image, _, _ = reduce_to_image(parse_input(cube), axis=0, projection="sum")
    assert np.isnan(image[5, 5]) and image[0, 0] == 4


def test_spectral_cube_moment0(spectral_cube_path):
    from spectral_cube import SpectralCube

    cube = SpectralCube.read(spectral_cube_path)
    parsed = parse_input(cube)
    image, wcs, unit = reduce_to_image(parsed, projection="moment0")
    expected = cube.moment0()
    np.testing.assert_allclose(image, expected.value)
    assert unit == expected.unit
    assert wcs.naxis == 2


def test_moment0_of_a_fits_cube_is_spectral_cubes_whatever_its_axis_order(
        spectral_cube_path, tmp_path):
    from spectral_cube import SpectralCube

    # The same PPV cube with the spectral axis first in FITS order (last in numpy order).
    with fits.open(spectral_cube_path) as hdulist:
        cube, header = hdulist[0].data, hdulist[0].header
    cube = cube.copy()
    cube[:, 7, 9] = np.nan  # a blank line of sight stays blank
    moved = fits.Header()
    moved.update(NAXIS=3, BUNIT=header["BUNIT"])
    for new, old in ((1, 3), (2, 1), (3, 2)):
        for key in ("CTYPE", "CRVAL", "CDELT", "CRPIX", "CUNIT"):
            moved[f"{key}{new}"] = header[f"{key}{old}"]
    path = tmp_path / "spectral_last.fits"
    fits.PrimaryHDU(np.transpose(cube, (1, 2, 0)), header=moved).writeto(path)
    for source in (spectral_cube_path, path):
        parsed = parse_input(source)
        image, wcs, unit = reduce_to_image(parsed, projection="moment0")
        expected = SpectralCube.read(source).moment0()
        np.testing.assert_allclose(image, expected.value, rtol=1e-6, equal_nan=True)
        assert unit == expected.unit == u.K * u.m / u.s
        assert wcs.wcs.ctype[0] == "RA---TAN" and image.shape == (160, 170)
    assert np.isnan(image[7, 9])
    with pytest.raises(InputError, match="spectral axis along axis 2, not 0"):
        reduce_to_image(parse_input(path), axis=0, projection="moment0")
    # a position-velocity plane has no map coordinates, but is still a plane
    plane, plane_wcs, _ = reduce_to_image(parse_input(path), axis=0, slice_index=3)
    assert plane.shape == (170, 6) and plane_wcs is None


def test_glue_data_component(lognormal_map, fits_map_path):
    from glue.core import Data
    from glue.core.coordinates import WCSCoordinates

    data = Data(density=lognormal_map, other=lognormal_map * 2, label="cloud",
                coords=WCSCoordinates(header=fits.getheader(fits_map_path)))
    parsed = parse_input(data, component="other")
    np.testing.assert_array_equal(parsed.array, lognormal_map * 2)
    assert parsed.name == "cloud" and parsed.wcs is not None
    with pytest.raises(InputError, match="no component 'missing'; it has: density, other"):
        parse_input(data, component="missing")
