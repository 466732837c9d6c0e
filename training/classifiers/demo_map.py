"""A seeded demo column-density map: Kolmogorov-like on the left, Burgers-like on the right.

Run as::

    python -m training.classifiers.demo_map --out glue_turbml/data/demo_two_regimes.fits \\
        [--seed 2024]

The map is synthetic (lognormal random-phase fields, not a simulation or an observation). Both
halves come from the same white noise, so the large-scale structure runs continuously across
the map and only the power-spectrum slope changes, over a smooth blend; a disc of NaN pixels
stands in for a masked star.
"""

import argparse
import sys
from dataclasses import dataclass, replace

import numpy as np

from ..common.random_fields import BURGERS_SLOPE, KOLMOGOROV_SLOPE, power_law_gaussian_field
from ..common.provenance import code_version, command_line, utc_timestamp

__all__ = ["DemoMapSpec", "blend_weight", "make_demo_map", "write_demo_map", "main"]


@dataclass(frozen=True)
class DemoMapSpec:
    """Parameters of the demo map; the defaults make the shipped file.

    Pixel positions are 0-based ``(y, x)``; the map is ``shape = (ny, nx)``.
    """

    shape: tuple = (512, 1024)
    seed: int = 2024
    slope_left: float = KOLMOGOROV_SLOPE
    slope_right: float = BURGERS_SLOPE
    sigma_ln: float = 1.0
    mean_column_density_cm2: float = 1e21
    transition_center_px: int = 512
    transition_width_px: int = 64
    mask_center_px: tuple = (300, 250)  # inside the Kolmogorov half
    mask_radius_px: int = 20
    sky_center_deg: tuple = (68.5, 26.0)  # (RA, Dec) ICRS, a Taurus-like position
    pixel_scale_arcsec: float = 10.0


def blend_weight(n_pixels, *, center, width):
    """Weight of the left field along x: 1 left of the blend, 0 right of it, cosine in between.

    Parameters
    ----------
    n_pixels : int
        Map width.
    center, width : float
        Middle and full width of the blend in pixels.

    Returns
    -------
    numpy.ndarray
        ``(n_pixels,)`` float64 weights.

    Examples
    --------
    >>> blend_weight(8, center=4, width=2).round(2).tolist()
    [1.0, 1.0, 1.0, 0.85, 0.15, 0.0, 0.0, 0.0]
    """
    x = np.arange(n_pixels) + 0.5
    position = np.clip((x - (center - width / 2)) / width, 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * position))


def make_demo_map(*, spec=DemoMapSpec()):
    """Build the demo column-density map and its FITS header.

    Parameters
    ----------
    spec : DemoMapSpec, optional

    Returns
    -------
    column_density : numpy.ndarray
        ``spec.shape`` float32 map in cm^-2, NaN inside the masked disc.
    header : astropy.io.fits.Header
        Celestial TAN WCS, ``BUNIT``, and cards recording how the map was made.
    """
    from astropy.io import fits
    from astropy.wcs import WCS

    ny, nx = spec.shape
    # Same seed -> same white noise -> same phases; only the spectral slope differs.
    left = power_law_gaussian_field(spec.shape, spec.slope_left, seed=spec.seed)
    right = power_law_gaussian_field(spec.shape, spec.slope_right, seed=spec.seed)
    weight = blend_weight(nx, center=spec.transition_center_px,
                          width=spec.transition_width_px)[np.newaxis, :]
    correlation = float(np.mean(left * right))
    blended = weight * left + (1.0 - weight) * right
    # Rescale the blend to unit variance, so that the one-point statistics do not dip across it.
    blended /= np.sqrt(weight ** 2 + (1.0 - weight) ** 2 + 2.0 * weight * (1.0 - weight)
                       * correlation)
    # Mean of exp(s g - s^2/2) is one for unit-variance Gaussian g.
    column_density = (spec.mean_column_density_cm2
                      * np.exp(spec.sigma_ln * blended - 0.5 * spec.sigma_ln ** 2))
    yy, xx = np.mgrid[0:ny, 0:nx]
    mask_y, mask_x = spec.mask_center_px
    masked = (yy - mask_y) ** 2 + (xx - mask_x) ** 2 <= spec.mask_radius_px ** 2
    column_density[masked] = np.nan

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.crval = list(spec.sky_center_deg)
    wcs.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
    scale_deg = spec.pixel_scale_arcsec / 3600.0
    wcs.wcs.cdelt = [-scale_deg, scale_deg]
    wcs.wcs.radesys = "ICRS"
    header = fits.Header()
    header["BUNIT"] = ("cm-2", "H column density")
    header["BTYPE"] = "column density"
    header["OBJECT"] = "glue-turbml demo: two turbulence regimes"
    celestial = wcs.to_header()
    # WCSLIB adds a zero time reference; this map has no time axis, so leave it out.
    celestial.remove("MJDREF", ignore_missing=True)
    header.update(celestial)
    header["GENERATR"] = ("training.classifiers.demo_map", "glue-turbml module that made this map")
    header["SYNTHETC"] = (True, "lognormal random-phase field, not a simulation")
    header["SLOPE_L"] = (float(spec.slope_left), "P(k) slope, left part (Kolmogorov 11/3)")
    header["SLOPE_R"] = (float(spec.slope_right), "P(k) slope, right part (Burgers 4)")
    header["TRANS_X"] = (spec.transition_center_px, "[pix] centre of the blend (0-based x)")
    header["TRANS_W"] = (spec.transition_width_px, "[pix] full width of the cosine blend")
    header["SIGMA_LN"] = (spec.sigma_ln, "std of ln(N) before blending")
    header["NMEAN"] = (spec.mean_column_density_cm2, "[cm-2] mean column density scale")
    header["SEED"] = (spec.seed, "numpy.random.default_rng seed (shared phases)")
    header["MASK_X"] = (spec.mask_center_px[1], "[pix] NaN disc centre x (0-based)")
    header["MASK_Y"] = (spec.mask_center_px[0], "[pix] NaN disc centre y (0-based)")
    header["MASK_R"] = (spec.mask_radius_px, "[pix] NaN disc radius")
    header["CODEVER"] = (code_version(), "glue-turbml version")
    header["DATE"] = (utc_timestamp().rstrip("Z"), "UTC date the file was written")
    header["COMMENT"] = ("Synthetic demo map: left half Kolmogorov-like, right half "
                         "Burgers-like, same random phases; NaN disc mimics a masked star.")
    return column_density.astype(np.float32), header


def write_demo_map(path, *, spec=DemoMapSpec(), command=None):
    """Write the demo map to a FITS file (overwriting it) and return the path.

    Parameters
    ----------
    path : str or os.PathLike
    spec : DemoMapSpec, optional
    command : str, optional
        Command line to record in the header history.
    """
    from astropy.io import fits

    column_density, header = make_demo_map(spec=spec)
    if command:
        header["HISTORY"] = f"made by: {command}"
    fits.PrimaryHDU(data=column_density, header=header).writeto(path, overwrite=True)
    return path


def main(argv=None):
    """Command-line entry point; returns the process exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m training.classifiers.demo_map",
                                     description="Write the two-regime demo column-density map.")
    parser.add_argument("--out", required=True, help="FITS file to write")
    parser.add_argument("--seed", type=int, default=DemoMapSpec.seed,
                        help=f"white-noise seed (default {DemoMapSpec.seed})")
    arguments = parser.parse_args(argv)
    spec = replace(DemoMapSpec(), seed=arguments.seed)
    path = write_demo_map(arguments.out, spec=spec,
                          command=command_line("training.classifiers.demo_map", argv))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
