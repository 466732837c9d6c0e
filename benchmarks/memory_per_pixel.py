"""Peak memory per map pixel of ``turbml classify``, ``saliency`` and ``map``: the numbers the
command line's memory check (`glue_turbml.cli_memory.BYTES_PER_PIXEL`) multiplies by.

Run from the repository root::

    python benchmarks/memory_per_pixel.py --report docs/results/memory_per_pixel.json

Each measurement is a fresh Python process that runs the command once on a 256 x 256 map (the
imports, onnxruntime's arenas and first allocations), then on a ``size`` x ``size`` float32 FITS
map, and reports the growth of its peak resident set (``ru_maxrss``) over the second run. Two
sizes per command give two numbers: bytes per pixel of the larger map (what the check uses; it
includes fixed costs spread over the pixels) and the slope between the sizes (the part that
grows with the map). The check's constant must be at least the slope and near the larger map's
number. Memory does not depend on the CPU's speed or load, so the numbers hold on any x86-64
machine with the same onnxruntime (CPU provider).
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: The command lines measured (the map file and output folder are appended).
COMMANDS = {
    "classify": ["classify", "--model", "kolmogorov-burgers-fbm", "--device", "cpu"],
    "saliency": ["saliency", "--model", "kolmogorov-burgers-fbm", "--method", "guided", "--device",
                 "cpu"],
    "map": ["map", "--model", "mass-weighted-density", "--device", "cpu"],
}
#: Map sizes (pixels on a side) measured per command.
SIZES = {"classify": (1024, 2048), "saliency": (1024, 2048), "map": (512, 1024)}


def _write_map(path, size, seed):
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    fits.PrimaryHDU(np.exp(rng.normal(0.0, 0.5, size=(size, size))).astype(np.float32)) \
        .writeto(path)


def child(command, size):
    """Run ``command`` on a 256^2 map, then on a ``size``^2 map; print the peak growth (bytes)."""
    from glue_turbml.cli import main

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        small, large = folder / "warm.fits", folder / "map.fits"
        _write_map(small, 256, 0)
        _write_map(large, size, 1)
        if main(COMMANDS[command] + [str(small), "--out", str(folder / "warm_out")]) != 0:
            raise SystemExit("warm-up run failed")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if main(COMMANDS[command] + [str(large), "--out", str(folder / "out")]) != 0:
            raise SystemExit("measured run failed")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_bytes": (after - before) * 1024}))  # ru_maxrss is KiB on Linux


def measure(command, size):
    environment = dict(os.environ, GLUE_TURBML_MEMORY_LIMIT_MB="1000000")
    output = subprocess.run([sys.executable, __file__, "--child", command, str(size)],
                            capture_output=True, text=True, check=True, env=environment,
                            cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])["growth_bytes"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", help="write the JSON results here")
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=list(COMMANDS))
    parser.add_argument("--child", nargs=2, metavar=("COMMAND", "SIZE"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        child(arguments.child[0], int(arguments.child[1]))
        return 0
    from glue_turbml.cli_memory import BYTES_PER_PIXEL

    results = {}
    for command in arguments.commands:
        small, large = SIZES[command]
        growth = {size: measure(command, size) for size in (small, large)}
        per_pixel = growth[large] / large ** 2
        slope = (growth[large] - growth[small]) / (large ** 2 - small ** 2)
        results[command] = {"sizes": [small, large], "peak_growth_bytes": growth,
                            "bytes_per_pixel_at_largest": round(per_pixel, 1),
                            "slope_bytes_per_pixel": round(slope, 1),
                            "check_constant": BYTES_PER_PIXEL[command],
                            "command_line": " ".join(COMMANDS[command])}
        print(f"{command:9s} {large}^2: {per_pixel:6.1f} B/px, slope {small}^2->{large}^2 "
              f"{slope:6.1f} B/px; the check uses {BYTES_PER_PIXEL[command]} "
              f"(ratio {BYTES_PER_PIXEL[command] / max(per_pixel, slope):.2f})", flush=True)
    if arguments.report:
        report = {"script": "benchmarks/memory_per_pixel.py", "machine": platform.machine(),
                  "python": platform.python_version(), "results": results}
        Path(arguments.report).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
