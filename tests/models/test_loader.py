"""The loader refuses unusable model files with a message naming the file and the problem."""

import onnx
import pytest
from onnx import helper, numpy_helper

from glue_turbml.models import ModelLoadError, load_model_file, write_card


def _save(model, path):
    onnx.save_model(model, str(path))
    return path


def test_valid_file_loads_with_card_and_interface(carded_classifier_path, valid_card):
    loaded = load_model_file(carded_classifier_path)
    assert loaded.card["name"] == valid_card["name"]
    assert loaded.input_name == "image"
    assert loaded.output_names == ("logits",)
    assert loaded.model_bytes == carded_classifier_path.read_bytes()


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model file"):
        load_model_file(tmp_path / "absent.onnx")


def test_corrupt_file_is_refused(tmp_path, carded_classifier_path):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07not an onnx file at all" * 50)
    with pytest.raises(ModelLoadError, match=r"corrupt\.onnx: not a readable ONNX file"):
        load_model_file(corrupt)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(carded_classifier_path.read_bytes()[:200])
    with pytest.raises(ModelLoadError, match="truncated.onnx"):
        load_model_file(truncated)


def test_missing_card(tmp_path, tiny_classifier_model):
    path = _save(tiny_classifier_model, tmp_path / "nocard.onnx")
    with pytest.raises(ModelLoadError, match=r"nocard\.onnx: no glue-turbml model card"):
        load_model_file(path)


def test_invalid_card_json(tmp_path, tiny_classifier_model):
    entry = tiny_classifier_model.metadata_props.add()
    entry.key, entry.value = "glue_turbml.card", "{'name': 'python dict, not JSON'}"
    path = _save(tiny_classifier_model, tmp_path / "badjson.onnx")
    with pytest.raises(ModelLoadError, match="badjson.onnx: the model card is not valid JSON"):
        load_model_file(path)


def test_modified_weights_fail_the_hash(tmp_path, carded_classifier):
    weight = carded_classifier.graph.initializer[0]
    array = numpy_helper.to_array(weight).copy()
    array.flat[0] += 1.0
    weight.CopyFrom(numpy_helper.from_array(array, weight.name))
    path = _save(carded_classifier, tmp_path / "tampered.onnx")
    with pytest.raises(ModelLoadError,
                       match=r"tampered\.onnx: the weights' sha256 .* does not match"):
        load_model_file(path)


def test_external_data_is_refused(tmp_path, carded_classifier):
    path = tmp_path / "external.onnx"
    onnx.save_model(carded_classifier, str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external.bin", size_threshold=0)
    assert (tmp_path / "external.bin").exists()
    with pytest.raises(ModelLoadError, match="external data"):
        load_model_file(path)


def test_custom_op_domain_is_refused(tmp_path, tiny_classifier_model, card_factory):
    node = tiny_classifier_model.graph.node[1]
    node.domain = "com.example.evil"
    tiny_classifier_model.opset_import.append(helper.make_opsetid("com.example.evil", 1))
    write_card(tiny_classifier_model, card_factory(tiny_classifier_model))
    path = _save(tiny_classifier_model, tmp_path / "custom.onnx")
    with pytest.raises(ModelLoadError, match="custom.onnx: .*non-standard operator domain "
                                             "'com.example.evil'"):
        load_model_file(path)


def test_custom_op_domain_inside_a_function_body_is_refused(tmp_path, tiny_classifier_model,
                                                            card_factory):
    """Function bodies import their own operator sets: those are checked like the graph's."""
    body = [helper.make_node("Evil", ["x"], ["y"], domain="com.example.evil")]
    tiny_classifier_model.functions.append(helper.make_function(
        "local.helpers", "Unused", ["x"], ["y"], body,
        [helper.make_opsetid("", 18), helper.make_opsetid("com.example.evil", 1)]))
    write_card(tiny_classifier_model, card_factory(tiny_classifier_model))
    path = _save(tiny_classifier_model, tmp_path / "function.onnx")
    with pytest.raises(ModelLoadError, match="function.onnx: .*non-standard operator domain "
                                             "'com.example.evil'"):
        load_model_file(path)


def test_inputs_differing_from_card(tmp_path, tiny_classifier_model, card_factory):
    card = card_factory(tiny_classifier_model)
    card["input"]["name"] = "density"
    write_card(tiny_classifier_model, card)
    path = _save(tiny_classifier_model, tmp_path / "renamed.onnx")
    with pytest.raises(ModelLoadError, match=r"inputs \['image'\] differ from the card's input "
                                             "'density'"):
        load_model_file(path)


def test_outputs_differing_from_card(tmp_path, tiny_classifier_model, card_factory):
    card = card_factory(tiny_classifier_model)
    card["outputs"][0]["name"] = "probabilities"
    write_card(tiny_classifier_model, card)
    path = _save(tiny_classifier_model, tmp_path / "outputs.onnx")
    with pytest.raises(ModelLoadError, match="outputs \\['logits'\\] differ"):
        load_model_file(path)


def test_class_count_differing_from_card(tmp_path, classifier_factory, card_factory):
    model = classifier_factory(n_classes=3)
    write_card(model, card_factory(model, n_classes=2))
    path = _save(model, tmp_path / "classes.onnx")
    with pytest.raises(ModelLoadError, match="lists 2 classes"):
        load_model_file(path)


def test_size_cap(tmp_path, carded_classifier_path, monkeypatch):
    with pytest.raises(ModelLoadError, match="over the 0 MiB cap"):
        load_model_file(carded_classifier_path, max_mb=1e-4)
    monkeypatch.setenv("GLUE_TURBML_MAX_MODEL_MB", "0.0001")
    with pytest.raises(ModelLoadError, match="GLUE_TURBML_MAX_MODEL_MB"):
        load_model_file(carded_classifier_path)


def test_checker_failure_is_reported(tmp_path, tiny_classifier_model, card_factory):
    tiny_classifier_model.graph.node[1].op_type = "NoSuchOperator"
    write_card(tiny_classifier_model, card_factory(tiny_classifier_model))
    path = _save(tiny_classifier_model, tmp_path / "badop.onnx")
    with pytest.raises(ModelLoadError, match="badop.onnx: fails the ONNX checker"):
        load_model_file(path)
