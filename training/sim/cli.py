"""Command line: ``python -m training.sim {run,verify,stats}`` (also the ``turbml-sim`` script)."""

import argparse
import json
import sys
from dataclasses import fields

__all__ = ["main", "build_parser"]


def _add_run_options(parser):
    from .config import RunConfig

    parser.add_argument("--config", help="TOML file with RunConfig keys; options below override")
    parser.add_argument("--resume", help="continue from this checkpoint (bit-for-bit)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=int,
                        help="torch CPU threads (on a shared machine, 1 avoids the OpenMP "
                             "oversubscription that can make steps many times slower)")
    kinds = {"cells": int, "snapshot_turnovers": float}
    for spec in fields(RunConfig):
        option = "--" + spec.name.replace("_", "-")
        if isinstance(spec.default, bool):
            parser.add_argument(option, dest=spec.name, default=None,
                                action=argparse.BooleanOptionalAction)
        elif spec.name in ("cells", "snapshot_turnovers"):
            parser.add_argument(option, dest=spec.name, type=kinds[spec.name], nargs="+")
        else:
            kind = {"float": float, "int": int, "str": str}.get(
                type(spec.default).__name__, float)
            parser.add_argument(option, dest=spec.name, type=kind)


def build_parser():
    """The argparse parser of all sub-commands."""
    parser = argparse.ArgumentParser(prog="turbml-sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a driven isothermal MHD turbulence simulation")
    _add_run_options(run)
    verify = commands.add_parser("verify", help="run the verification suite (float64)")
    verify.add_argument("--quick", action="store_true", help="small grids, a few minutes")
    verify.add_argument("--json", dest="json_path", help="write the results as JSON here")
    verify.add_argument("--device", default="cpu")
    verify.add_argument("--threads", type=int,
                        help="torch CPU threads (1 is fastest for the small grids of --quick)")
    recipe = commands.add_parser("recipe", help="run a dataset recipe (training/sim/recipes)")
    recipe.add_argument("recipe", help="recipe TOML file")
    recipe.add_argument("--output-dir", required=True, help="where runs and manifest.json go")
    recipe.add_argument("--seeds", type=int, nargs="+", help="replace the recipe's seeds")
    recipe.add_argument("--cells", type=int, help="replace the recipe's cells (e.g. 256)")
    recipe.add_argument("--device", help="replace the recipe's device (e.g. cuda)")
    recipe.add_argument("--no-compile", action="store_true", help="eager solver steps")
    recipe.add_argument("--threads", type=int, help="torch CPU threads")
    recipe.add_argument("--classes", nargs="+",
                        help="only these classes (to run classes in separate processes); "
                             "a final call without it checks the match")
    stats = commands.add_parser("stats", help="physics statistics of FITS snapshots")
    stats.add_argument("snapshots", nargs="+", help="snapshot FITS files")
    stats.add_argument("--sound-speed", type=float,
                       help="isothermal sound speed (default: from the snapshot header)")
    stats.add_argument("--fit-range", type=float, nargs=2, metavar=("K_MIN", "K_MAX"),
                       help="wavenumbers (cycles per box) of the spectral fits")
    stats.add_argument("--b", dest="b_parameter", type=float, default=1.0 / 3.0,
                       help="forcing parameter b of sigma_s^2 = ln(1 + b^2 M_s^2)")
    stats.add_argument("--json", dest="json_path", help="write the statistics as JSON here")
    return parser


def _stats(arguments):
    from .stats import alfven_ordering, format_statistics, read_snapshot_statistics

    found = []
    for path in arguments.snapshots:
        try:
            found.append(read_snapshot_statistics(
                path, sound_speed=arguments.sound_speed, fit_range=arguments.fit_range,
                b_parameter=arguments.b_parameter))
        except (OSError, KeyError, ValueError) as error:
            print(f"turbml-sim stats: {path}: {error}", file=sys.stderr)
            return 2
        print(format_statistics(found[-1]))
    ordering = alfven_ordering(found)
    if ordering is not None:
        print(ordering["text"])
    if arguments.json_path:
        with open(arguments.json_path, "w") as handle:
            json.dump({"snapshots": found, "alfven_ordering": ordering}, handle, indent=2)
    return 0


def _recipe(arguments):
    from .recipes import run_recipe

    if arguments.threads:
        import torch

        torch.set_num_threads(arguments.threads)
    overrides = {key: value for key, value in (("cells", arguments.cells),
                                               ("device", arguments.device)) if value}
    if arguments.no_compile:
        overrides["compile"] = False
    try:
        # flushed: recipes run for hours, often with stdout sent to a log file
        manifest = run_recipe(arguments.recipe, output_dir=arguments.output_dir,
                              overrides=overrides, seeds=arguments.seeds,
                              classes=arguments.classes,
                              log=lambda message: print(message, flush=True))
    except (OSError, ValueError) as error:
        print(f"turbml-sim recipe: {error}", file=sys.stderr)
        return 2
    if manifest["mach_match"] is None:
        return 0
    return 0 if manifest["mach_match"]["ok"] else 1


def _run(arguments):
    from .config import RunConfig, load_toml
    from .run import run_simulation
    from .solver import NonPhysicalStateError

    if arguments.threads:
        import torch

        torch.set_num_threads(arguments.threads)
    overrides = {spec.name: getattr(arguments, spec.name) for spec in fields(RunConfig)}
    if overrides["cells"] is not None:
        cells = overrides["cells"]
        if len(cells) not in (1, 3):
            raise ValueError(f"--cells takes 1 or 3 integers, got {cells}")
        overrides["cells"] = cells[0] if len(cells) == 1 else list(cells)
    try:
        if arguments.resume:
            # --end-turnovers with --resume extends the run; other options are the checkpoint's
            run_simulation(resume=arguments.resume, progress=not arguments.no_progress,
                           output_dir=overrides["output_dir"],
                           end_turnovers=overrides["end_turnovers"])
            return 0
        if arguments.config:
            config = load_toml(arguments.config, **overrides)
        else:
            config = RunConfig(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as error:
        print(f"turbml-sim run: bad parameters: {error}", file=sys.stderr)
        return 2
    try:
        run_simulation(config, progress=not arguments.no_progress)
    except NonPhysicalStateError:
        return 3
    return 0


def _verify(arguments):
    import torch

    from .verify import format_table, run_suite

    threads_before = torch.get_num_threads()
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    try:
        results = run_suite(quick=arguments.quick, device=arguments.device,
                            progress=lambda name: print(f"... {name}", file=sys.stderr,
                                                        flush=True))
    finally:
        # the thread count is global to the process; leave it as found (e.g. under pytest)
        torch.set_num_threads(threads_before)
    print(format_table(results))
    if arguments.json_path:
        with open(arguments.json_path, "w") as handle:
            json.dump({"quick": arguments.quick, "device": arguments.device,
                       "results": [result.as_dict() for result in results]}, handle, indent=2)
    return 0 if all(result.passed for result in results) else 1


def main(argv=None):
    """Entry point; returns the exit status (0 success, 1 failed checks, 2 bad parameters,
    3 run stopped on a non-physical state)."""
    arguments = build_parser().parse_args(argv)
    if arguments.command == "run":
        return _run(arguments)
    if arguments.command == "verify":
        return _verify(arguments)
    if arguments.command == "stats":
        return _stats(arguments)
    if arguments.command == "recipe":
        return _recipe(arguments)
    raise AssertionError(arguments.command)
