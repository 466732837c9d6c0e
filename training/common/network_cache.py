"""Trained networks kept on disk, so a stopped training command resumes without retraining them.

A family member's training is several networks (the shipped one, three per setting control,
the run-identity pairs), hours on two cores; a session or a machine can end between two of
them. A `NetworkCache` keeps each finished network's weights and training record under a key
made from everything its training depends on (the options and the exact training and
validation inputs), so the same call started again loads the finished ones and trains only the
rest, and any change of data or options trains afresh. The training code itself is not in the
key (a key of the commit would throw the cache away at every unrelated commit): empty the
folder after changing how networks are trained.
"""

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

__all__ = ["NetworkCache", "network_key"]


def network_key(description, *arrays):
    """A hex key for one network's training.

    Parameters
    ----------
    description : dict
        JSON-serializable options of the training (net, optimizer, seed, role).
    *arrays : numpy.ndarray
        The training inputs as given to it (images, labels, validation images and labels).

    Returns
    -------
    str
        sha256 of the description and of every array's dtype, shape and bytes.
    """
    digest = hashlib.sha256(json.dumps(description, sort_keys=True, default=str).encode())
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return digest.hexdigest()


class NetworkCache:
    """A folder of trained networks, ``<key>.pt`` each (a state dict and its training record).

    Parameters
    ----------
    folder : str or pathlib.Path
        Created where missing; keep it outside the repository, beside the runs.

    Attributes
    ----------
    reused, trained : list of str
        Keys loaded from the folder and keys trained and stored by this process, in order.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.reused = []
        self.trained = []

    def _path(self, key):
        return self.folder / f"{key}.pt"

    def load(self, key, model):
        """Put the stored weights of ``key`` into ``model`` (set to eval mode).

        Returns
        -------
        training.common.train.TrainingResult or None
            The stored training record; None where nothing is stored under ``key``.
        """
        import torch

        from .train import TrainingResult

        path = self._path(key)
        if not path.is_file():
            return None
        stored = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(stored["state_dict"])
        model.eval()
        self.reused.append(key)
        return TrainingResult(**json.loads(stored["result"]))

    def store(self, key, model, result):
        """Keep ``model``'s weights and ``result`` under ``key`` (written whole or not at all)."""
        import torch

        path = self._path(key)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        torch.save({"state_dict": model.state_dict(),
                    "result": json.dumps(asdict(result), default=float)}, partial)
        os.replace(partial, path)
        self.trained.append(key)

    def summary(self):
        """``{"folder", "reused", "trained"}`` (counts) for a report."""
        return {"folder": os.fspath(self.folder), "reused": len(self.reused),
                "trained": len(self.trained)}
