"""Real IFU check: predicted vs measured H-alpha EW on the MUSE cube of Abell 478 (mpdaf data).

Run as::

    python -m training.emission_lines.muse_check --model desi-emission-lines-red \\
        --figure docs/images/muse_a478_halpha_ew.png --report docs/results/muse_a478_halpha.json

The cube (``mpdaf/data/sdetect/minicube.fits``, 40 x 40 spaxels, 4750-9350 A in air) ships in
the ``mpdaf`` wheel, a test-only dependency; its file is located without importing mpdaf. The
brightest cluster galaxy of Abell 478 is at z = 0.0881, so the cube starts at 4366 A rest and
only the narrow-coverage model (bins from 4600 A) applies. H-alpha EW is measured directly from
each spaxel's rest-frame spectrum: the flux above a straight continuum fitted to two line-free
side bands, integrated over the line window and divided by the continuum (positive = emission).
"""

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["A478_REDSHIFT", "muse_cube_path", "measure_halpha_ew", "main"]

#: Redshift of the brightest cluster galaxy of Abell 478 (NED).
A478_REDSHIFT = 0.0881


def muse_cube_path():
    """Path of the Abell 478 MUSE minicube inside the installed ``mpdaf`` package."""
    spec = importlib.util.find_spec("mpdaf")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("mpdaf is not installed; pip install mpdaf (the test extra) to "
                                "get its MUSE test cube")
    path = Path(spec.origin).parent / "data" / "sdetect" / "minicube.fits"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the mpdaf wheel has no MUSE minicube")
    return path


def measure_halpha_ew(rest_vacuum, flux):
    """H-alpha EW (A, rest frame, positive = emission) of ``(n, n_pixels)`` spectra.

    The runtime's side-band measurement (`glue_turbml.emission_lines.measured_ew`), which the glue
    action also uses: a straight continuum over 6480-6530 and 6605-6660 A, integrated over
    6556-6573 A (between the [NII] lines).

    Returns
    -------
    numpy.ndarray
        ``(n,)``; NaN where a band has too few finite pixels or the continuum is not positive.
    """
    from glue_turbml.emission_lines.measured_ew import measure_equivalent_widths

    return measure_equivalent_widths(rest_vacuum, flux, "HALPHA")


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.io import fits
    from astropy.wcs import WCS
    from scipy.stats import spearmanr

    from glue_turbml import predict_emission_lines
    from glue_turbml.emission_lines import wcs_spectral_axis

    parser = argparse.ArgumentParser(prog="python -m training.emission_lines.muse_check",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="desi-emission-lines-red")
    parser.add_argument("--figure", required=True)
    parser.add_argument("--report", required=True)
    arguments = parser.parse_args(argv)

    path = muse_cube_path()
    result = predict_emission_lines(path, hdu="DATA", redshift=A478_REDSHIFT,
                                    model=arguments.model, device="cpu", progress=True)
    predicted = result.ew("HALPHA")
    with fits.open(path) as hdulist:
        cube = hdulist["DATA"].data.astype(np.float64)
        wcs = WCS(hdulist["DATA"].header)
    observed_vacuum, _ = wcs_spectral_axis(wcs, cube.shape[0])
    rest = observed_vacuum / (1 + A478_REDSHIFT)
    measured = measure_halpha_ew(rest, cube.reshape(cube.shape[0], -1).T).reshape(cube.shape[1:])
    both = np.isfinite(predicted) & np.isfinite(measured)
    rho = float(spearmanr(predicted[both], measured[both])[0]) if both.sum() > 2 else None
    summary = {
        "command": "python -m training.emission_lines.muse_check " + " ".join(argv or sys.argv[1:]),
        "cube": "mpdaf/data/sdetect/minicube.fits (Abell 478, MUSE)", "redshift": A478_REDSHIFT,
        "model": result.model_card["name"], "counts": result.counts, "notes": result.notes,
        "spaxels_compared": int(both.sum()),
        "median_predicted_halpha_ew_angstrom": float(np.nanmedian(predicted)),
        "median_measured_halpha_ew_angstrom": float(np.nanmedian(measured)),
        "median_measured_minus_predicted_angstrom": float(
            np.median(measured[both] - predicted[both])),
        "spearman_predicted_vs_measured": rho,
    }
    figure, axes = plt.subplots(1, 3, figsize=(12, 4), subplot_kw={"projection": wcs.celestial})
    limits = np.nanpercentile(np.concatenate([predicted[both], measured[both]]), [2, 98])
    panels = ((predicted, f"predicted H$\\alpha$ EW ({summary['model']})", limits, "viridis"),
              (measured, "measured H$\\alpha$ EW (cube)", limits, "viridis"),
              (measured - predicted, "measured $-$ predicted", None, "coolwarm"))
    for axis, (image, title, panel_limits, cmap) in zip(axes, panels):
        if panel_limits is None:
            bound = np.nanpercentile(np.abs(image), 98)
            panel_limits = (-bound, bound)
        shown = axis.imshow(image, origin="lower", cmap=cmap, vmin=panel_limits[0],
                            vmax=panel_limits[1])
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("RA")
        axis.set_ylabel("Dec")
        figure.colorbar(shown, ax=axis, shrink=0.8, label="EW (A, positive = emission)")
    figure.suptitle(f"Abell 478 BCG, MUSE, z = {A478_REDSHIFT}: Spearman rho = "
                    f"{rho:.2f} over {both.sum()} spaxels" if rho is not None else "Abell 478")
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(arguments.figure)), exist_ok=True)
    figure.savefig(arguments.figure, dpi=110)
    os.makedirs(os.path.dirname(os.path.abspath(arguments.report)), exist_ok=True)
    Path(arguments.report).write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
