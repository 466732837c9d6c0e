"""Record the training domain of an exported model in its card, without retraining, and measure
the check: the false-alarm rate on held-out training-domain tiles and the flag rate on real
images that are not turbulence.

Run as::

    python -m training.evaluation.add_domain onnx_models/kolmogorov-burgers-fbm.onnx \\
        --report docs/results/kolmogorov_burgers_domain.json

Training-like tiles are drawn again from the model's own generator with seeds no training
stream uses, in three independent sets: one fits the statistics' mean and covariance, one
calibrates the threshold to the false-alarm rate, one measures it. Tiles are cut as the runtime
cuts a user's map (the card's tile size and stride, reflected edges), so edge tiles are in the
domain too. The weights are not touched: ``weights_sha256`` stays the same.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from .domain_record import fit_domain_record

__all__ = ["GENERATORS", "lognormal_classifier_tiles", "lognormal_column_tiles",
           "real_image_tiles", "add_embedding_output", "add_domain", "record_domain", "main"]

#: Seed roots of the fit, calibration and test sets (no training stream starts with these).
SET_SEEDS = {"fit": 7101, "calibration": 7102, "test": 7103}


def _cut(field, card):
    """The raw tiles the runtime would analyse in this map (the mapping's grid for U-Nets)."""
    from glue_turbml.core import extract_tiles, make_tile_grid
    from glue_turbml.mapping import mapping_grid

    tile_size, tiling = card["input"]["tile_size"], card["tiling"]
    if card["task"] == "image_to_image":
        grid = mapping_grid(field.shape, tile_size, margin=tiling["window_margin"],
                            stride=tiling["stride"])
    else:
        grid = make_tile_grid(field.shape, tile_size, stride=tiling["stride"],
                              boundary="reflect")
    return extract_tiles(field, grid)


def lognormal_classifier_tiles(card, *, seed, n_maps):
    """Raw tiles of lognormal maps like a lognormal-trained classifier's training data, and
    their class indices.

    The card's provenance gives the slopes, ``sigma_ln`` and map size; maps alternate between
    the classes' slopes.
    """
    from ..common.random_fields import lognormal_field

    data = card["provenance"]["training_data"]
    slopes = list(data["slopes"].values())
    size = data["map_size_px"]
    tiles, labels = [], []
    for number in range(n_maps):
        label = number % len(slopes)
        cut = _cut(lognormal_field((size, size), slopes[label], sigma_ln=data["sigma_ln"],
                                   seed=[seed, number]), card)
        tiles.append(cut)
        labels.append(np.full(len(cut), label))
    return np.concatenate(tiles), np.concatenate(labels)


def lognormal_column_tiles(card, *, seed, n_maps):
    """Raw tiles of column-density maps of lognormal cubes like a U-Net's training data (and
    no labels: None).

    Cubes are drawn as training drew them (`training.unet.data.random_cube_parameters` with
    the slope and width ranges of the card's recorded experiment), divided by their mean and
    projected along the first axis over the full depth.
    """
    from ..common.random_fields import lognormal_field
    from ..unet.data import column_and_mass_weighted_density, random_cube_parameters

    experiment = card["provenance"]["training"]["experiment"]
    size = experiment["cube_size"]
    maps = []
    for cube in random_cube_parameters(n_maps, slope_range=experiment["slope_range"],
                                       sigma_ln_range=experiment["sigma_ln_range"], seed=seed):
        density = lognormal_field((size,) * 3, cube["slope"], sigma_ln=cube["sigma_ln"],
                                  seed=cube["seed"])
        column = column_and_mass_weighted_density(density / density.mean(), axis=0)[0][0]
        maps.append(_cut(column / column.mean(), card))
    return np.concatenate(maps), None


#: Model name -> generator of raw training-domain tiles ``(card, *, seed, n_maps)``.
GENERATORS = {"kolmogorov-burgers-fbm": lognormal_classifier_tiles,
              "mass-weighted-density": lognormal_column_tiles}


def real_image_tiles(card):
    """Raw tiles of real images that are not turbulence maps: ``{name: tiles}``.

    The Hubble Deep Field and the Moon of scikit-image's data (photographs, averaged over the
    colour channels), and the white-light image (sum over wavelength) of the MUSE cube of
    Abell 478 in the ``mpdaf`` wheel when it is large enough for a tile.
    """
    from skimage import data

    images = {"hubble_deep_field": data.hubble_deep_field().astype(np.float64).mean(axis=2),
              "moon": data.moon().astype(np.float64)}
    try:
        from astropy.io import fits

        from ..emission_lines.muse_check import muse_cube_path

        cube = fits.getdata(muse_cube_path(), ext=1)
        white = np.nansum(cube, axis=0)
        if min(white.shape) >= card["input"]["tile_size"]:
            images["muse_abell478_white_light"] = white
    except (FileNotFoundError, ImportError, OSError):
        pass
    return {name: _cut(image, card) for name, image in images.items()}


def add_embedding_output(model):
    """Expose the pooled features the classifier's head reads as the graph output
    ``embedding`` (an Identity of them); the weights are untouched.

    Parameters
    ----------
    model : onnx.ModelProto
        Changed in place; a model that already has the output is left as it is.

    Returns
    -------
    int
        The embedding's width.

    Raises
    ------
    ValueError
        When no Gemm/MatMul reads a global mean (ReduceMean or GlobalAveragePool) output.
    """
    from onnx import TensorProto, helper, numpy_helper

    from glue_turbml.domain.embedding import EMBEDDING_OUTPUT

    producers = {output: node for node in model.graph.node for output in node.output}
    weights = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    for node in model.graph.node:
        source = producers.get(node.input[0]) if node.input else None
        if node.op_type in ("Gemm", "MatMul") and source is not None \
                and source.op_type in ("ReduceMean", "GlobalAveragePool"):
            weight = weights[node.input[1]]
            transposed = any(attribute.name == "transB" and attribute.i
                             for attribute in node.attribute)
            width = int(weight.shape[1] if transposed else weight.shape[0])
            if EMBEDDING_OUTPUT not in [output.name for output in model.graph.output]:
                model.graph.node.append(helper.make_node("Identity", [node.input[0]],
                                                         [EMBEDDING_OUTPUT]))
                model.graph.output.append(helper.make_tensor_value_info(
                    EMBEDDING_OUTPUT, TensorProto.FLOAT, ["batch", width]))
            return width
    raise ValueError("no dense layer reads a global mean in this graph: cannot expose an "
                     "embedding")


def _embeddings(session, card, tiles):
    """Pooled features of raw tiles, preprocessed as the card says, through an onnxruntime
    session of the model with its ``embedding`` output."""
    from glue_turbml.core import build_pipeline
    from glue_turbml.domain.embedding import EMBEDDING_OUTPUT

    inputs = build_pipeline(card["preprocess"])(tiles)[:, np.newaxis].astype(np.float32)
    name = session.get_inputs()[0].name
    return np.concatenate([session.run([EMBEDDING_OUTPUT], {name: inputs[start:start + 64]})[0]
                           for start in range(0, len(inputs), 64)])


def add_domain(path, *, n_maps=12, false_alarm_rate=0.01, write=True, command=""):
    """Fit, calibrate and measure the domain record of a model file; optionally store it.

    Classifiers get both parts (input statistics and network embedding, each calibrated to half
    the false-alarm budget, so the two together stay within it) and the ``embedding`` graph
    output; other models get the input-statistics part.

    Parameters
    ----------
    path : str or path
        The exported model; its card gets ``domain`` when ``write``.
    n_maps : int
        Maps per set (fit, calibration, test).
    false_alarm_rate : float
    write : bool
    command : str

    Returns
    -------
    dict
        The report: the records, the measured false-alarm rate on the test set, flag rates and
        verdicts on the real images.
    """
    from glue_turbml.models import load_model_file

    card = load_model_file(path).card
    if card["name"] not in GENERATORS:
        raise ValueError(f"no training-domain generator for model {card['name']!r} (known: "
                         f"{sorted(GENERATORS)}); record its domain from its training script")
    generate = GENERATORS[card["name"]]
    sets = {name: generate(card, seed=seed, n_maps=n_maps) for name, seed in SET_SEEDS.items()}
    return record_domain(
        path, sets, false_alarm_rate=false_alarm_rate, write=write, command=command,
        description=f"raw tiles of maps from {generate.__name__} (seed roots {SET_SEEDS}), cut "
                    "as the runtime cuts a map")


def record_domain(path, sets, *, description, false_alarm_rate=0.01, write=True, command="",
                  fit_groups=None):
    """Fit the domain record of a model file on given raw tiles, calibrate and measure it.

    Parameters
    ----------
    path : str or path
        The exported model; its card gets ``domain`` when ``write``.
    sets : dict
        ``{"fit", "calibration", "test"}`` -> ``(raw tiles (n, T, T), class indices (n,))``:
        three independent sets of training-domain tiles (e.g. training, validation and
        held-out runs), raw as the runtime cuts them (before any preprocessing). With
        ``fit_groups``, ``"calibration"`` may be None: thresholds then come from each group's
        fit tiles scored by a record fitted without that group.
    description : str
        Where the tiles came from (stored in the card).
    false_alarm_rate : float
    write : bool
    command : str
    fit_groups : array_like, optional
        ``(n_fit,)`` group (run) of each fit tile.

    Returns
    -------
    dict
        As `add_domain`.
    """
    import onnx

    from glue_turbml.domain import DomainCheck, map_verdict
    from glue_turbml.domain.embedding import EMBEDDING_OUTPUT, EmbeddingCheck
    from glue_turbml.models import load_model_file, write_card

    from ..common.provenance import code_version, utc_timestamp
    from .domain_record import fit_embedding_record

    start = time.perf_counter()
    card = load_model_file(path).card
    calibration = sets.get("calibration")
    classifier = card["task"] == "classification"
    threshold_rate = false_alarm_rate / 2 if classifier else false_alarm_rate
    tile_size = card["input"]["tile_size"]
    domain = {"input_statistics": fit_domain_record(
        sets["fit"][0], None if calibration is None else calibration[0],
        k_range=(2.0, tile_size / 4.0), fit_groups=fit_groups,
        false_alarm_rate=false_alarm_rate, threshold_rate=threshold_rate,
        description=description)}
    model = onnx.load(os.fspath(path))
    session = None
    if classifier:
        import onnxruntime

        add_embedding_output(model)
        session = onnxruntime.InferenceSession(model.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        domain["embedding"] = fit_embedding_record(
            _embeddings(session, card, sets["fit"][0]), sets["fit"][1],
            None if calibration is None else _embeddings(session, card, calibration[0]),
            threshold_rate=threshold_rate, fit_groups=fit_groups)
    provenance = {"command": command, "date": utc_timestamp(), "code_version": code_version()}
    domain["input_statistics"].update(provenance)
    check = DomainCheck.from_card({"name": card["name"], "domain": domain})
    embedding_check = EmbeddingCheck.from_card({"domain": domain})

    def inside(tiles):
        scores, _ = check.score_tiles(tiles)
        if embedding_check is not None:
            scores = np.maximum(scores, embedding_check.scores(_embeddings(session, card, tiles)))
        return scores <= 1.0

    test_in = inside(sets["test"][0])
    measured = {"held_out_training_domain": {
        "n_tiles": int(test_in.size), "flagged_fraction": float(1 - test_in.mean()),
        "target": "<= 0.02"}}
    for name, image_tiles in real_image_tiles(card).items():
        flags = inside(image_tiles)
        measured[name] = {"n_tiles": int(flags.size), "flagged_fraction": float(1 - flags.mean()),
                          "verdict": map_verdict(flags, false_alarm_rate), "target": ">= 0.95"}
    domain["measured"] = measured
    if write:
        updated = json.loads(json.dumps(card))
        updated["domain"] = domain
        if classifier and EMBEDDING_OUTPUT not in [out["name"] for out in updated["outputs"]]:
            updated["outputs"].append({
                "name": EMBEDDING_OUTPUT, "units": "", "activation": "none",
                "description": "the globally pooled features the head reads (the domain "
                               "check's feature-space part)"})
        write_card(model, updated)
        onnx.save(model, os.fspath(path))
    return {"model": card["name"], "file": os.fspath(path),
            "weights_sha256": card["weights_sha256"], "domain": domain,
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None):
    """``python -m training.evaluation.add_domain MODEL [--report JSON] [--dry-run]``."""
    from ..common.provenance import command_line, write_report_if_asked

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m training.evaluation.add_domain",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="exported .onnx file (its card is updated)")
    parser.add_argument("--report", help="write the JSON report here")
    parser.add_argument("--maps", type=int, default=12, help="maps per set (default 12)")
    parser.add_argument("--false-alarm-rate", type=float, default=0.01)
    parser.add_argument("--dry-run", action="store_true", help="measure, do not write the card")
    arguments = parser.parse_args(argv)
    report = add_domain(arguments.model, n_maps=arguments.maps,
                        false_alarm_rate=arguments.false_alarm_rate,
                        write=not arguments.dry_run,
                        command=command_line("training.evaluation.add_domain", argv))
    for name, entry in report["domain"]["measured"].items():
        print(f"{name}: {entry['flagged_fraction']:.1%} of {entry['n_tiles']} tiles flagged "
              f"(target {entry['target']})")
    write_report_if_asked(arguments.report, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
