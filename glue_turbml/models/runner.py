"""Running a checked model on batches of preprocessed tiles."""

from dataclasses import dataclass

import numpy as np

from .loader import LoadedModel
from .registry import resolve_model
from .session import SessionInfo, get_session
from .statistics_feed import statistics_feed

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

    def run(self, tiles, *, batch_size=64, on_batch=None, outputs=None, map_statistics=None):
        """Run the first output (or the named outputs) of the model on ``(n, C, T, T)`` tiles.

        Parameters
        ----------
        tiles : numpy.ndarray
            Preprocessed tiles, converted to float32 if needed.
        map_statistics : numpy.ndarray, optional
            For a model whose card names ``input.map_statistics`` (and only then): the
            statistics of the whole map the tiles are cut from (`TiledInput.map_statistics`),
            fed beside every tile.
        batch_size : int
            Tiles per onnxruntime call (bounds memory on large maps).
        on_batch : callable, optional
            Called with the number of tiles done after each batch (progress bars, cancel checks).
        outputs : tuple of str, optional
            Graph outputs to return (e.g. ``("logits", "embedding")``), in one pass.

        Returns
        -------
        numpy.ndarray or tuple of numpy.ndarray
            The first output concatenated over batches, or one array per named output.
        """
        tiles = np.ascontiguousarray(tiles, dtype=np.float32)
        names = [self.loaded.output_names[0]] if outputs is None else list(outputs)
        statistics = statistics_feed(self.card, map_statistics)
        batches = []
        for start in range(0, len(tiles), batch_size):
            batch = tiles[start:start + batch_size]
            feeds = {self.loaded.input_name: batch}
            if statistics is not None:
                feeds[statistics[0]] = np.repeat(statistics[1], len(batch), axis=0)
            batches.append(self.session.run(names, feeds))
            if on_batch is not None:
                on_batch(len(batch))
        if not batches:
            empty = np.empty((0,))
            return empty if outputs is None else tuple(empty for _ in names)
        joined = tuple(np.concatenate([batch[index] for batch in batches], axis=0)
                       for index in range(len(names)))
        return joined[0] if outputs is None else joined


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
