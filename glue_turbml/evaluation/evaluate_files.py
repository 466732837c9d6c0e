"""Classify every labelled map, cube plane or projection and score the answers."""

import numpy as np

from ..classification import classify_image
from ..core import PreprocessError, TilingError
from ..inputs import InputError, parse_input, reduce_to_image
from .result import EvaluationResult
from .scores import classification_scores

__all__ = ["evaluate_labelled", "classifier_classes"]


def classifier_classes(card):
    """Class names of a classifier's card.

    Raises
    ------
    ValueError
        For a model that is not a classifier (evaluation scores classes).
    """
    if card["task"] != "classification":
        raise ValueError(f"model {card['name']!r} has task {card['task']!r}; evaluation scores "
                         "classifiers")
    return [entry["name"] for entry in card["classes"]]


def _images_of(labelled, *, hdu, axis, slices, projection, slice_step):
    """``(plane index or None, 2D image, name)`` of one labelled file."""
    parsed = parse_input(labelled.path, hdu=hdu)
    if parsed.array.ndim == 2:
        return [(None, np.asarray(parsed.array), parsed.name)]
    if parsed.array.ndim != 3:
        raise InputError(f"{parsed.name}: a {parsed.array.ndim}D array; give 2D maps or 3D cubes")
    if axis is None:
        axis = parsed.spectral_axis
    if axis is None or not (slices or projection):
        raise InputError(f"{parsed.name} is a 3D cube: choose how to make maps of it, every "
                         "plane (--axis N --slices; API: axis=N, slices=True) or a projection "
                         "(--axis N --projection sum; API: axis=N, projection='sum')")
    if projection:
        image, _, _ = reduce_to_image(parsed, axis=axis, projection=projection)
        return [(None, np.asarray(image), f"{parsed.name}[{projection} along axis {axis}]")]
    planes = range(0, parsed.array.shape[axis], slice_step)
    return [(index, np.asarray(reduce_to_image(parsed, axis=axis, slice_index=index)[0]),
             f"{parsed.name}[axis {axis} = {index}]") for index in planes]


def evaluate_labelled(labelled_files, runner, *, hdu=None, axis=None, slices=False,
                      projection=None, slice_step=1, stride=None, boundary=None, batch_size=64,
                      progress=False):
    """Classify labelled maps or cubes with an opened classifier and score the answers.

    Every tile the model sees is one sample of the tile scores (the unit of Peek & Burkhart's
    accuracy: one network input); every map, cube plane or projection is one sample of the map
    scores (its probability is the mean over its tiles, as `glue_turbml.classify` reports).

    Parameters
    ----------
    labelled_files : list of glue_turbml.evaluation.LabelledFile
    runner : glue_turbml.models.ModelRunner
        An opened classification model.
    hdu : int or str, optional
    axis : int, optional
        Cube axis to slice or project along (numpy order).
    slices : bool
        Every ``slice_step``-th plane of a cube along ``axis`` is a map.
    projection : {"sum", "mean", "moment0"}, optional
        A cube is projected along ``axis`` into one map.
    slice_step : int
    stride, boundary, batch_size
        As for `glue_turbml.classify`.
    progress : bool
        Show a progress bar over the files.

    Returns
    -------
    EvaluationResult
        Files that cannot be read or classified are listed in ``skipped`` with the reason.

    Raises
    ------
    ValueError
        For a model that is not a classifier, or a ``slice_step`` below 1.
    glue_turbml.inputs.InputError
        When no file gave a single map.
    """
    from tqdm.auto import tqdm

    card = runner.card
    class_names = classifier_classes(card)
    if int(slice_step) < 1:
        raise ValueError(f"slice_step must be 1 or more, got {slice_step}")
    samples, skipped, tile_labels, tile_probabilities = [], [], [], []
    for labelled in tqdm(labelled_files, unit="file", disable=not progress):
        label_index = class_names.index(labelled.label)
        try:
            images = _images_of(labelled, hdu=hdu, axis=axis, slices=slices,
                                projection=projection, slice_step=int(slice_step))
            results = [(plane, classify_image(image, runner, input_name=name, stride=stride,
                                              boundary=boundary, batch_size=batch_size))
                       for plane, image, name in images]
        except (InputError, TilingError, PreprocessError, OSError) as error:
            skipped.append({"file": str(labelled.path), "label": labelled.label,
                            "reason": str(error)})
            continue
        for plane, result in results:
            tiles = result.tile_probabilities[np.all(np.isfinite(result.tile_probabilities),
                                                     axis=1)]
            tile_probabilities.append(tiles)
            tile_labels.append(np.full(len(tiles), label_index))
            samples.append({
                "file": str(labelled.path), "label": labelled.label, "plane": plane,
                "n_tiles": int(len(tiles)),
                "probability": {name: float(p) for name, p in
                                zip(class_names, result.probability)},
                "predicted": result.predicted_class,
                "correct": result.predicted_class == labelled.label,
                "tile_accuracy": float(np.mean(tiles.argmax(axis=1) == label_index)),
            })
    if not samples:
        reasons = "; ".join(f"{entry['file']}: {entry['reason']}" for entry in skipped[:3])
        raise InputError(f"no labelled map could be classified ({reasons})")
    map_probabilities = np.array([[sample["probability"][name] for name in class_names]
                                  for sample in samples])
    map_labels = [class_names.index(sample["label"]) for sample in samples]
    options = {"axis": axis, "slices": bool(slices), "projection": projection,
               "slice_step": int(slice_step), "stride": stride, "boundary": boundary,
               "hdu": hdu}
    return EvaluationResult(
        class_names=class_names, samples=samples, skipped=skipped,
        scores={"tiles": classification_scores(np.concatenate(tile_labels),
                                               np.concatenate(tile_probabilities), class_names),
                "maps": classification_scores(map_labels, map_probabilities, class_names)},
        model_card=card, session_info=runner.info, options=options)
