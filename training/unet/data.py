"""U-Net datasets from 3D density cubes: column density in, mass-weighted mean density out."""

from dataclasses import dataclass, field

import numpy as np

from glue_turbml.core import build_pipeline

from ..common.datasets import select_realization_rows
from ..common.random_fields import lognormal_field

__all__ = [
    "UNET_PREPROCESS",
    "MapPairDataset",
    "column_and_mass_weighted_density",
    "normalized_input",
    "random_cube_parameters",
    "build_map_pair_dataset",
]

#: Preprocessing after the column density is divided by its map mean (pixelwise, so the same
#: on a tile as on the whole map): the network sees log10(N / <N>).
UNET_PREPROCESS = ({"op": "log10"},)


@dataclass
class MapPairDataset:
    """Input/target map pairs for an image-to-image network.

    Attributes
    ----------
    inputs : numpy.ndarray
        ``(n, 1, T, T)`` float32 preprocessed inputs, log10(N / mean N of the whole map).
    targets : numpy.ndarray
        ``(n, 1, T, T)`` float32 targets, log10(<n>_m / mean density of the cube).
    column_ratio : numpy.ndarray
        ``(n, 1, T, T)`` float32 N / mean N before preprocessing (for baselines).
    realizations : numpy.ndarray
        ``(n,)`` int64 id of the cube each crop comes from; splits use these.
    parameters : dict
        JSON-friendly record of how the pairs were made.
    """

    inputs: np.ndarray
    targets: np.ndarray
    column_ratio: np.ndarray
    realizations: np.ndarray
    parameters: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.realizations)

    def select_realizations(self, realization_ids):
        """The crops cut from the given cubes, as a new dataset (copies)."""
        keep, parameters = select_realization_rows(self.realizations, realization_ids,
                                                   self.parameters)
        return MapPairDataset(self.inputs[keep], self.targets[keep], self.column_ratio[keep],
                              self.realizations[keep], parameters)


def column_and_mass_weighted_density(density, *, axis=0, depth=None):
    """Column density and mass-weighted mean density of a cube along one axis.

    ``N = sum(n) dz`` and ``<n>_m = sum(n^2) dz / N`` (Ribeiro & Hily-Blant), in units of one
    cell: ``N`` is in (density unit) x (cells), ``<n>_m`` in the density unit.

    Parameters
    ----------
    density : numpy.ndarray
        3D positive cube. Not modified.
    axis : int, optional
        Line-of-sight axis.
    depth : int, optional
        Integrate over consecutive slabs of this many cells (sub-volume depths); the whole axis
        by default. Slabs that would not fit are dropped.

    Returns
    -------
    column_density, mass_weighted_density : numpy.ndarray
        ``(n_slabs, ny, nx)`` float64 each (``n_slabs = 1`` for the whole depth).

    Raises
    ------
    ValueError
        For a non-3D cube, non-positive values or a depth outside 1..axis length.
    """
    cube = np.moveaxis(np.asarray(density, dtype=np.float64), axis, 0)
    if cube.ndim != 3:
        raise ValueError(f"needs a 3D density cube, got shape {np.shape(density)}")
    if not np.all(cube > 0):
        raise ValueError("density must be strictly positive (finite) everywhere")
    length = cube.shape[0]
    depth = length if depth is None else int(depth)
    if not 1 <= depth <= length:
        raise ValueError(f"depth must be between 1 and {length} cells, got {depth}")
    n_slabs = length // depth
    slabs = cube[:n_slabs * depth].reshape((n_slabs, depth) + cube.shape[1:])
    column = slabs.sum(axis=1)
    return column, (slabs ** 2).sum(axis=1) / column


def normalized_input(column_density):
    """The network input of a column-density map: log10(N / mean N), mean over finite pixels.

    Parameters
    ----------
    column_density : numpy.ndarray
        2D map in any units. Not modified.

    Returns
    -------
    numpy.ndarray
        float64 map.
    """
    ratio = np.asarray(column_density, dtype=np.float64) / np.nanmean(column_density)
    return build_pipeline(list(UNET_PREPROCESS))(ratio)


def random_cube_parameters(n_cubes, *, slope_range, sigma_ln_range, seed):
    """Spectral slope and lognormal width of each cube, drawn uniformly and seeded.

    Returns
    -------
    list of dict
        ``{"id", "slope", "sigma_ln", "seed"}`` per cube; ``seed`` seeds its random phases.
    """
    rng = np.random.default_rng([int(seed), 5])
    slopes = rng.uniform(*slope_range, size=n_cubes)
    widths = rng.uniform(*sigma_ln_range, size=n_cubes)
    return [{"id": index, "slope": float(slopes[index]), "sigma_ln": float(widths[index]),
             "seed": [int(seed), 5, index]} for index in range(n_cubes)]


def build_map_pair_dataset(cubes, *, cube_size, crop_size, crop_step, axes=(0, 1, 2),
                           depths=(None,), progress=None):
    """Make (log10 N/<N>, log10 <n>_m/<n>) crops from seeded lognormal density cubes.

    Each cube is ``exp(sigma_ln g)`` (`training.common.random_fields.lognormal_field`) divided by
    its mean. It is projected along each of ``axes`` (and over each slab depth of ``depths``); the
    projection is normalised by its own mean, then cut into periodic crops on a
    ``crop_step`` lattice. The whole-map normalisation happens before cutting, as the runtime
    normalises the user's whole map before tiling it.

    Parameters
    ----------
    cubes : list of dict
        From `random_cube_parameters`.
    cube_size : int
        Cells per side.
    crop_size, crop_step : int
        Crop side and lattice step in pixels (``crop_step < crop_size`` overlaps crops).
    axes : sequence of int, optional
        Lines of sight; all three by default (one cube, three correlated projections).
    depths : sequence of int or None, optional
        Slab depths in cells; ``None`` is the whole cube.
    progress : callable, optional
        Wrapper of the iteration over cubes (e.g. tqdm).

    Returns
    -------
    MapPairDataset
    """
    inputs, targets, ratios, ids = [], [], [], []
    offsets = range(0, cube_size, int(crop_step))
    for cube in (progress(cubes) if progress else cubes):
        density = lognormal_field((cube_size,) * 3, cube["slope"], sigma_ln=cube["sigma_ln"],
                                  seed=cube["seed"])
        density /= density.mean()
        for axis in axes:
            for depth in depths:
                columns, mass_weighted = column_and_mass_weighted_density(density, axis=axis,
                                                                          depth=depth)
                for column, weighted in zip(columns, mass_weighted):
                    column_ratio = column / column.mean()
                    log_input = normalized_input(column)
                    log_target = np.log10(weighted)  # the cube's mean density is 1
                    for dy in offsets:
                        for dx in offsets:
                            shifted = [
                                np.roll(array, (-dy, -dx), axis=(0, 1))[:crop_size, :crop_size]
                                for array in (log_input, log_target, column_ratio)]
                            inputs.append(shifted[0])
                            targets.append(shifted[1])
                            ratios.append(shifted[2])
                            ids.append(cube["id"])
    parameters = {
        "generator": "training.common.random_fields.lognormal_field, divided by its mean",
        "cube_size_cells": int(cube_size),
        "crop_size_px": int(crop_size),
        "crop_step_px": int(crop_step),
        "projection_axes": [int(axis) for axis in axes],
        "depths_cells": [cube_size if depth is None else int(depth) for depth in depths],
        "input": "log10(N / mean N of the projected map), N = sum of density along the axis",
        "target": "log10(<n>_m / mean density of the cube), <n>_m = sum(n^2) / sum(n)",
        "augmentation": "none here; dihedral symmetries on training crops only, while training",
        "cubes": [dict(cube) for cube in cubes],
    }
    stack = lambda arrays: np.stack(arrays)[:, np.newaxis].astype(np.float32)  # noqa: E731
    return MapPairDataset(stack(inputs), stack(targets), stack(ratios),
                          np.asarray(ids, dtype=np.int64), parameters)
