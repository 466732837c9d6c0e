"""Which driving or numerics lever costs the Alfven classifiers their points? (issue 13, item 2)

The driving control of the shipped family trains on ``alfven_48_fast`` and scores
``alfven_48_drive``, which changes three things at once (forcing shape, correlation time,
compressive share), and the numerics control scores ``alfven_64_minmod_hlle``
(docs/results/alfven.json). Each
``probe_48_*`` recipe changes ONE lever of ``alfven_48_fast`` (one run per class, seed 40,
never trained on). For every family member this script trains the setting-control network on
``alfven_48_fast``'s training runs only (`training.classifiers.alfven.run_setting_controls`,
the same network the cards' controls use), and scores ``alfven_48_fast``'s held-out runs (the
same-setting accuracy) and every probe run; then the probes' cost and Mach match from their
runs and logs (`sim_recipes_alfven.summarize_set`). Run from the repository root, the sets in
ROOT (``alfven_48_fast`` and the ``probe_48_*`` folders; training/sim/recipes/probe_48_jobs.txt)::

    python docs/results/alfven_lever_probes.py /work/simdata/alfven --threads 2 \\
        > docs/results/alfven_lever_probes_run.txt
    python docs/results/alfven_lever_probes.py /work/simdata/alfven \\
        --controls-from docs/results/alfven_lever_probes_run.txt \\
        > docs/results/alfven_lever_probes.txt

The second call prints the same controls with the probe runs' summary read again (the GPU
probes' logs were put in place after the first had read them).
"""

import argparse
import json
import sys
from pathlib import Path

from training.classifiers.alfven import parse_command, run_setting_controls, split_runs
from training.classifiers.alfven_family import FAMILY, class_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sim_recipes_alfven import summarize_set  # noqa: E402  (a script beside this one)

REFERENCE_SET = "alfven_48_fast"


def probe_sets(root):
    """The finished probe folders under ``root`` (a manifest written by the driver)."""
    return sorted(path.name for path in Path(root).glob("probe_48_*")
                  if (path / "manifest.json").is_file())


def family_data(name, root, sets, *, threads, options=()):
    """``(config, data, split)`` of family member ``name`` on the runs of ``sets`` under
    ``root``, as its training command would read them, with more ``options`` of that command."""
    argv = []
    for recipe in sets:
        for label in ("sub_alfvenic", "super_alfvenic"):
            argv += ["--class", class_spec(root, recipe, label)]
    # --out and --report are required by the parser; only run_training writes them
    argv += [*FAMILY[name], "--name", name, "--out", "unused.onnx", "--report", "unused.json",
             "--seed", "0", "--no-progress", "--threads", str(threads), *options]
    _, _, config, data, _ = parse_command(argv)
    return config, data, split_runs(data)


def control_of(name, root, sets, *, threads, options=()):
    """`run_setting_controls` of family member ``name`` trained on the set of ``sets`` with the
    most training maps (`REFERENCE_SET` here), with more ``options`` of its command line."""
    config, data, split = family_data(name, root, sets, threads=threads, options=options)
    return run_setting_controls(data, split, config=config)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=list(FAMILY), choices=list(FAMILY))
    parser.add_argument("--controls-from", metavar="OUTPUT",
                        help="an earlier output of this script: print its controls again (no "
                             "training) with the probe runs' summary read afresh")
    arguments = parser.parse_args(argv)
    probes = probe_sets(arguments.root)
    if not probes:
        sys.exit(f"{arguments.root}: no finished probe_48_* folder")
    print(f"# written by: python docs/results/alfven_lever_probes.py {arguments.root} "
          f"--threads {arguments.threads}"
          + (f" --controls-from {arguments.controls_from}" if arguments.controls_from else ""))
    print(f"# probes found: {', '.join(probes)}")
    results = {}
    earlier = None
    if arguments.controls_from:
        text = Path(arguments.controls_from).read_text()
        earlier = json.loads(text.split("\n== as JSON\n", 1)[1])
        print(f"# controls as measured by: {text.splitlines()[0].removeprefix('# written by: ')}")
    for name in arguments.models:
        controls = (earlier[name] if earlier is not None else
                    control_of(name, arguments.root, [REFERENCE_SET, *probes],
                               threads=arguments.threads))
        results[name] = controls
        print(f"\n== {name}: trained on {REFERENCE_SET}'s training runs; same-setting (its "
              f"held-out runs) {controls['same_setting_accuracy']:.4f} on "
              f"{controls['n_same_setting_maps']} maps")
        for setting, entry in controls["settings"].items():
            print(f"   {entry['difference']:<22} {entry['accuracy']:.4f} on {entry['n_maps']} "
                  f"maps of {entry['n_runs']} runs: {entry['points_below_same_setting']:+.1f} "
                  f"points below (target <= {controls['tolerance_points']:g}); setting "
                  f"{setting}")
    print("\n== probe runs: cost and Mach match")
    for probe in probes:
        summarize_set(Path(arguments.root) / probe)
    print("\n== as JSON")
    print(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
