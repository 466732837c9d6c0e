"""The turbml command: listing, classifying, the demo, and one-line errors for bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from .conftest import make_celestial_wcs


def turbml(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glue_turbml.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def assert_one_line_error(completed, *fragments):
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("turbml: error:")]
    assert len(errors) == 1, completed.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_models_list_json_and_info():
    listed = turbml("models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    cards = json.loads(listed.stdout)
    assert any(card["name"] == "kolmogorov-burgers-fbm" and card["task"] == "classification"
               for card in cards)
    info = turbml("models", "info", "kolmogorov-burgers-fbm")
    assert info.returncode == 0
    assert "kolmogorov" in info.stdout and "weights sha256" in info.stdout


def test_models_markdown_matches_the_committed_catalogue():
    from pathlib import Path

    generated = turbml("models", "markdown")
    assert generated.returncode == 0, generated.stderr
    committed = (Path(__file__).resolve().parents[1] / "onnx_models" / "MODELS.md").read_text()
    assert generated.stdout.strip() == committed.strip(), \
        "regenerate with: turbml models markdown > onnx_models/MODELS.md"


def test_classify_files_and_directory(tmp_path):
    rng = np.random.default_rng(0)
    inputs = tmp_path / "maps"
    inputs.mkdir()
    for index in range(2):
        image = rng.lognormal(size=(160, 200)).astype(np.float32)
        fits.PrimaryHDU(image, header=make_celestial_wcs(image.shape).to_header()).writeto(
            inputs / f"m{index}.fits")
    out = tmp_path / "out"
    completed = turbml("classify", inputs, "--model", "kolmogorov-burgers-fbm", "--out", out,
                       "--device", "cpu", "--png")
    assert completed.returncode == 0, completed.stderr
    for index in range(2):
        written = out / f"m{index}_kolmogorov-burgers-fbm.fits"
        assert written.exists() and written.with_suffix(".png").stat().st_size > 10_000
        with fits.open(written) as hdulist:
            assert hdulist[0].header["TM_MODEL"] == "kolmogorov-burgers-fbm"
            assert hdulist["PROB_KOLMOGOROV"].header["CTYPE1"] == "RA---TAN"


@pytest.fixture
def bad_inputs(tmp_path):
    paths = {}
    paths["small"] = tmp_path / "small.fits"
    fits.PrimaryHDU(np.ones((40, 40))).writeto(paths["small"])
    paths["nan"] = tmp_path / "nan.fits"
    fits.PrimaryHDU(np.full((200, 200), np.nan)).writeto(paths["nan"])
    paths["4d"] = tmp_path / "4d.fits"
    fits.PrimaryHDU(np.ones((2, 3, 130, 130), dtype=np.float32)).writeto(paths["4d"])
    paths["corrupt"] = tmp_path / "corrupt.onnx"
    paths["corrupt"].write_bytes(b"\x00garbage" * 64)
    paths["empty_dir"] = tmp_path / "empty"
    paths["empty_dir"].mkdir()
    paths["good"] = tmp_path / "good.fits"
    fits.PrimaryHDU(np.random.default_rng(1).lognormal(size=(200, 200))).writeto(paths["good"])
    return paths


def test_bad_input_gives_one_line_and_nonzero_exit(bad_inputs, tmp_path):
    model = ("--model", "kolmogorov-burgers-fbm", "--out", tmp_path / "o")
    assert_one_line_error(turbml("classify", bad_inputs["small"], *model), "smaller than",
                          "128x128")
    assert_one_line_error(turbml("classify", bad_inputs["nan"], *model), "entirely NaN")
    assert_one_line_error(turbml("classify", bad_inputs["4d"], *model), "4D array")
    assert_one_line_error(turbml("classify", bad_inputs["good"], "--model", bad_inputs["corrupt"]),
                          "corrupt.onnx", "not a readable ONNX file")
    assert_one_line_error(turbml("classify", bad_inputs["good"], "--model", "no-such-model"),
                          "unknown model 'no-such-model'", "kolmogorov-burgers-fbm")
    assert_one_line_error(turbml("classify", bad_inputs["empty_dir"], *model), "no FITS files")


def test_demo_writes_fits_and_png(tmp_path):
    completed = turbml("demo", "--out", tmp_path / "demo", "--device", "cpu")
    assert completed.returncode == 0, completed.stderr
    fits_path = tmp_path / "demo" / "demo_two_regimes_kolmogorov-burgers-fbm.fits"
    png_path = fits_path.with_suffix(".png")
    assert fits_path.exists() and png_path.stat().st_size > 20_000
    assert "left half" in completed.stdout and "right half" in completed.stdout
    with fits.open(fits_path) as hdulist:
        assert hdulist["PROB_BURGERS"].header["CTYPE1"] == "RA---TAN"
        burgers = hdulist["PROB_BURGERS"].data
    # The bundled map is Kolmogorov-like on the left and Burgers-like on the right.
    ny, nx = burgers.shape
    assert np.nanmean(burgers[:, : nx // 3]) < 0.5 < np.nanmean(burgers[:, 2 * nx // 3:])


# --- Command line as users meet it: flags in errors, --out, --overwrite, PNGs, progress bars ---

def run_main(capsys, *args):
    """``turbml ARGS`` in this process: (exit status, stdout, stderr)."""
    from glue_turbml.cli import main

    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error_line(status, err):
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith("turbml: error:")]
    assert len(errors) == 1, err
    assert "Errno" not in err and "Traceback" not in err
    return errors[0]


def subcommand_flags(*names):
    """The option strings of ``turbml NAME`` (the flags a user can type there)."""
    from glue_turbml.cli import build_parser

    commands = next(action for action in build_parser()._actions
                    if action.dest == "command").choices
    return {option for name in names for action in commands[name]._actions
            for option in action.option_strings}


def flags_in(message):
    import re

    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", message))


@pytest.fixture
def cli_files(tmp_path):
    """A column-density map, a PPV cube with a VRAD axis and a cube without a spectral axis."""
    rng = np.random.default_rng(3)
    image = rng.lognormal(sigma=0.5, size=(160, 200)).astype(np.float32)
    header = make_celestial_wcs(image.shape).to_header()
    header["BUNIT"] = "cm-2"
    paths = {"map": tmp_path / "m13.fits", "plain_cube": tmp_path / "plain_cube.fits",
             "ppv": tmp_path / "ppv.fits"}
    fits.PrimaryHDU(image * 1e21, header=header).writeto(paths["map"])
    cube = rng.lognormal(sigma=0.4, size=(6, 160, 170)).astype(np.float32)
    fits.PrimaryHDU(cube).writeto(paths["plain_cube"])
    cube_header = make_celestial_wcs(cube.shape[1:]).to_header()
    cube_header.update(NAXIS=3, CTYPE3="VRAD", CRVAL3=0.0, CDELT3=500.0, CRPIX3=1.0,
                       CUNIT3="m/s", BUNIT="K")
    fits.PrimaryHDU(cube, header=cube_header).writeto(paths["ppv"])
    return paths


def test_cube_errors_name_flags_the_subcommand_takes(cli_files, tmp_path, capsys):
    classify = ("--model", "kolmogorov-burgers-fbm", "--device", "cpu", "--out", tmp_path / "o")
    mapping = ("--model", "mass-weighted-density", "--device", "cpu", "--out", tmp_path / "o")
    cases = [
        (("classify", cli_files["plain_cube"], *classify), "classify",
         {"--axis", "--slice", "--projection"}),
        (("classify", cli_files["ppv"], *classify), "classify", {"--slice", "--projection"}),
        (("map", cli_files["ppv"], *mapping), "map", {"--slice", "--projection"}),
        (("map", cli_files["ppv"], *mapping, "--slice", 9), "map", {"--slice"}),
        (("map", cli_files["map"], *mapping, "--projection", "sum"), "map",
         {"--slice", "--projection"}),
        (("classify", cli_files["plain_cube"], *classify, "--axis", 5, "--slice", 0), "classify",
         {"--axis"}),
        (("classify", cli_files["map"], *classify, "--slices"), "classify", {"--slices"}),
    ]
    every_flag = subcommand_flags("classify", "saliency", "map", "spectra", "evaluate")
    for arguments, command, asked in cases:
        error = one_error_line(*run_main(capsys, *arguments)[::2])
        mentioned = flags_in(error)
        assert asked <= mentioned & subcommand_flags(command), error
        assert mentioned <= every_flag, error


def test_moment0_integrates_a_fits_ppv_cube(cli_files, tmp_path, capsys):
    from spectral_cube import SpectralCube

    target = tmp_path / "ppv_moment0.fits"
    status, out, err = run_main(capsys, "classify", cli_files["ppv"], "--model",
                                "kolmogorov-burgers-fbm", "--device", "cpu", "--projection",
                                "moment0", "--out", target)
    assert status == 0, err
    assert f"->  {target}" in out
    with fits.open(target) as hdulist:
        assert hdulist[0].header["TM_MODEL"] == "kolmogorov-burgers-fbm"
        assert hdulist["PROB_BURGERS"].header["CTYPE1"] == "RA---TAN"
    # The map classified is spectral-cube's own moment 0 of the file.
    from glue_turbml.inputs import parse_input, reduce_to_image

    image, wcs, unit = reduce_to_image(parse_input(cli_files["ppv"]), projection="moment0")
    expected = SpectralCube.read(cli_files["ppv"]).moment0()
    np.testing.assert_allclose(image, expected.value, rtol=1e-6)
    assert unit == expected.unit and wcs.naxis == 2
    # A cube without a spectral axis is refused with the flags that work.
    error = one_error_line(*run_main(capsys, "classify", cli_files["plain_cube"], "--model",
                                     "kolmogorov-burgers-fbm", "--axis", 0, "--projection",
                                     "moment0", "--out", tmp_path)[::2])
    assert "no spectral WCS axis" in error and "--projection sum or mean" in error


def test_out_is_a_folder_or_a_file_name_in_every_subcommand(cli_files, tmp_path, capsys):
    source = cli_files["map"]
    folder_runs = {
        "map": (("map", source, "--model", "mass-weighted-density"),
                "m13_mass-weighted-density.fits"),
        "classify": (("classify", source, "--model", "kolmogorov-burgers-fbm"),
                     "m13_kolmogorov-burgers-fbm.fits"),
        "saliency": (("saliency", source, "--model", "kolmogorov-burgers-fbm", "--no-png"),
                     "m13_kolmogorov-burgers-fbm_saliency-guided.fits"),
    }
    for name, (arguments, written) in folder_runs.items():
        folder = tmp_path / f"{name}_out"
        status, out, err = run_main(capsys, *arguments, "--device", "cpu", "--out",
                                    f"{folder}/")
        assert status == 0, err
        assert (folder / written).is_file() and f"->  {folder / written}" in out
        named = tmp_path / f"{name}_named.fits"
        status, out, err = run_main(capsys, *arguments, "--device", "cpu", "--out", named)
        assert status == 0, err
        assert named.is_file() and f"->  {named}" in out
        with fits.open(named) as hdulist:
            assert hdulist[0].header["TM_MODEL"] == arguments[3]
    # A file name takes one input only.
    error = one_error_line(*run_main(capsys, "classify", source, cli_files["ppv"], "--model",
                                     "kolmogorov-burgers-fbm", "--out", tmp_path / "two.fits")[::2])
    assert "names one file but 2 inputs" in error and "--out results/" in error
    assert not (tmp_path / "two.fits").exists()


def test_overwrite_never_ends_in_an_os_error(cli_files, tmp_path, capsys):
    arguments = ("map", cli_files["map"], "--model", "mass-weighted-density", "--device", "cpu")
    out = tmp_path / "out"
    out.mkdir()
    # The reported case: an existing folder with --overwrite is the folder to write into.
    assert run_main(capsys, *arguments, "--out", f"{out}/", "--overwrite")[0] == 0
    target = out / "m13_mass-weighted-density.fits"
    first = target.stat().st_mtime_ns
    assert run_main(capsys, *arguments, "--out", out, "--overwrite")[0] == 0
    assert target.stat().st_mtime_ns > first
    error = one_error_line(*run_main(capsys, *arguments, "--out", out)[::2])
    assert error.endswith(f"{target} exists; pass --overwrite to replace it")
    # A folder where the file would go, and a file where a folder would go.
    blocked = tmp_path / "blocked"
    (blocked / "m13_mass-weighted-density.fits").mkdir(parents=True)
    error = one_error_line(*run_main(capsys, *arguments, "--out", blocked, "--overwrite")[::2])
    assert "a folder has that name" in error
    (tmp_path / "a_file").write_text("not a folder")
    error = one_error_line(*run_main(capsys, *arguments, "--out", tmp_path / "a_file" / "sub/",
                                     "--overwrite")[::2])
    assert "is a file, not a folder" in error


def test_map_writes_a_png_with_the_flag_classify_uses(cli_files, tmp_path, capsys):
    assert "--png" in subcommand_flags("map") & subcommand_flags("classify")
    target = tmp_path / "density.fits"
    status, out, err = run_main(capsys, "map", cli_files["map"], "--model",
                                "mass-weighted-density", "--device", "cpu", "--out", target,
                                "--png")
    assert status == 0, err
    png = tmp_path / "density.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert str(png) in out
    import matplotlib.image

    # three panels: the map, log10(<n>_m/n0) and its uncertainty, side by side
    assert matplotlib.image.imread(png).shape[1] > 2.5 * matplotlib.image.imread(png).shape[0]


def two_maps(folder):
    folder.mkdir()
    rng = np.random.default_rng(11)
    for index in range(2):
        image = rng.lognormal(size=(160, 200)).astype(np.float32)
        fits.PrimaryHDU(image).writeto(folder / f"m{index}.fits")
    return folder


def test_no_progress_bars_in_pipes(tmp_path):
    completed = turbml("classify", two_maps(tmp_path / "maps"), "--model", "kolmogorov-burgers-fbm",
                       "--device", "cpu", "--out", tmp_path / "out")
    assert completed.returncode == 0, completed.stderr
    assert "%|" not in completed.stderr and "\r" not in completed.stderr
    assert len(completed.stdout.splitlines()) == 2


def test_progress_bars_draw_on_a_terminal_stderr_apart_from_the_results(tmp_path):
    import fcntl
    import os
    import pty
    import struct
    import termios
    import threading

    primary, secondary = pty.openpty()
    # a new pseudo-terminal is 0 columns wide, where tqdm draws an empty bar
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "glue_turbml.cli", "classify", str(two_maps(tmp_path / "maps")),
         "--model", "kolmogorov-burgers-fbm", "--device", "cpu", "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=secondary, text=True)
    os.close(secondary)
    chunks = []

    def drain():
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closes when the command exits
                break
            if not chunk:
                break
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = process.communicate(timeout=600)
    reader.join(timeout=30)
    os.close(primary)
    terminal = b"".join(chunks).decode(errors="replace")
    assert process.returncode == 0, terminal
    assert "2/2" in terminal and "%|" in terminal  # the file bar was drawn on stderr
    lines = stdout.splitlines()
    assert len(lines) == 2 and all("  ->  " in line for line in lines), stdout
    assert "%|" not in stdout and "\r" not in stdout
