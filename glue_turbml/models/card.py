"""Model cards: the JSON contract, stored inside each ONNX file, between training and inference."""

import hashlib
import json
from importlib import resources

import numpy as np

__all__ = [
    "CARD_KEY",
    "CARD_SCHEMA_VERSION",
    "ModelCardError",
    "card_schema",
    "domain_check_text",
    "validate_card",
    "weights_sha256",
    "write_card",
    "read_card",
    "summarize_card",
]

#: Key of the card in the ONNX file's ``metadata_props``.
CARD_KEY = "glue_turbml.card"
#: Version of the card schema this runtime reads and writes. An output's ``activation`` names
#: what the runtime applies to the raw graph output: ``"softmax"`` means the graph emits logits.
CARD_SCHEMA_VERSION = 1


class ModelCardError(ValueError):
    """A model card is missing, malformed, or does not match its ONNX file."""


def card_schema(version=CARD_SCHEMA_VERSION):
    """Return the JSON schema (a dict) of model cards of the given schema version."""
    name = f"card_schema_v{int(version)}.json"
    try:
        text = resources.files("glue_turbml.models").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelCardError(f"this glue-turbml knows no model-card schema version {version}")
    return json.loads(text)


def validate_card(card, *, source="model card"):
    """Check a card against its schema and the rules the schema cannot express.

    Parameters
    ----------
    card : dict
        The parsed card.
    source : str
        What to name in error messages (usually the file path).

    Raises
    ------
    ModelCardError
        Naming ``source`` and the first problem found; values outside the cost bounds of
        `glue_turbml.models.card_bounds` (tile size, stride, preprocessing parameters, ...) are
        named by their card field.
    """
    import jsonschema

    if not isinstance(card, dict):
        raise ModelCardError(f"{source}: the model card must be a JSON object")
    version = card.get("schema_version")
    if version != CARD_SCHEMA_VERSION:
        raise ModelCardError(
            f"{source}: model card schema_version {version!r} is not supported "
            f"(this glue-turbml reads version {CARD_SCHEMA_VERSION}); update glue-turbml or "
            "re-export the model"
        )
    validator = jsonschema.Draft202012Validator(card_schema(version))
    errors = sorted(validator.iter_errors(card), key=lambda error: list(error.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ModelCardError(f"{source}: invalid model card at {where}: {error.message}")
    try:
        from ..core import build_pipeline

        build_pipeline(card["preprocess"])
    except ValueError as error:  # PreprocessError: unknown parameters, map steps out of order
        raise ModelCardError(f"{source}: invalid model card at preprocess: {error}") from None
    if "map_statistics" in card["input"] and card["task"] != "image_to_image":
        # only the U-Net mapping feeds a map's statistics beside its tiles
        raise ModelCardError(f"{source}: input.map_statistics is read by image_to_image "
                             f"models only; this card's task is {card['task']!r}")
    graphs = card["saliency"].get("graphs", {})
    unlisted = sorted(set(graphs) - set(card["saliency"]["methods"]))
    if unlisted:
        raise ModelCardError(f"{source}: saliency graphs {unlisted} are not listed in "
                             "saliency.methods")
    if card["input"]["layout"] != "NC":  # a feature-vector model (spectral) has no tiles
        tile_size = card["input"]["tile_size"]
        if card["tiling"]["stride"] > tile_size:
            raise ModelCardError(f"{source}: tiling stride {card['tiling']['stride']} exceeds "
                                 f"the tile size {tile_size}")
    from .card_bounds import card_bound_problems

    problem = next(card_bound_problems(card), None)
    if problem is not None:
        raise ModelCardError(f"{source}: {problem}; this glue-turbml refuses such models")


def weights_sha256(model):
    """SHA-256 of every weight a model reads, independent of the card and of node metadata.

    The hash runs over the main graph's initializers (sorted by name), then over the values of
    its ``Constant`` nodes (sorted by output name), then over every other tensor the model can
    read (sorted by key, see `glue_turbml.models.graph_tensors.further_weight_arrays`): sparse
    initializers, tensor-valued node attributes, and the initializers and constants of
    subgraphs and function bodies. Each contributes its name, data type, shape and
    little-endian bytes, so editing any weight, or swapping weights between files, changes it.

    Parameters
    ----------
    model : onnx.ModelProto

    Returns
    -------
    str
        64 lowercase hex digits.

    Raises
    ------
    ModelCardError
        If a tensor is stored in external data: the hash reads no file besides the model.
    """
    from .graph_tensors import (ExternalDataError, constant_node_arrays, embedded_array,
                                further_weight_arrays)

    try:
        initializers = sorted(model.graph.initializer, key=lambda tensor: tensor.name)
        named_arrays = [(tensor.name, embedded_array(tensor)) for tensor in initializers]
        named_arrays += sorted(constant_node_arrays(model.graph), key=lambda pair: pair[0])
        # Appended after the two historical parts, and empty for graphs without such tensors, so
        # the hashes recorded in existing cards (the shipped models' included) stay valid.
        named_arrays += sorted(further_weight_arrays(model), key=lambda pair: pair[0])
    except ExternalDataError as error:
        raise ModelCardError(f"cannot hash the weights: {error}; glue-turbml reads single-file "
                             "models only") from None
    digest = hashlib.sha256()
    for name, array in named_arrays:
        digest.update(name.encode("utf-8"))
        digest.update(str(array.dtype.newbyteorder("<")).encode("ascii"))
        digest.update(repr(tuple(array.shape)).encode("ascii"))
        digest.update(_array_bytes(array))
    return digest.hexdigest()


def _array_bytes(array):
    """Little-endian bytes of an array; for string tensors, the strings themselves.

    ``tobytes`` of an object array (what string tensors become) gives memory addresses, which
    differ between runs; hashing those made any model with string tensors fail its own hash.
    """
    if array.dtype != object:
        return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    parts = []
    for item in array.ravel():
        data = item if isinstance(item, bytes) else str(item).encode("utf-8")
        parts.append(len(data).to_bytes(8, "little") + data)
    return b"".join(parts)


def write_card(model, card):
    """Store a card in an ONNX model, filling in ``weights_sha256``.

    Parameters
    ----------
    model : onnx.ModelProto
        Modified in place: any earlier card is replaced.
    card : dict
        The card without (or with a stale) ``weights_sha256``; not modified.

    Returns
    -------
    dict
        The card as written.

    Raises
    ------
    ModelCardError
        If the card, with the hash filled in, does not validate.
    """
    written = json.loads(json.dumps(card))
    written["weights_sha256"] = weights_sha256(model)
    validate_card(written, source=f"card for {card.get('name', '?')}")
    kept = [prop for prop in model.metadata_props if prop.key != CARD_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key = CARD_KEY
    entry.value = json.dumps(written, indent=1, sort_keys=True)
    return written


def read_card(model, *, source="model"):
    """Read and validate the card of an ONNX model (parsed with `json.loads`, never evaluated).

    Parameters
    ----------
    model : onnx.ModelProto
    source : str
        Name for error messages, usually the file path.

    Returns
    -------
    dict

    Raises
    ------
    ModelCardError
        If the card is missing, not JSON, or invalid.
    """
    texts = [prop.value for prop in model.metadata_props if prop.key == CARD_KEY]
    if not texts:
        raise ModelCardError(
            f"{source}: no glue-turbml model card (metadata key {CARD_KEY!r}); export the model "
            "with training.common.export, or add a card with glue_turbml.models.write_card"
        )
    if len(texts) > 1:
        raise ModelCardError(f"{source}: more than one model card in the file")
    try:
        card = json.loads(texts[0])
    except json.JSONDecodeError as error:
        raise ModelCardError(f"{source}: the model card is not valid JSON ({error})") from None
    validate_card(card, source=source)
    return card


def summarize_card(card):
    """One paragraph describing a model for people: task, classes, input, training data, metrics."""
    lines = [f"{card['name']} {card['version']} ({card['task']}): {card['description']}"]
    if card.get("classes"):
        lines.append("classes: " + "; ".join(f"{c['name']} = {c['meaning']}"
                                             for c in card["classes"]))
    spec = card["input"]
    shape = (f"{spec['tile_size']}x{spec['tile_size']} tiles" if "tile_size" in spec
             else f"{spec['channels']} features")
    lines.append(f"input: {spec['kind']}, {shape}"
                 + (f", units {spec['units']}" if spec["units"] else ""))
    lines.append(_cost_line(card))
    data = card["provenance"]["training_data"]
    if data.get("summary"):
        lines.append(f"trained on: {data['summary']}")
    metric_text = ", ".join(
        f"{key} = {value:.4g}" if isinstance(value, float) else f"{key} = {value}"
        for key, value in card["metrics"].items() if isinstance(value, (int, float, str))
    )
    if metric_text:
        lines.append(f"held-out metrics: {metric_text}")
    domain = domain_check_text(card)
    if domain:
        lines.append(f"domain check: {domain}")
    return "\n".join(lines)


def domain_check_text(card):
    """What the card's domain check flags, measured when it was recorded: one line, or "" for
    a card without one.

    E.g. ``"flags 1.2% of 10848 held-out training-domain spectra (target <= 0.02);
    noise_dominated 100.0%, black_bodies 50.0%"``.
    """
    measured = card.get("domain", {}).get("measured")
    if not measured:
        return ""
    held_out = measured.get("held_out_training_domain")
    others = [f"{name} {entry['flagged_fraction']:.1%}" for name, entry in measured.items()
              if name != "held_out_training_domain" and "flagged_fraction" in entry]
    text = []
    if held_out:
        unit = "spectra" if "n_spectra" in held_out else "tiles"
        count = held_out.get("n_spectra", held_out.get("n_tiles"))
        text.append(f"flags {held_out['flagged_fraction']:.1%} of {count} held-out "
                    f"training-domain {unit} (target {held_out.get('target', 'none')})")
    if others:
        text.append("flags of other inputs: " + ", ".join(others))
    return "; ".join(text)


def _cost_line(card):
    """The cost the card implies, per megapixel of map (spaxel of a cube for spectral models)."""
    from .card_bounds import input_values_per_megapixel, passes_per_megapixel

    what = ("one per spectrum" if card["input"]["layout"] == "NC"
            else f"tiles at stride {card['tiling']['stride']}")
    return (f"cost: {passes_per_megapixel(card):,.0f} network passes ({what}) and "
            f"{input_values_per_megapixel(card) / 1e6:,.1f} million input values per megapixel")
