"""Models that point a tensor at a file (external data) are refused before anything opens it.

Each hostile model is the tiny classifier with ``head.bias`` held somewhere other than a dense
initializer (see `bias_placements`) and its bytes replaced by a pointer to ``secret.txt`` in the
working directory, as in issue 15: onnxruntime, given such a model, reads the file and lets its
first bytes change the class probabilities.
"""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from glue_turbml.cli import main
from glue_turbml.models import (ModelCardError, ModelLoadError, load_model_file, open_model,
                                weights_sha256, write_card)
from glue_turbml.models.graph_tensors import find_external_data

from .bias_placements import (LOADABLE_PLACEMENTS, PLACEMENTS, model_with_bias_in,
                              point_at_file, sparse_bias)
from .file_opens import KERNEL_WATCH, watch_opens


def _write_model(placement, card_factory, path, *, location=None):
    """Save a carded classifier with its bias placed by ``placement``, pointing to ``location``
    (relative to the working directory) if given. The card is written while the bias is inside
    the file, so a hostile file's hash is right for its embedded twin."""
    model, held = model_with_bias_in(placement)
    write_card(model, card_factory(model))
    if location is not None:
        point_at_file(held, location)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    return path


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """The working directory, holding ``secret.txt`` and ``private/secret.txt``."""
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    secret = np.array([5.0, -5.0], np.float32).tobytes() + b" password=hunter2"
    for relative in ("secret.txt", "private/secret.txt"):
        (home / relative).write_bytes(secret)
    monkeypatch.chdir(home)
    return home


@pytest.fixture
def watched_folders(tmp_path, user_folder):
    """The user's folders and the models' folder (``tmp_path / "models"``), for `watch_opens`."""
    models = tmp_path / "models"
    models.mkdir()
    return [user_folder, user_folder / "private", models]


# --- the watcher sees what it must -----------------------------------------------------------

def test_the_open_watcher_sees_python_opens(user_folder):
    with watch_opens(user_folder, user_folder / "private") as opened:
        (user_folder / "private" / "secret.txt").read_bytes()
    assert opened == {str(user_folder / "private" / "secret.txt")}


@pytest.mark.skipif(not KERNEL_WATCH, reason="opens by compiled code are watched on Linux only")
def test_the_open_watcher_sees_onnx_reading_external_data_in_cpp(user_folder):
    tensor = numpy_helper.from_array(np.zeros(2, np.float32), "bias")
    point_at_file(tensor, "secret.txt", length=8)
    with watch_opens(user_folder) as opened:
        values = numpy_helper.to_array(tensor, base_dir=str(user_folder))
    assert values.tolist() == [5.0, -5.0]
    assert opened == {str(user_folder / "secret.txt")}


# --- hostile models are refused --------------------------------------------------------------

@pytest.mark.parametrize("placement", LOADABLE_PLACEMENTS)
def test_the_embedded_twin_of_each_hostile_model_loads(placement, card_factory, tmp_path):
    """With the bias inside the file the same model is fine: only the pointer is refused."""
    path = _write_model(placement, card_factory, tmp_path / "models" / "embedded.onnx")
    loaded = load_model_file(path)
    assert loaded.card["weights_sha256"] == weights_sha256(onnx.load_model(str(path)))
    runner = open_model(path, device="cpu")
    logits, = runner.session.run(None, {"image": np.ones((1, 1, 8, 8), np.float32)})
    assert logits.shape == (1, 2) and np.all(np.abs(logits) < 4)  # not the secret's 5 and -5


@pytest.mark.parametrize("location", ["secret.txt", "./private/secret.txt"])
@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_hostile_model_is_refused_without_opening_the_file(
        placement, location, card_factory, tmp_path, watched_folders):
    path = _write_model(placement, card_factory, tmp_path / "models" / f"{placement}.onnx",
                        location=location)
    with watch_opens(*watched_folders) as opened:
        with pytest.raises(ModelLoadError, match=rf"{placement}\.onnx: weights are stored in "
                                                 r"external data files \(tensor '[^']+' at model"):
            load_model_file(path)
        with pytest.raises(ModelLoadError, match="external data"):
            open_model(path, device="cpu")
    assert opened == {str(path)}  # the model itself, nothing of the user's


@pytest.mark.parametrize("placement", ["sparse_initializer", "constant_sparse_value",
                                       "if_branch", "function_body"])
def test_models_info_refuses_in_one_line_without_opening_the_file(
        placement, card_factory, tmp_path, watched_folders, capsys):
    path = _write_model(placement, card_factory, tmp_path / "models" / f"{placement}.onnx",
                        location="secret.txt")
    for arguments in (["models", "info", str(path)], ["models", "info", "--json", str(path)]):
        with watch_opens(*watched_folders) as opened:
            status = main(arguments)
        captured = capsys.readouterr()
        assert status == 2
        assert captured.out == ""  # no card shown
        error_lines = captured.err.splitlines()
        assert len(error_lines) == 1
        assert error_lines[0].startswith(f"turbml: error: {path}: weights are stored in external "
                                         "data files")
        assert opened == {str(path)}


def test_refusal_names_where_the_tensor_sits(card_factory, tmp_path, user_folder):
    path = _write_model("sparse_initializer", card_factory, tmp_path / "sparse_ext_cwd.onnx",
                        location="secret.txt")
    with pytest.raises(ModelLoadError) as raised:
        load_model_file(path)
    assert "tensor 'head.bias' at model.graph.sparse_initializer[0].values" in str(raised.value)


def test_an_external_data_entry_alone_is_refused(card_factory, tmp_path, user_folder):
    """A location without ``data_location = EXTERNAL`` is refused too."""
    model, held = model_with_bias_in("sparse_initializer")
    write_card(model, card_factory(model))
    entry = held.external_data.add()
    entry.key, entry.value = "location", "secret.txt"
    assert held.data_location == TensorProto.DEFAULT
    path = tmp_path / "entry_only.onnx"
    onnx.save_model(model, str(path))
    with pytest.raises(ModelLoadError, match="external data"):
        load_model_file(path)


def test_tensor_lists_and_sparse_tensor_lists_in_any_attribute_are_found():
    """TENSORS and SPARSE_TENSORS attributes, inside a GRAPHS attribute, of a made-up node."""
    listed = numpy_helper.from_array(np.zeros(2, np.float32), "listed")
    listed_sparse = sparse_bias(np.zeros(2, np.float32))
    point_at_file(listed, "secret.txt")
    point_at_file(listed_sparse.indices, "secret.txt")
    holder = helper.make_node("Holder", [], ["out"], domain="made.up")
    holder.attribute.append(helper.make_attribute("tensors", [listed]))
    holder.attribute.append(helper.make_attribute("sparse_tensors", [listed_sparse]))
    assert [attribute.type for attribute in holder.attribute] == [
        onnx.AttributeProto.TENSORS, onnx.AttributeProto.SPARSE_TENSORS]
    inner = helper.make_graph([holder], "inner", [], [])
    outer = helper.make_node("Outer", [], [], domain="made.up",
                             branches=[helper.make_graph([], "empty", [], []), inner])
    found = find_external_data(helper.make_model(helper.make_graph([outer], "outer", [], [])))
    holder_path = "model.graph.node[0].attribute[0].graphs[1].node[0]"
    assert found == [(f"{holder_path}.attribute[0].tensors[0]", "listed"),
                     (f"{holder_path}.attribute[1].sparse_tensors[0].indices",
                      "head.bias.indices")]


def test_weights_hash_refuses_to_read_external_data(user_folder):
    """Hashing opens no file: ``turbml models info`` once read the secret through the hash."""
    model, held = model_with_bias_in("constant_sparse_value")
    point_at_file(held, "secret.txt")
    with watch_opens(user_folder) as opened:
        with pytest.raises(ModelCardError, match="'head.bias' is stored in external data"):
            weights_sha256(model)
    assert opened == set()
