"""Screenshots of the glue plugin's main states, from real windows, for the README.

Runs a real glue application (offscreen unless ``--show``), classifies the bundled demo map and a
synthetic cube with the shipped model, and saves PNGs of: the Classify dialog, the saliency
overlay on the image with the result panel, a cube slice with its overlay, the interactive
turbulence viewer, a U-Net mapping (the shipped mass-weighted-density model) and the emission-line
EW maps of the MUSE cube of Abell 478 (shipped in the mpdaf wheel). The results
shown in the pictures are written to ``docs/results/glue_plugin_screenshots.json``.

Usage::

    python docs/make_screenshots.py [--out docs/images] [--results docs/results]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Seed of the synthetic cube (training.common.random_fields), recorded in its header and the
#: results file.
CUBE_SEED = 11
CUBE_SHAPE = (12, 256, 256)
CUBE_SLICE = 5
CUBE_SLOPE_3D = 5.0
WINDOW_SIZE = (1400, 860)
VIEWER_SIZE = (720, 600)
MAPPING_MODEL = "mass-weighted-density"
#: Line-of-sight depth given to the U-Net mapping of the demo map (an illustration).
MAPPING_DEPTH_PC = 1.0


def settle(seconds=0.8):
    """Let Qt and glue's deferred drawing finish before grabbing a window."""
    from qtpy import QtWidgets

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QtWidgets.QApplication.processEvents()
        time.sleep(0.02)


def finished(job, what, *, seconds=0.3):
    """Wait for a plugin job, let the GUI settle, and stop with its error if it failed."""
    job.wait()
    settle(seconds)
    if job.state != "done":
        raise RuntimeError(f"{what} {job.state}: {job.error_message}")
    return job


def draw_viewers(application):
    for tab in application.viewers:
        for viewer in tab:
            viewer.axes.figure.canvas.draw()
    settle(0.3)


def demo_application():
    """A shown glue application of the README's window size holding the bundled demo map.

    Returns
    -------
    application : glue_qt.app.GlueApplication
    demo : glue.core.Data
    """
    from glue.core.data_factories import load_data
    from glue_qt.app import GlueApplication

    from glue_turbml.demo import DEMO_MAP

    application = GlueApplication()
    application.resize(*WINDOW_SIZE)
    demo = load_data(str(DEMO_MAP))
    application.data_collection.append(demo)
    application.show()
    return application, demo


def save_grab(widget, path, written):
    """Save a PNG of ``widget`` as it is drawn now to ``path`` and add the path to ``written``."""
    widget.grab().save(str(path))
    written.append(path)


def write_cube(path):
    """A synthetic (velocity, dec, ra) lognormal cube, seeded.

    Its 3D spectral slope is 5, so each plane (a slice through an isotropic field has a 2D
    spectrum one power shallower) has the 2D slope 4 of the model's Burgers-like class.
    """
    from astropy.io import fits

    from tests.conftest import make_celestial_wcs
    from training.common.random_fields import lognormal_field

    cube = lognormal_field(CUBE_SHAPE, CUBE_SLOPE_3D, sigma_ln=1.0, seed=CUBE_SEED)
    cube = cube.astype(np.float32)
    header = make_celestial_wcs(CUBE_SHAPE[1:], ra=83.8, dec=-5.4).to_header()
    header["NAXIS"] = 3
    header.update({"CTYPE3": "VRAD", "CRVAL3": 0.0, "CDELT3": 500.0, "CRPIX3": 1.0,
                   "CUNIT3": "m/s", "BUNIT": "K"})
    header["HISTORY"] = ("synthetic: training.common.random_fields.lognormal_field("
                         f"shape={CUBE_SHAPE}, slope={CUBE_SLOPE_3D}, sigma_ln=1.0, "
                         f"seed={CUBE_SEED})")
    fits.PrimaryHDU(cube, header=header).writeto(path, overwrite=True)
    return path


def classify_in_viewer(application, data, *, slice_index=None):
    from glue_qt.viewers.image import ImageViewer

    viewer = application.new_data_viewer(ImageViewer, data=data)
    if slice_index is not None:
        viewer.state.slices = (slice_index, 0, 0)
    tools = {tool.tool_id: tool for tool in viewer.toolbar.tools["turbml:menu"].subtools}
    job = finished(tools["turbml:classify_view"].activate(), "classification", seconds=0.2)
    return viewer, tools, job


def spectral_emission_lines(out, written):
    """"Predict emission lines" on the real MUSE cube of Abell 478 (in the mpdaf wheel).

    Shows the predicted H-alpha EW map (the narrow-coverage model, z = 0.0881) beside the
    predicted-minus-measured map, both linked to the cube; returns the result's summary.
    """
    from glue.core.data_factories import load_data
    from glue_qt.app import GlueApplication
    from glue_qt.viewers.image import ImageViewer

    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.overlay import glue_colormap
    from glue_turbml.qt.spectral import start_spectral_job
    from glue_turbml.qt.spectral_jobs import SpectralRequest
    from training.emission_lines.muse_check import A478_REDSHIFT, muse_cube_path

    application = GlueApplication()
    application.resize(*WINDOW_SIZE)
    cube = next(data for data in load_data(str(muse_cube_path()))
                if data.label.endswith("[DATA]"))
    application.data_collection.append(cube)
    application.show()
    request = SpectralRequest(model="desi-emission-lines-red", redshift=A478_REDSHIFT,
                              lines=("HBETA", "HALPHA", "NII_6584"))
    job = finished(start_spectral_job(application.data_collection, cube, request,
                                      application=application), "emission lines")
    maps = job.datasets["emission_lines"]
    half = (VIEWER_SIZE[0] * 2 // 3, VIEWER_SIZE[1])
    for index, (component, cmap) in enumerate((("HALPHA", "viridis"),
                                               ("HALPHA_predicted_minus_measured", "RdBu"))):
        viewer = application.new_data_viewer(ImageViewer, data=maps)
        viewer.position, viewer.viewer_size = (index * half[0], 0), half
        layer = viewer.state.layers[0]
        layer.attribute = maps.id[component]
        layer.cmap = glue_colormap(cmap)
        if cmap == "RdBu":  # symmetric about zero: white where prediction and measure agree
            bound = float(np.nanpercentile(np.abs(maps[component]), 98))
            layer.v_min, layer.v_max = -bound, bound
        else:
            layer.percentile = 95
    settle()
    draw_viewers(application)
    save_grab(application, out / "emission_lines.png", written)
    summary = dict(maps.meta[META_KEY]["summary"])
    summary["cube"] = "mpdaf/data/sdetect/minicube.fits [DATA] (Abell 478, MUSE)"
    summary["median_halpha_predicted_minus_measured_angstrom"] = float(
        np.nanmedian(maps["HALPHA_predicted_minus_measured"]))
    application.close()
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images")
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "docs" / "results")
    parser.add_argument("--show", action="store_true", help="use the real display")
    args = parser.parse_args(argv)
    if not args.show:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # Run from a checkout: the package, training.common.random_fields and the tests' WCS helper.
    sys.path.insert(0, str(REPO_ROOT))

    from glue.core.data_factories import load_data
    from glue_qt.app import GlueApplication

    from glue_turbml.demo import DEMO_MODEL
    from glue_turbml.qt import setup_qt
    from glue_turbml.qt.dialog import ClassifyDialog
    from glue_turbml.qt.glue_data import META_KEY
    from glue_turbml.qt.jobs import ClassifyRequest
    from glue_turbml.qt.overlay import show_saliency_overlay
    from glue_qt.viewers.image import ImageViewer

    from glue_turbml.qt.actions import start_classification, start_mapping
    from glue_turbml.qt.jobs import MapRequest
    from glue_turbml.qt.overlay import glue_colormap
    from glue_turbml.qt.viewer import TurbulenceViewer
    from glue.core.roi import RectangularROI

    setup_qt()
    args.out.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    written, results = [], {}

    # 1. The saliency contour over the demo map, with the result panel.
    application, demo = demo_application()
    viewer, tools, job = classify_in_viewer(application, demo)
    viewer.position, viewer.viewer_size = (0, 0), VIEWER_SIZE
    tools["turbml:saliency_contour"].activate()
    settle()
    draw_viewers(application)
    save_grab(application, args.out / "saliency_overlay.png", written)
    results["demo_map"] = job.datasets["classification"].meta[META_KEY]["summary"]
    results["demo_map"].pop("tiles")
    results["demo_map_saliency"] = job.datasets["saliency"].meta[META_KEY]["summary"]
    application.close()

    # 2. A cube: the Classify dialog (slicing options) and a slice with its saliency region.
    with_cube = GlueApplication()
    with_cube.resize(*WINDOW_SIZE)
    with tempfile.TemporaryDirectory() as folder:
        cube = load_data(str(write_cube(Path(folder) / "synthetic_cube.fits")))
    with_cube.data_collection.append(cube)
    dialog = ClassifyDialog(cube, parent=with_cube, request=ClassifyRequest(
        model=DEMO_MODEL, axis=0, slice_index=CUBE_SLICE))
    dialog.resize(560, 640)
    dialog.show()
    settle()
    save_grab(dialog, args.out / "classify_dialog.png", written)
    dialog.close()
    with_cube.show()
    viewer, tools, job = classify_in_viewer(with_cube, cube, slice_index=CUBE_SLICE)
    viewer.position, viewer.viewer_size = (0, 0), VIEWER_SIZE
    show_saliency_overlay(viewer, job.datasets["saliency"], style="region")
    settle()
    draw_viewers(with_cube)
    save_grab(with_cube, args.out / "cube_slice.png", written)
    results["cube_slice"] = job.datasets["classification"].meta[META_KEY]["summary"]
    results["cube_slice"].pop("tiles")
    results["cube_slice"]["cube"] = {"shape": list(CUBE_SHAPE), "seed": CUBE_SEED,
                                     "slope_3d": CUBE_SLOPE_3D, "slice_index": CUBE_SLICE,
                                     "generator": "training.common.random_fields.lognormal_field"}
    with_cube.close()

    # 3. The turbulence viewer: probability grid, saliency contour, a region re-classified.
    viewer_app, demo = demo_application()
    viewer = viewer_app.new_data_viewer(TurbulenceViewer, data=demo)
    viewer.position, viewer.viewer_size = (0, 0), (VIEWER_SIZE[0], VIEWER_SIZE[1] + 80)
    job = start_classification(viewer_app.data_collection, demo,
                               ClassifyRequest(model=DEMO_MODEL), application=viewer_app)
    job.wait()
    settle(0.3)
    viewer.apply_roi(RectangularROI(xmin=40, xmax=420, ymin=60, ymax=440))
    viewer.region_jobs["Subset 1"].wait()
    settle()
    draw_viewers(viewer_app)
    save_grab(viewer_app, args.out / "turbulence_viewer.png", written)
    results["viewer_region"] = {"roi_pixels_xy": [[40, 420], [60, 440]],
                                **viewer.region_results["Subset 1"]["summary"]}
    viewer_app.close()

    # 4. U-Net mapping of the demo map: the mean density and its uncertainty, linked.
    map_app, demo = demo_application()
    job = finished(start_mapping(map_app.data_collection, demo,
                                 MapRequest(model=MAPPING_MODEL, depth_pc=MAPPING_DEPTH_PC),
                                 application=map_app), "mapping")
    mapped = job.datasets["mapping"]
    viewer = map_app.new_data_viewer(ImageViewer, data=mapped)
    viewer.position, viewer.viewer_size = (0, 0), VIEWER_SIZE
    density_state = viewer.state.layers[0]
    density_state.attribute = mapped.id["density"]
    density_state.cmap = glue_colormap("viridis")
    density_state.percentile = 99
    settle()
    draw_viewers(map_app)
    save_grab(map_app, args.out / "unet_mapping.png", written)
    results["unet_mapping"] = mapped.meta[META_KEY]["summary"]
    map_app.close()

    # 5. Emission-line EW maps of a real MUSE cube, predicted and predicted minus measured.
    results["emission_lines"] = spectral_emission_lines(args.out, written)

    results["images"] = [str(p.relative_to(REPO_ROOT)) for p in written]
    results["command"] = "python docs/make_screenshots.py"
    results_path = args.results / "glue_plugin_screenshots.json"
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    for path in written:
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    for key in ("demo_map", "cube_slice", "viewer_region"):
        summary = results[key]
        parts = ", ".join(f"P({name}) = {p:.3f} ± {summary['probability_std'][name]:.3f}"
                          for name, p in summary["probability"].items())
        print(f"{key}: {summary['input']}: {summary['predicted_class']} ({parts})")
    mapping = results["unet_mapping"]
    print(f"unet_mapping: {mapping['input']}: median log10(<n>_m/n0) = "
          f"{mapping['median_log_density_ratio']:.3f} ± {mapping['median_sigma_dex']:.3f} dex "
          f"(depth {mapping['depth']}, model {mapping['model']} {mapping['model_version']})")
    print(f"wrote {results_path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
