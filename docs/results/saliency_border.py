"""Does the saliency contour follow the map's border? Before and after the border band.

Run from the repository root::

    python docs/results/saliency_border.py > docs/results/saliency_border.txt

For two real images that are not turbulence (scikit-image's Hubble Deep Field and Moon; the
DSS image of M13 the issue used needs a download, which this machine cannot make), the
shipped ``kolmogorov-burgers-fbm`` model's guided and vanilla saliency is contoured as the overlay
draws it (top 2% of smoothed positive saliency). "Before" smooths as the overlay did until this
change (edge pixels replicated, no band); "after" is `SaliencyResult.overlay` now (nothing past
the edge, a band of 3 smoothing sigmas left out). A contour that follows the border puts far
more of its pixels near the edge than the area there holds.
"""

import warnings

import numpy as np
from scipy.ndimage import gaussian_filter
from skimage import color, data

import glue_turbml
from glue_turbml.saliency_maps.result import (DEFAULT_CONTOUR_QUANTILE,
                                              DEFAULT_SMOOTHING_SIGMA_PX, border_band)


def _previous_overlay(saliency_map, sigma_px, quantile):
    values = np.asarray(saliency_map, dtype=np.float64)
    finite = np.isfinite(values)
    weight = gaussian_filter(finite.astype(np.float64), sigma_px, mode="nearest")
    smoothed = gaussian_filter(np.where(finite, values, 0.0), sigma_px, mode="nearest") / weight
    smoothed[~finite] = np.nan
    positive = smoothed[np.isfinite(smoothed) & (smoothed > 0)]
    return smoothed, float(np.quantile(positive, quantile))


def _share_near_edge(smoothed, level, inner, width):
    """Share of contoured pixels within ``width`` px inside distance ``inner`` of the edge,
    and the share of the map's area there."""
    above = np.isfinite(smoothed) & (smoothed > level)
    near = border_band(smoothed.shape, inner + width) & ~border_band(smoothed.shape, inner)
    considered = ~border_band(smoothed.shape, inner)
    return above[near].sum() / max(1, above.sum()), near.sum() / considered.sum()


def main():
    images = {"Hubble Deep Field": color.rgb2gray(data.hubble_deep_field()),
              "Moon": data.moon().astype(np.float64)}
    print(f"model kolmogorov-burgers-fbm; contour: top {1 - DEFAULT_CONTOUR_QUANTILE:.0%} of "
          f"smoothed positive saliency, sigma {DEFAULT_SMOOTHING_SIGMA_PX:g} px\n")
    print(f"{'image':18s} {'method':8s} {'before: contour px within 8 px of edge':>40s} "
          f"{'after: within 8 px of the band':>32s}  band px")
    for name, image in images.items():
        # the photographs hold exact zeros (black sky); the model takes log10
        image = np.asarray(image, dtype=np.float64) + 1e-3
        for method in ("guided", "vanilla"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = glue_turbml.saliency(image, model="kolmogorov-burgers-fbm", method=method)
            before, before_level = _previous_overlay(result.saliency_map,
                                                     DEFAULT_SMOOTHING_SIGMA_PX,
                                                     DEFAULT_CONTOUR_QUANTILE)
            share_before, area_before = _share_near_edge(before, before_level, 0, 8)
            after, after_level = result.overlay()
            band = result.border_px()
            share_after, area_after = _share_near_edge(after, after_level, band, 8)
            print(f"{name:18s} {method:8s} {share_before:>24.1%} (area {area_before:5.1%})"
                  f" {share_after:>18.1%} (area {area_after:5.1%})  {band:5d}")


if __name__ == "__main__":
    main()
