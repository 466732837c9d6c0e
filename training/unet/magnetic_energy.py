"""Train the ``magnetic-energy`` U-Net: density slice -> magnetic energy density (Bustard & Wu).

Input: a density slice containing the mean-field direction, ``log10(rho / mean rho)``. Target:
``log10(E_B / <E_B>)``, the magnetic energy density ``E_B = B^2 / 2`` over its mean on the same
slice. The ratio, not E_B itself: a density map says nothing about the field's absolute
strength (the same density structure sits in fields differing by 10x between our sub- and
super-Alfvenic runs), but where the field is compressed or tangled it leaves an imprint the
network can read. Training runs are split along the slicing axis into train and validation
slabs separated by buffers of the measured correlation length (`training.unet.mhd_data`, as
Bustard & Wu split their cubes); whole runs never trained on calibrate sigma (the validation
runs) and give the held-out numbers (the test runs), per class of run, beside a constant and a
local power law in density. The test slabs of the training runs are reported too. One command
makes the shipped file, its report and log::

    python -m training.unet.magnetic_energy /work/simdata/alfven/alfven_48_fast \\
        /work/simdata/alfven/alfven_48_drive --out onnx_models/magnetic-energy.onnx \\
        --report docs/results/magnetic_energy.json --threads 2
"""

import argparse
import sys

import numpy as np

from ..common.provenance import code_version, command_line
from ..common.script_options import parse_run_arguments, run_config
from .card_sections import unet_card_sections
from .sim_training import FULL_CONFIG, QUICK_CONFIG
__all__ = ["MODEL_NAME", "MODEL_VERSION", "ACCEPTED_UNITS", "slice_pairs", "run_slab_splits",
           "fit_baselines", "build_card", "main"]

MODEL_NAME = "magnetic-energy"
MODEL_VERSION = "0.1.0"
#: Density units the runtime accepts (any scale: the slice is divided by its mean).
ACCEPTED_UNITS = ("", "cm-3", "g cm-3", "kg m-3", "solMass pc-3")
#: Slices perpendicular to x, so they contain the mean field (z). Along z the magnetic energy
#: of the sub-Alfvenic runs stays correlated over 25 of 48 cells (autocorrelation 0.2), too
#: long for three buffers in one box; across it, 10 cells (docs/results/magnetic_energy.log).
SLICING_AXIS = "x"
#: Held-out runs are also sliced perpendicular to the mean field, to measure that orientation.
OTHER_AXIS = "z"


def _as_map_pairs(inputs, targets, run, times, axis=SLICING_AXIS):
    from .sim_runs import MapPairs

    count = len(inputs)
    return MapPairs(np.asarray(inputs, dtype=np.float32), np.asarray(targets, dtype=np.float32),
                    (10.0 ** np.asarray(inputs, dtype=np.float64)).astype(np.float32),
                    np.full(count, run.key), np.full(count, run.run_class),
                    np.asarray(times, dtype=np.float64), np.ones(count),
                    {"input": "log10(rho / mean rho of the slice)",
                     "target": "log10(B^2/2 / mean B^2/2 of the slice)",
                     "slicing_axis": axis})


def slice_pairs(runs, *, axis=SLICING_AXIS):
    """Every slice of the runs' snapshots (held-out runs: no split inside them).

    Parameters
    ----------
    runs : sequence of training.unet.sim_runs.SimRun
    axis : {"x", "y", "z"}
        Slices perpendicular to it.

    Returns
    -------
    list of training.unet.sim_runs.MapPairs
        One entry per cube side.
    """
    from .mhd_data import AXIS_INDEX, magnetic_energy_density, read_mhd_snapshot
    from .data import normalized_input
    from .sim_runs import concatenate_pairs

    by_side = {}
    axis_index = AXIS_INDEX[axis]
    for run in runs:
        inputs, targets, times = [], [], []
        for path in run.files:
            density, field, header = read_mhd_snapshot(path)
            energy = np.moveaxis(magnetic_energy_density(field), axis_index, 0)
            density = np.moveaxis(density, axis_index, 0)
            for density_slice, energy_slice in zip(density, energy):
                inputs.append(normalized_input(density_slice)[np.newaxis])
                targets.append(np.log10(energy_slice / energy_slice.mean())[np.newaxis])
                times.append(float(header.get("TTURN", np.nan)))
        by_side.setdefault(density.shape[-1], []).append(
            _as_map_pairs(inputs, targets, run, times, axis))
    return [concatenate_pairs(entries) for _, entries in sorted(by_side.items())]


def run_slab_splits(runs, *, seed):
    """Buffered train / validation / test slabs of each training run.

    Returns
    -------
    dict
        ``{"train", "validation", "test"}`` -> list of MapPairs (one entry per cube side), and
        ``"buffers"``: run key -> buffer in cells.
    """
    from .mhd_data import build_mhd_slice_splits
    from .sim_runs import concatenate_pairs

    parts = {"train": {}, "validation": {}, "test": {}}
    buffers = {}
    for run in runs:
        splits = build_mhd_slice_splits(run.files, axis=SLICING_AXIS, seed=seed,
                                        augment_copies=0, target_reference="slice_mean")
        buffers[run.key] = splits.parameters["buffer_cells"]
        times = [record["time_turnovers"] for record in splits.parameters["snapshots"]]
        for name, pairs in splits.items():
            side = pairs.inputs.shape[-1]
            parts[name].setdefault(side, []).append(_as_map_pairs(
                pairs.inputs[:, 0][:, np.newaxis], pairs.targets, run,
                [times[index] for index in pairs.snapshots]))
    result = {name: [concatenate_pairs(entries) for _, entries in sorted(by_side.items())]
              for name, by_side in parts.items()}
    result["buffers"] = buffers
    return result


def fit_baselines(train_sets):
    """A constant and a local power law in density, fitted on the training slices.

    Returns
    -------
    callable
        ``predict(pairs) -> {"constant": ..., "power_law": ...}``.
    """
    from .evaluate import fit_power_law

    inputs = np.concatenate([pairs.inputs.ravel() for pairs in train_sets])
    targets = np.concatenate([pairs.targets.ravel() for pairs in train_sets])
    constant = float(np.mean(targets, dtype=np.float64))
    intercept, slope = fit_power_law(inputs, targets)

    def predict(pairs):
        return {"constant": np.full(pairs.targets.shape, constant),
                "power_law": intercept + slope * pairs.inputs.astype(np.float64)}
    predict.parameters = {"constant": constant,
                          "power_law": {"intercept": intercept, "slope": slope}}
    return predict


def build_card(config, *, records, split, buffers, metrics, training, receptive_field, date,
               command, baseline_parameters=None):
    """The model card of the magnetic-energy U-Net."""
    from .mass_weighted_density_sims import _training_summary

    spatial_multiple = 2 ** (len(config.widths) - 1)
    return {
        "schema_version": 1,
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "task": "image_to_image",
        "description": (
            "Maps a density slice to the magnetic energy density E_B = B^2/2 relative to its "
            "mean over the slice, log10(E_B / <E_B>), with a per-pixel Gaussian uncertainty "
            "calibrated on runs it never trained on (Bustard & Wu's density -> magnetic "
            "energy U-Net). Trained on slices containing the mean-field direction, of driven "
            "isothermal MHD turbulence of our own solver at M_s ~ 7, sub- and super-Alfvenic. "
            "It gives where the field energy is concentrated, not its absolute strength."),
        **unet_card_sections(config, input_fields={
            "kind": "density slice (volume density in a plane), divided by its own mean",
            "quantity": "volume_density",
            "description": (
                "a 2D slice of a volume-density cube (not a projection), ideally containing "
                "the mean magnetic field direction (held-out slices perpendicular to it are "
                "scored in the metrics); the runtime divides it by its mean "
                f"over finite pixels, takes log10 and cuts {config.tile_size}x"
                f"{config.tile_size} tiles. Any height and width that are multiples of "
                f"{spatial_multiple}."),
            "units": "cm-3", "accepted_units": list(ACCEPTED_UNITS)},
            target="log10(E_B / <E_B>)", calibrated=True, channel={
                "name": "log_magnetic_energy_ratio", "label": "log10(E_B / <E_B>)",
                "description": "predicted mean of log10(E_B / <E_B>), E_B = B^2/2 and <E_B> "
                               "its mean over the slice"}),
        "provenance": {
            "training_data": {
                "summary": ("Driven isothermal MHD turbulence of our own solver "
                            "(training.sim): " + _training_summary(records, split) + "."),
                "runs": records,
                "slicing_axis": f"slices perpendicular to {SLICING_AXIS}: they contain the "
                                "mean-field direction z",
                "slab_buffers_cells": buffers,
                "maps": f"every slice perpendicular to {SLICING_AXIS}; input log10(rho / mean "
                        "rho of the "
                        "slice), target log10(E_B / mean E_B of the slice), cell-centred B",
            },
            "split": {"method": "whole runs held out (per class of run the largest seed is "
                                "the test run, the next the calibration run); inside each "
                                "training run, train | buffer | validation | buffer | test "
                                f"slabs along {SLICING_AXIS}, buffers of the measured "
                                "correlation length "
                                "(training.unet.mhd_data.build_mhd_slice_splits)",
                      "runs": split},
            "seeds": {"torch": config.seed, "subsample": config.seed, "noise": config.seed},
            "training": dict(training, baselines=baseline_parameters or {}),
            "command": command,
            "code_version": code_version(),
            "date": date,
        },
        "metrics": metrics,
    }


def _parser():
    parser = argparse.ArgumentParser(prog="python -m training.unet.magnetic_energy",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", help="training.sim recipe output folders (MHD sets)")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--report", help="JSON report to write")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    from .sim_runs import find_runs, run_records, split_by_run
    from .sim_training import train_from_command

    argv, arguments = parse_run_arguments(_parser(), argv, quick_help="tiny version for tests")
    config = run_config(arguments, quick=QUICK_CONFIG, full=FULL_CONFIG)
    command = command_line("training.unet.magnetic_energy", argv)
    runs = find_runs(arguments.sets)
    split = split_by_run(runs)
    by_key = {run.key: run for run in runs}
    slabs = run_slab_splits([by_key[key] for key in split["train"]], seed=config.seed)
    sets = {"train": slabs["train"], "validation": slabs["validation"],
            "calibration": slice_pairs([by_key[key] for key in split["validation"]]),
            "test": slice_pairs([by_key[key] for key in split["test"]])}
    records = run_records(runs)
    train_from_command(
        arguments, name=MODEL_NAME, config=config, sets=sets, fit_baselines=fit_baselines,
        build_card=lambda **parts: build_card(config, records=records, split=split,
                                              buffers=slabs["buffers"], command=command,
                                              **parts),
        command=command, script="training.unet.magnetic_energy",
        extra_sets={"test_slabs_of_training_runs": slabs["test"],
                    f"held_out_runs_sliced_perpendicular_to_{OTHER_AXIS}":
                    slice_pairs([by_key[key] for key in split["test"]], axis=OTHER_AXIS)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
