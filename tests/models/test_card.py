"""Tests of glue_turbml.models.card: writing, reading, validating and hashing model cards."""

import copy
import hashlib
import json

import jsonschema
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from glue_turbml.models import shipped_models_dir
from glue_turbml.models.card import (CARD_KEY, CARD_SCHEMA_VERSION, ModelCardError, card_schema,
                                     read_card, summarize_card, validate_card, weights_sha256,
                                     write_card)
from glue_turbml.models.graph_tensors import further_weight_arrays
from glue_turbml.models.saliency_graphs import is_saliency_graph_file

from .bias_placements import PLACEMENTS, model_with_bias_in, sparse_bias


def _card_entries(model):
    return [prop.value for prop in model.metadata_props if prop.key == CARD_KEY]


def _set_card_text(model, text):
    kept = [prop for prop in model.metadata_props if prop.key != CARD_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key, entry.value = CARD_KEY, text


# --- the shared builders ---------------------------------------------------------------------

@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_tiny_classifier_runs_with_dynamic_sizes_and_matches_numpy(
        n_classes, classifier_factory, classifier_reference):
    from onnx.reference import ReferenceEvaluator

    model = classifier_factory(n_classes=n_classes, seed=n_classes)
    graph_input, = model.graph.input
    assert graph_input.name == "image"
    dims = graph_input.type.tensor_type.shape.dim
    assert [dim.dim_param or dim.dim_value for dim in dims] == ["batch", 1, "height", "width"]
    assert model.graph.output[0].name == "logits"
    assert {opset.domain: opset.version for opset in model.opset_import} == {"": 18}
    evaluator = ReferenceEvaluator(model)
    for shape in [(1, 1, 16, 16), (3, 1, 24, 40)]:
        images = np.random.default_rng(1).normal(size=shape).astype(np.float32)
        logits, = evaluator.run(None, {"image": images})
        assert logits.shape == (shape[0], n_classes)
        np.testing.assert_allclose(logits, classifier_reference(model, images),
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("task", ["classification", "regression", "image_to_image"])
def test_make_valid_card_matches_the_schema(task, card_factory):
    card = card_factory(task=task, n_classes=3)
    jsonschema.Draft202012Validator(card_schema()).validate(card)
    validate_card(card)
    assert ("classes" in card) == (task == "classification")


# --- the schema --------------------------------------------------------------------------------

def test_card_schema_is_a_valid_draft_2020_12_schema():
    schema = card_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {"const": CARD_SCHEMA_VERSION}


def test_card_schema_of_an_unknown_version_raises():
    with pytest.raises(ModelCardError, match="no model-card schema version 99"):
        card_schema(99)


# --- write_card / read_card --------------------------------------------------------------------

def test_write_card_fills_the_weights_hash_and_read_card_round_trips(
        tiny_classifier_model, card_factory):
    card = card_factory()  # placeholder hash
    original = copy.deepcopy(card)
    written = write_card(tiny_classifier_model, card)
    assert card == original, "write_card must not modify the card it is given"
    assert written["weights_sha256"] == weights_sha256(tiny_classifier_model)
    assert written["weights_sha256"] != "0" * 64
    assert {key: value for key, value in written.items() if key != "weights_sha256"} == {
        key: value for key, value in original.items() if key != "weights_sha256"}
    entries = _card_entries(tiny_classifier_model)
    assert len(entries) == 1
    assert json.loads(entries[0]) == written
    assert read_card(tiny_classifier_model) == written


def test_card_survives_saving_and_loading_the_onnx_file(carded_classifier_path, valid_card):
    loaded = onnx.load_model(str(carded_classifier_path))
    card = read_card(loaded, source=str(carded_classifier_path))
    assert card == valid_card
    assert card["weights_sha256"] == weights_sha256(loaded)


def test_write_card_replaces_an_earlier_card_and_keeps_other_metadata(
        tiny_classifier_model, card_factory):
    helper.set_model_props(tiny_classifier_model, {"author": "tests"})
    write_card(tiny_classifier_model, card_factory(version="1.0"))
    write_card(tiny_classifier_model, card_factory(version="2.0"))
    entries = _card_entries(tiny_classifier_model)
    assert len(entries) == 1
    assert read_card(tiny_classifier_model)["version"] == "2.0"
    other = {prop.key: prop.value for prop in tiny_classifier_model.metadata_props
             if prop.key != CARD_KEY}
    assert other == {"author": "tests"}


def test_write_card_refuses_an_invalid_card_and_leaves_the_model_alone(
        tiny_classifier_model, card_factory):
    bad = card_factory(task="segmentation")
    with pytest.raises(ModelCardError, match="task"):
        write_card(tiny_classifier_model, bad)
    assert _card_entries(tiny_classifier_model) == []


def test_read_card_without_a_card_names_the_source_and_the_fix(tiny_classifier_model):
    with pytest.raises(ModelCardError) as error:
        read_card(tiny_classifier_model, source="/models/mystery.onnx")
    message = str(error.value)
    assert "/models/mystery.onnx" in message
    assert CARD_KEY in message
    assert "training.common.export" in message and "write_card" in message


@pytest.mark.parametrize("text", ["{'name': 'python dict, not JSON'}", "name: yaml", "", "{",
                                  "NaN-free but unquoted: {a: 1}"])
def test_read_card_rejects_text_that_is_not_json(tiny_classifier_model, text):
    _set_card_text(tiny_classifier_model, text)
    with pytest.raises(ModelCardError, match="not valid JSON") as error:
        read_card(tiny_classifier_model, source="broken.onnx")
    assert "broken.onnx" in str(error.value)


def test_read_card_rejects_json_that_is_not_an_object(tiny_classifier_model):
    _set_card_text(tiny_classifier_model, "[1, 2, 3]")
    with pytest.raises(ModelCardError, match="must be a JSON object"):
        read_card(tiny_classifier_model)


def test_read_card_rejects_two_cards(carded_classifier):
    entry = carded_classifier.metadata_props.add()
    entry.key, entry.value = CARD_KEY, _card_entries(carded_classifier)[0]
    with pytest.raises(ModelCardError, match="more than one model card"):
        read_card(carded_classifier)


def test_read_card_validates_what_it_reads(tiny_classifier_model, card_factory):
    card = card_factory(tiny_classifier_model)
    del card["tiling"]
    _set_card_text(tiny_classifier_model, json.dumps(card))
    with pytest.raises(ModelCardError, match="'tiling' is a required property"):
        read_card(tiny_classifier_model, source="no-tiling.onnx")


def test_card_text_is_parsed_as_json_and_never_evaluated(
        tiny_classifier_model, tmp_path, card_factory):
    marker = tmp_path / "evaluated"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    card = card_factory(description=payload, metrics={"note": payload})
    written = write_card(tiny_classifier_model, card)
    read_back = read_card(tiny_classifier_model)
    assert read_back["description"] == payload
    assert read_back["metrics"]["note"] == payload
    assert isinstance(read_back["description"], str)
    assert summarize_card(read_back).count(payload) == 2  # description and metric, as text
    assert read_back == written
    assert not marker.exists()


def test_code_in_a_numeric_card_field_is_rejected_not_evaluated(
        tiny_classifier_model, tmp_path, card_factory):
    marker = tmp_path / "evaluated"
    card = card_factory(tiny_classifier_model)
    card["input"]["tile_size"] = f"__import__('pathlib').Path({str(marker)!r}).touch() or 32"
    _set_card_text(tiny_classifier_model, json.dumps(card))
    with pytest.raises(ModelCardError, match="input/tile_size"):
        read_card(tiny_classifier_model)
    assert not marker.exists()


# --- validate_card -----------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["schema_version", "name", "task", "input", "outputs",
                                     "preprocess", "tiling", "saliency", "provenance", "metrics",
                                     "weights_sha256"])
def test_validate_card_rejects_a_missing_top_level_key(missing, card_factory):
    card = card_factory()
    del card[missing]
    with pytest.raises(ModelCardError) as error:
        validate_card(card, source="cards/tiny.json")
    assert "cards/tiny.json" in str(error.value)
    # a missing schema_version reads as an unsupported version; the rest name the key
    assert missing in str(error.value) or missing == "schema_version"


@pytest.mark.parametrize("section, key", [("input", "tile_size"), ("input", "layout"),
                                          ("tiling", "boundary"), ("provenance", "date")])
def test_validate_card_rejects_a_missing_nested_key(section, key, card_factory):
    card = card_factory()
    del card[section][key]
    with pytest.raises(ModelCardError, match=f"{section}.*'{key}' is a required property"):
        validate_card(card)


@pytest.mark.parametrize("task", ["segmentation", "Classification", "", None])
def test_validate_card_rejects_an_unknown_task(task, card_factory):
    with pytest.raises(ModelCardError, match="task"):
        validate_card(card_factory(task=task))


def test_validate_card_requires_classes_for_a_classifier(card_factory):
    card = card_factory()
    del card["classes"]
    with pytest.raises(ModelCardError, match="'classes' is a required property"):
        validate_card(card)
    validate_card(card_factory(task="regression"))  # a regressor needs none


def test_validate_card_rejects_a_single_class_or_a_class_without_meaning(card_factory):
    with pytest.raises(ModelCardError, match="classes"):
        validate_card(card_factory(n_classes=1))
    card = card_factory()
    del card["classes"][1]["meaning"]
    with pytest.raises(ModelCardError, match="classes/1"):
        validate_card(card)


def test_map_statistics_are_accepted_for_u_nets_only_and_by_known_name(card_factory):
    statistics = {"input": "map_statistics", "names": ["std", "spectral_slope"]}
    card = card_factory(task="image_to_image")
    card["input"]["map_statistics"] = statistics
    validate_card(card)
    card["input"]["map_statistics"] = dict(statistics, names=["variance"])
    with pytest.raises(ModelCardError, match="input/map_statistics/names/0"):
        validate_card(card)
    classifier = card_factory()
    classifier["input"]["map_statistics"] = statistics
    with pytest.raises(ModelCardError, match="image_to_image models only; this card's task is "
                                             "'classification'"):
        validate_card(classifier, source="classifier.onnx")


def test_validate_card_rejects_a_stride_larger_than_the_tile(card_factory):
    validate_card(card_factory(tile_size=32, stride=32))
    with pytest.raises(ModelCardError, match="stride 33 exceeds the tile size 32"):
        validate_card(card_factory(tile_size=32, stride=33), source="wide-stride.onnx")


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_validate_card_rejects_another_schema_version_and_says_what_to_do(version, card_factory):
    card = card_factory(schema_version=version)
    with pytest.raises(ModelCardError) as error:
        validate_card(card, source="future.onnx")
    message = str(error.value)
    assert "future.onnx" in message
    assert repr(version) in message
    assert "update glue-turbml" in message and "re-export" in message


@pytest.mark.parametrize("mutate, where", [
    (lambda card: card.update(name="Has Spaces"), "name"),
    (lambda card: card.update(weights_sha256="ABC"), "weights_sha256"),
    (lambda card: card["input"].update(dtype="float64"), "input/dtype"),
    (lambda card: card["input"].update(layout="NHWC"), "input/layout"),
    (lambda card: card["input"].update(tile_size=4), "input/tile_size"),
    (lambda card: card["input"].update(tile_size=32.5), "input/tile_size"),
    (lambda card: card["preprocess"].append({"op": "sqrt"}), "preprocess/3/op"),
    (lambda card: card["tiling"].update(boundary="wrap"), "tiling/boundary"),
    (lambda card: card["tiling"].update(min_valid_fraction=1.5), "tiling/min_valid_fraction"),
    (lambda card: card["outputs"][0].update(activation="sigmoid"), "outputs/0/activation"),
    (lambda card: card.update(outputs=[]), "outputs"),
])
def test_validate_card_names_where_a_value_is_wrong(mutate, where, card_factory):
    card = card_factory()
    mutate(card)
    with pytest.raises(ModelCardError, match=f"invalid model card at {where}:"):
        validate_card(card)


@pytest.mark.parametrize("card", [[], "card", None, 1])
def test_validate_card_rejects_a_non_object(card):
    with pytest.raises(ModelCardError, match="must be a JSON object"):
        validate_card(card)


def test_validate_card_does_not_modify_the_card(card_factory):
    card = card_factory()
    original = copy.deepcopy(card)
    validate_card(card)
    assert card == original


# --- weights_sha256 ----------------------------------------------------------------------------

def test_weights_hash_is_64_hex_digits_and_reproducible(classifier_factory):
    digest = weights_sha256(classifier_factory(seed=3))
    assert len(digest) == 64 and set(digest) <= set("0123456789abcdef")
    assert weights_sha256(classifier_factory(seed=3)) == digest
    assert weights_sha256(classifier_factory(seed=4)) != digest


def _replace_initializer(model, name, array):
    for index, tensor in enumerate(model.graph.initializer):
        if tensor.name == name:
            model.graph.initializer[index].CopyFrom(numpy_helper.from_array(array, name))
            return
    raise KeyError(name)


def _initializer(model, name):
    return next(numpy_helper.to_array(tensor) for tensor in model.graph.initializer
                if tensor.name == name)


@pytest.mark.parametrize("name, index", [("conv.weight", (0, 0, 1, 1)), ("head.bias", (1,)),
                                         ("pool.axes", (0,))])
def test_weights_hash_changes_when_one_weight_changes(tiny_classifier_model, name, index):
    before = weights_sha256(tiny_classifier_model)
    weights = _initializer(tiny_classifier_model, name).copy()
    if weights.dtype.kind == "f":
        weights[index] = np.nextafter(weights[index], np.inf)  # the smallest possible change
    else:
        weights[index] += 1
    _replace_initializer(tiny_classifier_model, name, weights)
    assert weights_sha256(tiny_classifier_model) != before


def test_weights_hash_changes_when_weights_are_swapped_between_names(classifier_factory):
    model = classifier_factory(hidden_channels=2, n_classes=2)
    before = weights_sha256(model)
    conv_bias, head_bias = _initializer(model, "conv.bias"), _initializer(model, "head.bias")
    _replace_initializer(model, "conv.bias", head_bias)
    _replace_initializer(model, "head.bias", conv_bias)
    assert weights_sha256(model) != before


def test_weights_hash_changes_with_the_dtype_or_shape_of_the_same_bytes(classifier_factory):
    model = classifier_factory()
    before = weights_sha256(model)
    head_weight = _initializer(model, "head.weight")
    _replace_initializer(model, "head.weight", head_weight.reshape(-1))
    assert weights_sha256(model) != before
    _replace_initializer(model, "head.weight", head_weight.view(np.int32))
    assert weights_sha256(model) != before


def test_weights_hash_ignores_the_card_metadata_and_doc_strings(
        tiny_classifier_model, card_factory):
    before = weights_sha256(tiny_classifier_model)
    write_card(tiny_classifier_model, card_factory())
    tiny_classifier_model.doc_string = "a model"
    tiny_classifier_model.producer_version = "9.9"
    tiny_classifier_model.graph.doc_string = "a graph"
    tiny_classifier_model.graph.name = "renamed"
    for node in tiny_classifier_model.graph.node:
        node.doc_string = f"node {node.name} documented"
        entry = node.metadata_props.add()
        entry.key, entry.value = "source", "tests"
    helper.set_model_props(tiny_classifier_model, {CARD_KEY: json.dumps(card_factory()),
                                                   "author": "tests"})
    for tensor in tiny_classifier_model.graph.initializer:
        tensor.doc_string = "documented weight"
    assert weights_sha256(tiny_classifier_model) == before


def test_weights_hash_is_the_same_after_saving_and_loading(carded_classifier, tmp_path):
    path = tmp_path / "saved.onnx"
    onnx.save_model(carded_classifier, str(path))
    assert weights_sha256(onnx.load_model(str(path))) == weights_sha256(carded_classifier)


def test_weights_hash_does_not_depend_on_how_a_tensor_is_stored(tiny_classifier_model):
    """raw_data and float_data hold the same weights: same hash."""
    before = weights_sha256(tiny_classifier_model)
    for index, tensor in enumerate(tiny_classifier_model.graph.initializer):
        if tensor.data_type == onnx.TensorProto.FLOAT:
            values = numpy_helper.to_array(tensor)
            rebuilt = helper.make_tensor(tensor.name, onnx.TensorProto.FLOAT, values.shape,
                                         values.ravel().tolist(), raw=False)
            assert not rebuilt.raw_data
            tiny_classifier_model.graph.initializer[index].CopyFrom(rebuilt)
    assert weights_sha256(tiny_classifier_model) == before


def test_weights_hash_matches_an_independent_sha256_of_the_initializers(tiny_classifier_model):
    digest = hashlib.sha256()
    for tensor in sorted(tiny_classifier_model.graph.initializer, key=lambda tensor: tensor.name):
        array = numpy_helper.to_array(tensor)
        digest.update(tensor.name.encode())
        digest.update(str(array.dtype).encode())
        digest.update(repr(tuple(array.shape)).encode())
        digest.update(array.astype(array.dtype.newbyteorder("<")).tobytes())
    assert weights_sha256(tiny_classifier_model) == digest.hexdigest()


def _model_with_a_constant_node(head_bias, *, doc_string=""):
    """Identity-like model whose bias lives in a Constant node, not in an initializer."""
    bias = helper.make_node("Constant", [], ["bias"], name="bias_constant", doc_string=doc_string,
                            value=numpy_helper.from_array(np.asarray(head_bias, np.float32)))
    add = helper.make_node("Add", ["image", "bias"], ["logits"], name="add")
    graph = helper.make_graph(
        [bias, add], "constant_bias",
        [helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["batch", 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model


def test_weights_hash_covers_weights_held_in_constant_nodes():
    before = weights_sha256(_model_with_a_constant_node([0.5, -1.0]))
    assert weights_sha256(_model_with_a_constant_node([0.5, -1.0])) == before
    assert weights_sha256(_model_with_a_constant_node([0.5, -1.5])) != before
    assert weights_sha256(_model_with_a_constant_node([0.5, -1.0], doc_string="doc")) == before


def test_weights_hash_covers_scalar_constant_nodes(classifier_factory):
    model = classifier_factory()
    before = weights_sha256(model)
    scale = helper.make_node("Constant", [], ["scale"], value_float=2.0)
    model.graph.node.insert(0, scale)
    with_scale = weights_sha256(model)
    assert with_scale != before
    model.graph.node[0].attribute[0].f = 3.0
    assert weights_sha256(model) not in (before, with_scale)


def _historical_weights_sha256(model):
    """The hash as defined before sparse tensors, subgraphs and functions were covered: the main
    graph's initializers, then its ``Constant`` nodes (independent of the package's code)."""
    named_arrays = [(tensor.name, numpy_helper.to_array(tensor))
                    for tensor in sorted(model.graph.initializer, key=lambda tensor: tensor.name)]
    constants = []
    for node in model.graph.node:
        if node.op_type != "Constant":
            continue
        for attribute in node.attribute:
            key = f"Constant:{node.output[0]}:{attribute.name}"
            if attribute.type == onnx.AttributeProto.TENSOR:
                constants.append((key, numpy_helper.to_array(attribute.t)))
            elif attribute.type == onnx.AttributeProto.SPARSE_TENSOR:
                sparse = attribute.sparse_tensor
                constants += [(key + ":values", numpy_helper.to_array(sparse.values)),
                              (key + ":indices", numpy_helper.to_array(sparse.indices)),
                              (key + ":dims", np.asarray(sparse.dims, dtype=np.int64))]
            else:
                constants.append((key, np.asarray(helper.get_attribute_value(attribute))))
    digest = hashlib.sha256()
    for name, array in named_arrays + sorted(constants, key=lambda pair: pair[0]):
        digest.update(name.encode())
        digest.update(str(array.dtype.newbyteorder("<")).encode())
        digest.update(repr(tuple(array.shape)).encode())
        digest.update(array.astype(array.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()


def test_weights_hash_is_unchanged_for_models_with_weights_in_initializers_and_constants():
    """Recorded hashes stay valid: the new parts add nothing where there is nothing to add."""
    model, _ = model_with_bias_in("constant_sparse_value")
    model.graph.node.insert(0, helper.make_node("Constant", [], ["scale"], value_float=2.0))
    model.graph.node.insert(0, helper.make_node(
        "Constant", [], ["offset"], value=numpy_helper.from_array(np.float32([0.5]))))
    assert weights_sha256(model) == _historical_weights_sha256(model)
    model.graph.sparse_initializer.append(sparse_bias(np.float32([1.0, 2.0])))
    assert weights_sha256(model) != _historical_weights_sha256(model)


def test_shipped_models_keep_the_hash_their_cards_record():
    paths = [path for path in sorted(shipped_models_dir().glob("*.onnx"))
             if not is_saliency_graph_file(path)]
    assert len(paths) >= 4
    for path in paths:
        model = onnx.load_model(str(path))
        recorded = read_card(model, source=str(path))["weights_sha256"]
        assert list(further_weight_arrays(model)) == [], path  # dense initializers only
        assert weights_sha256(model) == _historical_weights_sha256(model) == recorded, path


def _changed(array):
    """The array with one value changed (floats) or its order reversed (indices)."""
    changed = array.copy()
    if changed.dtype.kind == "f":
        changed.flat[0] += 1.0
        return changed
    return changed[::-1].copy()


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_weights_hash_covers_every_place_a_weight_can_sit(placement):
    model, held = model_with_bias_in(placement)
    before = weights_sha256(model)
    assert weights_sha256(model_with_bias_in(placement)[0]) == before
    assert weights_sha256(model_with_bias_in(placement, seed=1)[0]) != before
    held.CopyFrom(numpy_helper.from_array(_changed(numpy_helper.to_array(held)), held.name))
    assert weights_sha256(model) != before


def test_weights_hash_changes_with_a_sparse_initializer(classifier_factory):
    model = classifier_factory()
    dense_only = weights_sha256(model)
    model.graph.sparse_initializer.append(sparse_bias(np.float32([0.25, -0.5])))
    with_sparse = weights_sha256(model)
    assert with_sparse != dense_only
    sparse = model.graph.sparse_initializer[0]
    sparse.values.CopyFrom(numpy_helper.from_array(np.float32([0.25, -0.75]), "head.bias"))
    with_new_values = weights_sha256(model)
    assert with_new_values not in (dense_only, with_sparse)
    sparse.indices.CopyFrom(numpy_helper.from_array(np.int64([1, 0]), "head.bias.indices"))
    assert weights_sha256(model) not in (dense_only, with_sparse, with_new_values)


def test_weights_hash_covers_subgraph_initializers():
    model, _ = model_with_bias_in("if_branch")
    before = weights_sha256(model)
    then_branch = model.graph.node[0].attribute[1].g
    assert then_branch.name == "head.bias.then"
    then_branch.initializer.append(numpy_helper.from_array(np.float32([3.0]), "unused"))
    assert weights_sha256(model) != before


def test_weights_hash_of_string_tensors_is_stable(classifier_factory):
    """String tensors become object arrays, whose raw bytes are memory addresses."""
    model = classifier_factory()
    model.graph.initializer.append(numpy_helper.from_array(np.array([b"a", b"bc"], object),
                                                           "labels"))
    before = weights_sha256(model)
    assert weights_sha256(copy.deepcopy(model)) == before
    model.graph.initializer[-1].string_data[1] = b"bd"
    assert weights_sha256(model) != before


# --- summarize_card ----------------------------------------------------------------------------

def test_summarize_card_names_the_task_classes_input_data_and_metrics(card_factory):
    card = card_factory(n_classes=2, tile_size=64,
                        metrics={"accuracy": 0.912345, "n_test": 400, "per_class": [1, 2]})
    card["classes"][0]["meaning"] = "sub-Alfvenic (M_A~0.7)"
    text = summarize_card(card)
    lines = text.splitlines()
    assert lines[0].startswith("tiny-classifier 0.1.0 (classification): ")
    assert "class_0 = sub-Alfvenic (M_A~0.7)" in text
    assert "64x64 tiles, units cm-3" in text
    assert "trained on: no training data" in text
    assert "accuracy = 0.9123" in text and "n_test = 400" in text
    assert "per_class" not in text


def test_summarize_card_leaves_out_empty_parts(card_factory):
    card = card_factory(task="regression", metrics={})
    card["input"]["units"] = ""
    del card["provenance"]["training_data"]["summary"]
    text = summarize_card(card)
    assert "classes" not in text and "units" not in text
    assert "trained on" not in text and "metrics" not in text
