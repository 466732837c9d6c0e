"""Does cutting the dissipation range make the numerics control of ``alfven`` carry over?
(issue 13, item 2)

Trained on ``alfven_48_fast`` alone, ``alfven`` loses 15.7 points on ``alfven_64_minmod_hlle``
(docs/results/alfven.json). Both sets differ most at small scales. Here the same
setting-control network (`training.classifiers.alfven.run_setting_controls`) is trained on the
main set and scored on the numerics set, once at the maps' own 48 px and once with every map
resampled to fewer pixels over the same extent (``--map-size``: Fourier resampling of log
density, which drops the wavenumbers the smaller map cannot hold). Run from the repository
root::

    python docs/results/alfven_numerics_cut_experiment.py ROOT --threads 1 \\
        > docs/results/alfven_numerics_cut_experiment.txt

(``--map-sizes 32`` wrote ``alfven_numerics_cut_experiment_32.txt``.)

An experiment: nothing shipped changes.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_lever_probes import control_of  # noqa: E402  (a script beside this one)

SETS = ("alfven_48_fast", "alfven_64_minmod_hlle")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--map-sizes", type=int, nargs="+", default=[48, 24])
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_numerics_cut_experiment.py "
          f"{arguments.root} --threads {arguments.threads} "
          f"--map-sizes {' '.join(map(str, arguments.map_sizes))}")
    results = {}
    for size in arguments.map_sizes:
        controls = control_of("alfven", arguments.root, SETS, threads=arguments.threads,
                              options=["--map-size", str(size)])
        results[size] = controls
        print(f"\nmaps of {size} px (wavenumbers up to {size // 2}): trained on "
              f"{SETS[0]}; same-setting {controls['same_setting_accuracy']:.4f}", flush=True)
        for entry in controls["settings"].values():
            print(f"   {entry['difference']:<9} {entry['accuracy']:.4f} on {entry['n_maps']} "
                  f"maps: {entry['points_below_same_setting']:+.1f} points below "
                  f"(target <= {controls['tolerance_points']:g})", flush=True)
    print("\n== as JSON")
    print(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
