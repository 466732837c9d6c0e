"""The headless demo: classify the bundled two-regime map and write FITS and a PNG figure."""

from pathlib import Path

import numpy as np

__all__ = ["DEMO_MAP", "DEMO_MODEL", "run_demo"]

#: A synthetic column-density map bundled with the package (see its FITS header for how it was
#: made): Kolmogorov-like on the left, Burgers-like on the right, with a masked (NaN) disc.
DEMO_MAP = Path(__file__).resolve().parent / "data" / "demo_two_regimes.fits"
#: The demonstration classifier, trained on lognormal random-phase fields like those of
#: ``DEMO_MAP``: the demo shows a model on the kind of map it was trained on, not turbulence.
DEMO_MODEL = "kolmogorov-burgers-fbm"


def run_demo(out_dir, *, device="auto", model=DEMO_MODEL, progress=False):
    """Classify the bundled demo map and write the results.

    Parameters
    ----------
    out_dir : str or path
        Created if needed; receives ``demo_two_regimes_<model>.fits`` and ``.png``.
    device : {"auto", "cpu", "cuda"}
    model : str
        Model name or path.
    progress : bool

    Returns
    -------
    result : glue_turbml.classification.ClassificationResult
    written : list of pathlib.Path
        The FITS file and the PNG figure.
    halves : dict
        Mean tile probabilities over the left and right halves of the map (the two regimes).
    """
    from astropy.io import fits

    from .api import classify
    from .figures import plot_classification

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = classify(DEMO_MAP, model=model, device=device, progress=progress)
    stem = f"{DEMO_MAP.stem}_{result.model_card['name']}"
    fits_path = out_dir / f"{stem}.fits"
    result.write(fits_path, overwrite=True)
    image = fits.getdata(DEMO_MAP)
    png_path = plot_classification(image, result, out_dir / f"{stem}.png")
    centres_x = result.tile_origins[:, 1] + result.tile_size / 2
    used = np.all(np.isfinite(result.tile_probabilities), axis=1)
    middle = image.shape[1] / 2
    halves = {}
    for label, side in (("left half", centres_x < middle), ("right half", centres_x >= middle)):
        chosen = result.tile_probabilities[used & side]
        halves[label] = dict(zip(result.class_names, chosen.mean(axis=0).tolist()))
    return result, [fits_path, png_path], halves
