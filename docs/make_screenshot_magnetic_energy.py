"""Screenshot of the glue plugin's U-Net mapping with the ``magnetic-energy`` model on a real
held-out simulator slice, beside the true magnetic energy of the same slice.

The slice (perpendicular to x, containing the mean field) comes from a held-out run of the
model's training sets; the 48^3 periodic box is tiled 2 x 2 into a 96 x 96 map (periodic, so
seamless), since the runtime needs maps of at least its tile interior (64 px). Usage::

    python docs/make_screenshot_magnetic_energy.py \\
        /work/simdata/alfven/alfven_48_fast/super_alfvenic/seed_0003/snapshot_006.fits \\
        [--out docs/images] [--results docs/results]
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

SLICE_INDEX = 24


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", help="training.sim FITS snapshot of a held-out MHD run")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--results", type=Path, default=Path("docs/results"))
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from astropy.io import fits
    from glue.core import Data
    from glue.core.data_factories import load_data
    from glue_qt.app import GlueApplication
    from glue_qt.viewers.image import ImageViewer

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_screenshots import VIEWER_SIZE, WINDOW_SIZE, draw_viewers, finished, settle

    from glue_turbml.qt.actions import start_mapping
    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.jobs import MapRequest
    from glue_turbml.qt.overlay import glue_colormap
    from training.unet.mhd_data import magnetic_energy_density, read_mhd_snapshot

    density, field, header = read_mhd_snapshot(args.snapshot)
    density_slice = np.tile(density[:, :, SLICE_INDEX], (2, 2)).astype(np.float32)
    energy = magnetic_energy_density(field)[:, :, SLICE_INDEX]
    true_ratio = np.tile(np.log10(energy / energy.mean()), (2, 2)).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "density_slice_x24.fits"
        hdu = fits.PrimaryHDU(density_slice)
        hdu.header["HISTORY"] = f"x-slice {SLICE_INDEX} of {args.snapshot}, tiled 2x2"
        hdu.writeto(path)
        application = GlueApplication()
        application.resize(*WINDOW_SIZE)
        data = load_data(str(path))
        application.data_collection.append(data)
        truth = Data(label="true log10(E_B / <E_B>)", log_magnetic_energy_ratio=true_ratio)
        application.data_collection.append(truth)
        application.show()
        job = finished(start_mapping(application.data_collection, data,
                                     MapRequest(model="magnetic-energy", device="cpu"),
                                     application=application), "mapping")
        mapped = job.datasets["mapping"]
        limits = np.percentile(true_ratio, [1, 99])
        for position, shown in (((0, 0), mapped), ((int(VIEWER_SIZE[0] * 0.64), 0), truth)):
            viewer = application.new_data_viewer(ImageViewer, data=shown)
            viewer.position = position
            viewer.viewer_size = (int(VIEWER_SIZE[0] * 0.62), int(VIEWER_SIZE[1] * 0.8))
            state = viewer.state.layers[0]
            state.attribute = shown.id["log_magnetic_energy_ratio"]
            state.cmap = glue_colormap("magma")
            state.v_min, state.v_max = float(limits[0]), float(limits[1])
        settle()
        draw_viewers(application)
        args.out.mkdir(parents=True, exist_ok=True)
        image = args.out / "unet_magnetic_energy.png"
        application.grab().save(str(image))
        summary = mapped.meta[META_KEY]["summary"]
        predicted = np.asarray(mapped["log_magnetic_energy_ratio"], dtype=np.float64)
        errors = predicted - true_ratio
        record = {"command": "python docs/make_screenshot_magnetic_energy.py "
                             + " ".join(argv if argv is not None else sys.argv[1:]),
                  "snapshot": str(args.snapshot), "slice_index_x": SLICE_INDEX,
                  "image": str(image), "summary": summary,
                  "mse_log10_vs_truth": float(np.nanmean(errors ** 2)),
                  "fraction_inside_68_interval": float(np.nanmean(
                      np.abs(errors) < np.asarray(mapped["sigma"], dtype=np.float64)))}
        application.close()
    (args.results / "unet_magnetic_energy_screenshot.json").write_text(
        json.dumps(record, indent=1, default=str))
    print(json.dumps({key: record[key] for key in ("image", "mse_log10_vs_truth",
                                                   "fraction_inside_68_interval")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
