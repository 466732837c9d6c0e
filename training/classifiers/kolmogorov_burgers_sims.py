"""Train the ``kolmogorov-burgers`` classifier on our hydro simulations (not on random fields).

Kolmogorov-like (initial P_v ~ k^-11/3) against Burgers-like (k^-4) decaying isothermal hydro
turbulence at M_s ~ 1.41, Mach-matched per class (recipe
``training/sim/recipes/kolmogorov_burgers_64_cpu.toml``), as in the RAMSES set of the seed
slides, whose CNN reached 77% on held-out data. Column-density maps along lattice directions
of each snapshot (0.1, 0.25 and 0.5 turnovers) go through the Alfven models' pipeline
(`training.classifiers.alfven.run_training`): whole runs held out by seed (the largest seed of
each class tests, the next validates), HOG + linear SVM and the other baselines on the same
split, accuracy per snapshot time, robustness curves, the run-identity control, saliency and
the domain record. Run as::

    python -m training.classifiers.kolmogorov_burgers_sims \\
        /work/simdata/hydro/kolmogorov_burgers_64_cpu --out onnx_models/kolmogorov-burgers.onnx \\
        --report docs/results/kolmogorov_burgers_sims.json --threads 2
"""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..common.provenance import command_line
from ..common.script_options import parse_run_arguments, run_config

__all__ = ["MODEL_NAME", "CLASSES", "TEXT", "main"]

MODEL_NAME = "kolmogorov-burgers"

#: Class names (the recipe's) and their meaning, in label order.
CLASSES = (("kolmogorov", "Kolmogorov-like: initial velocity spectrum P_v ~ k^-11/3, "
                          "decaying, M_s ~ 1.41"),
           ("burgers", "Burgers-like: initial velocity spectrum P_v ~ k^-4, decaying, "
                       "M_s ~ 1.41"))

#: The card's task sentence and map kind.
TEXT = {"task": "Kolmogorov- vs Burgers-like (initial velocity spectrum k^-11/3 vs k^-4) "
                "decaying isothermal hydro turbulence",
        "slices": "density slices",
        "columns": "column-density maps along lattice directions of the box"}

#: Snapshots of a decaying run are 0.15-0.25 turnovers apart: the run-identity control trains
#: on the first two and scores the last (0.25 T later).
IDENTITY_GAP_TURNOVERS = 0.25


def _parser():
    parser = argparse.ArgumentParser(prog="python -m training.classifiers.kolmogorov_burgers_sims",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("set", help="output folder of the kolmogorov_burgers_64_cpu recipe")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--report", required=True, help="JSON report to write")
    parser.add_argument("--name", default=MODEL_NAME, help="model name in the card")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    from glue_turbml.evaluation import expand_class_specs

    from ..evaluation.published import add_published
    from .alfven import FULL_CONFIG, QUICK_CONFIG, run_training
    from .alfven_data import load_labelled_maps

    argv, arguments = parse_run_arguments(_parser(), argv,
                                          quick_help="tiny net and few epochs, for tests")
    config = replace(run_config(arguments, quick=QUICK_CONFIG, full=FULL_CONFIG),
                     kind="columns")
    class_names = [name for name, _ in CLASSES]
    specs = [f"{name}={Path(arguments.set) / name / 'seed_*' / 'snapshot_*.fits'}"
             for name in class_names]
    data = load_labelled_maps(expand_class_specs(specs, class_names), class_names,
                              kind="columns", directions=config.directions)
    seeds = sorted({record["seed"] for record in data.records})
    if len(seeds) < 3:
        raise SystemExit(f"{arguments.set}: {len(seeds)} seeds per class; training needs at "
                         "least 3 (train, validation, test)")
    run_training(data, config=config, name=arguments.name, out=arguments.out,
                 report_path=arguments.report, test_seeds=[seeds[-1]],
                 validation_seeds=[seeds[-2]], identity_gap=IDENTITY_GAP_TURNOVERS,
                 command=command_line("training.classifiers.kolmogorov_burgers_sims", argv),
                 progress=not arguments.no_progress, classes=CLASSES, text=TEXT,
                 script="training.classifiers.kolmogorov_burgers_sims")
    add_published(arguments.out)   # the seed slides' 77% beside ours in docs/models.md
    return 0


if __name__ == "__main__":
    sys.exit(main())
