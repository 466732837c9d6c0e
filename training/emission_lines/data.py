"""The DESI SV3 emission-line data set: loading, colour features and the split by TARGETID."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glue_turbml.core.continuum_bins import (DESI_BIN_EDGES_ANGSTROM, EMISSION_LINE_NAMES,
                                             colours_from_bin_fluxes)

__all__ = [
    "DEFAULT_DATA_PATH",
    "SPLIT_NAMES",
    "LineTable",
    "EmissionLineData",
    "load_emission_line_data",
    "restrict_bins",
    "split_targetids",
]

#: ``../shared/data/desi_sv3_emission_lines.npz`` beside the repository (never copied into it).
DEFAULT_DATA_PATH = (Path(__file__).resolve().parents[3] / "shared" / "data"
                     / "desi_sv3_emission_lines.npz")
SPLIT_NAMES = ("train", "validation", "test")


@dataclass
class LineTable:
    """The rows of one line: galaxies with all 12 bins positive and a measured EW.

    Attributes
    ----------
    line : str
    targetid : numpy.ndarray of int64
    bin_flux : numpy.ndarray
        ``(n, 12)`` mean rest-frame continuum flux densities.
    colours : numpy.ndarray
        ``(n, 11)`` float32 ``log10(f[j + 1] / f[j])`` (`glue_turbml.core.continuum_bins`).
    ew_obs, ew_ivar, ew_pred_published, redshift : numpy.ndarray
        ``(n,)``; EW in Angstrom, positive = emission.
    split : numpy.ndarray of int8
        0 train, 1 validation, 2 test (index into `SPLIT_NAMES`).
    """

    line: str
    targetid: np.ndarray
    bin_flux: np.ndarray
    colours: np.ndarray
    ew_obs: np.ndarray
    ew_ivar: np.ndarray
    ew_pred_published: np.ndarray
    redshift: np.ndarray
    split: np.ndarray

    def rows(self, split_name):
        """Boolean selection of the rows in ``"train"``, ``"validation"`` or ``"test"``."""
        return self.split == SPLIT_NAMES.index(split_name)


@dataclass
class EmissionLineData:
    """All ten lines, split once by TARGETID.

    Attributes
    ----------
    tables : dict of str to LineTable
    path : str
    split_seed : int
    split_fractions : tuple of float
    split_counts : dict
        Distinct galaxies per split.
    weights_cache : dict
        Per-line loss weights, filled by the callers of
        `training.emission_lines.desi_emission_lines.line_weights`.
    """

    tables: dict
    path: str
    split_seed: int
    split_fractions: tuple
    split_counts: dict
    weights_cache: dict = field(default_factory=dict)
    bin_edges: tuple = DESI_BIN_EDGES_ANGSTROM

    def provenance(self):
        """JSON-friendly description of the data and the split, for cards and reports."""
        return {
            "path": "../shared/data/" + os.path.basename(self.path),
            "bin_edges_angstrom": list(self.bin_edges),
            "rows_per_line": {line: int(len(table.targetid))
                              for line, table in self.tables.items()},
            "split": {"by": "TARGETID (union over all ten lines, split once)",
                      "seed": self.split_seed, "fractions": list(self.split_fractions),
                      "galaxies": self.split_counts},
        }


def split_targetids(targetids, *, seed, fractions=(0.8, 0.1, 0.1)):
    """Assign each distinct TARGETID to train, validation or test.

    Parameters
    ----------
    targetids : array_like of int
        Any TARGETIDs (duplicates allowed); the split is over the distinct ones.
    seed : int
        Seed of the permutation.
    fractions : tuple of float
        Train, validation and test fractions summing to 1.

    Returns
    -------
    unique_ids : numpy.ndarray of int64
        Sorted distinct TARGETIDs.
    split : numpy.ndarray of int8
        0, 1 or 2 for each of ``unique_ids``.
    """
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    unique_ids = np.unique(np.asarray(targetids, dtype=np.int64))
    order = np.random.default_rng(seed).permutation(unique_ids.size)
    n_train = int(round(fractions[0] * unique_ids.size))
    n_validation = int(round(fractions[1] * unique_ids.size))
    split = np.empty(unique_ids.size, dtype=np.int8)
    split[order[:n_train]] = 0
    split[order[n_train:n_train + n_validation]] = 1
    split[order[n_train + n_validation:]] = 2
    return unique_ids, split


def load_emission_line_data(path=DEFAULT_DATA_PATH, *, split_seed=20240601,
                            fractions=(0.8, 0.1, 0.1)):
    """Read the npz file and split its galaxies.

    Parameters
    ----------
    path : str or os.PathLike, optional
    split_seed : int, optional
    fractions : tuple of float, optional

    Returns
    -------
    EmissionLineData

    Raises
    ------
    FileNotFoundError
        Naming where the file is expected.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the DESI SV3 emission-line data is missing; it lives in "
                                "../shared/data/ (see ../shared/data/README.md)")
    with np.load(path) as archive:
        raw = {key: archive[key] for key in archive.files}
    all_ids = np.concatenate([raw[f"{line}__targetid"] for line in EMISSION_LINE_NAMES])
    unique_ids, unique_split = split_targetids(all_ids, seed=split_seed, fractions=fractions)
    tables = {}
    for line in EMISSION_LINE_NAMES:
        targetid = raw[f"{line}__targetid"].astype(np.int64)
        bin_flux = raw[f"{line}__bin_flux"]
        tables[line] = LineTable(
            line=line, targetid=targetid, bin_flux=bin_flux,
            colours=colours_from_bin_fluxes(bin_flux).astype(np.float32),
            ew_obs=raw[f"{line}__ew_obs"].astype(np.float64),
            ew_ivar=raw[f"{line}__ew_ivar"].astype(np.float64),
            ew_pred_published=raw[f"{line}__ew_pred_published"].astype(np.float64),
            redshift=raw[f"{line}__redshift"].astype(np.float64),
            split=unique_split[np.searchsorted(unique_ids, targetid)])
    counts = {name: int(np.sum(unique_split == index)) for index, name in enumerate(SPLIT_NAMES)}
    return EmissionLineData(tables=tables, path=str(path), split_seed=int(split_seed),
                            split_fractions=tuple(float(f) for f in fractions),
                            split_counts=counts)


def restrict_bins(data, first_edge):
    """Keep only the bins from ``first_edge`` (Angstrom) redward, for narrow-coverage models.

    Cubes that cannot reach 3400 A rest (MUSE starts at 4750 A observed) need a model of the
    red bins alone; its colours are the trailing columns of the full set, so the galaxies,
    the split and the targets stay the same.

    Parameters
    ----------
    data : EmissionLineData
        Modified in place: each table's ``colours`` and ``bin_flux`` lose the blue columns.
    first_edge : float
        One of the bin edges.

    Returns
    -------
    EmissionLineData
        ``data``.
    """
    edges = list(data.bin_edges)
    if float(first_edge) not in edges[:-2]:
        raise ValueError(f"first_edge must be one of the bin edges {edges[:-2]}, got {first_edge}")
    first = edges.index(float(first_edge))
    for table in data.tables.values():
        table.bin_flux = table.bin_flux[:, first:]
        table.colours = np.ascontiguousarray(table.colours[:, first:])
    data.bin_edges = tuple(edges[first:])
    data.weights_cache.clear()
    return data
