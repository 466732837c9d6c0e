"""Can statistics of the input map itself stand in for the map means of the head features?
(issue 16, item 1)

`mwd_variance_map_context_experiment.py` found that the log-variance head meets the target on
every class of run once it reads each feature's mean over the whole map and is refitted to
the interval edges. A runtime only has those means after a first pass over every tile. The
input map's own one-point and two-point statistics are known before any tile is cut, so they
can reach every tile alike. Here the same separate head (16 hidden channels) is fitted on the
calibration runs of the shipped file from its features plus, for every pixel, statistics of
the whole input map log10(N / <N>):

(e) its standard deviation;
(f) its standard deviation, skewness and excess kurtosis;
(g) those and the slope of its radial power spectrum;

each by likelihood, then refitted to the interval edges; then the class-weighted sigma scale
and each held-out class's coverage. Run from the repository root with the sets in
/work/simdata::

    python docs/results/mwd_variance_map_statistics_experiment.py \\
        > docs/results/mwd_variance_map_statistics_experiment.txt
"""

import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from scipy.stats import kurtosis, skew

from glue_turbml.core.spectra import fit_power_law_slope, radial_power_spectrum
from glue_turbml.models import read_card
from training.unet.mass_weighted_density_sims import pairs_by_size
from training.unet.sim_runs import find_runs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mwd_variance_context_experiment import (SETS, SHIPPED, fit_and_score,  # noqa: E402
                                             print_shipped_file, shipped_pixels)


def map_statistics(runs):
    """One row per map, in the order `pixels` numbers them: std, skewness, excess kurtosis
    and power-spectrum slope of the input map."""
    rows = []
    for pairs in pairs_by_size(runs):
        for image in pairs.inputs[:, 0].astype(np.float64):
            values = image.ravel()
            wavenumber, power = radial_power_spectrum(image)
            slope = fit_power_law_slope(wavenumber, power, k_min=2, k_max=image.shape[0] / 4)
            rows.append([values.std(), skew(values), kurtosis(values), slope])
    return np.asarray(rows)


def with_statistics(columns_wanted):
    def columns(data):
        return np.hstack([data["features"],
                          data["statistics"][data["map"]][:, columns_wanted]])
    return columns


def main():
    torch.set_num_threads(2)
    print_shipped_file()
    calibration, test, fitted = shipped_pixels()
    split = read_card(onnx.load(SHIPPED), source=SHIPPED)["provenance"]["split"]["runs"]
    by_key = {run.key: run for run in find_runs(SETS)}
    calibration["statistics"] = map_statistics([by_key[key] for key in split["validation"]])
    test["statistics"] = map_statistics([by_key[key] for key in split["test"]])
    for name, data in (("calibration", calibration), ("test", test)):
        print(f"# {name} maps: {len(data['statistics'])}; std of log10(N/<N>) "
              f"{data['statistics'][:, 0].min():.3f}-{data['statistics'][:, 0].max():.3f}")
    variants = [
        ("(e) features+std, edges", [0]),
        ("(f) features+std,skew,kurt, edges", [0, 1, 2]),
        ("(g) features+std,skew,kurt,slope, edges", [0, 1, 2, 3]),
    ]
    for label, wanted in variants:
        within, classes, _ = fit_and_score(label, with_statistics(wanted),
                                           ["likelihood", "coverage"], calibration, test,
                                           fitted, label_width=40)
        print(f"{label}: {within} of {classes} classes within target", flush=True)


if __name__ == "__main__":
    main()
