"""U-Net datasets from MHD simulator snapshots: density slice in, magnetic energy density out.

Bustard & Wu (``../shared/seeds/002_*``) cut 2D density slices from 3D MHD cubes and split each
cube into training, validation and test slabs separated by spatial buffers, so that no gas
structure reaches from one set into another. This module does the same with the FITS snapshots
of `training.sim`: the slices perpendicular to one axis are grouped into contiguous slab
ranges, and the simulator's box being periodic, the last slab also borders the first, so three
buffers (train | buffer | validation | buffer | test | buffer, cyclically) separate them.

Run ``python -m training.unet.mhd_data SNAPSHOT... --axis z --summary`` for the split and the
target statistics.
"""

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import normalized_input

__all__ = [
    "AXIS_INDEX",
    "TARGET_REFERENCES",
    "SlicePairs",
    "MHDSliceSplits",
    "read_mhd_snapshot",
    "magnetic_energy_density",
    "slice_autocorrelation",
    "correlation_length",
    "buffered_slab_split",
    "augment_dihedral_copies",
    "build_mhd_slice_splits",
    "summarize_splits",
    "main",
]

#: Numpy axis of a snapshot array for each spatial axis name: FITS/numpy order is (z, y, x).
AXIS_INDEX = {"z": 0, "y": 1, "x": 2}

_FIELD_HDUS = ("BX", "BY", "BZ")

#: What each ``target_reference`` makes the target.
TARGET_REFERENCES = {
    "code_units": "log10(B^2/2), simulator units (rho0 = 1, magnetic pressure B^2/2)",
    "snapshot_mean": "log10(B^2/2 / mean B^2/2 of the snapshot)",
    # what a user's single map allows: the ratio to the mean over the map itself
    "slice_mean": "log10(B^2/2 / mean B^2/2 of the slice)",
}
_SPLIT_NAMES = ("train", "validation", "test")


@dataclass
class SlicePairs:
    """Density-slice / magnetic-energy pairs of one split.

    Attributes
    ----------
    inputs : numpy.ndarray
        ``(n, 1, H, W)`` float32 log10(rho / mean rho of the slice).
    targets : numpy.ndarray
        ``(n, 1, H, W)`` float32 log10(B^2/2) (see ``parameters["target"]``).
    snapshots : numpy.ndarray
        ``(n,)`` int64 index of the snapshot (in the order given) each pair comes from.
    slice_indices : numpy.ndarray
        ``(n,)`` int64 position of the slice along the slicing axis.
    augmented : numpy.ndarray
        ``(n,)`` bool, True for a dihedral copy made by `augment_dihedral_copies`.
    parameters : dict
        JSON-friendly record of how the pairs were made.
    """

    inputs: np.ndarray
    targets: np.ndarray
    snapshots: np.ndarray
    slice_indices: np.ndarray
    augmented: np.ndarray
    parameters: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.slice_indices)


@dataclass
class MHDSliceSplits:
    """Training, validation and test `SlicePairs` cut from the same snapshots."""

    train: SlicePairs
    validation: SlicePairs
    test: SlicePairs
    parameters: dict = field(default_factory=dict)

    def items(self):
        """``(name, SlicePairs)`` for train, validation and test, in that order."""
        return [(name, getattr(self, name)) for name in _SPLIT_NAMES]


def read_mhd_snapshot(path):
    """Density and cell-centred B of a `training.sim` snapshot, checked for MHD use.

    The simulator writes the cell-centred field (the average of the two face values of each
    cell, `training.sim.state.MHDState.cell_field`), so no averaging is needed here.

    Parameters
    ----------
    path : str or pathlib.Path
        FITS file written by `training.sim.snapshots.write_snapshot`.

    Returns
    -------
    density : numpy.ndarray
        ``(nz, ny, nx)`` float64.
    magnetic_field : numpy.ndarray
        ``(3, nz, ny, nx)`` float64, components (Bx, By, Bz).
    header : astropy.io.fits.Header
        Primary header (run parameters ``PAR <name>``, ``SEED``, ``TTURN``...).

    Raises
    ------
    FileNotFoundError
        For a missing file.
    ValueError
        For a file without B extensions, a hydro snapshot (B = 0 everywhere), a density that
        is not positive and finite, or a non-finite field.
    """
    from astropy.io import fits

    from ..sim.snapshots import read_snapshot

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"snapshot {path} does not exist")
    with fits.open(path) as hdul:
        names = {hdu.name for hdu in hdul}
    missing = [name for name in _FIELD_HDUS if name not in names]
    if missing:
        raise ValueError(f"{path} has no magnetic field extensions {missing}: the B^2/2 target "
                         "needs a training.sim MHD snapshot (python -m training.sim run "
                         "--mean-field 1 ...)")
    density, _, magnetic_field, header = read_snapshot(path)
    if not np.all(np.isfinite(magnetic_field)):
        raise ValueError(f"{path}: the magnetic field has non-finite values; the run is "
                         "broken, regenerate the snapshot")
    if not np.any(magnetic_field):
        raise ValueError(f"{path} is a hydro snapshot (B = 0 everywhere, mean_field = "
                         f"{header.get('HIERARCH PAR mean_field', 'unknown')}): the B^2/2 "
                         "target needs an MHD run (python -m training.sim run --mean-field 1 "
                         "...)")
    if not (np.all(np.isfinite(density)) and np.all(density > 0)):
        raise ValueError(f"{path}: density must be positive and finite everywhere "
                         f"({int(np.sum(~np.isfinite(density)))} non-finite, "
                         f"{int(np.sum(density <= 0))} non-positive cells)")
    return density, magnetic_field, header


def magnetic_energy_density(magnetic_field):
    """Magnetic energy density B^2/2 per cell (the simulator's units: magnetic pressure B^2/2).

    Parameters
    ----------
    magnetic_field : numpy.ndarray
        ``(3, ...)`` cell-centred components. Not modified.

    Returns
    -------
    numpy.ndarray
        float64, the shape of one component.
    """
    components = np.asarray(magnetic_field, dtype=np.float64)
    return 0.5 * np.sum(components ** 2, axis=0)


def slice_autocorrelation(cube, *, axis):
    """Autocorrelation of a periodic cube along one axis: how alike slices ``d`` cells apart are.

    Parameters
    ----------
    cube : numpy.ndarray
        3D array. Not modified.
    axis : int
        Slicing axis.

    Returns
    -------
    numpy.ndarray
        ``(length // 2 + 1,)`` float64; entry ``d`` is the covariance of the cube and its
        copy shifted periodically by ``d`` cells along ``axis``, over the variance (so entry
        0 is 1).
    """
    moved = np.moveaxis(np.asarray(cube, dtype=np.float64), axis, 0)
    fluctuation = moved - moved.mean()
    spectrum = np.fft.rfft(fluctuation, axis=0)
    # Wiener-Khinchin along the axis, summed over the other two
    covariance = np.fft.irfft(np.abs(spectrum) ** 2, n=moved.shape[0], axis=0).sum(axis=(1, 2))
    return covariance[:moved.shape[0] // 2 + 1] / covariance[0]


def correlation_length(autocorrelation, *, threshold):
    """First lag (cells) at which an autocorrelation falls below ``threshold``.

    Returns the last lag + 1 if it never does (the structure spans half the box).
    """
    below = np.flatnonzero(np.asarray(autocorrelation) < threshold)
    return int(below[0]) if below.size else len(autocorrelation)


def buffered_slab_split(length, *, buffer, fractions=(0.7, 0.15, 0.15), offset=0):
    """Slice indices of contiguous train/validation/test slabs of a periodic axis.

    The cyclic layout is train | buffer | validation | buffer | test | buffer, starting at
    ``offset``; the slabs share the ``length - 3 buffer`` slices by ``fractions`` (largest
    remainders), each getting at least one.

    Parameters
    ----------
    length : int
        Cells along the slicing axis.
    buffer : int
        Cells between slabs (>= 0); at least the correlation length so no structure is shared.
    fractions : sequence of 3 float, optional
        Relative sizes of the train, validation and test slabs.
    offset : int, optional
        First slice of the training slab.

    Returns
    -------
    dict
        ``{"train", "validation", "test"}`` -> sorted int64 arrays of slice indices.

    Raises
    ------
    ValueError
        For a negative buffer, bad fractions, or a buffer too large to leave one slice for
        each slab.
    """
    length, buffer = int(length), int(buffer)
    if buffer < 0:
        raise ValueError(f"buffer must be >= 0 cells, got {buffer}")
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.shape != (3,) or not np.all(np.isfinite(fractions)) or np.any(fractions <= 0):
        raise ValueError(f"fractions must be three positive numbers, got {fractions.tolist()}")
    usable = length - 3 * buffer
    if usable < 3:
        raise ValueError(
            f"a buffer of {buffer} cells is too large for an axis of {length} cells: three "
            f"buffers leave {usable} slices, and each of train/validation/test needs at least "
            f"one; use a buffer of at most {(length - 3) // 3} cells or a larger snapshot")
    shares = fractions / fractions.sum() * usable
    sizes = np.maximum(np.floor(shares).astype(int), 1)
    while sizes.sum() > usable:      # the minimum of one slice overshot: take from the largest
        sizes[np.argmax(sizes)] -= 1
    for index in np.argsort(-(shares - np.floor(shares)), kind="stable")[:usable - sizes.sum()]:
        sizes[index] += 1
    splits, start = {}, int(offset)
    for name, size in zip(_SPLIT_NAMES, sizes):
        splits[name] = np.sort(np.arange(start, start + size) % length).astype(np.int64)
        start += size + buffer
    return splits


def augment_dihedral_copies(pairs, *, copies, seed):
    """Append ``copies`` random dihedral transforms of every pair (input and target together).

    Uses the training loop's `training.common.train.dihedral_augment`, so a copy is one of the 8
    symmetries of the square; meant for the training split only.

    Parameters
    ----------
    pairs : SlicePairs
        Square pairs. Not modified.
    copies : int
        Augmented copies per pair (0 returns a copy of ``pairs``).
    seed : int
        Seeds the choice of symmetries.

    Returns
    -------
    SlicePairs
        The original pairs followed by the copies; ``parameters["augmentation"]`` records it.
    """
    import torch

    from ..common.train import dihedral_augment

    copies = int(copies)
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    if copies and pairs.inputs.shape[-1] != pairs.inputs.shape[-2]:
        raise ValueError(f"dihedral augmentation needs square slices, got "
                         f"{pairs.inputs.shape[-2:]}")
    generator = torch.Generator().manual_seed(int(seed))
    stacked = torch.from_numpy(np.concatenate([pairs.inputs, pairs.targets], axis=1))
    transformed = [dihedral_augment(stacked, generator).numpy() for _ in range(copies)]
    both = np.concatenate([stacked.numpy()] + transformed)

    def repeat(array):
        return np.concatenate([array] * (copies + 1))

    parameters = dict(pairs.parameters,
                      augmentation={"kind": "dihedral", "copies_per_pair": copies,
                                    "seed": int(seed),
                                    "function": "training.common.train.dihedral_augment"})
    return SlicePairs(np.ascontiguousarray(both[:, :1]), np.ascontiguousarray(both[:, 1:]),
                      repeat(pairs.snapshots), repeat(pairs.slice_indices),
                      np.repeat(np.arange(copies + 1) > 0, len(pairs)), parameters)


def _snapshot_record(path, header):
    parameters = {key[4:]: header[key] for key in header if key.startswith("PAR ")}
    return {"path": str(path), "seed": header.get("SEED"), "time_turnovers": header.get("TTURN"),
            "mach_sonic": header.get("MS"), "mach_alfven_total": header.get("MATOTAL"),
            "code_version": header.get("CODEVER"), "run_parameters": parameters}


def build_mhd_slice_splits(snapshot_paths, *, axis="z", buffer=None, seed,
                           fractions=(0.7, 0.15, 0.15), offset=0, augment_copies=1,
                           correlation_threshold=0.2, target_reference="code_units"):
    """Density-slice -> log10(B^2/2) pairs with a buffered spatial split along the slicing axis.

    Every snapshot is sliced perpendicular to ``axis``; all snapshots use the same slab ranges
    (snapshots of one run share their structures over time, so a region stays in one split).
    Input: log10(rho / mean rho of the slice), the normalisation the runtime applies to a
    user's map. Target: log10(B^2/2) of the cell-centred field.

    Parameters
    ----------
    snapshot_paths : sequence of path
        `training.sim` FITS snapshots of the same shape along ``axis``.
    axis : {"z", "y", "x"}
        Slicing axis (slices are perpendicular to it); ``z`` is the mean-field direction.
    buffer : int or None
        Cells between slabs. None: the correlation length measured on the first snapshot,
        the first lag at which the slice-to-slice correlation falls below
        ``correlation_threshold``, the larger of the input's and the target's.
    seed : int
        Seeds the augmentation (the only random step).
    fractions : sequence of 3 float, optional
        Train/validation/test shares of the slices outside the buffers.
    offset : int, optional
        First slice of the training slab.
    augment_copies : int, optional
        Dihedral copies per training pair (validation and test are never augmented).
    correlation_threshold : float, optional
        See ``buffer``.
    target_reference : {"code_units", "snapshot_mean", "slice_mean"}
        B^2/2 in simulator units (rho0 = 1, magnetic pressure B^2/2), or divided by the
        snapshot's or by each slice's mean B^2/2 (`TARGET_REFERENCES`).

    Returns
    -------
    MHDSliceSplits

    Raises
    ------
    ValueError
        For no snapshots, an unknown axis or reference, snapshots of different lengths along
        the axis, a non-MHD snapshot (see `read_mhd_snapshot`), or a buffer too large.
    """
    paths = [Path(path) for path in snapshot_paths]
    if not paths:
        raise ValueError("give at least one snapshot FITS file")
    if axis not in AXIS_INDEX:
        raise ValueError(f"axis must be one of {sorted(AXIS_INDEX)}, got {axis!r}")
    if target_reference not in TARGET_REFERENCES:
        raise ValueError(f"target_reference must be one of {list(TARGET_REFERENCES)}, got "
                         f"{target_reference!r}")
    axis_index = AXIS_INDEX[axis]
    slices, targets, records, length = [], [], [], None
    for path in paths:
        density, magnetic_field, header = read_mhd_snapshot(path)
        if length is not None and density.shape[axis_index] != length:
            raise ValueError(f"{path} has {density.shape[axis_index]} cells along {axis}, the "
                             f"first snapshot {length}: one split needs equal lengths")
        length = density.shape[axis_index]
        energy = magnetic_energy_density(magnetic_field)
        if not np.all(energy > 0):
            raise ValueError(f"{path}: B^2/2 is zero in {int(np.sum(energy <= 0))} cells, so "
                             "its log10 is undefined; use a run with a mean field")
        if target_reference == "snapshot_mean":
            energy = energy / energy.mean()
        energy = np.moveaxis(energy, axis_index, 0)
        if target_reference == "slice_mean":
            energy = energy / energy.mean(axis=(1, 2), keepdims=True)
        slices.append(np.moveaxis(density, axis_index, 0))
        targets.append(np.log10(energy))
        records.append(_snapshot_record(path, header))
    measured = None
    if buffer is None:
        input_correlation = slice_autocorrelation(np.log10(slices[0]), axis=0)
        target_correlation = slice_autocorrelation(targets[0], axis=0)
        buffer = max(correlation_length(input_correlation, threshold=correlation_threshold),
                     correlation_length(target_correlation, threshold=correlation_threshold))
        measured = {"threshold": float(correlation_threshold),
                    "input_autocorrelation": np.round(input_correlation, 4).tolist(),
                    "target_autocorrelation": np.round(target_correlation, 4).tolist(),
                    "buffer_cells": int(buffer)}
    split_indices = buffered_slab_split(length, buffer=buffer, fractions=fractions,
                                        offset=offset)
    parameters = {
        "source": "training.sim FITS snapshots",
        "slicing_axis": axis,
        "axis_cells": int(length),
        "buffer_cells": int(buffer),
        "buffer_from": "argument" if measured is None else "measured correlation length",
        "correlation": measured,
        "periodic_layout": "train | buffer | validation | buffer | test | buffer (cyclic)",
        "fractions": [float(value) for value in fractions],
        "offset": int(offset),
        "split_slices": {name: indices.tolist() for name, indices in split_indices.items()},
        "input": "log10(rho / mean rho of the slice)",
        "target": TARGET_REFERENCES[target_reference],
        "target_reference": target_reference,
        "field": "cell-centred B written by training.sim (face averages)",
        "seed": int(seed),
        "snapshots": records,
    }
    built = {}
    for name, indices in split_indices.items():
        inputs = [normalized_input(cube[index]) for cube in slices for index in indices]
        outputs = [cube[index] for cube in targets for index in indices]
        pairs = SlicePairs(
            np.stack(inputs)[:, np.newaxis].astype(np.float32),
            np.stack(outputs)[:, np.newaxis].astype(np.float32),
            np.repeat(np.arange(len(paths), dtype=np.int64), len(indices)),
            np.tile(indices, len(paths)), np.zeros(len(paths) * len(indices), dtype=bool),
            dict(parameters, split=name, augmentation=None))
        if name == "train":
            pairs = augment_dihedral_copies(pairs, copies=augment_copies, seed=seed)
        built[name] = pairs
    return MHDSliceSplits(built["train"], built["validation"], built["test"], parameters)


def _statistics(values):
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std()),
            "min": float(values.min()), "max": float(values.max())}


def summarize_splits(splits):
    """Text lines describing the split layout and the input/target statistics of each set."""
    parameters = splits.parameters
    lines = [f"slicing axis {parameters['slicing_axis']} ({parameters['axis_cells']} cells), "
             f"buffer {parameters['buffer_cells']} cells ({parameters['buffer_from']}), "
             f"layout {parameters['periodic_layout']}"]
    if parameters["correlation"]:
        correlation = parameters["correlation"]
        lines.append(f"slice autocorrelation vs lag (threshold {correlation['threshold']}):")
        lines.append("  input  " + " ".join(f"{v:.2f}"
                                            for v in correlation["input_autocorrelation"]))
        lines.append("  target " + " ".join(f"{v:.2f}"
                                            for v in correlation["target_autocorrelation"]))
    lines.append(f"input: {parameters['input']}; target: {parameters['target']}")
    for record in parameters["snapshots"]:
        lines.append(f"snapshot {record['path']}: seed {record['seed']}, t = "
                     f"{_number(record['time_turnovers'])} T, M_s "
                     f"{_number(record['mach_sonic'])}, M_A "
                     f"{_number(record['mach_alfven_total'])}, B0 "
                     f"{record['run_parameters'].get('mean_field')}")
    for name, pairs in splits.items():
        indices = parameters["split_slices"][name]
        augmented = int(pairs.augmented.sum())
        inputs, targets = _statistics(pairs.inputs), _statistics(pairs.targets)
        lines.append(f"{name:<10} slices {_index_ranges(indices)} ({len(indices)}), "
                     f"{len(pairs)} pairs of {pairs.inputs.shape[-2]}x{pairs.inputs.shape[-1]} "
                     f"({augmented} dihedral copies)")
        lines.append(f"{'':<10} input  mean {inputs['mean']:+.4f} std {inputs['std']:.4f} "
                     f"range [{inputs['min']:+.4f}, {inputs['max']:+.4f}]")
        lines.append(f"{'':<10} target mean {targets['mean']:+.4f} std {targets['std']:.4f} "
                     f"range [{targets['min']:+.4f}, {targets['max']:+.4f}]")
    gaps = _split_gaps(parameters["split_slices"], parameters["axis_cells"])
    lines.append(f"smallest periodic gap between slices of different splits: {gaps} cells "
                 f"(buffer {parameters['buffer_cells']})")
    return lines


def _number(value):
    # headers of older or hand-made snapshots may lack a keyword, or hold "inf" as text
    return f"{value:.3f}" if isinstance(value, (int, float)) else str(value)


def _index_ranges(indices):
    """``[0, 1, 2, 7, 8]`` -> ``"0-2, 7-8"``."""
    runs, start = [], indices[0]
    for previous, current in zip(indices, list(indices[1:]) + [None]):
        if current is None or current != previous + 1:
            runs.append(f"{start}-{previous}" if previous != start else f"{start}")
            start = current
    return ", ".join(runs)


def _split_gaps(split_slices, length):
    """Smallest number of cells strictly between two slices of different splits (periodic)."""
    smallest = length
    names = list(split_slices)
    for first in range(len(names)):
        for second in range(first + 1, len(names)):
            a = np.asarray(split_slices[names[first]])[:, np.newaxis]
            b = np.asarray(split_slices[names[second]])[np.newaxis, :]
            distance = np.abs(a - b)
            smallest = min(smallest, int(np.min(np.minimum(distance, length - distance))) - 1)
    return smallest


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m training.unet.mhd_data",
        description="Density-slice -> log10(B^2/2) U-Net pairs from training.sim snapshots, "
                    "with a buffered train/validation/test split along the slicing axis.")
    parser.add_argument("snapshots", nargs="+", help="training.sim FITS snapshots")
    parser.add_argument("--axis", choices=sorted(AXIS_INDEX), default="z",
                        help="slicing axis (z: along the mean field)")
    parser.add_argument("--buffer", type=int,
                        help="cells between slabs (default: measured correlation length)")
    parser.add_argument("--threshold", type=float, default=0.2,
                        help="autocorrelation level defining the measured correlation length")
    parser.add_argument("--fractions", type=float, nargs=3, default=(0.7, 0.15, 0.15),
                        metavar=("TRAIN", "VALIDATION", "TEST"))
    parser.add_argument("--offset", type=int, default=0, help="first slice of the train slab")
    parser.add_argument("--augment-copies", type=int, default=1,
                        help="dihedral copies per training pair")
    parser.add_argument("--seed", type=int, default=0, help="seed of the augmentation")
    parser.add_argument("--target-reference", choices=sorted(TARGET_REFERENCES),
                        default="code_units")
    parser.add_argument("--summary", action="store_true",
                        help="print the split and target statistics")
    parser.add_argument("--output", help="write the pairs as .npz and parameters as .json here")
    return parser


def main(argv=None):
    """Entry point of ``python -m training.unet.mhd_data``; returns the exit status."""
    options = _parser().parse_args(argv)
    try:
        splits = build_mhd_slice_splits(
            options.snapshots, axis=options.axis, buffer=options.buffer, seed=options.seed,
            fractions=options.fractions, offset=options.offset,
            augment_copies=options.augment_copies,
            correlation_threshold=options.threshold,
            target_reference=options.target_reference)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if options.summary or not options.output:
        print("\n".join(summarize_splits(splits)))
    if options.output:
        output = Path(options.output)
        arrays = {}
        for name, pairs in splits.items():
            for key in ("inputs", "targets", "snapshots", "slice_indices", "augmented"):
                arrays[f"{name}_{key}"] = getattr(pairs, key)
        np.savez_compressed(output.with_suffix(".npz"), **arrays)
        output.with_suffix(".json").write_text(json.dumps(
            dict(splits.parameters, train_augmentation=splits.train.parameters["augmentation"]),
            indent=2, default=str))
        print(f"wrote {output.with_suffix('.npz')} and {output.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
