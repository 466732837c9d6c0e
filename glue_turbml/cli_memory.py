"""The memory check of the ``turbml`` subcommands: refuse, before any work, a run that needs
more memory than the machine has free, with what to change instead of a late failure.

Set ``GLUE_TURBML_MEMORY_LIMIT_MB`` to state the available memory in MiB yourself (a batch
job's share of a node, or a test); otherwise ``MemAvailable`` of ``/proc/meminfo`` is used,
then ``os.sysconf``, and where neither exists no check is made.
"""

import os

__all__ = ["BYTES_PER_PIXEL", "MEMORY_LIMIT_VARIABLE", "SPECTRA_CHUNK_COPIES", "MemoryNeedError",
           "available_memory", "fits_pixels", "spectra_need", "check_memory"]

#: Peak resident memory per map pixel, measured by ``benchmarks/memory_per_pixel.py``
#: (``docs/results/memory_per_pixel.json``): the growth of ``ru_maxrss`` of a fresh process over
#: one float32 map after a 256 x 256 warm-up run (imports, onnxruntime's first arenas), on the
#: larger of two sizes, rounded up to 5: classify (kolmogorov-burgers-fbm, 2048^2) 131.0, saliency
#: (guided, 2048^2) 193.7, map (mass-weighted-density, 1024^2) 417.7. The slopes between the two
#: sizes (67.7, 123.1, 411.8) are lower: fixed costs are spread over the pixels. The tiling and
#: the activations dominate, so the need grows with the pixels, not with the model file.
#: ``regress`` tiles and preprocesses as classify does, and its networks also pool each tile to
#: a few numbers, so it takes classify's figure (not measured on its own).
BYTES_PER_PIXEL = {"classify": 135, "regress": 135, "saliency": 195, "map": 420}

MEMORY_LIMIT_VARIABLE = "GLUE_TURBML_MEMORY_LIMIT_MB"

_MIB = 1024 ** 2


class MemoryNeedError(Exception):
    """A run that needs more memory than is available; exit status 2."""


def available_memory():
    """Bytes of memory available to a new run, or ``None`` where it cannot be known.

    Returns
    -------
    int or None
        ``GLUE_TURBML_MEMORY_LIMIT_MB`` (MiB) when set, else ``MemAvailable`` of
        ``/proc/meminfo``, else available physical pages from `os.sysconf`.

    Raises
    ------
    MemoryNeedError
        When the environment variable is not a number.
    """
    stated = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if stated:
        try:
            return int(float(stated) * _MIB)
        except ValueError:
            raise MemoryNeedError(f"{MEMORY_LIMIT_VARIABLE}={stated!r} is not a number of "
                                  "MiB; unset it or give e.g. 4096") from None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def fits_pixels(path, *, hdu=None):
    """The pixels of one map and of the whole data unit of a FITS image, from its header.

    Parameters
    ----------
    path : path
    hdu : int or str, optional
        The HDU the run reads (default: the first with two or more axes).

    Returns
    -------
    (int, int)
        Pixels of one plane (``NAXIS1 * NAXIS2``) and of the whole array; ``(0, 0)`` when the
        header cannot be read (the run then reports the problem itself).
    """
    from astropy.io import fits

    try:
        with fits.open(path, lazy_load_hdus=True) as hdulist:
            chosen = [hdulist[hdu]] if hdu is not None else hdulist
            for entry in chosen:
                header = entry.header
                axes = [header.get(f"NAXIS{index}", 0) for index in
                        range(1, header.get("NAXIS", 0) + 1)]
                if len(axes) >= 2:
                    total = 1
                    for length in axes:
                        total *= length
                    return axes[0] * axes[1], total
    except Exception:  # noqa: BLE001 - unreadable files are reported when they are analysed
        pass
    return 0, 0


#: Float64 copies of one chunk of spectra that ``turbml spectra`` holds at once (the chunk,
#: the line-masked copy, its interpolation, the bin sums and counts, the colours' inputs).
SPECTRA_CHUNK_COPIES = 6


def spectra_need(cube_values, n_channels, *, chunk_spaxels):
    """Bytes ``turbml spectra`` holds for a cube: the cube as float64 (the largest form it can be
    read in: scaled integers become floats) and `SPECTRA_CHUNK_COPIES` float64 copies of one
    chunk of ``chunk_spaxels`` spectra. An upper bound from the arrays held, not a measurement.

    Parameters
    ----------
    cube_values : int
        Values in the whole cube.
    n_channels : int
        Spectral channels (values per spectrum).
    chunk_spaxels : int
    """
    return 8 * cube_values + SPECTRA_CHUNK_COPIES * 8 * chunk_spaxels * n_channels


def check_memory(command, files, *, hdu=None, remedy, chunk_spaxels=4096):
    """Refuse a run whose largest input needs more memory than is available.

    Files are analysed one at a time, so the largest one sets the need: its map pixels times
    `BYTES_PER_PIXEL`, plus four bytes per value of the whole array for a cube (read as
    float32 before it is reduced to a map).

    Parameters
    ----------
    command : {"classify", "regress", "saliency", "map", "spectra"}
        ``evaluate`` classifies its files one plane at a time: it checks as ``"classify"``.
    files : sequence of path
    hdu : int or str, optional
    remedy : str
        What to change, in the command's flags.
    chunk_spaxels : int, optional
        Spectra per chunk (``"spectra"`` only; see `spectra_need`).

    Raises
    ------
    MemoryNeedError
        Naming the need, the available memory and the remedy.
    """
    available = available_memory()
    if available is None or not files:
        return
    needs = []
    for path in files:
        plane, total = fits_pixels(path, hdu=hdu)
        if command == "spectra":
            needs.append((spectra_need(total, total // max(plane, 1),
                                       chunk_spaxels=chunk_spaxels), path))
            continue
        extra = 4 * total if total > plane else 0
        needs.append((BYTES_PER_PIXEL[command] * plane + extra, path))
    need, path = max(needs, key=lambda entry: entry[0])
    if need > available:
        raise MemoryNeedError(
            f"{path} needs about {need / _MIB:,.0f} MiB for turbml {command} but "
            f"{available / _MIB:,.0f} MiB are available; {remedy} (or set "
            f"{MEMORY_LIMIT_VARIABLE} if the available memory is misjudged)")
