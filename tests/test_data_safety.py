"""turbml never loses a user's data: outputs never replace inputs and are renamed into place
only when complete, batches go on past bad files, foreseeable problems exit 2, non-ASCII paths
work, and a run that cannot fit in memory is refused before any work."""

import os
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from glue_turbml.cli import main
from tests.spectra_builders import (CUBE_REDSHIFT, cube_header, cube_spaxels,  # noqa: F401
                                    galaxy_cube_path)

from .conftest import make_celestial_wcs

CLASSIFY = ("--model", "kolmogorov-burgers-fbm", "--device", "cpu")
MAP = ("--model", "mass-weighted-density", "--device", "cpu")


def run_main(capsys, *args):
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def error_line(status, err):
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith("turbml: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err and "unexpected error" not in err
    return errors[0]


def write_map(path, *, seed=0, shape=(160, 200)):
    image = np.random.default_rng(seed).lognormal(sigma=0.5, size=shape).astype(np.float32)
    header = make_celestial_wcs(shape).to_header()
    header["BUNIT"] = "cm-2"
    fits.PrimaryHDU(image * 1e21, header=header).writeto(path)
    return path


def truncated_copy(source, path):
    data = source.read_bytes()
    path.write_bytes(data[:len(data) // 2 + 2880])  # the header and part of the data unit
    return path


def leftovers(folder):
    return [path.name for path in folder.iterdir() if path.name.startswith(".turbml-partial")]


# --- item 3: temp-then-rename, never an input's path, no clashing names, PNGs, the demo ---

def test_an_output_never_replaces_an_input_even_with_overwrite(tmp_path, capsys):
    source = write_map(tmp_path / "v.fits")
    before = source.read_bytes()
    error = error_line(*run_main(capsys, "map", source, *MAP, "--out", source,
                                 "--overwrite")[::2])
    assert "is an input of this run" in error and "--out" in error
    assert source.read_bytes() == before


@pytest.mark.parametrize("command, flags, result_class", [
    ("classify", CLASSIFY + ("--png",), "glue_turbml.classification.result.ClassificationResult"),
    ("map", MAP + ("--png",), "glue_turbml.mapping.result.MappingResult"),
])
def test_a_failed_fits_write_leaves_no_png_either(command, flags, result_class, tmp_path,
                                                  capsys, monkeypatch):
    def disk_full(self, path, **_):
        with open(path, "wb") as stream:
            stream.write(b"SIMPLE  =")  # a truncated start, as a full disk leaves
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(f"{result_class}.write", disk_full)
    source = write_map(tmp_path / "m.fits")
    out = tmp_path / "out"
    error = error_line(*run_main(capsys, command, source, *flags, "--out", out)[::2])
    assert "No space left on device" in error and "cannot write" in error
    assert not out.exists() or list(out.iterdir()) == []


def test_classify_a_folder_into_itself_skips_its_own_results(tmp_path, capsys):
    folder = tmp_path / "maps"
    folder.mkdir()
    for seed in range(2):
        write_map(folder / f"m{seed}.fits", seed=seed)
    status, out, err = run_main(capsys, "classify", folder, *CLASSIFY, "--out", folder)
    assert status == 0, err
    first = (folder / "m0_kolmogorov-burgers-fbm.fits").read_bytes()
    status, out, err = run_main(capsys, "classify", folder, *CLASSIFY, "--out", folder,
                                "--overwrite")
    assert status == 0, err
    assert len(out.splitlines()) == 2 and "skipped 2 earlier turbml result(s)" in err
    assert sorted(path.name for path in folder.iterdir()) == [
        "m0.fits", "m0_kolmogorov-burgers-fbm.fits", "m1.fits", "m1_kolmogorov-burgers-fbm.fits"]
    with fits.open(folder / "m0_kolmogorov-burgers-fbm.fits") as hdulist:
        assert hdulist[0].header["TM_INPUT"] == "m0"
    assert (folder / "m0_kolmogorov-burgers-fbm.fits").read_bytes()[:2880] == first[:2880]


def test_inputs_that_would_share_an_output_name_are_refused_before_any_work(tmp_path, capsys):
    folder = tmp_path / "maps"
    folder.mkdir()
    write_map(folder / "a.fits")
    write_map(folder / "a.fit", seed=1)
    out = tmp_path / "out"
    error = error_line(*run_main(capsys, "classify", folder, *CLASSIFY, "--out", out)[::2])
    assert "a.fit and" in error and "a.fits would all write" in error
    assert not out.exists()


@pytest.mark.parametrize("command", ["classify", "saliency"])
def test_a_png_alone_is_never_replaced_without_overwrite(command, tmp_path, capsys):
    source = write_map(tmp_path / "m.fits")
    out = tmp_path / "out"
    out.mkdir()
    name = ("m_kolmogorov-burgers-fbm.png" if command == "classify"
            else "m_kolmogorov-burgers-fbm_saliency-guided.png")
    (out / name).write_bytes(b"my figure")
    flags = ("--png",) if command == "classify" else ()
    error = error_line(*run_main(capsys, command, source, *CLASSIFY, "--out", out,
                                 *flags)[::2])
    assert name in error and "--overwrite" in error
    assert (out / name).read_bytes() == b"my figure"
    assert sorted(path.name for path in out.iterdir()) == [name]


def test_the_demo_needs_overwrite_to_replace_an_earlier_run(tmp_path, capsys):
    out = tmp_path / "demo"
    assert run_main(capsys, "demo", "--out", out, "--device", "cpu")[0] == 0
    png = out / "demo_two_regimes_kolmogorov-burgers-fbm.png"
    png.write_bytes(b"kept")
    error = error_line(*run_main(capsys, "demo", "--out", out, "--device", "cpu")[::2])
    assert "--overwrite" in error and png.read_bytes() == b"kept"
    assert run_main(capsys, "demo", "--out", out, "--device", "cpu", "--overwrite")[0] == 0
    assert png.read_bytes()[:4] == b"\x89PNG" and not leftovers(out)


def test_a_write_that_fails_midway_leaves_the_earlier_result_and_no_partial_file(
        tmp_path, capsys, monkeypatch):
    from glue_turbml.classification.result import ClassificationResult

    source = write_map(tmp_path / "m.fits")
    out = tmp_path / "out"
    assert run_main(capsys, "classify", source, *CLASSIFY, "--out", out)[0] == 0
    earlier = (out / "m_kolmogorov-burgers-fbm.fits").read_bytes()

    def disk_full(self, path, *, overwrite=False):
        with open(path, "wb") as half:
            half.write(b"SIMPLE  =                    T")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ClassificationResult, "write", disk_full)
    error = error_line(*run_main(capsys, "classify", source, *CLASSIFY, "--out", out,
                                 "--overwrite")[::2])
    assert "No space left on device" in error and "m_kolmogorov-burgers-fbm.fits" in error
    assert (out / "m_kolmogorov-burgers-fbm.fits").read_bytes() == earlier
    assert not leftovers(out)


def limit_file_size():
    import resource
    import signal

    # without SIG_IGN the kernel kills the writer; ignored, the write fails with EFBIG
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_leaves_the_earlier_map_intact(tmp_path):
    source = write_map(tmp_path / "m.fits")
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "m_mass-weighted-density.fits"
    earlier.write_bytes(b"an earlier result")
    completed = subprocess.run(
        [sys.executable, "-m", "glue_turbml.cli", "map", str(source), *MAP, "--out", str(out),
         "--overwrite"], capture_output=True, text=True, preexec_fn=limit_file_size)
    assert completed.returncode == 2, completed.stderr
    assert "cannot write" in completed.stderr and "Traceback" not in completed.stderr
    assert earlier.read_bytes() == b"an earlier result"
    assert not leftovers(out)


# --- item 4: batches go on past bad files; foreseeable problems exit 2 ---

def test_a_batch_goes_on_past_a_truncated_file(tmp_path, capsys):
    good = write_map(tmp_path / "good.fits")
    truncated = truncated_copy(good, tmp_path / "truncated.fits")
    other = write_map(tmp_path / "other.fits", seed=1)
    out = tmp_path / "out"
    status, stdout, err = run_main(capsys, "classify", good, truncated, other, *CLASSIFY,
                                   "--out", out)
    assert error_line(status, err).endswith("2 of 3 files done; 1 failed (see above)")
    failures = [line for line in err.splitlines() if "truncated.fits" in line]
    assert len(failures) == 1 and "shorter than its header says" in failures[0]
    assert sorted(path.name for path in out.iterdir()) == [
        "good_kolmogorov-burgers-fbm.fits", "other_kolmogorov-burgers-fbm.fits"]


def test_a_saliency_batch_goes_on_past_a_truncated_file(tmp_path, capsys):
    good = write_map(tmp_path / "good.fits")
    truncated = truncated_copy(good, tmp_path / "truncated.fits")
    out = tmp_path / "out"
    status, stdout, err = run_main(capsys, "saliency", truncated, good, *CLASSIFY, "--no-png",
                                   "--out", out)
    assert error_line(status, err).endswith("1 of 2 files done; 1 failed (see above)")
    assert [path.name for path in out.iterdir()] == [
        "good_kolmogorov-burgers-fbm_saliency-guided.fits"]


def test_a_failed_first_write_leaves_no_new_folder(tmp_path, capsys, monkeypatch):
    from glue_turbml.mapping.result import MappingResult

    def disk_full(self, path, *, overwrite=False):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(MappingResult, "write", disk_full)
    source = write_map(tmp_path / "m.fits")
    error = error_line(*run_main(capsys, "map", source, *MAP, "--out",
                                 tmp_path / "new" / "deeper/")[::2])
    assert "No space left on device" in error
    assert not (tmp_path / "new").exists()


def spectral_cube(path, **keywords):
    cube = np.random.default_rng(2).lognormal(size=(40, 4, 5)).astype(np.float32)
    header = cube_header(cube.shape[1:])
    header.update(keywords)
    fits.PrimaryHDU(cube, header=header).writeto(path)
    return path


@pytest.mark.parametrize("keywords, fragment", [
    ({"CDELT3": 0.0}, "singular"),
    ({"CTYPE3": "GLON"}, "CUNIT3"),
])
def test_a_broken_spectral_axis_exits_2(keywords, fragment, tmp_path, capsys):
    cube = spectral_cube(tmp_path / "cube.fits", **keywords)
    error = error_line(*run_main(capsys, "spectra", cube, "--redshift", "0.1", "--device",
                                 "cpu", "--out", tmp_path / "out")[::2])
    assert "WCS is invalid" in error and fragment in error and "CDELT3" in error


def test_foreseeable_problems_exit_2(tmp_path, capsys):
    source = write_map(tmp_path / "m.fits")
    out = tmp_path / "out"
    error = error_line(*run_main(capsys, "map", source, *CLASSIFY, "--out", out)[::2])
    assert "--model kolmogorov-burgers-fbm is a classification model" in error
    error = error_line(*run_main(capsys, "classify", source, *MAP, "--out", out)[::2])
    assert "needs a model of task classification" in error
    error = error_line(*run_main(capsys, "map", source, *MAP, "--out", out,
                                 "--batch-size", "0")[::2])
    assert "--batch-size 0" in error
    error = error_line(*run_main(capsys, "saliency", source, *CLASSIFY, "--out", out,
                                 "--batch-size", "0")[::2])
    assert "--batch-size 0" in error
    mask = truncated_copy(source, tmp_path / "mask.fits")
    error = error_line(*run_main(capsys, "saliency", source, "--model",
                                 "mass-weighted-density", "--device", "cpu", "--out", out,
                                 "--region-mask", mask)[::2])
    assert error.startswith("turbml: error: --region-mask") and "shorter than" in error
    assert not out.exists()


# --- item 5: non-ASCII paths ---

NAME = "é 地图"


def escaped_input(path):
    with fits.open(path) as hdulist:
        value = hdulist[0].header["TM_INPUT"]
    assert value.isascii()
    return value.encode("ascii").decode("unicode_escape")


@pytest.mark.parametrize("command, flags, output", [
    ("classify", CLASSIFY, f"{NAME}_kolmogorov-burgers-fbm.fits"),
    ("saliency", CLASSIFY + ("--no-png",), f"{NAME}_kolmogorov-burgers-fbm_saliency-guided.fits"),
    ("map", MAP, f"{NAME}_mass-weighted-density.fits"),
])
def test_non_ascii_paths_work_and_headers_escape_them(command, flags, output, tmp_path,
                                                      capsys):
    source = write_map(tmp_path / f"{NAME}.fits")
    out = tmp_path / "地图 out"
    status, stdout, err = run_main(capsys, command, source, *flags, "--out", out)
    assert status == 0, err
    assert escaped_input(out / output) == NAME


def test_spectra_with_a_non_ascii_path(galaxy_cube_path, tmp_path, capsys):  # noqa: F811
    source = galaxy_cube_path.rename(tmp_path / f"{NAME}.fits")
    target = tmp_path / f"{NAME} lines.fits"
    status, stdout, err = run_main(capsys, "spectra", source, "--redshift", CUBE_REDSHIFT,
                                   "--device", "cpu", "--out", target)
    assert status == 0, err
    assert escaped_input(target) == NAME


# --- item 6: the memory check ---

@pytest.mark.parametrize("command, flags, remedy", [
    ("classify", CLASSIFY, "--stride"),
    ("saliency", CLASSIFY, "--batch-size"),
    ("map", MAP, "--batch-size"),
])
def test_a_run_that_needs_more_memory_than_available_is_refused(command, flags, remedy,
                                                                tmp_path, capsys, monkeypatch):
    from glue_turbml.cli_memory import BYTES_PER_PIXEL

    monkeypatch.setenv("GLUE_TURBML_MEMORY_LIMIT_MB", "1")
    source = write_map(tmp_path / "m.fits")
    out = tmp_path / "out"
    error = error_line(*run_main(capsys, command, source, *flags, "--out", out)[::2])
    need_mib = BYTES_PER_PIXEL[command] * 160 * 200 / 2 ** 20
    assert f"needs about {need_mib:,.0f} MiB" in error and "1 MiB are available" in error
    assert remedy in error and "GLUE_TURBML_MEMORY_LIMIT_MB" in error
    assert not out.exists()
    monkeypatch.setenv("GLUE_TURBML_MEMORY_LIMIT_MB", "4096")
    from glue_turbml.cli_memory import check_memory

    check_memory(command, [source], remedy="")  # enough memory: no error


def test_spectra_and_evaluate_check_memory_too(
        galaxy_cube_path, tmp_path, capsys, monkeypatch):  # noqa: F811
    from glue_turbml.cli_memory import spectra_need

    monkeypatch.setenv("GLUE_TURBML_MEMORY_LIMIT_MB", "0.1")
    out = tmp_path / "lines"
    error = error_line(*run_main(capsys, "spectra", galaxy_cube_path, "--redshift",
                                 CUBE_REDSHIFT, "--chunk-spaxels", "4096", "--out", out)[::2])
    with fits.open(galaxy_cube_path) as hdulist:
        n_channels, ny, nx = hdulist[0].data.shape
    need = spectra_need(n_channels * ny * nx, n_channels, chunk_spaxels=4096)
    assert f"needs about {need / 2 ** 20:,.0f} MiB for turbml spectra" in error
    assert "--chunk-spaxels" in error and not out.exists()
    # A smaller chunk needs less: the remedy the message names works.
    assert spectra_need(n_channels * ny * nx, n_channels, chunk_spaxels=16) < need

    maps = tmp_path / "labelled"
    maps.mkdir()
    write_map(maps / "a.fits")
    scores = tmp_path / "scores"
    error = error_line(*run_main(capsys, "evaluate", "--model", "kolmogorov-burgers-fbm",
                                 "--class", f"kolmogorov={maps}/*.fits", "--out",
                                 scores)[::2])
    assert "for turbml classify" in error and "--stride" in error and not scores.exists()


def test_available_memory_is_read_from_the_system_without_the_variable(monkeypatch):
    from glue_turbml.cli_memory import available_memory

    monkeypatch.delenv("GLUE_TURBML_MEMORY_LIMIT_MB", raising=False)
    available = available_memory()
    assert available is None or available > 2 ** 20
    monkeypatch.setenv("GLUE_TURBML_MEMORY_LIMIT_MB", "2")
    assert available_memory() == 2 * 2 ** 20
    assert os.environ["GLUE_TURBML_MEMORY_LIMIT_MB"] == "2"


# --- item 8: a stride or tile size outside the model's bounds is refused, never replaced ---

@pytest.mark.parametrize("command, stride", [("classify", "0"), ("classify", "1"),
                                             ("saliency", "200"), ("evaluate", "0")])
def test_a_stride_outside_the_models_bounds_is_refused_before_any_work(
        command, stride, tmp_path, capsys):
    source = write_map(tmp_path / "m.fits")
    out = tmp_path / "out"
    inputs = (("--class", f"kolmogorov={source}") if command == "evaluate" else (source,))
    error = error_line(*run_main(capsys, command, *inputs, *CLASSIFY, "--stride", stride,
                                 "--out", out)[::2])
    assert f"--stride {stride}:" in error and "give 16 to 128 px (default 64)" in error
    assert "stride=" not in error and not out.exists()


def test_the_python_api_refuses_such_a_stride_too(tmp_path):
    from glue_turbml import classify
    from glue_turbml.core.tiling import TilingError

    source = write_map(tmp_path / "m.fits")
    with pytest.raises(TilingError, match=r"--stride 0 \(stride= in Python\)"):
        classify(source, model="kolmogorov-burgers-fbm", stride=0)
    coarse = classify(source, model="kolmogorov-burgers-fbm")
    fine = classify(source, model="kolmogorov-burgers-fbm", stride=16)
    assert len(fine.tile_origins) > len(coarse.tile_origins)
    assert set(np.diff(np.unique(fine.tile_origins[:, 1]))) == {16}


def test_a_tile_size_above_the_bound_is_refused(tmp_path, capsys):
    source = write_map(tmp_path / "m.fits")
    error = error_line(*run_main(capsys, "map", source, *MAP, "--tile-size", "2048", "--out",
                                 tmp_path / "out")[::2])
    assert "--tile-size" in error and "at most 1024 px" in error


@pytest.mark.parametrize("command, flags", [("classify", CLASSIFY + ("--png",)),
                                            ("saliency", CLASSIFY), ("map", MAP + ("--png",))])
def test_maps_with_infinities_leak_no_runtime_warnings(command, flags, tmp_path, capsys):
    import warnings

    source = tmp_path / "inf.fits"
    image = np.exp(np.random.default_rng(0).normal(size=(160, 200))).astype(np.float32)
    image[10:20, 10:20], image[50:60, 50:60], image[100, 100] = np.inf, -np.inf, np.nan
    fits.PrimaryHDU(image).writeto(source)
    # numpy's own defaults: importing glue (as the plugin tests do) silences numpy for the
    # whole session, and that would hide the warnings this test looks for.
    with warnings.catch_warnings(), np.errstate(divide="warn", over="warn", invalid="warn"):
        warnings.simplefilter("error", RuntimeWarning)
        status, stdout, err = run_main(capsys, command, source, *flags, "--out",
                                       tmp_path / "out")
    assert status == 0, err
    assert "RuntimeWarning" not in err
