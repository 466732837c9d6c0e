"""Pixel scale as a lever (issue 13, item 2): the shipped Alfven models scored by the runtime on
runs of resolutions they never saw, each map given at its own pixel scale (as ``turbml
evaluate`` gives a user's map: tiles of the model's input side) or first resampled to the
model's input side over the whole box (as the family's training resampled its 64^3 runs).

A solver's dissipation range sits at a fixed number of cells whatever the resolution, while
the driving scale is a fixed fraction of the box: the two ways keep one of them in place each.
Which one the networks read decides how they should see runs of other resolutions, and how
they should be trained on several.

Run from the repository root (runtime only, no training)::

    python docs/results/alfven_pixel_scale.py ROOT > docs/results/alfven_pixel_scale.txt

``ROOT`` holds the recipe folders; the runs scored are ``--runs`` (``SET:SEED`` each, both
classes). An experiment: nothing shipped changes.
"""

import argparse
import json
import sys

import numpy as np

from glue_turbml.classification import classify_image
from glue_turbml.evaluation import expand_class_specs
from glue_turbml.models import open_model
from training.classifiers.alfven_data import load_labelled_maps
from training.classifiers.alfven_family import FAMILY, member_config

CLASSES = ["sub_alfvenic", "super_alfvenic"]
DEFAULT_RUNS = ["alfven_56_minmod_hlld:70", "alfven_64_minmod_hlld:60"]


def maps_of(name, root, recipe, seed, *, map_size):
    """The family member's maps of one run per class (its kind and slice step)."""
    config = member_config(name)
    specs = [f"{label}={root}/{recipe}/{label}/seed_{seed:04d}/snapshot_*.fits"
             for label in CLASSES]
    return load_labelled_maps(expand_class_specs(specs, CLASSES), CLASSES, kind=config.kind,
                              slice_step=config.slice_step,
                              directions=config.directions if config.kind == "columns" else None,
                              map_size=map_size)


def score(runner, data):
    """Tile and map accuracy (overall and per true class) of the runtime's answers."""
    tile_right, map_right = {label: [] for label in CLASSES}, {label: [] for label in CLASSES}
    for image, label in zip(data.maps, data.labels):
        result = classify_image(image, runner, boundary="periodic")
        tiles = result.tile_probabilities
        tiles = tiles[np.all(np.isfinite(tiles), axis=1)]
        name = CLASSES[label]
        tile_right[name] += list(tiles.argmax(axis=1) == label)
        map_right[name].append(result.predicted_class == name)

    def summary(right):
        by_class = {label: float(np.mean(values)) for label, values in right.items()}
        return {"accuracy": float(np.mean(list(by_class.values()))),
                "by_class": by_class, "n": int(sum(len(values) for values in right.values()))}

    return {"tiles": summary(tile_right), "maps": summary(map_right)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--models", nargs="+", default=list(FAMILY), choices=list(FAMILY))
    parser.add_argument("--runs", nargs="+", default=DEFAULT_RUNS, metavar="SET:SEED")
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_pixel_scale.py {arguments.root} "
          f"--models {' '.join(arguments.models)} --runs {' '.join(arguments.runs)}")
    print("# accuracy = mean over the two true classes; tiles: every network input; maps: the "
          "mean over a map's tiles, as turbml reports a map")
    results = {}
    for name in arguments.models:
        runner = open_model(name, device="cpu")
        card = runner.card
        side = int(card["input"]["tile_size"])
        settings = sorted(card["metrics"].get("test_accuracy_by_setting", {}))
        print(f"\n== {name}: input {side} px; held-out accuracy "
              f"{card['metrics']['test_accuracy']:.4f}; trained on {len(settings)} settings: "
              + " || ".join(settings))
        results[name] = {"held_out_accuracy": card["metrics"]["test_accuracy"], "runs": {}}
        for entry in arguments.runs:
            recipe, seed = entry.split(":")
            scored = {}
            for way, map_size in (("own pixel scale", None), (f"resampled to {side} px", side)):
                data = maps_of(name, arguments.root, recipe, int(seed), map_size=map_size)
                scored[way] = score(runner, data)
                tiles, maps = scored[way]["tiles"], scored[way]["maps"]
                print(f"   {recipe} seed {seed}, {way:>20}: tiles {tiles['accuracy']:.4f} "
                      f"({tiles['n']}; per class {json.dumps(tiles['by_class'])}), maps "
                      f"{maps['accuracy']:.4f} ({maps['n']})")
            results[name]["runs"][entry] = scored
    print("\n== as JSON")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
