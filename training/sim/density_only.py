"""A copy of a folder of simulation runs with each snapshot cut down to its density.

A snapshot holds density, velocity and cell-centred B (seven cubes); the classifiers and the
density statistics read only the density (the primary HDU) and the header, which also carries the
measured M_s and M_A. Runs made on a lent GPU machine come back through a transfer limit, so
they travel as this copy (a seventh of the size)::

    python -m training.sim.density_only SOURCE DESTINATION

Everything but the snapshots (manifests, recipe records, logs) is copied as it is; checkpoints
and unfinished temporary files are left out. The copy is marked in each header (``DENSONLY``),
and :func:`training.sim.snapshots.read_snapshot`, which needs the velocity and B, refuses it
with that reason.
"""

import shutil
import sys
from pathlib import Path

from .snapshots import DENSITY_ONLY_KEY

__all__ = ["DENSITY_ONLY_KEY", "copy_density_only", "main"]

_LEFT_OUT = {"checkpoint.pt"}


def _write_density_only(source, destination):
    from astropy.io import fits

    # the stored dtype (float32 for the recipes), not the readers' float64
    with fits.open(source) as hdul:
        header = hdul[0].header.copy()
        density = hdul[0].data.copy()
    header[DENSITY_ONLY_KEY] = (True, "velocity and B left out (training.sim.density_only)")
    temporary = destination.with_suffix(".tmp")
    fits.PrimaryHDU(density, header=header).writeto(temporary, overwrite=True)
    temporary.replace(destination)


def copy_density_only(source, destination):
    """Copy the folder ``source`` to ``destination`` with density-only snapshots.

    Parameters
    ----------
    source : str or Path
        A folder of runs (``<recipe>/<class>/seed_NNNN/snapshot_NNN.fits`` and the rest).
    destination : str or Path
        A folder that does not exist yet.

    Returns
    -------
    dict
        ``snapshots`` (how many were cut down), ``files`` (copied as they are) and the bytes of
        the source snapshots and of their copies (``snapshot_bytes``, ``copied_snapshot_bytes``).
    """
    source, destination = Path(source), Path(destination)
    if destination.exists():
        raise FileExistsError(f"{destination} exists; give a new folder so nothing is overwritten")
    counts = {"snapshots": 0, "files": 0, "snapshot_bytes": 0, "copied_snapshot_bytes": 0}
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name in _LEFT_OUT or path.suffix == ".tmp":
            continue
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.name.startswith("snapshot_") and path.suffix == ".fits":
            _write_density_only(path, target)
            counts["snapshots"] += 1
            counts["snapshot_bytes"] += path.stat().st_size
            counts["copied_snapshot_bytes"] += target.stat().st_size
        else:
            shutil.copy2(path, target)
            counts["files"] += 1
    return counts


def main(argv=None):
    """Command line: ``SOURCE DESTINATION``; prints what was copied."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    counts = copy_density_only(*arguments)
    print(f"density-only copy: {counts['snapshots']} snapshots "
          f"({counts['snapshot_bytes'] / 2**20:.1f} MiB -> "
          f"{counts['copied_snapshot_bytes'] / 2**20:.1f} MiB), {counts['files']} other files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
