"""The memory check of the ``turbml`` subcommands: refuse, before any work, a run that needs
more memory than the machine has free, with what to change instead of a late failure.

Set ``GLUE_TURBML_MEMORY_LIMIT_MB`` to state the available memory in MiB yourself (a batch
job's share of a node, or a test); otherwise ``MemAvailable`` of ``/proc/meminfo`` is used,
then ``os.sysconf``, and where neither exists no check is made.
"""

import os

__all__ = ["BYTES_PER_PIXEL", "MEMORY_LIMIT_VARIABLE", "MemoryNeedError", "available_memory",
           "fits_pixels", "check_memory"]

#: Peak resident memory per map pixel. classify: 130, measured as the growth of ``ru_maxrss``
#: in a fresh process over one float32 2048 x 2048 map (kolmogorov-burgers, CPU, default stride),
#: after a 256 x 256 warm-up run had paid the imports and onnxruntime's first arenas (2026-12,
#: 2 shared cores; 148 without the warm-up). saliency (guided, batch 32) and map
#: (mass-weighted-density, batch 16) are the issue's measurements, 104 and 440: the same
#: measurement of them did not finish on the shared CPU. The tiling and the activations dominate,
#: so the need grows with the pixels, not with the model file.
BYTES_PER_PIXEL = {"classify": 130, "saliency": 104, "map": 440}

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


def check_memory(command, files, *, hdu=None, remedy):
    """Refuse a run whose largest input needs more memory than is available.

    Files are analysed one at a time, so the largest one sets the need: its map pixels times
    `BYTES_PER_PIXEL`, plus four bytes per value of the whole array for a cube (read as
    float32 before it is reduced to a map).

    Parameters
    ----------
    command : {"classify", "saliency", "map"}
    files : sequence of path
    hdu : int or str, optional
    remedy : str
        What to change, in the command's flags.

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
        extra = 4 * total if total > plane else 0
        needs.append((BYTES_PER_PIXEL[command] * plane + extra, path))
    need, path = max(needs, key=lambda entry: entry[0])
    if need > available:
        raise MemoryNeedError(
            f"{path} needs about {need / _MIB:,.0f} MiB for turbml {command} but "
            f"{available / _MIB:,.0f} MiB are available; {remedy} (or set "
            f"{MEMORY_LIMIT_VARIABLE} if the available memory is misjudged)")
