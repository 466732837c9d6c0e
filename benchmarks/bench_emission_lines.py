"""Emission-line prediction speed: spaxels per second, our ONNX model vs PCA + k-NN.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_emission_lines.py \\
        --json docs/results/bench_emission_lines.json | tee docs/results/bench_emission_lines.txt

Measured side by side in one run, one thread each, ratios printed:

1. model step only, on the colours of real DESI test galaxies: ``desi-emission-lines`` through
   onnxruntime (all ten lines in one call) vs PCA + k-NN (ten scikit-learn regressors fitted on
   the same training galaxies, the tuned parameters of ``docs/results/emission_lines_eval.json``
   when present);
2. end to end on a synthetic IFU-like cube (``--spaxels`` galaxy spectra of ``--channels``
   MUSE-like 1.25 A channels): ``glue_turbml.predict_emission_lines`` (rest frame, line masking,
   binning, colours, model) vs the same feature pipeline followed by PCA + k-NN;
3. with ``--device cuda`` (or ``auto`` where onnxruntime has the CUDA provider) the model step is
   also timed on the GPU.
"""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from timing import best_time  # noqa: E402  (benchmarks/ is on the path when run as a script)


def _knn_models(data, tuned):
    from glue_turbml.core.continuum_bins import EMISSION_LINE_NAMES
    from training.emission_lines.baselines import PcaKnnRegressor

    models = {}
    for line in EMISSION_LINE_NAMES:
        table = data.tables[line]
        train = table.rows("train")
        params = tuned.get(line, {"n_components": 8, "n_neighbors": 100})
        models[line] = PcaKnnRegressor(**params).fit(table.colours[train], table.ew_obs[train])
    return models


def _synthetic_cube(n_spaxels, n_channels, *, redshift, seed):
    """``(n_channels, n_spaxels, 1)`` galaxy-like spectra (power law, 4000 A break, lines)."""
    from glue_turbml.core.continuum_bins import EMISSION_LINE_WAVELENGTHS_VACUUM

    rng = np.random.default_rng(seed)
    observed = 3480.37 + 1.25 * np.arange(n_channels)
    rest = observed / (1 + redshift)
    slope = rng.uniform(-1.5, 0.5, size=(n_spaxels, 1))
    break_strength = rng.uniform(1.1, 2.2, size=(n_spaxels, 1))
    continuum = (rest / 5500.0) ** slope / np.where(rest < 4000.0, break_strength, 1.0)
    centres = [c for values in EMISSION_LINE_WAVELENGTHS_VACUUM.values() for c in values]
    lines = sum(np.exp(-0.5 * ((rest - centre) / 2.0) ** 2) for centre in centres)
    spectra = continuum + rng.uniform(0, 3, size=(n_spaxels, 1)) * lines
    spectra += rng.normal(0.0, 0.02, size=spectra.shape)
    return spectra.T[:, :, None].astype(np.float32), observed


def main(argv=None):
    """Run the benchmark; returns the exit status."""
    from astropy import units as u

    import onnxruntime

    from glue_turbml import predict_emission_lines
    from glue_turbml.core.continuum_bins import (EMISSION_LINE_NAMES, bin_means,
                                                 colours_from_bin_fluxes, mask_emission_lines)
    from glue_turbml.models import open_model
    from training.emission_lines.data import DEFAULT_DATA_PATH, load_emission_line_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="desi-emission-lines")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--data", default=str(DEFAULT_DATA_PATH))
    parser.add_argument("--spaxels", type=int, default=4096, help="spaxels of the synthetic cube")
    parser.add_argument("--channels", type=int, default=3300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    data = load_emission_line_data(args.data)
    tuned = {}
    evaluation = ROOT / "docs" / "results" / "emission_lines_eval.json"
    if evaluation.is_file():
        lines = json.loads(evaluation.read_text())["lines"]
        tuned = {line: lines[line]["pca_knn"]["params"] for line in lines}
    knn = _knn_models(data, tuned)
    halpha = data.tables["HALPHA"]
    colours = np.ascontiguousarray(halpha.colours[halpha.rows("test")])
    devices = ["cpu"]
    if args.device == "cuda" or (args.device == "auto" and "CUDAExecutionProvider"
                                 in onnxruntime.get_available_providers()):
        devices.append("cuda")
    figures = {"machine": platform.processor() or platform.machine(),
               "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
               "onnxruntime": onnxruntime.__version__, "n_test_galaxies": int(len(colours)),
               "knn_params": tuned or "defaults (no evaluation report found)"}
    print(f"model step, {len(colours)} DESI test galaxies, all {len(EMISSION_LINE_NAMES)} lines:")
    knn_time = best_time(lambda: [model.predict_ew(colours) for model in knn.values()],
                         args.repeats)
    figures["model_step_knn_spectra_per_s"] = len(colours) / knn_time
    for device in devices:
        runner = open_model(args.model, device=device)
        ours_time = best_time(lambda: runner.run(colours, batch_size=len(colours)), args.repeats)
        figures[f"model_step_ours_{device}_spectra_per_s"] = len(colours) / ours_time
        figures[f"model_step_ratio_{device}"] = knn_time / ours_time
        print(f"  ours ({runner.info.provider}): {len(colours) / ours_time:12.0f} spectra/s | "
              f"PCA + k-NN: {len(colours) / knn_time:10.0f} spectra/s | ratio "
              f"{knn_time / ours_time:7.1f}x")

    redshift = 0.03
    cube, observed = _synthetic_cube(args.spaxels, args.channels, redshift=redshift, seed=0)
    wavelength = observed * u.AA
    runner = open_model(args.model, device="cpu")
    spectral = runner.card["input"]["spectral"]

    def ours_end_to_end():
        return predict_emission_lines(cube, wavelength=wavelength, redshift=redshift,
                                      model=args.model, device="cpu")

    def knn_end_to_end():
        rest = observed / (1 + redshift)
        flux = cube.reshape(cube.shape[0], -1).T.astype(np.float64)
        masked = mask_emission_lines(rest, flux, half_width=spectral["mask_half_width_angstrom"])
        features = colours_from_bin_fluxes(bin_means(rest, masked, spectral["bin_edges"])[0])
        return [model.predict_ew(features) for model in knn.values()]

    result = ours_end_to_end()
    assert result.counts["n_predicted"] == args.spaxels, result.counts
    ours_time = best_time(ours_end_to_end, args.repeats)
    knn_time = best_time(knn_end_to_end, args.repeats)
    figures.update({"cube_spaxels": args.spaxels, "cube_channels": args.channels,
                    "end_to_end_ours_cpu_spaxels_per_s": args.spaxels / ours_time,
                    "end_to_end_knn_spaxels_per_s": args.spaxels / knn_time,
                    "end_to_end_ratio": knn_time / ours_time})
    print(f"end to end, {args.spaxels} spaxels x {args.channels} channels (rest frame, masking, "
          "binning, colours, model):")
    print(f"  ours (CPU): {args.spaxels / ours_time:12.0f} spaxels/s | PCA + k-NN: "
          f"{args.spaxels / knn_time:10.0f} spaxels/s | ratio {knn_time / ours_time:7.1f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
