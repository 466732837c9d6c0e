"""Tests of glue_turbml.core.preprocess against independent numpy / scikit-image computations."""

import numpy as np
import pytest
from scipy import stats
from skimage.exposure import equalize_hist

from glue_turbml.core.preprocess import (PREPROCESS_STEPS, PreprocessError, build_pipeline,
                                         describe_pipeline, equalize_histogram,
                                         fixed_fourier_power, log10, standardize)

ALL_STEPS = [log10, fixed_fourier_power, equalize_histogram, standardize]


def _rng(seed=0):
    return np.random.default_rng(seed)


# --- shared behaviour --------------------------------------------------------------------------

@pytest.mark.parametrize("step", ALL_STEPS, ids=lambda step: step.__name__)
def test_steps_do_not_modify_their_input(step):
    images = _rng().lognormal(size=(3, 16, 16))
    images[0, 0, :4] = 0.0
    images[1, 2, :3] = -1.0
    before = images.copy()
    result = step(images)
    np.testing.assert_array_equal(images, before)
    assert not np.shares_memory(result, images)
    result[...] = 12345.0  # writing to the result must not reach the input either
    np.testing.assert_array_equal(images, before)


@pytest.mark.parametrize("step", ALL_STEPS, ids=lambda step: step.__name__)
def test_steps_keep_2d_and_3d_shapes_and_reject_other_ranks(step):
    image = _rng().lognormal(size=(12, 20))
    assert step(image).shape == (12, 20)
    assert step(image[None].repeat(2, axis=0)).shape == (2, 12, 20)
    for bad_shape in [(20,), (1, 2, 12, 20)]:
        with pytest.raises(PreprocessError, match="2D image or a stack"):
            step(np.ones(bad_shape))


@pytest.mark.parametrize("step", ALL_STEPS, ids=lambda step: step.__name__)
def test_steps_treat_each_image_of_a_stack_on_its_own(step):
    stack = _rng(1).lognormal(size=(3, 16, 16)) * np.array([1.0, 1e3, 1e-3])[:, None, None]
    stacked = step(stack)
    for index, image in enumerate(stack):
        np.testing.assert_allclose(stacked[index], step(image), rtol=1e-12, atol=1e-12)


# --- log10 -------------------------------------------------------------------------------------

def test_log10_matches_numpy_on_positive_data():
    images = _rng().lognormal(sigma=3.0, size=(2, 32, 24))
    np.testing.assert_allclose(log10(images), np.log10(images), rtol=1e-15)
    assert log10(images).dtype == np.float64


def test_log10_docstring_example():
    np.testing.assert_array_equal(log10(np.array([[100.0, 0.0], [10.0, -1.0]])),
                                  [[2.0, 1.0], [1.0, 1.0]])


def test_log10_default_floor_is_each_images_smallest_positive_finite_value():
    first = np.array([[0.1, 5.0], [0.0, -3.0]])
    second = np.array([[1e3, 0.0], [np.inf, 2e3]])  # inf is not a usable floor
    third = np.array([[-np.inf, 7.0], [np.nan, 0.0]])
    result = log10(np.stack([first, second, third]))
    np.testing.assert_allclose(result[0], [[-1.0, np.log10(5.0)], [-1.0, -1.0]])
    np.testing.assert_allclose(result[1], [[3.0, 3.0], [np.inf, np.log10(2e3)]])
    assert result[2, 0, 0] == result[2, 1, 1] == result[2, 0, 1] == np.log10(7.0)
    assert np.isnan(result[2, 1, 0])


def test_log10_of_an_image_without_positive_values_uses_1e_minus_30():
    result = log10(np.array([[0.0, -1.0], [-5.0, 0.0]]))
    np.testing.assert_array_equal(result, np.full((2, 2), -30.0))


def test_log10_explicit_floor_raises_everything_below_it():
    image = np.array([[1e-5, 1e-2], [0.0, -2.0], [10.0, 1e-3]])
    expected = np.log10(np.maximum(image, 1e-3))
    np.testing.assert_allclose(log10(image, floor=1e-3), expected)
    assert np.all(log10(image, floor=1e-3) >= -3.0)
    # numpy scalars (e.g. from a config array) are numbers too
    np.testing.assert_allclose(log10(image, floor=np.float32(1e-3)),
                               np.log10(np.maximum(image, np.float32(1e-3))))
    np.testing.assert_allclose(log10(image, floor=np.int64(1)), np.log10(np.maximum(image, 1)))


def test_log10_keeps_nan_as_nan():
    image = _rng().lognormal(size=(8, 8))
    image[2, 3] = np.nan
    image[5, 5] = 0.0
    for floor in (None, 0.5):
        result = log10(image, floor=floor)
        assert np.isnan(result[2, 3])
        assert np.isnan(result).sum() == 1


@pytest.mark.parametrize("floor", [0, 0.0, -1e-3, np.nan, -np.inf, np.inf, "1e-3", [1e-3], True])
def test_log10_rejects_an_unusable_floor(floor):
    with pytest.raises(PreprocessError, match="floor"):
        log10(np.ones((4, 4)), floor=floor)


# --- fixed Fourier power -----------------------------------------------------------------------

FFP_SHAPES = [(32, 32), (33, 33), (31, 48), (3, 16, 16), (2, 15, 22), (1, 7, 9)]


@pytest.mark.parametrize("shape", FFP_SHAPES)
def test_ffp_output_has_unit_fourier_amplitude_and_is_real(shape):
    images = _rng(len(shape)).lognormal(sigma=1.5, size=shape)
    flattened = fixed_fourier_power(images)
    assert flattened.shape == images.shape
    assert flattened.dtype == np.float64
    assert np.isrealobj(flattened)
    amplitude = np.abs(np.fft.fft2(flattened, axes=(-2, -1)))
    np.testing.assert_allclose(amplitude, 1.0, atol=1e-6, rtol=0)


@pytest.mark.parametrize("shape", FFP_SHAPES)
def test_ffp_keeps_the_phases(shape):
    images = _rng(7).normal(size=shape) + np.linspace(0, 3, shape[-1])
    spectrum_in = np.fft.fft2(images, axes=(-2, -1))
    spectrum_out = np.fft.fft2(fixed_fourier_power(images), axes=(-2, -1))
    defined = np.abs(spectrum_in) > 1e-8 * np.abs(spectrum_in).max()
    assert defined.mean() > 0.99
    phase_in = spectrum_in[defined] / np.abs(spectrum_in[defined])
    phase_out = spectrum_out[defined] / np.abs(spectrum_out[defined])
    np.testing.assert_allclose(phase_out, phase_in, atol=1e-6, rtol=0)
    np.testing.assert_allclose(np.angle(phase_out * np.conj(phase_in)), 0.0, atol=1e-6)


def test_ffp_is_scale_invariant_and_changes_power_not_phase_of_a_two_mode_image():
    y, x = np.mgrid[0:16, 0:16]
    image = 5.0 * np.cos(2 * np.pi * (2 * x) / 16 + 0.3) + 0.01 * np.sin(2 * np.pi * 3 * y / 16)
    flattened = fixed_fourier_power(image)
    np.testing.assert_allclose(fixed_fourier_power(1e6 * image), flattened, atol=1e-9)
    # both modes end up with the same amplitude despite a 500x difference in the input
    spectrum = np.fft.fft2(flattened)
    assert abs(spectrum[0, 2]) == pytest.approx(1.0) and abs(spectrum[3, 0]) == pytest.approx(1.0)
    assert np.angle(spectrum[0, 2]) == pytest.approx(0.3)


@pytest.mark.parametrize("value", [0.0, 3.5, -2.0])
def test_ffp_of_a_constant_image_is_finite_with_unit_amplitude(value):
    image = np.full((16, 12), value)
    flattened = fixed_fourier_power(image)
    assert np.all(np.isfinite(flattened))
    np.testing.assert_allclose(np.abs(np.fft.fft2(flattened)), 1.0, atol=1e-12)
    if value >= 0:
        # every mode has amplitude one and phase zero: the inverse FFT is a delta at the origin
        expected = np.zeros_like(image)
        expected[0, 0] = 1.0
        np.testing.assert_allclose(flattened, expected, atol=1e-12)


def test_ffp_guards_an_exactly_zero_fourier_mode():
    spectrum = np.fft.fft2(_rng(3).normal(size=(16, 16)))
    spectrum[2, 5] = spectrum[-2, -5] = 0.0  # remove one mode (and its conjugate)
    image = np.fft.ifft2(spectrum).real
    flattened = fixed_fourier_power(image)
    assert np.all(np.isfinite(flattened))
    spectrum_out = np.fft.fft2(flattened)
    np.testing.assert_allclose(np.abs(spectrum_out), 1.0, atol=1e-9)
    # the documented fallback for an undefined phase: amplitude one, phase zero
    assert spectrum_out[2, 5] == pytest.approx(1.0, abs=1e-9)
    assert spectrum_out[-2, -5] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_ffp_rejects_non_finite_pixels_and_says_to_fill_them(bad):
    images = _rng().normal(size=(2, 8, 8))
    images[1, 3, 4] = bad
    with pytest.raises(PreprocessError, match="fill NaN pixels first"):
        fixed_fourier_power(images)


# --- histogram equalization --------------------------------------------------------------------

@pytest.mark.parametrize("nbins", [256, 64])
def test_equalize_matches_scikit_image(nbins):
    images = _rng(2).lognormal(sigma=0.7, size=(3, 40, 30))
    result = equalize_histogram(images, nbins=nbins)
    for index, image in enumerate(images):
        np.testing.assert_array_equal(result[index], equalize_hist(image, nbins=nbins))


def test_equalize_output_lies_in_the_unit_interval():
    images = _rng(4).lognormal(sigma=2.0, size=(4, 32, 32)) - 3.0
    result = equalize_histogram(images)
    assert result.min() >= 0.0 and result.max() <= 1.0
    assert result.max() == 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_equalized_lognormal_tiles_are_uniform(seed):
    tile = _rng(seed).lognormal(mean=1.0, sigma=0.4, size=(128, 128))
    equalized = equalize_histogram(tile).ravel()
    # 16384 pixels: an exactly uniform sample has a KS statistic of ~0.01; the equalization
    # interpolates the histogram's CDF between 256 bin centres, which adds a little.
    assert stats.kstest(equalized, "uniform").statistic < 0.025
    decile_fractions = np.histogram(equalized, bins=10, range=(0, 1))[0] / equalized.size
    np.testing.assert_allclose(decile_fractions, 0.1, atol=0.015)
    # the order of the pixels is kept (equalization is monotonic)
    assert stats.spearmanr(tile.ravel(), equalized).statistic > 0.999


def test_log10_then_equalize_makes_heavy_tailed_tiles_uniform():
    tile = _rng(5).lognormal(sigma=3.0, size=(128, 128))
    equalized = build_pipeline([{"op": "log10"}, {"op": "equalize_hist"}])(tile).ravel()
    assert stats.kstest(equalized, "uniform").statistic < 0.02


def test_equalize_maps_a_constant_tile_to_one_half_and_leaves_other_tiles_alone():
    stack = _rng(6).lognormal(size=(3, 16, 16))
    stack[1] = 4.2
    result = equalize_histogram(stack)
    np.testing.assert_array_equal(result[1], np.full((16, 16), 0.5))
    np.testing.assert_array_equal(result[0], equalize_hist(stack[0]))
    np.testing.assert_array_equal(result[2], equalize_hist(stack[2]))


# --- standardize -------------------------------------------------------------------------------

def test_standardize_gives_zero_mean_unit_std_and_zero_for_constant_images():
    stack = _rng(8).normal(loc=5.0, scale=3.0, size=(3, 20, 20))
    stack[2] = -7.0
    result = standardize(stack)
    np.testing.assert_allclose(result[:2].mean(axis=(-2, -1)), 0.0, atol=1e-12)
    np.testing.assert_allclose(result[:2].std(axis=(-2, -1)), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(result[2], 0.0)
    np.testing.assert_allclose(result[0], (stack[0] - stack[0].mean()) / stack[0].std())


# --- build_pipeline / describe_pipeline --------------------------------------------------------

def test_pipeline_applies_steps_in_order_and_returns_float32():
    images = _rng(9).lognormal(size=(2, 32, 32))
    steps = [{"op": "log10", "floor": 1e-3}, {"op": "ffp"}, {"op": "equalize_hist", "nbins": 64}]
    result = build_pipeline(steps)(images)
    expected = _equalize_hist_stack(fixed_fourier_power(log10(images, floor=1e-3)), nbins=64)
    assert result.dtype == np.float32
    assert result.shape == images.shape
    np.testing.assert_allclose(result, expected.astype(np.float32), rtol=0, atol=0)


def _equalize_hist_stack(stack, *, nbins):
    return np.stack([equalize_hist(image, nbins=nbins) for image in stack])


def test_pipeline_order_matters():
    images = _rng(10).lognormal(size=(2, 32, 32))
    ffp_first = build_pipeline([{"op": "ffp"}, {"op": "equalize_hist"}])(images)
    equalize_first = build_pipeline([{"op": "equalize_hist"}, {"op": "ffp"}])(images)
    assert np.abs(ffp_first - equalize_first).max() > 0.1
    # equalized last: values in [0, 1]; FFP last: unit Fourier amplitude
    assert ffp_first.min() >= 0 and ffp_first.max() <= 1
    np.testing.assert_allclose(np.abs(np.fft.fft2(equalize_first.astype(np.float64))), 1.0,
                               atol=1e-5)


def test_empty_pipeline_only_converts_to_float32():
    images = _rng(11).normal(size=(3, 8, 8))
    pipeline = build_pipeline([])
    result = pipeline(images)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, images.astype(np.float32))
    assert pipeline.description == "none"


def test_pipeline_does_not_modify_the_steps_or_the_input():
    steps = [{"op": "log10", "floor": 0.1}, {"op": "standardize"}]
    steps_before = [dict(step) for step in steps]
    images = _rng(12).lognormal(size=(2, 8, 8))
    images_before = images.copy()
    build_pipeline(steps)(images)
    assert steps == steps_before
    np.testing.assert_array_equal(images, images_before)


def test_pipeline_rejects_an_unknown_step_and_names_it():
    with pytest.raises(PreprocessError) as error:
        build_pipeline([{"op": "log10"}, {"op": "sqrt"}])
    message = str(error.value)
    assert "'sqrt'" in message
    for known in PREPROCESS_STEPS:
        assert known in message


@pytest.mark.parametrize("step, named", [
    ({"op": "ffp", "floor": 1.0}, "floor"),
    ({"op": "log10", "flor": 1.0}, "flor"),
    ({"op": "standardize", "nbins": 3}, "nbins"),
    ({"op": "equalize_hist", "nbins": 16, "clip": 0.1, "images": 1}, "clip"),
])
def test_pipeline_rejects_unknown_parameters_and_names_them(step, named):
    with pytest.raises(PreprocessError, match=named) as error:
        build_pipeline([step])
    assert repr(step["op"]) in str(error.value)


def test_pipeline_parameter_errors_list_what_the_step_takes():
    with pytest.raises(PreprocessError, match=r"takes \['floor'\]"):
        build_pipeline([{"op": "log10", "base": 2}])
    with pytest.raises(PreprocessError, match="takes no parameters"):
        build_pipeline([{"op": "standardize", "ddof": 1}])


@pytest.mark.parametrize("step", ["log10", {"floor": 1.0}, None, ["op", "log10"]])
def test_pipeline_rejects_a_step_that_is_not_a_dict_with_op(step):
    with pytest.raises(PreprocessError, match="step 1 must be a dict with an 'op' key"):
        build_pipeline([{"op": "log10"}, step])


def test_pipeline_bad_parameter_values_raise_when_run():
    pipeline = build_pipeline([{"op": "log10", "floor": -1.0}])
    with pytest.raises(PreprocessError, match="floor"):
        pipeline(np.ones((4, 4)))


def test_describe_pipeline_text():
    steps = [{"op": "log10", "floor": 0.001}, {"op": "ffp"}, {"op": "equalize_hist", "nbins": 64}]
    text = "log10(floor=0.001) > ffp > equalize_hist(nbins=64)"
    assert describe_pipeline(steps) == text
    assert build_pipeline(steps).description == text
    assert describe_pipeline([]) == "none"
    assert describe_pipeline([{"op": "standardize"}]) == "standardize"


def test_pipeline_accepts_a_2d_image_and_lists():
    image = [[1.0, 10.0], [100.0, 1000.0]]
    result = build_pipeline([{"op": "log10"}])(image)
    assert result.shape == (2, 2) and result.dtype == np.float32
    np.testing.assert_array_equal(result, [[0, 1], [2, 3]])


# --- whole-map (scope "map") steps and FFP of non-periodic maps ------------------------------

def test_mirror_ffp_is_the_periodic_ffp_of_the_mirror_extended_map():
    image = np.random.default_rng(3).normal(size=(12, 20)) + np.linspace(0, 5, 20)
    extended = np.concatenate([image, image[::-1]], axis=0)
    extended = np.concatenate([extended, extended[:, ::-1]], axis=1)
    expected = PREPROCESS_STEPS["ffp"](extended)[:12, :20]
    np.testing.assert_allclose(PREPROCESS_STEPS["ffp"](image, edges="mirror"), expected,
                               atol=1e-12)


def _edge_share(image):
    """Fraction of an image's squared values in its 2-pixel border."""
    border = np.zeros(image.shape, dtype=bool)
    border[:2], border[-2:], border[:, :2], border[:, -2:] = True, True, True, True
    return (image[border] ** 2).sum() / (image ** 2).sum()


def test_mirror_ffp_stops_the_spectrum_leaking_through_the_edges_of_cut_maps():
    """Maps cut from larger fields are not periodic: their wrap-around jump grows with the
    large-scale power, so after periodic FFP a steep spectrum piles up at the edges (a leak of
    the spectrum FFP should remove). Mirror extension leaves no jump, and the border holds
    about its share of the pixels (12%) whatever the slope."""
    from training.common.random_fields import power_law_gaussian_field

    shares = {}
    for edges in ("periodic", "mirror"):
        for slope in (2.5, 4.0):
            shares[edges, slope] = np.mean([
                _edge_share(PREPROCESS_STEPS["ffp"](
                    power_law_gaussian_field((128, 128), slope, seed=[1, number])[:64, :64],
                    edges=edges)) for number in range(20)])
    assert shares["periodic", 4.0] - shares["periodic", 2.5] > 0.1
    assert abs(shares["mirror", 4.0] - shares["mirror", 2.5]) < 0.03
    with pytest.raises(PreprocessError, match="edges"):
        PREPROCESS_STEPS["ffp"](np.ones((4, 4)), edges="wrap")


def test_pipeline_scopes_select_map_and_tile_steps():
    steps = [{"op": "log10", "scope": "map"}, {"op": "ffp", "scope": "map"},
             {"op": "equalize_hist", "nbins": 16}]
    image = np.random.default_rng(4).lognormal(size=(16, 16))
    whole = build_pipeline(steps)(image)
    map_part = build_pipeline(steps, scope="map")(image)
    np.testing.assert_allclose(build_pipeline(steps, scope="tile")(map_part), whole, atol=1e-6)
    np.testing.assert_allclose(map_part, PREPROCESS_STEPS["ffp"](np.log10(image)), atol=1e-6)
    mirrored = build_pipeline(steps, scope="map", edges="mirror")(image)
    np.testing.assert_allclose(mirrored, PREPROCESS_STEPS["ffp"](np.log10(image),
                                                                 edges="mirror"), atol=1e-6)
    assert "scope=map" in build_pipeline(steps).description


@pytest.mark.parametrize("steps, message", [
    ([{"op": "log10"}, {"op": "ffp", "scope": "map"}], "map steps come first"),
    ([{"op": "log10", "scope": "everywhere"}], "has scope"),
])
def test_pipeline_refuses_badly_scoped_steps(steps, message):
    with pytest.raises(PreprocessError, match=message):
        build_pipeline(steps)
    with pytest.raises(PreprocessError, match="scope must be"):
        build_pipeline([{"op": "log10"}], scope="cube")
