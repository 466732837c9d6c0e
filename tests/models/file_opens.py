"""Watching which files get opened, by Python code and by compiled libraries alike.

Python's ``open`` audit events miss files opened by C++ (onnx reads external data in C++, and so
does onnxruntime), so on Linux the kernel is asked as well, through inotify: it reports every open
of a file in a watched folder, whoever opens it.
"""

import ctypes
import os
import struct
import sys
from contextlib import contextmanager

__all__ = ["watch_opens", "KERNEL_WATCH"]

#: True where opens by compiled code are seen too (Linux); elsewhere only Python's opens are.
KERNEL_WATCH = sys.platform.startswith("linux")

_IN_OPEN = 0x00000020
_IN_ISDIR = 0x40000000
_EVENT_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then name

#: Paths opened while a `watch_opens` block runs, else None: an audit hook cannot be removed, so
#: the one hook added stays and looks at this list.
_python_opens = None
_hook_added = False


def _record_python_open(event, args):
    if event == "open" and _python_opens is not None and isinstance(args[0], (str, bytes)):
        _python_opens.append(os.path.abspath(os.fsdecode(args[0])))


class _Inotify:
    """Open events of the files directly inside some folders (Linux inotify, via libc)."""

    def __init__(self, folders):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.folders = {}
        for folder in folders:
            watch = libc.inotify_add_watch(self.fd, os.fsencode(folder), _IN_OPEN)
            if watch < 0:
                os.close(self.fd)
                raise OSError(ctypes.get_errno(), f"cannot watch {folder}")
            self.folders[watch] = str(folder)

    def opened_files(self):
        paths = set()
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                watch, mask, _, length = _EVENT_HEADER.unpack_from(data, offset)
                start = offset + _EVENT_HEADER.size
                name = data[start:start + length].rstrip(b"\0")
                offset = start + length
                if mask & _IN_OPEN and not mask & _IN_ISDIR and name:
                    paths.add(os.path.join(self.folders[watch], os.fsdecode(name)))
        os.close(self.fd)
        return paths


@contextmanager
def watch_opens(*folders):
    """Collect the files opened inside ``folders`` during the ``with`` block.

    Parameters
    ----------
    *folders : str or os.PathLike
        Absolute folders; files directly inside each are watched (list subfolders too).

    Yields
    ------
    set of str
        Absolute paths of the files opened, filled in when the block ends.
    """
    global _python_opens, _hook_added
    if not _hook_added:
        sys.addaudithook(_record_python_open)
        _hook_added = True
    folders = [str(folder) for folder in folders]
    kernel = _Inotify(folders) if KERNEL_WATCH else None
    opened = set()
    _python_opens = python_opens = []
    try:
        yield opened
    finally:
        _python_opens = None
        opened.update(path for path in python_opens if os.path.dirname(path) in folders)
        if kernel is not None:
            opened.update(kernel.opened_files())
