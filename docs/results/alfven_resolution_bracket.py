"""Resolution inside the training range (issue 13, item 2): does a family member trained on
48^3 and 64^3 runs read the physics at 56^3, a resolution it never saw?

The resolution control trains on ``alfven_48_fast`` alone and scores the 64^3 runs; it fails
(``alfven_numerics_resolution.txt``). The shipped family trains on both resolutions, so the
question for a user's map is whether a network trained on both carries to a resolution between
them. For each member given, two networks of its design (`training.classifiers.alfven`, every
map resampled to 48 px as the family did when these results were written; ``--native-pixels``
keeps each map's own pixel scale, as the family now trains):

- "48 only": trained on ``alfven_48_fast``'s training runs (the cards' setting-control
  network, `run_setting_controls`), scored on its held-out runs (same setting) and on every
  run of the 56^3 and 64^3 sets;
- "48 + 64": trained on the same runs plus every run of ``alfven_64_minmod_hlld`` found (its
  last snapshot time for early stopping, as the 48^3 runs'), scored on the same held-out runs
  and on the 56^3 runs.

Run from the repository root once the runs are there (``alfven_56_minmod_hlld`` seed 70 of
each class, recipe ``training/sim/recipes/alfven_56_minmod_hlld.toml``)::

    python docs/results/alfven_resolution_bracket.py ROOT --models alfven-ffp --threads 1 \\
        > docs/results/alfven_resolution_bracket_ffp.txt

An experiment: nothing shipped changes.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.classifiers.alfven import (_train_cnn, accuracy_by_true_class, map_settings,
                                         reference_setting, run_setting_controls, tile_dataset)
from training.classifiers.alfven_family import FAMILY

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_lever_probes import family_data  # noqa: E402  (a script beside this one)

LOW, HIGH, BETWEEN = "alfven_48_fast", "alfven_64_minmod_hlld", "alfven_56_minmod_hlld"


def bracket(name, root, *, threads, options=()):
    """Both networks' scores for family member ``name`` (see the module docstring)."""
    config, data, split = family_data(name, root, (LOW, HIGH, BETWEEN), threads=threads,
                                      options=options)
    settings = map_settings(data)
    low, high, between = (settings == reference_setting(data, folder)
                          for folder in (LOW, HIGH, BETWEEN))
    single = run_setting_controls(data, split, config=config,
                                  reference=reference_setting(data, LOW))

    last_high = np.zeros(len(data), dtype=bool)
    for run in np.unique(data.runs[high]):
        rows = data.runs == run
        last_high |= rows & (data.times == data.times[rows].max())
    train = (split["train"] & low) | (high & ~last_high)
    validation = (split["validation"] & low) | last_high
    model, _ = _train_cnn(tile_dataset(data, train, config=config, shifts=config.shift,
                                       degrade=True),
                          tile_dataset(data, validation, config=config, shifts=None), config,
                          name="48 + 64", progress=False)
    scores = []
    for rows in (split["test"] & low, between):
        maps = tile_dataset(data, rows, config=config, shifts=None)
        accuracy, by_class = accuracy_by_true_class(model, maps, data.class_names)
        scores.append({"accuracy": accuracy, "accuracy_by_class": by_class,
                       "n_maps": int(len(maps))})
    same, unseen = scores
    return {"48 only": single, "48 + 64": {
        "train_runs": sorted({(data.records[run]["label"], data.records[run]["seed"])
                              for run in np.unique(data.runs[train | validation])}),
        "same_setting": same, "56": unseen,
        "points_below_same_setting": 100.0 * (same["accuracy"] - unseen["accuracy"])}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=list(FAMILY), choices=list(FAMILY))
    parser.add_argument("--quick", action="store_true",
                        help="tiny networks and few epochs, for trying the script out")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the networks' training (initialisation, batches, "
                             "augmentation)")
    parser.add_argument("--map-size", type=int, default=None,
                        help="resample every map to this size first (default 48, the smallest)")
    parser.add_argument("--native-pixels", action="store_true",
                        help="every map at its own pixel scale, as the family now trains "
                             "(training.classifiers.alfven_family.COMMON_OPTIONS)")
    arguments = parser.parse_args(argv)
    options = (("--quick",) if arguments.quick else ()) + (
        ("--native-pixels",) if arguments.native_pixels else ()) + (
        () if arguments.seed == 0 else ("--seed", str(arguments.seed))) + (
        () if arguments.map_size is None else ("--map-size", str(arguments.map_size)))
    print(f"# written by: python docs/results/alfven_resolution_bracket.py {arguments.root} "
          f"--models {' '.join(arguments.models)} --threads {arguments.threads}"
          + "".join(f" {option}" for option in options))
    results = {}
    for name in arguments.models:
        result = results[name] = bracket(name, arguments.root, threads=arguments.threads,
                                         options=options)
        single, both = result["48 only"], result["48 + 64"]
        print(f"\n== {name}\n   48 only: same setting {single['same_setting_accuracy']:.4f} "
              f"on {single['n_same_setting_maps']} maps")
        for setting, entry in single["settings"].items():
            print(f"      {entry['accuracy']:.4f} on {entry['n_maps']} maps of {entry['n_runs']} "
                  f"runs ({entry['points_below_same_setting']:+.1f} points below; per class "
                  f"{json.dumps(entry['accuracy_by_class'])}): {setting.split(' | ')[0]}")
        print(f"   48 + 64 (runs {both['train_runs']}): same setting "
              f"{both['same_setting']['accuracy']:.4f}; 56^3 {both['56']['accuracy']:.4f} on "
              f"{both['56']['n_maps']} maps ({both['points_below_same_setting']:+.1f} points "
              f"below, target <= 3; per class {json.dumps(both['56']['accuracy_by_class'])})")
    print("\n== as JSON")
    print(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
