"""Graphs that declare huge tensors, loops or compute ("memory bombs") are refused at load."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from glue_turbml.models import (ModelLoadError, load_model_file, load_saliency_graph,
                                shipped_models_dir, write_card)
from glue_turbml.models.graph_cost import MAX_FLOPS_PER_MEGAPIXEL, ModelCost
from glue_turbml.models.saliency_graphs import is_saliency_graph_file


def _ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _floats(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)


def _save_with(model, card_factory, path, *, nodes=(), initializers=(), **card_fields):
    """``model`` with extra (dangling) nodes and initializers and a valid card, saved."""
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(initializers)
    write_card(model, card_factory(model, **card_fields))
    onnx.save_model(model, str(path))
    return path


def _loop_body():
    """Keeps going and emits the iteration number (one scan output: a Loop needs an output)."""
    return helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Identity", ["iteration"], ["iteration_out"])], "body",
        [helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("iteration_out", TensorProto.INT64, [])])


BOMBS = {
    "constant-of-shape": (
        [helper.make_node("ConstantOfShape", ["bomb.shape"], ["bomb"], name="bomb")],
        [_ints("bomb.shape", [100000, 100000])],
        r"graph node 'bomb' \(ConstantOfShape\): its constant shape input makes "
        r"10,000,000,000 elements, over 268,435,456"),
    "expand-from-a-constant-node": (
        [helper.make_node("Constant", [], ["bomb.shape"], name="shape",
                          value=_ints("value", [1, 1, 65536, 65536])),
         helper.make_node("Expand", ["conv.bias", "bomb.shape"], ["bomb"], name="bomb")],
        [], r"graph node 'bomb' \(Expand\): its constant shape input makes 4,294,967,296"),
    "tile": (
        [helper.make_node("Tile", ["image", "bomb.repeats"], ["bomb"], name="bomb")],
        [_ints("bomb.repeats", [1, 1, 4096, 4096])],
        r"graph node 'bomb' \(Tile\): its constant repeats multiplies its input by 1\.67772e\+07"),
    "resize": (
        [helper.make_node("Resize", ["image", "", "bomb.scales"], ["bomb"], name="bomb")],
        [_floats("bomb.scales", [1, 1, 1000, 1000])],
        r"graph node 'bomb' \(Resize\): its constant scales multiplies its input by 1e\+06"),
    "range": (
        [helper.make_node("Range", ["bomb.start", "bomb.limit", "bomb.delta"], ["bomb"],
                          name="bomb")],
        [_ints("bomb.start", 0), _ints("bomb.limit", 10**12), _ints("bomb.delta", 1)],
        r"graph node 'bomb' \(Range\): its constant limits makes 1,000,000,000,000 elements"),
    "pad": (
        [helper.make_node("Pad", ["image", "bomb.pads"], ["bomb"], name="bomb")],
        [_ints("bomb.pads", [0, 0, 100000, 100000, 0, 0, 100000, 100000])],
        r"graph node 'bomb' \(Pad\): pads 100,000 px on one side, over 1024"),
    "loop": (
        [helper.make_node("Loop", ["bomb.trips", "bomb.cond"], ["bomb.iterations"], name="bomb",
                          body=_loop_body())],
        [_ints("bomb.trips", 2**40), numpy_helper.from_array(np.array(True), "bomb.cond")],
        r"graph node 'bomb' \(Loop\): constant trip count 1,099,511,627,776, over 65536"),
}


@pytest.mark.parametrize("kind", BOMBS)
def test_memory_bomb_nodes_are_refused_naming_the_node(kind, tmp_path, tiny_classifier_model,
                                                       card_factory):
    nodes, initializers, message = BOMBS[kind]
    path = _save_with(tiny_classifier_model, card_factory, tmp_path / f"{kind}.onnx",
                      nodes=nodes, initializers=initializers)
    with pytest.raises(ModelLoadError, match=rf"{kind}\.onnx: {message}"):
        load_model_file(path)


def test_the_same_ops_with_sizes_real_networks_use_load(tmp_path, tiny_classifier_model,
                                                        card_factory):
    """Bounds leave room for honest upsampling, padding, tiling and index ranges."""
    nodes = [helper.make_node("Resize", ["image", "", "up.scales"], ["up"], name="up"),
             helper.make_node("Pad", ["image", "pad.pads"], ["padded"], name="pad"),
             helper.make_node("Tile", ["image", "tile.repeats"], ["tiled"], name="tile"),
             helper.make_node("ConstantOfShape", ["zeros.shape"], ["zeros"], name="zeros"),
             helper.make_node("Range", ["range.start", "range.limit", "range.delta"], ["index"],
                              name="range")]
    initializers = [_floats("up.scales", [1, 1, 2, 2]),
                    _ints("pad.pads", [0, 0, 1, 1, 0, 0, 1, 1]),
                    _ints("tile.repeats", [1, 1, 2, 2]), _ints("zeros.shape", [1, 64, 128, 128]),
                    _ints("range.start", 0), _ints("range.limit", 1024), _ints("range.delta", 1)]
    path = _save_with(tiny_classifier_model, card_factory, tmp_path / "honest.onnx",
                      nodes=nodes, initializers=initializers)
    assert load_model_file(path).card["name"] == "tiny-classifier"


def test_a_sparse_initializer_is_counted_dense(tmp_path, tiny_classifier_model, card_factory):
    """onnxruntime densifies sparse initializers at load: one stored value can claim 4 TiB."""
    sparse = helper.make_sparse_tensor(_floats("bomb.sparse", [1.0]), _ints("bomb.index", [0]),
                                       [2**20, 2**20])
    tiny_classifier_model.graph.sparse_initializer.append(sparse)
    path = _save_with(tiny_classifier_model, card_factory, tmp_path / "sparse.onnx")
    assert path.stat().st_size < 2**20
    with pytest.raises(ModelLoadError, match=r"sparse\.onnx: graph tensors declare "
                                             r"4,194,304\.0 MiB once dense, over the 256 MiB cap .*"
                                             r"'bomb\.sparse' at .*sparse: dense at load.*"
                                             r"GLUE_TURBML_MAX_MODEL_MB"):
        load_model_file(path)


def test_huge_fixed_input_dimensions_are_refused(tmp_path, tiny_classifier_model, card_factory):
    dims = tiny_classifier_model.graph.input[0].type.tensor_type.shape.dim
    for dim in dims[2:]:
        dim.Clear()
        dim.dim_value = 100000
    path = _save_with(tiny_classifier_model, card_factory, tmp_path / "wide.onnx")
    with pytest.raises(ModelLoadError, match=r"wide\.onnx: graph input 'image' declares "
                                             r"dimension 2 = 100,000, over 4096"):
        load_model_file(path)


def test_huge_declared_intermediate_shapes_are_refused(tmp_path, tiny_classifier_model,
                                                       card_factory):
    tiny_classifier_model.graph.value_info.append(helper.make_tensor_value_info(
        "features", TensorProto.FLOAT, [1, 4, 65536, 65536]))
    path = _save_with(tiny_classifier_model, card_factory, tmp_path / "declared.onnx")
    with pytest.raises(ModelLoadError, match=r"graph shape at model\.graph\.value_info\[0\]\.type"
                                             r"\.tensor_type\.shape declares 17,179,869,184 "
                                             "elements"):
        load_model_file(path)


def test_fixed_tile_dimensions_must_match_the_card(tmp_path, tiny_classifier_model,
                                                   card_factory):
    dims = tiny_classifier_model.graph.input[0].type.tensor_type.shape.dim
    for dim in dims[2:]:
        dim.Clear()
        dim.dim_value = 64
    path = _save_with(tiny_classifier_model, card_factory, tmp_path / "fixed.onnx", tile_size=32)
    with pytest.raises(ModelLoadError, match=r"fixed\.onnx: input 'image' has dimension 2 fixed "
                                             r"to 64; the card's tiles are input\.tile_size = 32"):
        load_model_file(path)


# --- floating-point operations per megapixel --------------------------------------------------

def test_flops_of_the_tiny_classifier_are_counted_exactly(carded_classifier_path):
    loaded = load_model_file(carded_classifier_path)  # 32 px tiles, stride 16
    conv = 2 * (4 * 32 * 32) * (1 * 3 * 3)  # two operations per multiply-add
    head = 2 * 2 * 4
    assert loaded.cost.flops_per_pass == conv + head
    assert loaded.cost.flops_per_megapixel == pytest.approx((conv + head) * 1e6 / 16**2)
    assert loaded.cost.describe() == "3,906 passes, 2.88e+08 FLOP per megapixel"


def test_a_graph_whose_compute_explodes_is_refused(tmp_path, tiny_classifier_model,
                                                   card_factory):
    """An outer product of the tile with itself: no constant is large, yet one 1024 px tile
    would allocate 4 TiB and take 2e12 operations."""
    head = next(node for node in tiny_classifier_model.graph.node if node.name == "head")
    head.output[0] = "head.logits"
    nodes = [helper.make_node("Reshape", ["image", "column.shape"], ["column"]),
             helper.make_node("Reshape", ["image", "row.shape"], ["row"]),
             helper.make_node("MatMul", ["column", "row"], ["outer"], name="outer"),
             helper.make_node("ReduceMean", ["outer"], ["outer.mean"], keepdims=0),
             helper.make_node("Add", ["head.logits", "outer.mean"], ["logits"])]
    path = _save_with(tiny_classifier_model, card_factory, tmp_path / "outer.onnx",
                      nodes=nodes, initializers=[_ints("column.shape", [-1, 1]),
                                                 _ints("row.shape", [1, -1])],
                      tile_size=1024, stride=128)
    with pytest.raises(ModelLoadError, match=r"outer\.onnx: the graph needs 2\.2e\+12 "
                                             r"floating-point operations per 1024x1024 tile, 61 "
                                             r"of them per megapixel: 1\.34e\+14 per megapixel"):
        load_model_file(path)


def test_unknown_flops_are_reported_as_unknown():
    cost = ModelCost(passes_per_megapixel=1e6, input_values_per_megapixel=1e6)
    assert cost.flops_per_megapixel is None
    assert cost.describe() == "1,000,000 passes, unknown FLOP per megapixel"


# --- the shipped files ------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(path for path in shipped_models_dir().glob("*.onnx")
                                        if not is_saliency_graph_file(path)),
                         ids=lambda path: path.stem)
def test_shipped_models_and_their_saliency_graphs_pass(path):
    loaded = load_model_file(path)
    assert loaded.cost.flops_per_megapixel < MAX_FLOPS_PER_MEGAPIXEL / 50
    graphs = loaded.card["saliency"].get("graphs", {})
    assert graphs  # every shipped model ships gradient graphs: they pass the same checks
    for method in graphs:
        assert load_saliency_graph(loaded, method).output_names[1] == "saliency"
