"""Tiled, preprocessed training sets from maps and cubes, split by realization."""

from dataclasses import dataclass, field

import numpy as np

from glue_turbml.core import build_pipeline, extract_tiles, make_tile_grid

__all__ = [
    "TileDataset",
    "periodic_shifts",
    "cut_tiles",
    "map_slices",
    "build_tile_dataset",
    "split_realizations",
    "select_realization_rows",
]


@dataclass
class TileDataset:
    """Preprocessed tiles with their labels and the realization each tile was cut from.

    Attributes
    ----------
    images : numpy.ndarray
        ``(n, 1, T, T)`` float32 network inputs.
    labels : numpy.ndarray
        ``(n,)`` int64 class numbers.
    realizations : numpy.ndarray
        ``(n,)`` int64 identifier of the field (simulation run, random realization) each tile
        comes from; splits are made on these so that no field feeds two splits.
    parameters : dict
        JSON-friendly record of how the tiles were made (tile size, shifts, preprocessing, ...).
    sources : numpy.ndarray or None
        ``(n,)`` int64 index of the map each tile was cut from, where a map gives several
        tiles; None where the maker does not record it.
    """

    images: np.ndarray
    labels: np.ndarray
    realizations: np.ndarray
    parameters: dict = field(default_factory=dict)
    sources: np.ndarray = None

    def __len__(self):
        return len(self.labels)

    def select_realizations(self, realization_ids):
        """Return the tiles cut from the given realizations, in their original order.

        Parameters
        ----------
        realization_ids : array_like of int

        Returns
        -------
        TileDataset
            A new dataset (copies of the arrays) with ``parameters["realization_ids"]`` set.
        """
        keep, parameters = select_realization_rows(self.realizations, realization_ids,
                                                   self.parameters)
        return TileDataset(self.images[keep], self.labels[keep], self.realizations[keep],
                           parameters, None if self.sources is None else self.sources[keep])

    def class_counts(self):
        """Number of tiles per class number, as a dict ``{label: count}``."""
        values, counts = np.unique(self.labels, return_counts=True)
        return {int(value): int(count) for value, count in zip(values, counts)}


def select_realization_rows(realizations, realization_ids, parameters):
    """Rows of a dataset cut from the given realizations, and its parameters recording them.

    The selection behind ``select_realizations`` of `TileDataset` and
    `training.unet.data.MapPairDataset`.

    Parameters
    ----------
    realizations : numpy.ndarray
        ``(n,)`` int64 realization of every row.
    realization_ids : array_like of int
        The realizations to keep.
    parameters : dict
        The dataset's parameters (not modified).

    Returns
    -------
    keep : numpy.ndarray
        ``(n,)`` bool, rows in their original order.
    parameters : dict
        A copy of ``parameters`` with ``realization_ids`` set to the sorted wanted ids.
    """
    wanted = np.asarray(sorted(int(ident) for ident in realization_ids), dtype=np.int64)
    keep = np.isin(realizations, wanted)
    return keep, dict(parameters, realization_ids=wanted.tolist())


def periodic_shifts(tile_size, shift):
    """All ``(dy, dx)`` periodic shifts that are multiples of ``shift`` smaller than a tile.

    Rolling a periodic map by these offsets before cutting it on a fixed grid gives every tile
    position on a ``shift``-pixel lattice exactly once (Peek & Burkhart 2019 shift by 64 cells).

    Parameters
    ----------
    tile_size : int
    shift : int or None
        Step between shifts; ``None`` or ``tile_size`` give only ``(0, 0)``.

    Returns
    -------
    list of tuple of int

    Examples
    --------
    >>> periodic_shifts(128, 64)
    [(0, 0), (0, 64), (64, 0), (64, 64)]
    """
    if shift is None:
        return [(0, 0)]
    shift = int(shift)
    if not 0 < shift <= tile_size:
        raise ValueError(f"shift must be between 1 and the tile size {tile_size}, got {shift}")
    offsets = range(0, tile_size, shift)
    return [(dy, dx) for dy in offsets for dx in offsets]


def cut_tiles(image, *, tile_size, shifts, pipeline):
    """Cut non-overlapping tiles from periodically shifted copies of a map, then preprocess them.

    Preprocessing runs per tile after cutting, exactly as the runtime does on users' maps, so a
    step that depends on the whole image (histogram equalization, FFP) sees the same pixels in
    training and in inference.

    Parameters
    ----------
    image : numpy.ndarray
        2D periodic map (a simulation slice or a random field). Not modified.
    tile_size : int
    shifts : list of tuple of int
        ``(dy, dx)`` offsets for `numpy.roll`, e.g. from `periodic_shifts`.
    pipeline : callable
        From `glue_turbml.core.build_pipeline`.

    Returns
    -------
    numpy.ndarray
        ``(len(shifts) * n_grid_tiles, T, T)`` float32 tiles, shift by shift, row-major.
    """
    grid = make_tile_grid(image.shape, tile_size, stride=tile_size, boundary="periodic")
    tiles_per_shift = [pipeline(extract_tiles(np.roll(image, offset, axis=(0, 1)), grid))
                       for offset in shifts]
    return np.concatenate(tiles_per_shift, axis=0).astype(np.float32, copy=False)


def map_slices(field_data, *, axis=0, slice_step=1):
    """The 2D maps of a field: the map itself, or every ``slice_step``-th slice of a cube.

    Parameters
    ----------
    field_data : numpy.ndarray
        2D map or 3D cube.
    axis : int, optional
        Cube axis to slice along (e.g. the mean-field direction, to cut perpendicular to it).
    slice_step : int, optional
        Take one slice in ``slice_step``; neighbouring slices of a cube are strongly correlated.

    Returns
    -------
    list of numpy.ndarray
        Views of the 2D maps.
    """
    array = np.asarray(field_data)
    if array.ndim == 2:
        return [array]
    if array.ndim == 3:
        moved = np.moveaxis(array, axis, 0)
        return [moved[index] for index in range(0, moved.shape[0], int(slice_step))]
    raise ValueError(f"fields must be 2D maps or 3D cubes, got shape {array.shape}")


def build_tile_dataset(fields, labels, realizations, *, tile_size, preprocess, shift=None,
                       axis=0, slice_step=1, progress=None):
    """Tile and preprocess a collection of labelled fields.

    Parameters
    ----------
    fields : sequence of numpy.ndarray
        2D maps or 3D cubes (periodic boxes), one per realization.
    labels : sequence of int
        Class number of each field.
    realizations : sequence of int
        Identifier of the realization each field belongs to, carried to every tile cut from
        it. Fields that are not independent (snapshots or slices of one simulation run) must
        share an identifier so that a split keeps them together.
    tile_size : int
        Side of the square tiles.
    preprocess : list of dict
        The model card's preprocessing steps, built with `glue_turbml.core.build_pipeline`.
    shift : int, optional
        Periodic shift step for extra tiles (see `periodic_shifts`); none by default.
    axis, slice_step : int, optional
        How cubes are sliced (see `map_slices`).
    progress : callable, optional
        Wrapper for the iteration over fields, e.g. ``functools.partial(tqdm, desc="tiles")``.

    Returns
    -------
    TileDataset

    Raises
    ------
    ValueError
        If the lengths differ or one realization carries two labels.
    """
    if not len(fields) == len(labels) == len(realizations):
        raise ValueError(f"got {len(fields)} fields, {len(labels)} labels and "
                         f"{len(realizations)} realization ids; they must match one to one")
    label_of = {}
    for label, ident in zip(labels, realizations):
        if label_of.setdefault(int(ident), int(label)) != int(label):
            raise ValueError(f"realization {ident} has fields with labels {label_of[int(ident)]} "
                             f"and {label}; a realization belongs to one class")
    pipeline = build_pipeline(preprocess)
    shifts = periodic_shifts(tile_size, shift)
    images, tile_labels, tile_realizations = [], [], []
    items = list(zip(fields, labels, realizations))
    for field_data, label, ident in (progress(items) if progress else items):
        for image in map_slices(field_data, axis=axis, slice_step=slice_step):
            tiles = cut_tiles(image, tile_size=tile_size, shifts=shifts, pipeline=pipeline)
            images.append(tiles)
            tile_labels.append(np.full(len(tiles), int(label), dtype=np.int64))
            tile_realizations.append(np.full(len(tiles), int(ident), dtype=np.int64))
    parameters = {
        "tile_size": int(tile_size),
        "shift": None if shift is None else int(shift),
        "shifts": [list(offset) for offset in shifts],
        "tiling": "non-overlapping grid on periodically rolled maps",
        "preprocess": [dict(step) for step in preprocess],
        "preprocess_applied": "per tile, after cutting (as at inference)",
        "slice_axis": int(axis),
        "slice_step": int(slice_step),
        "n_fields": len(fields),
        "n_realizations": len(label_of),
    }
    return TileDataset(
        images=np.concatenate(images)[:, np.newaxis],
        labels=np.concatenate(tile_labels),
        realizations=np.concatenate(tile_realizations),
        parameters=parameters,
    )


def split_realizations(realization_ids, realization_labels, *, n_validation, n_test, seed):
    """Assign whole realizations, class by class, to train, validation and test sets.

    Splitting on realizations (not on tiles) keeps every structure of a field inside one set;
    shifted and neighbouring tiles of one field are strongly correlated, and letting them cross
    sets would inflate held-out scores.

    Parameters
    ----------
    realization_ids : sequence of int
        One id per field.
    realization_labels : sequence of int
        Class number of each field.
    n_validation, n_test : int
        Realizations per class in the validation and the test set (the rest train).
    seed : int
        Seed of the shuffle within each class.

    Returns
    -------
    dict
        ``{"train": ids, "validation": ids, "test": ids}``, sorted lists of int.

    Raises
    ------
    ValueError
        If a class has too few realizations to leave at least one for training.

    Examples
    --------
    >>> split = split_realizations(range(8), [0, 0, 0, 0, 1, 1, 1, 1], n_validation=1, n_test=1,
    ...                            seed=0)
    >>> sorted(len(ids) for ids in split.values())
    [2, 2, 4]
    """
    ids = np.asarray(list(realization_ids), dtype=np.int64)
    labels = np.asarray(list(realization_labels), dtype=np.int64)
    if len(ids) != len(labels):
        raise ValueError("one label per realization id is needed")
    rng = np.random.default_rng(seed)
    split = {"train": [], "validation": [], "test": []}
    for label in np.unique(labels):
        members = rng.permutation(ids[labels == label])
        if len(members) < n_validation + n_test + 1:
            raise ValueError(f"class {label} has {len(members)} realizations; need at least "
                             f"{n_validation + n_test + 1} for the requested split")
        split["test"].extend(members[:n_test].tolist())
        split["validation"].extend(members[n_test:n_test + n_validation].tolist())
        split["train"].extend(members[n_test + n_validation:].tolist())
    return {name: sorted(int(ident) for ident in members) for name, members in split.items()}
