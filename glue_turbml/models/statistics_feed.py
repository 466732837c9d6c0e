"""The map statistics fed beside every tile to a model whose card names them."""

import numpy as np

__all__ = ["statistics_feed"]


def statistics_feed(card, map_statistics):
    """``(input name, (1, k) float32 row)`` of a model reading map statistics, else None.

    Raises
    ------
    ValueError
        When the card names map statistics and none are given, or the other way round, or
        their number differs from the card's.
    """
    declared = card["input"].get("map_statistics")
    if declared is None:
        if map_statistics is not None:
            raise ValueError(f"model {card['name']!r} reads no map statistics; none may be given")
        return None
    if map_statistics is None:
        raise ValueError(f"model {card['name']!r} reads the statistics {declared['names']} of "
                         "the whole map beside each tile; compute them before tiling "
                         "(glue_turbml.tiled_input gives them as TiledInput.map_statistics)")
    row = np.asarray(map_statistics, dtype=np.float32).reshape(1, -1)
    if row.shape[1] != len(declared["names"]):
        raise ValueError(f"model {card['name']!r} reads {len(declared['names'])} map statistics "
                         f"({', '.join(declared['names'])}), got {row.shape[1]}")
    return declared["input"], row
