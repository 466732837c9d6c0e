"""Simulator runs for the U-Nets: find them, split them by run, and cut input/target maps.

The runs are `training.sim` recipe outputs, ``ROOT/<set>/<class>/seed_NNNN/snapshot_*.fits``
(density in the primary HDU, mean 1; B in ``BX``/``BY``/``BZ`` for MHD runs). Whole runs are
held out: in each (set, class) the largest seed is the test run and the next one the validation
run, so the held-out numbers are on turbulence the network never saw, not on other maps of a
run it trained on. Every map carries its run, its class of run (``set:class``), its snapshot
time and its geometry, so metrics can be reported per class of run.
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import column_and_mass_weighted_density, normalized_input

__all__ = ["SimRun", "MapPairs", "find_runs", "split_by_run", "projection_pairs",
           "periodic_crops", "concatenate_pairs", "run_records"]


@dataclass(frozen=True)
class SimRun:
    """One simulator run: its set (recipe output folder), class, seed and snapshots."""

    set_name: str
    label: str
    seed: int
    files: tuple

    @property
    def key(self):
        """``set:class:seed``, unique over runs."""
        return f"{self.set_name}:{self.label}:{self.seed}"

    @property
    def run_class(self):
        """``set:class``: runs of the same parameters (metrics are reported per class)."""
        return f"{self.set_name}:{self.label}"


@dataclass
class MapPairs:
    """Input/target map pairs with what each comes from.

    Attributes
    ----------
    inputs, targets : numpy.ndarray
        ``(n, 1, H, W)`` float32 network input and target.
    raw : numpy.ndarray
        ``(n, 1, H, W)`` float32 input before preprocessing, divided by its mean (for
        baselines and the domain record).
    runs, run_classes : numpy.ndarray of str
        ``(n,)`` run key and class of run of each pair.
    times : numpy.ndarray
        ``(n,)`` snapshot time in turnovers.
    depth_fractions : numpy.ndarray
        ``(n,)`` line-of-sight depth / box width (1 for slices' "no depth").
    parameters : dict
        How the pairs were made (JSON-friendly).
    """

    inputs: np.ndarray
    targets: np.ndarray
    raw: np.ndarray
    runs: np.ndarray
    run_classes: np.ndarray
    times: np.ndarray
    depth_fractions: np.ndarray
    parameters: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.runs)

    def select(self, keep):
        """The pairs where ``keep`` (bool mask or indices) holds, as a new object."""
        return MapPairs(self.inputs[keep], self.targets[keep], self.raw[keep], self.runs[keep],
                        self.run_classes[keep], self.times[keep], self.depth_fractions[keep],
                        dict(self.parameters))


def find_runs(set_folders):
    """The runs of recipe output folders, sorted by set, class and seed.

    Parameters
    ----------
    set_folders : sequence of str or path
        ``training.sim recipe --output-dir`` folders; the folder name is the set's name.

    Returns
    -------
    list of SimRun

    Raises
    ------
    FileNotFoundError
        For a set with no snapshots (names the folder to run the recipe into).

    Warns
    -----
    UserWarning
        For runs with fewer snapshots than the set's most (still running or stopped): they
        are left out.
    """
    runs = []
    for folder in map(Path, set_folders):
        set_name = folder.name
        found = sorted(folder.glob("*/seed_*/snapshot_*.fits"))
        if not found:
            raise FileNotFoundError(
                f"no snapshots under {folder}/<class>/seed_*/: run its recipe "
                f"(python -m training.sim recipe training/sim/recipes/{set_name}.toml "
                f"--output-dir {folder})")
        by_run = {}
        for path in found:
            label, seed_folder = path.parent.parent.name, path.parent.name
            by_run.setdefault((label, int(seed_folder.split("_")[1])), []).append(path)
        # a run still going (or stopped) has fewer snapshots than its finished siblings
        complete = max(len(paths) for paths in by_run.values())
        unfinished = sorted(f"{label}/seed_{seed:04d}" for (label, seed), paths in by_run.items()
                            if len(paths) < complete)
        if unfinished:
            warnings.warn(f"{folder}: leaving out unfinished runs {', '.join(unfinished)} "
                          f"(fewer than {complete} snapshots)", stacklevel=2)
        runs += [SimRun(set_name, label, seed, tuple(str(path) for path in sorted(paths)))
                 for (label, seed), paths in sorted(by_run.items()) if len(paths) == complete]
    return runs


def split_by_run(runs, *, held_out_fraction=0.0):
    """Test, validation and training runs of each class of run, by seed.

    Per class of run the largest seeds are the test runs, the next ones the validation runs and
    the rest train. Each held-out split gets ``max(1, floor(held_out_fraction * runs))`` runs
    of the class: one run alone is a noisy sample of a class (its large-scale pattern is its
    own), so classes with many runs hold out several.

    Parameters
    ----------
    runs : sequence of SimRun
    held_out_fraction : float
        Fraction of each class's runs in the test split, and again in the validation split,
        rounded down, at least one run each (0, the default, holds out one run each).

    Returns
    -------
    dict
        ``{"train", "validation", "test"}`` -> list of run keys.

    Raises
    ------
    ValueError
        For a class of run with too few runs to keep at least one for training.
    """
    if not 0.0 <= held_out_fraction < 0.5:
        raise ValueError(f"held_out_fraction must be in [0, 0.5), got {held_out_fraction}")
    split = {"train": [], "validation": [], "test": []}
    for run_class in sorted({run.run_class for run in runs}):
        members = sorted((run for run in runs if run.run_class == run_class),
                         key=lambda run: run.seed)
        held_out = max(1, int(np.floor(held_out_fraction * len(members) + 1e-9)))
        if len(members) < 2 * held_out + 1:
            raise ValueError(f"{run_class} has {len(members)} finished runs; a split by run "
                             f"needs at least {2 * held_out + 1} ({held_out} test, "
                             f"{held_out} validation, 1 train)")
        split["test"] += [run.key for run in members[len(members) - held_out:]]
        split["validation"] += [run.key for run in
                                members[len(members) - 2 * held_out:len(members) - held_out]]
        split["train"] += [run.key for run in members[:len(members) - 2 * held_out]]
    return split


def run_records(runs):
    """JSON-friendly record of the runs (for the card): set, class, seed, snapshot times and
    measured Mach numbers from the FITS headers."""
    from astropy.io import fits

    records = []
    for run in runs:
        snapshots = []
        for path in run.files:
            header = fits.getheader(path)
            snapshots.append({"file": Path(path).name,
                              "time_turnovers": header.get("TTURN"),
                              "mach_sonic": header.get("MS"),
                              "mach_alfven_total": header.get("MATOTAL")})
            parameters = {key[4:]: header[key] for key in header if key.startswith("PAR ")}
        records.append({"set": run.set_name, "label": run.label, "seed": run.seed,
                        "snapshots": snapshots, "run_parameters": parameters})
    return records


def periodic_crops(pairs, *, crop_size, crop_step):
    """Cut every (periodic) map into ``crop_size`` crops on a ``crop_step`` lattice.

    Parameters
    ----------
    pairs : MapPairs
    crop_size, crop_step : int

    Returns
    -------
    MapPairs
    """
    rows, arrays = [], {"inputs": [], "targets": [], "raw": []}
    for row in range(len(pairs)):
        height, width = pairs.inputs.shape[-2:]
        for dy in range(0, height, crop_step):
            for dx in range(0, width, crop_step):
                for name in arrays:
                    image = getattr(pairs, name)[row, 0]
                    arrays[name].append(np.roll(image, (-dy, -dx), axis=(0, 1))
                                        [:crop_size, :crop_size])
                rows.append(row)
    rows = np.asarray(rows, dtype=np.int64)
    stack = lambda images: np.stack(images)[:, np.newaxis].astype(np.float32)  # noqa: E731
    return MapPairs(stack(arrays["inputs"]), stack(arrays["targets"]), stack(arrays["raw"]),
                    pairs.runs[rows], pairs.run_classes[rows], pairs.times[rows],
                    pairs.depth_fractions[rows],
                    dict(pairs.parameters, crop_size_px=int(crop_size),
                         crop_step_px=int(crop_step)))


def concatenate_pairs(pair_sets):
    """One `MapPairs` from several of the same map size (parameters of the first)."""
    pair_sets = [pairs for pairs in pair_sets if len(pairs)]
    if not pair_sets:
        raise ValueError("no map pairs to concatenate")
    names = ("inputs", "targets", "raw", "runs", "run_classes", "times", "depth_fractions")
    return MapPairs(*[np.concatenate([getattr(pairs, name) for pairs in pair_sets])
                      for name in names], dict(pair_sets[0].parameters))


def projection_pairs(runs, *, axes=(0, 1, 2), depth_fractions=(1.0, 0.5), map_size=None):
    """Column density in, mass-weighted mean density out, from the runs' density cubes.

    For each snapshot, axis and depth fraction ``f`` the cube is cut into slabs ``f L`` deep
    and projected: ``N = sum n`` and ``<n>_m = sum n^2 / N`` (Ribeiro & Hily-Blant). The input
    is ``log10(N / mean N)`` (the runtime's normalisation), the target
    ``log10(<n>_m / n0)`` with ``n0 = mean N / depth``, the mean density along the map's lines
    of sight, which is what the runtime multiplies by to give <n>_m in cm-3.

    Parameters
    ----------
    runs : sequence of SimRun
    axes : sequence of int
        Lines of sight (numpy axes of the cube).
    depth_fractions : sequence of float
        Slab depth / box width; each must divide the cube side.
    map_size : int, optional
        Keep only cubes of this side (maps of one size stack); all must agree by default.

    Returns
    -------
    MapPairs

    Raises
    ------
    ValueError
        For cubes of different sides (without ``map_size``) or a depth that does not divide
        the side.
    """
    from astropy.io import fits

    columns = {"inputs": [], "targets": [], "raw": []}
    meta = {"runs": [], "run_classes": [], "times": [], "depth_fractions": []}
    side = None
    for run in runs:
        for path in run.files:
            with fits.open(path) as hdul:
                density = np.asarray(hdul[0].data, dtype=np.float64)
                time = float(hdul[0].header.get("TTURN", np.nan))
            if map_size is not None and density.shape[0] != map_size:
                continue
            if side is not None and density.shape[0] != side:
                raise ValueError(f"{path} is {density.shape[0]}^3 and earlier cubes {side}^3; "
                                 "give map_size to keep one size")
            side = density.shape[0]
            density /= density.mean()
            for fraction in depth_fractions:
                depth = int(round(fraction * side))
                if depth < 1 or side % depth:
                    raise ValueError(f"depth fraction {fraction} does not divide {side} cells")
                for axis in axes:
                    column, weighted = column_and_mass_weighted_density(density, axis=axis,
                                                                        depth=depth)
                    for slab_column, slab_weighted in zip(column, weighted):
                        mean_density = slab_column.mean() / depth
                        columns["inputs"].append(normalized_input(slab_column))
                        columns["targets"].append(np.log10(slab_weighted / mean_density))
                        columns["raw"].append(slab_column / slab_column.mean())
                        meta["runs"].append(run.key)
                        meta["run_classes"].append(run.run_class)
                        meta["times"].append(time)
                        meta["depth_fractions"].append(float(fraction))
    if side is None:
        raise ValueError("no snapshots to project")
    stack = lambda images: np.stack(images)[:, np.newaxis].astype(np.float32)  # noqa: E731
    parameters = {
        "input": "log10(N / mean N of the map), N = sum of the density along the axis",
        "target": "log10(<n>_m / n0), <n>_m = sum(n^2) / sum(n), n0 = mean N / depth (the "
                  "mean density along the map's lines of sight)",
        "projection_axes": [int(axis) for axis in axes],
        "depth_fractions_of_box": [float(value) for value in depth_fractions],
        "cube_side_cells": int(side),
    }
    return MapPairs(stack(columns["inputs"]), stack(columns["targets"]), stack(columns["raw"]),
                    np.asarray(meta["runs"]), np.asarray(meta["run_classes"]),
                    np.asarray(meta["times"]), np.asarray(meta["depth_fractions"]), parameters)
