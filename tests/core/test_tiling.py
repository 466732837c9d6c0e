"""Tests of glue_turbml.core.tiling: tile grids, cutting tiles, blending them back, NaN filling."""

import itertools

import numpy as np
import pytest

from glue_turbml.core.tiling import (BOUNDARIES, TileGrid, TilingError, blend_window, extract_tiles,
                                     fill_nan_nearest, make_tile_grid, stitch_tiles)

GRID_CASES = [
    # (shape, tile_size, stride)
    ((64, 64), 32, 16),
    ((64, 64), 32, 32),
    ((100, 77), 32, 16),
    ((33, 200), 16, 5),
    ((40, 41), 16, 3),
    ((17, 17), 17, 4),
    ((50, 23), 8, 8),
    ((31, 45), 9, 4),
]


def _reflect_index(index, size):
    """Mirror an out-of-range index about the edge pixels (numpy's "reflect", scipy's "mirror")."""
    while index < 0 or index >= size:
        index = -index if index < 0 else 2 * (size - 1) - index
    return index


def _map_index(index, size, boundary):
    return index % size if boundary == "periodic" else _reflect_index(index, size)


def _stitch_reference(tile_values, grid, window):
    """Weighted average of tile pixels, accumulated one pixel at a time (no padding, no folding)."""
    ny, nx = grid.shape
    size = grid.tile_size
    values = np.asarray(tile_values, dtype=np.float64)
    channels = values.shape[1]
    weighted_sum = np.zeros((channels, ny, nx))
    weight_sum = np.zeros((ny, nx))
    for number, (y0, x0) in enumerate(grid.origins):
        tile = values[number]
        if not np.all(np.isfinite(tile)):
            continue
        if tile.ndim == 1:
            tile = tile[:, None, None] * np.ones((size, size))
        for i, j in itertools.product(range(size), range(size)):
            y, x = y0 + i, x0 + j
            if grid.boundary == "periodic":
                y, x = y % ny, x % nx
            elif not (0 <= y < ny and 0 <= x < nx):
                continue
            weighted_sum[:, y, x] += tile[:, i, j] * window[i, j]
            weight_sum[y, x] += window[i, j]
    blended = np.full((channels, ny, nx), np.nan)
    covered = weight_sum > 0
    blended[:, covered] = weighted_sum[:, covered] / weight_sum[covered]
    return blended


# --- make_tile_grid ----------------------------------------------------------------------------

@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape, tile_size, stride", GRID_CASES)
def test_tile_grid_covers_every_pixel(shape, tile_size, stride, boundary):
    grid = make_tile_grid(shape, tile_size, stride=stride, boundary=boundary)
    assert grid.shape == shape and grid.tile_size == tile_size and grid.stride == stride
    coverage = np.zeros(shape, dtype=int)
    for y0, x0 in grid.origins:
        coverage[max(y0, 0):y0 + tile_size, max(x0, 0):x0 + tile_size] += 1
    assert coverage.min() >= 1
    assert grid.n_tiles == len(grid.origins) == grid.grid_shape[0] * grid.grid_shape[1]


@pytest.mark.parametrize("shape, tile_size, stride", GRID_CASES)
def test_tile_grid_is_regular_centred_and_uses_the_fewest_tiles(shape, tile_size, stride):
    grid = make_tile_grid(shape, tile_size, stride=stride)
    for starts, size, (before, after) in zip((grid.starts_y, grid.starts_x), shape, grid.padding):
        assert np.all(np.diff(starts) == stride)
        overhang_before = -starts[0]
        overhang_after = starts[-1] + tile_size - size
        assert (before, after) == (overhang_before, overhang_after)
        assert overhang_before >= 0 and overhang_after >= 0
        assert overhang_after - overhang_before in (0, 1), "tiles must be centred on the map"
        # one tile fewer would not reach across the map
        assert overhang_before + overhang_after < stride or len(starts) == 1


def test_tile_grid_origins_are_row_major():
    grid = make_tile_grid((40, 56), 16, stride=8)
    rows, columns = grid.grid_shape
    assert (rows, columns) == (len(grid.starts_y), len(grid.starts_x))
    for number, (y0, x0) in enumerate(grid.origins):
        assert (y0, x0) == (grid.starts_y[number // columns], grid.starts_x[number % columns])


def test_tile_grid_default_stride_is_half_a_tile_and_exact_fit_needs_no_padding():
    grid = make_tile_grid((64, 96), 32)
    assert grid.stride == 16
    assert grid.boundary == "reflect"
    assert grid.starts_y == (0, 16, 32) and grid.starts_x == (0, 16, 32, 48, 64)
    assert grid.padding == ((0, 0), (0, 0))
    single = make_tile_grid((32, 32), 32, stride=32)
    assert single.n_tiles == 1 and single.padding == ((0, 0), (0, 0))


@pytest.mark.parametrize("shape", [(31, 64), (64, 31), (10, 10)])
def test_tile_grid_of_a_map_smaller_than_a_tile_says_what_would_work(shape):
    with pytest.raises(TilingError) as error:
        make_tile_grid(shape, 32)
    message = str(error.value)
    assert f"{shape[0]}x{shape[1]}" in message
    assert "at least 32x32 pixels" in message
    assert "smaller tiles" in message


@pytest.mark.parametrize("stride", [0, -4, 33])
def test_tile_grid_rejects_a_bad_stride(stride):
    expected = f"stride must be between 1 and the tile size 32, got {stride}"
    with pytest.raises(TilingError, match=expected):
        make_tile_grid((64, 64), 32, stride=stride)


@pytest.mark.parametrize("boundary", ["wrap", "mirror", "", None])
def test_tile_grid_rejects_an_unknown_boundary(boundary):
    with pytest.raises(TilingError, match="boundary must be one of") as error:
        make_tile_grid((64, 64), 32, boundary=boundary)
    assert all(name in str(error.value) for name in BOUNDARIES)


@pytest.mark.parametrize("shape", [(64,), (4, 64, 64)])
def test_tile_grid_needs_a_2d_shape(shape):
    with pytest.raises(TilingError, match="2D map"):
        make_tile_grid(shape, 32)


def test_tile_grid_is_frozen():
    grid = make_tile_grid((64, 64), 32)
    assert isinstance(grid, TileGrid)
    with pytest.raises(AttributeError):
        grid.stride = 3


# --- extract_tiles -----------------------------------------------------------------------------

@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape, tile_size, stride", GRID_CASES)
def test_extract_tiles_interior_tiles_are_plain_slices(shape, tile_size, stride, boundary):
    image = np.random.default_rng(0).normal(size=shape)
    grid = make_tile_grid(shape, tile_size, stride=stride, boundary=boundary)
    tiles = extract_tiles(image, grid)
    assert tiles.shape == (grid.n_tiles, tile_size, tile_size)
    interior = 0
    for tile, (y0, x0) in zip(tiles, grid.origins):
        if y0 >= 0 and x0 >= 0 and y0 + tile_size <= shape[0] and x0 + tile_size <= shape[1]:
            np.testing.assert_array_equal(tile, image[y0:y0 + tile_size, x0:x0 + tile_size])
            interior += 1
    assert interior > 0 or grid.padding != ((0, 0), (0, 0))


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape, tile_size, stride", GRID_CASES)
def test_extract_tiles_fills_past_the_edge_by_wrapping_or_mirroring(shape, tile_size, stride,
                                                                    boundary):
    image = np.random.default_rng(1).normal(size=shape)
    grid = make_tile_grid(shape, tile_size, stride=stride, boundary=boundary)
    tiles = extract_tiles(image, grid)
    # pixel by pixel, with modular / mirrored indices
    for tile, (y0, x0) in zip(tiles, grid.origins):
        rows = [_map_index(y0 + i, shape[0], boundary) for i in range(tile_size)]
        columns = [_map_index(x0 + j, shape[1], boundary) for j in range(tile_size)]
        np.testing.assert_array_equal(tile, image[np.ix_(rows, columns)])
    # and the same as numpy's own padding
    mode = {"periodic": "wrap", "reflect": "reflect"}[boundary]
    padded = np.pad(image, grid.padding, mode=mode)
    (before_y, _), (before_x, _) = grid.padding
    for tile, (y0, x0) in zip(tiles, grid.origins):
        py, px = y0 + before_y, x0 + before_x
        np.testing.assert_array_equal(tile, padded[py:py + tile_size, px:px + tile_size])


def test_extract_tiles_periodic_and_reflect_differ_at_the_edge():
    image = np.arange(20 * 20, dtype=float).reshape(20, 20)
    periodic = extract_tiles(image, make_tile_grid((20, 20), 8, stride=8, boundary="periodic"))
    reflect = extract_tiles(image, make_tile_grid((20, 20), 8, stride=8, boundary="reflect"))
    # starts are -2, 6, 14: the first tile's first column is x = -2
    assert periodic[0, 2, 0] == image[0, 18]  # wrapped from the right edge
    assert reflect[0, 2, 0] == image[0, 2]  # mirrored about x = 0
    assert periodic[0, 2, 1] == image[0, 19] and reflect[0, 2, 1] == image[0, 1]


def test_extract_tiles_selected_indices_dtype_and_copies():
    image = np.random.default_rng(2).normal(size=(40, 40)).astype(np.float32)
    before = image.copy()
    grid = make_tile_grid(image.shape, 16, stride=8)
    all_tiles = extract_tiles(image, grid)
    assert all_tiles.dtype == np.float32
    chosen = extract_tiles(image, grid, indices=[3, 0, 7])
    np.testing.assert_array_equal(chosen, all_tiles[[3, 0, 7]])
    chosen[:] = -1.0
    all_tiles[:] = -1.0
    np.testing.assert_array_equal(image, before)


def test_extract_tiles_rejects_an_image_of_another_shape():
    grid = make_tile_grid((40, 40), 16)
    with pytest.raises(TilingError, match=r"\(40, 41\) does not match the grid's \(40, 40\)"):
        extract_tiles(np.zeros((40, 41)), grid)


# --- blend_window ------------------------------------------------------------------------------

@pytest.mark.parametrize("tile_size", [8, 16, 64])
def test_blend_window_is_positive_symmetric_and_a_partition_of_unity_at_half_overlap(tile_size):
    window = blend_window(tile_size)
    assert window.shape == (tile_size, tile_size)
    assert np.all(window > 0) and window.max() <= 1
    np.testing.assert_allclose(window, window.T)
    np.testing.assert_allclose(window, window[::-1, ::-1])
    half = tile_size // 2
    # four copies shifted by T/2 along each axis sum to one
    quarter_sum = (window[:half, :half] + window[half:, :half] + window[:half, half:]
                   + window[half:, half:])
    np.testing.assert_allclose(quarter_sum, 1.0, rtol=1e-12)


@pytest.mark.parametrize("tile_size", [8, 16, 32])
def test_blend_windows_on_a_half_overlap_grid_sum_to_a_constant_in_the_interior(tile_size):
    grid = make_tile_grid((5 * tile_size, 4 * tile_size), tile_size, boundary="reflect")
    window = blend_window(tile_size)
    (before_y, after_y), (before_x, after_x) = grid.padding
    canvas = np.zeros((grid.shape[0] + before_y + after_y, grid.shape[1] + before_x + after_x))
    for y0, x0 in grid.origins:
        py, px = y0 + before_y, x0 + before_x
        canvas[py:py + tile_size, px:px + tile_size] += window
    half = tile_size // 2
    # between the centres of the first and last tiles every pixel sees four windows
    interior = canvas[half:-half, half:-half]
    np.testing.assert_allclose(interior, 1.0, rtol=1e-12)
    assert canvas[0, 0] < 0.01  # near the outer edge only one window's tail


# --- stitch_tiles ------------------------------------------------------------------------------

@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape, tile_size, stride", GRID_CASES)
def test_stitch_constant_per_tile_values_gives_that_constant(shape, tile_size, stride, boundary):
    grid = make_tile_grid(shape, tile_size, stride=stride, boundary=boundary)
    tile_values = np.tile([0.25, -3.0, 1e4], (grid.n_tiles, 1))
    maps = stitch_tiles(tile_values, grid)
    assert maps.shape == (3,) + shape
    assert maps.dtype == np.float64
    for channel, value in enumerate([0.25, -3.0, 1e4]):
        np.testing.assert_allclose(maps[channel], value, rtol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape, tile_size, stride", GRID_CASES)
def test_stitching_extracted_tiles_reproduces_the_image(shape, tile_size, stride, boundary):
    image = np.random.default_rng(3).lognormal(size=shape)
    grid = make_tile_grid(shape, tile_size, stride=stride, boundary=boundary)
    tiles = extract_tiles(image, grid)
    maps = stitch_tiles(tiles[:, None], grid)
    assert maps.shape == (1,) + shape
    np.testing.assert_allclose(maps[0], image, rtol=1e-12)
    # also with several channels and a flat window
    two_channels = np.stack([tiles, -tiles], axis=1)
    maps = stitch_tiles(two_channels, grid, window=np.ones((tile_size, tile_size)))
    np.testing.assert_allclose(maps[0], image, rtol=1e-12)
    np.testing.assert_allclose(maps[1], -image, rtol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape, tile_size, stride", GRID_CASES[2:6])
def test_stitch_matches_a_pixel_by_pixel_weighted_average(shape, tile_size, stride, boundary):
    rng = np.random.default_rng(4)
    grid = make_tile_grid(shape, tile_size, stride=stride, boundary=boundary)
    window = blend_window(tile_size)
    per_pixel = rng.normal(size=(grid.n_tiles, 2, tile_size, tile_size))
    per_pixel[-1, 0, 3, 3] = np.nan  # a skipped tile
    np.testing.assert_allclose(stitch_tiles(per_pixel, grid),
                               _stitch_reference(per_pixel, grid, window), rtol=1e-10)
    per_tile = rng.normal(size=(grid.n_tiles, 3))
    np.testing.assert_allclose(stitch_tiles(per_tile, grid),
                               _stitch_reference(per_tile, grid, window), rtol=1e-10)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_stitch_leaves_pixels_that_only_nan_tiles_cover_nan(boundary):
    grid = make_tile_grid((32, 48), 16, stride=16, boundary=boundary)  # tiles side by side
    assert grid.padding == ((0, 0), (0, 0))
    tile_values = np.arange(grid.n_tiles, dtype=float)[:, None]
    tile_values[4, 0] = np.nan  # second row, second column: y 16..31, x 16..31
    maps = stitch_tiles(tile_values, grid)
    assert np.all(np.isnan(maps[0, 16:32, 16:32]))
    assert np.isnan(maps).sum() == 16 * 16
    assert maps[0, 0, 0] == 0.0 and maps[0, 20, 40] == 5.0


def test_stitch_with_overlap_nan_only_where_no_valid_tile_reaches():
    grid = make_tile_grid((48, 48), 16, stride=8)  # tiles at 0, 8, ..., 32 on each axis
    tile_values = np.ones((grid.n_tiles, 1))
    tile_values[0] = np.nan  # the top-left tile: pixels 0..7 are covered by it alone
    maps = stitch_tiles(tile_values, grid)
    expected_nan = np.zeros((48, 48), dtype=bool)
    expected_nan[:8, :8] = True
    np.testing.assert_array_equal(np.isnan(maps[0]), expected_nan)
    np.testing.assert_allclose(maps[0][~expected_nan], 1.0)


def test_stitch_with_every_tile_nan_is_all_nan():
    grid = make_tile_grid((32, 32), 16)
    maps = stitch_tiles(np.full((grid.n_tiles, 2, 16, 16), np.nan), grid)
    assert maps.shape == (2, 32, 32) and np.all(np.isnan(maps))


def test_stitch_periodic_wraps_a_tile_past_the_right_edge_onto_the_left():
    grid = make_tile_grid((8, 20), 8, stride=8, boundary="periodic")
    assert grid.starts_y == (0,) and grid.starts_x == (-2, 6, 14)
    tile_values = np.full((grid.n_tiles, 1, 8, 8), np.nan)
    tile_values[2] = 7.0  # only the last tile (x 14..21, i.e. 14..19 then 0..1) is valid
    maps = stitch_tiles(tile_values, grid)
    np.testing.assert_allclose(maps[0, :, 14:20], 7.0, rtol=1e-14)
    np.testing.assert_allclose(maps[0, :, 0:2], 7.0, rtol=1e-14)  # the wrapped part
    assert np.all(np.isnan(maps[0, :, 2:14]))
    # with a reflect boundary the same part is dropped
    reflect_grid = make_tile_grid((8, 20), 8, stride=8, boundary="reflect")
    reflect_maps = stitch_tiles(tile_values, reflect_grid)
    assert np.all(np.isnan(reflect_maps[0, :, 0:2]))


def test_stitch_periodic_wraps_a_tile_past_the_top_edge_onto_the_bottom():
    grid = make_tile_grid((20, 8), 8, stride=8, boundary="periodic")
    tile_values = np.full((grid.n_tiles, 1, 8, 8), np.nan)
    tile_values[0, 0] = np.arange(8, dtype=float)[:, None]  # rows y = -2 .. 5 hold 0 .. 7
    maps = stitch_tiles(tile_values, grid)
    np.testing.assert_allclose(maps[0, 18:20, :], [[0.0] * 8, [1.0] * 8], atol=1e-14)
    np.testing.assert_allclose(maps[0, 0:6, 0], [2, 3, 4, 5, 6, 7], rtol=1e-14)
    assert np.all(np.isnan(maps[0, 6:18]))


@pytest.mark.parametrize("bad_shape", [(5, 1), (4,), (4, 1, 16), (4, 1, 16, 16, 1), (4, 1, 8, 8),
                                       (4, 1, 16, 15), (5, 1, 16, 16), ()])
def test_stitch_rejects_tile_values_of_the_wrong_shape(bad_shape):
    grid = make_tile_grid((32, 32), 16, stride=16)
    assert grid.n_tiles == 4
    with pytest.raises(TilingError, match=r"expected \(4, channels\) or \(4, channels, 16, 16\)"):
        stitch_tiles(np.zeros(bad_shape), grid)


# --- fill_nan_nearest --------------------------------------------------------------------------

def _nearest_finite_values(image, y, x):
    finite_y, finite_x = np.nonzero(np.isfinite(image))
    distance = np.hypot(finite_y - y, finite_x - x)
    nearest = distance == distance.min()
    return set(image[finite_y[nearest], finite_x[nearest]].tolist())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fill_nan_nearest_uses_a_nearest_finite_value(seed):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=(24, 31))
    holes = rng.random(image.shape) < 0.3
    image[holes] = np.nan
    image[0, :5] = np.inf
    image[10:16, 10:20] = -np.inf
    before = image.copy()
    filled, filled_mask = fill_nan_nearest(image)
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(filled_mask, ~np.isfinite(image))
    assert np.all(np.isfinite(filled))
    np.testing.assert_array_equal(filled[~filled_mask], image[~filled_mask])
    for y, x in zip(*np.nonzero(filled_mask)):
        assert filled[y, x] in _nearest_finite_values(image, y, x)


def test_fill_nan_nearest_fills_a_hole_from_its_nearest_side():
    image = np.zeros((5, 9))
    image[:, :3] = 1.0
    image[:, 6:] = 2.0
    image[:, 3:6] = np.nan
    filled, filled_mask = fill_nan_nearest(image)
    np.testing.assert_array_equal(filled[:, 3], 1.0)
    np.testing.assert_array_equal(filled[:, 5], 2.0)
    assert filled_mask.sum() == 15


def test_fill_nan_nearest_without_nan_returns_an_equal_copy():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    filled, filled_mask = fill_nan_nearest(image)
    np.testing.assert_array_equal(filled, image)
    assert filled.dtype == np.float32
    assert not filled_mask.any()
    assert not np.shares_memory(filled, image)


def test_fill_nan_nearest_of_an_integer_map_is_float():
    filled, filled_mask = fill_nan_nearest(np.arange(6).reshape(2, 3))
    assert filled.dtype.kind == "f" and not filled_mask.any()


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_fill_nan_nearest_raises_when_no_pixel_is_finite(value):
    with pytest.raises(TilingError, match="no finite pixel"):
        fill_nan_nearest(np.full((4, 4), value))
