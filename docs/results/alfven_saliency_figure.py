"""The paper's saliency figure (Peek & Burkhart 2019, Fig. 4) for the shipped ``alfven`` model:
saliency contours over a held-out sub- and a super-Alfvenic density slice, and numbers that say
where the network looks.

Run from the repository root::

    python docs/results/alfven_saliency_figure.py ROOT --figure docs/images/alfven_saliency.png \\
        > docs/results/alfven_saliency_figure.txt

``ROOT`` holds the recipe folders (``ROOT/alfven_48_fast``). The slices are the mid-plane
(perpendicular to the mean field) of the held-out run of ``alfven_48_fast`` (its test seed in
the model's training report, ``docs/results/<model>.json``) of each class at 3.5 T. Over all
slices of those snapshots the script compares the pixels inside the saliency contour (the
card's overlay level) with the rest: the mean of log10(rho / <rho>) and of its gradient
magnitude (dex per pixel), and the fraction of contour pixels among the 10% densest and 10%
most rarefied pixels of each slice.

The method is guided backpropagation where the card's randomization sanity check passes it,
else the plain (vanilla) gradient: a method that fails draws the input's structure whatever the
network learned (`glue_turbml.saliency_maps.sanity`). ``--method`` chooses one outright.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

CLASSES = ("sub_alfvenic", "super_alfvenic")
SET = "alfven_48_fast"
SNAPSHOT = "snapshot_006.fits"  # 3.5 T


def passing_method(model):
    """Guided backpropagation if the model's card passes it in the sanity check, else vanilla."""
    from glue_turbml.models.registry import resolve_model
    from glue_turbml.saliency_maps.sanity import recorded_sanity

    entry = recorded_sanity(resolve_model(model).card, "guided")
    return "guided" if entry is None or entry["passes"] else "vanilla"


def where_it_looks(model, cube, method):
    """Statistics of the contour pixels against the rest, over every slice of a cube."""
    from glue_turbml import saliency

    inside_log, outside_log, inside_grad, outside_grad = [], [], [], []
    densest, rarest, probabilities, fractions = [], [], [], []
    for plane in cube:
        result = saliency(plane, model=model, method=method, boundary="periodic",
                          device="cpu")
        smoothed, level = result.overlay()
        contour = smoothed >= level
        fractions.append(contour.mean())
        log_rho = np.log10(plane / plane.mean())
        gradient = np.hypot(*np.gradient(log_rho))
        inside_log.append(log_rho[contour].mean())
        outside_log.append(log_rho[~contour].mean())
        inside_grad.append(gradient[contour].mean())
        outside_grad.append(gradient[~contour].mean())
        densest.append(np.mean(contour[log_rho >= np.quantile(log_rho, 0.9)]))
        rarest.append(np.mean(contour[log_rho <= np.quantile(log_rho, 0.1)]))
        probabilities.append(float(result.probability[result.target_index]))
    return {"n_slices": len(cube),
            "contour_fraction": float(np.mean(fractions)),
            "mean_log10_density_inside": float(np.mean(inside_log)),
            "mean_log10_density_outside": float(np.mean(outside_log)),
            "mean_gradient_inside_dex_per_px": float(np.mean(inside_grad)),
            "mean_gradient_outside_dex_per_px": float(np.mean(outside_grad)),
            "densest_10pct_in_contour": float(np.mean(densest)),
            "rarest_10pct_in_contour": float(np.mean(rarest)),
            "median_p_explained_class": float(np.median(probabilities))}


def held_out_seed(root, model):
    """The test seed of `SET` in the model's training report (seeds are disjoint across sets)."""
    report = Path(__file__).resolve().parent / f"{model.replace('-', '_')}.json"
    seeds = {entry["seed"] for entry in json.loads(report.read_text())["split"]["test"]}
    found = sorted(seed for seed in seeds
                   if all((Path(root) / SET / label / f"seed_{seed:04d}").is_dir()
                          for label in CLASSES))
    if len(found) != 1:
        raise SystemExit(f"{report}: expected one held-out seed of {SET}, found {found}")
    return found[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--model", default="alfven")
    parser.add_argument("--figure", required=True)
    parser.add_argument("--method", choices=("guided", "vanilla"), default=None,
                        help="saliency method (default: guided if the card's sanity check "
                             "passes it, else vanilla)")
    arguments = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from glue_turbml import saliency
    from training.sim.snapshots import read_snapshot_density

    seed = held_out_seed(arguments.root, arguments.model)
    method = arguments.method or passing_method(arguments.model)

    figure, axes = plt.subplots(1, 2, figsize=(9, 4.6))
    report = {"script": "docs/results/alfven_saliency_figure.py", "model": arguments.model,
              "method": method, "classes": {}}
    for axis, label in zip(axes, CLASSES):
        path = Path(arguments.root) / SET / label / f"seed_{seed:04d}" / SNAPSHOT
        cube = read_snapshot_density(path)[0]
        plane = cube[cube.shape[0] // 2]
        result = saliency(plane, model=arguments.model, method=method, boundary="periodic",
                          device="cpu")
        smoothed, level = result.overlay()
        axis.imshow(np.log10(plane), origin="lower", cmap="gray")
        axis.contour(smoothed, levels=[level], colors="red", linewidths=1.2)
        axis.set_title(f"{label.replace('_', '-')} (held-out seed {seed}, 3.5 T)\n"
                       f"{result.describe_target()}", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
        report["classes"][label] = {"snapshot": str(path.relative_to(arguments.root)),
                                    "mid_plane": result.describe_target(),
                                    "all_slices": where_it_looks(arguments.model, cube, method)}
    method_text = {"guided": "guided-backpropagation", "vanilla": "gradient"}[method]
    figure.suptitle(f"{arguments.model}: {method_text} saliency (red: the card's "
                    "overlay contour) over log10 density, slices perpendicular to B", fontsize=9)
    figure.tight_layout()
    figure.savefig(arguments.figure, dpi=120)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
