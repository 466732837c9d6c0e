"""Screenshot of the glue plugin's "Estimate (regression)" with the ``spectral-index`` model on a
real held-out column-density map, and the estimate it shows.

The map projects a held-out run of the model's recipe (``spectral_index_64_cpu``, seed 5)
along z; the 64^3 periodic box is tiled 2 x 2 into a 128 x 128 map (periodic, so seamless).
Usage::

    python docs/make_screenshot_regression.py \\
        /work/simdata/hydro/spectral_index_64_cpu/slope_3_00/seed_0005/snapshot_000.fits \\
        [--out docs/images] [--results docs/results]
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", help="training.sim FITS snapshot of a held-out hydro run")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--results", type=Path, default=Path("docs/results"))
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from astropy.io import fits
    from glue.core.data_factories import load_data
    from glue_qt.app import GlueApplication

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_screenshots import WINDOW_SIZE, draw_viewers, finished, settle

    from glue_turbml.qt.actions import start_regression
    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.regression_jobs import RegressRequest

    column = np.tile(fits.getdata(args.snapshot).astype(np.float64).sum(axis=0), (2, 2))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "column_z.fits"
        hdu = fits.PrimaryHDU(column.astype(np.float32))
        hdu.header["HISTORY"] = f"z projection of {args.snapshot}, tiled 2x2"
        hdu.writeto(path)
        application = GlueApplication()
        application.resize(*WINDOW_SIZE)
        data = load_data(str(path))
        application.data_collection.append(data)
        application.show()
        job = finished(start_regression(application.data_collection, data,
                                        RegressRequest(model="spectral-index", device="cpu"),
                                        application=application), "regression")
        settle()
        draw_viewers(application)
        args.out.mkdir(parents=True, exist_ok=True)
        image = args.out / "regression_spectral_index.png"
        application.grab().save(str(image))
        estimate = next(iter(job.datasets.values()))
        record = {"command": "python docs/make_screenshot_regression.py "
                             + " ".join(argv if argv is not None else sys.argv[1:]),
                  "snapshot": str(args.snapshot), "image": str(image),
                  "summary": estimate.meta[META_KEY]["summary"]}
        application.close()
    (args.results / "regression_screenshot.json").write_text(
        json.dumps(record, indent=1, default=str))
    print(json.dumps({"image": record["image"], "value": record["summary"].get("value"),
                      "sigma": record["summary"].get("sigma")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
