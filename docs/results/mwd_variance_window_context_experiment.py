"""Would local context, rather than the whole map's, give the mass-weighted-density U-Net's sigma
what the map means give it? (issue 16, item 1)

The map-mean experiment (`mwd_variance_map_context_experiment.py`) brings 10 of 11 held-out
classes within target on the shipped file, but a mean over the whole input makes sigma depend
on how a large map is tiled. A mean over a window of W px keeps each output pixel a function of
the input within the receptive field plus W // 2, so tiles still give the whole-map answer when
the tiling margin covers that. Here each feature's mean over W x W px (periodic maps) joins the
features, and a head is fitted and scored as in (b) of that experiment (likelihood, every class
of run alike, then the class-weighted sigma scale). Run from the repository root with the sets
in /work/simdata::

    python docs/results/mwd_variance_window_context_experiment.py \\
        > docs/results/mwd_variance_window_context_experiment.txt
"""

import sys
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import uniform_filter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mwd_variance_context_experiment import (fit_and_score,  # noqa: E402  (beside this one)
                                             print_shipped_file, shipped_pixels)

WINDOWS_PX = (13, 25)


def with_window_means(window):
    """Columns builder: the features and their mean over ``window`` x ``window`` px."""
    def columns(data):
        features = data["features"].astype(np.float64)
        means = np.empty_like(features)
        sizes = np.bincount(data["map"])
        for map_number in np.unique(data["map"]):
            rows = np.flatnonzero(data["map"] == map_number)
            side = int(round(np.sqrt(sizes[map_number])))
            block = features[rows].reshape(side, side, -1)
            means[rows] = uniform_filter(block, size=(window, window, 1),
                                         mode="wrap").reshape(len(rows), -1)
        return np.hstack([features, means])
    return columns


def main():
    torch.set_num_threads(1)
    print_shipped_file()
    calibration, test, fitted = shipped_pixels()
    for window in WINDOWS_PX:
        label = f"features+{window}px means"
        within, classes, _ = fit_and_score(label, with_window_means(window), ["likelihood"],
                                           calibration, test, fitted, label_width=28)
        print(f"{label}: {within} of {classes} classes within target", flush=True)


if __name__ == "__main__":
    main()
