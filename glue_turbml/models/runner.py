"""Running a checked model on batches of preprocessed tiles."""

from dataclasses import dataclass

import numpy as np

from .loader import LoadedModel
from .registry import resolve_model
from .session import SessionInfo, get_session

__all__ = ["ModelRunner", "open_model"]


@dataclass
class ModelRunner:
    """A model file with its onnxruntime session.

    Attributes
    ----------
    loaded : LoadedModel
    session : onnxruntime.InferenceSession
    info : SessionInfo
    """

    loaded: LoadedModel
    session: object
    info: SessionInfo

    @property
    def card(self):
        """The model card."""
        return self.loaded.card

    def run(self, tiles, *, batch_size=64, on_batch=None):
        """Run the first output of the model on ``(n, C, T, T)`` tiles.

        Parameters
        ----------
        tiles : numpy.ndarray
            Preprocessed tiles, converted to float32 if needed.
        batch_size : int
            Tiles per onnxruntime call (bounds memory on large maps).
        on_batch : callable, optional
            Called with the number of tiles done after each batch (progress bars, cancel checks).

        Returns
        -------
        numpy.ndarray
            The first output, concatenated over batches.
        """
        tiles = np.ascontiguousarray(tiles, dtype=np.float32)
        outputs = []
        for start in range(0, len(tiles), batch_size):
            batch = tiles[start:start + batch_size]
            outputs.append(self.session.run([self.loaded.output_names[0]],
                                            {self.loaded.input_name: batch})[0])
            if on_batch is not None:
                on_batch(len(batch))
        if not outputs:
            return np.empty((0,))
        return np.concatenate(outputs, axis=0)


def open_model(model, *, device="auto"):
    """Load (or reuse) a model and its session.

    Parameters
    ----------
    model : str, path or LoadedModel
        A name from the registry or a path to an ``.onnx`` file.
    device : {"auto", "cpu", "cuda"}

    Returns
    -------
    ModelRunner
    """
    loaded = resolve_model(model)
    session, info = get_session(loaded, device=device)
    return ModelRunner(loaded, session, info)
