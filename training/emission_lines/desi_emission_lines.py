"""Train and export ``desi-emission-lines``: EW of ten lines from 12 binned continuum fluxes.

Run as::

    OMP_NUM_THREADS=1 nice -n 10 python -m training.emission_lines.desi_emission_lines \\
        --out onnx_models/desi-emission-lines.onnx --report docs/results/emission_lines_train.json

Following Khederlarian et al. (2024): features are the 11 colours log10(f[j+1]/f[j]) of adjacent
300 A rest-frame bins from 3400 to 7000 A (`glue_turbml.core.continuum_bins`), the target is
arcsinh(EW / A) and the squared error is weighted by an inverse variance. Galaxies are split
once by TARGETID (80/10/10) over the union of all lines.

Two choices are measured on the validation split and recorded in the report and the card:

1. the weighting, on the multi-output net: ``inverse_total_variance`` (each galaxy's measured
   variance of arcsinh(EW) plus the intrinsic scatter of the continuum-line relation) and
   ``inverse_expected_variance`` (the same, with the measurement variance averaged over the
   galaxy's continuum neighbours, so the weight does not follow its own EW); ``uniform`` is
   trained as a control. Weights that follow the measured EW bias the fit: the EW errors grow
   towards weak lines in arcsinh space, so down-weighting them pushes predictions up;
2. the architecture with the chosen weighting: one MLP per line or one multi-output MLP.

Early stopping keeps the epoch with the lowest validation loss.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from glue_turbml.core.continuum_bins import (DEFAULT_MASK_HALF_WIDTH_ANGSTROM,
                                             DESI_BIN_EDGES_ANGSTROM, EMISSION_LINE_NAMES,
                                             EMISSION_LINE_WAVELENGTHS_VACUUM)

from .data import DEFAULT_DATA_PATH, load_emission_line_data, restrict_bins
from .domain_record import record_colour_domain
from .metrics import ew_scores
from ..common.provenance import code_version, command_line, utc_timestamp
from ..saliency.end_step import add_saliency_end_step
from ..common.script_options import configure_torch_threads

__all__ = [
    "MODEL_NAME",
    "MODEL_VERSION",
    "TrainConfig",
    "WEIGHTINGS",
    "LOSSES",
    "intrinsic_scatter",
    "target_weights",
    "expected_variance_weights",
    "line_weights",
    "training_arrays",
    "train_net",
    "predict_ew",
    "build_card",
    "export_emission_line_model",
    "main",
]

MODEL_NAME = "desi-emission-lines"
MODEL_VERSION = "1.0.0"
INPUT_NAME = "colours"
OUTPUT_NAME = "equivalent_width"


class TrainConfig:
    """Hyper-parameters of one training run (small on purpose: 2 shared CPU cores)."""

    def __init__(self, *, hidden=(64, 64, 64), learning_rate=1e-3, batch_size=1024,
                 max_epochs=150, patience=8, seed=0, loss="mse",
                 weighting="inverse_total_variance"):
        if loss not in LOSSES or weighting not in WEIGHTINGS:
            raise ValueError(f"loss must be one of {LOSSES} and weighting one of {WEIGHTINGS}")
        self.loss = loss
        self.weighting = weighting
        self.hidden = tuple(int(size) for size in hidden)
        self.learning_rate = float(learning_rate)
        self.batch_size = int(batch_size)
        self.max_epochs = int(max_epochs)
        self.patience = int(patience)
        self.seed = int(seed)

    def as_dict(self):
        """JSON-friendly copy."""
        return {"hidden": list(self.hidden), "learning_rate": self.learning_rate,
                "batch_size": self.batch_size, "max_epochs": self.max_epochs,
                "patience": self.patience, "seed": self.seed, "loss": self.loss,
                "weighting": self.weighting}


def intrinsic_scatter(colours, target, measurement_variance, *, n_neighbors=50,
                      n_sample=5000, seed=0):
    """Scatter of arcsinh(EW) at fixed continuum beyond the measurement errors.

    The target of a sample of galaxies is compared with the mean target of its
    ``n_neighbors`` nearest neighbours in standardised colour space (itself excluded); the
    robust variance of that difference (1.4826 MAD, squared) less the median measurement
    variance is the intrinsic variance: what no model of the continuum can predict.

    Parameters
    ----------
    colours : numpy.ndarray
        ``(n, 11)`` training colours.
    target : numpy.ndarray
        ``(n,)`` arcsinh(EW).
    measurement_variance : numpy.ndarray
        ``(n,)`` variance of ``target`` from the EW measurement.
    n_neighbors, n_sample, seed : int, optional

    Returns
    -------
    float
        The intrinsic variance (at least 1e-4).
    """
    from sklearn.neighbors import NearestNeighbors

    features = (colours - colours.mean(axis=0)) / colours.std(axis=0)
    sample = np.random.default_rng(seed).choice(len(features), size=min(n_sample, len(features)),
                                                replace=False)
    index = NearestNeighbors(n_neighbors=n_neighbors + 1, algorithm="brute").fit(
        features).kneighbors(features[sample], return_distance=False)[:, 1:]
    residual = target[sample] - target[index].mean(axis=1)
    robust = 1.4826 * np.median(np.abs(residual - np.median(residual)))
    return float(max(robust ** 2 - np.median(measurement_variance[sample]), 1e-4))


def target_weights(ew_obs, ew_ivar, *, intrinsic_variance, reference=None):
    """Inverse total variance of arcsinh(EW): measurement plus intrinsic, mean 1 on ``reference``.

    The measurement variance of arcsinh(EW) is ``1 / (ivar * (1 + EW**2))`` (the EW's inverse
    variance propagated through arcsinh). Weighting by it alone lets the EW-dependent errors
    bias the fit (a few strong, precisely measured lines dominate); adding the intrinsic
    scatter of the continuum-line relation (`intrinsic_scatter`) gives the inverse of the
    variance the residuals actually have, so badly measured galaxies count less and the rest
    about equally.

    Parameters
    ----------
    ew_obs, ew_ivar : numpy.ndarray
    intrinsic_variance : float
    reference : numpy.ndarray of bool, optional
        Rows defining the scale (the training rows); all rows by default.

    Returns
    -------
    numpy.ndarray
        float32 weights.
    """
    measurement_variance = 1.0 / (np.maximum(ew_ivar, 1e-30) * (1.0 + ew_obs ** 2))
    weights = 1.0 / (measurement_variance + intrinsic_variance)
    reference = np.ones(ew_obs.shape, dtype=bool) if reference is None else reference
    return (weights / weights[reference].mean()).astype(np.float32)


def expected_variance_weights(colours, measurement_variance, intrinsic_variance, *, reference,
                              n_neighbors=100, n_reference=20000, seed=0):
    """Inverse of the total variance expected at each galaxy's continuum.

    The measurement variance is replaced by its mean over the ``n_neighbors`` nearest
    reference galaxies in standardised colour space (a seeded subsample of ``n_reference``),
    so the weight depends on the continuum only, never on the galaxy's own measured EW: weights
    that follow the target bias the fit (measured on the validation split, see
    ``docs/results/emission_lines_train.json``), weights that follow the input only change
    which galaxies the fit listens to.

    Returns
    -------
    numpy.ndarray
        float32 weights, mean 1 over ``reference`` rows.
    """
    from sklearn.neighbors import NearestNeighbors

    mean, std = colours[reference].mean(axis=0), colours[reference].std(axis=0)
    features = (colours - mean) / std
    reference_rows = np.flatnonzero(reference)
    reference_rows = np.random.default_rng(seed).choice(
        reference_rows, size=min(n_reference, reference_rows.size), replace=False)
    neighbours = NearestNeighbors(n_neighbors=n_neighbors, algorithm="brute").fit(
        features[reference_rows])
    expected = np.empty(len(features))
    for start in range(0, len(features), 8192):
        index = neighbours.kneighbors(features[start:start + 8192], return_distance=False)
        expected[start:start + 8192] = measurement_variance[reference_rows][index].mean(axis=1)
    weights = 1.0 / (expected + intrinsic_variance)
    return (weights / weights[reference].mean()).astype(np.float32)


def line_weights(table, *, weighting="inverse_total_variance"):
    """Loss weights of all rows of a line, with its intrinsic scatter from the training rows.

    Parameters
    ----------
    table : training.emission_lines.data.LineTable
    weighting : {"inverse_total_variance", "inverse_expected_variance"}
        `target_weights` (each galaxy's own measurement variance) or
        `expected_variance_weights` (the mean measurement variance at its continuum).

    Returns
    -------
    weights : numpy.ndarray
    intrinsic_variance : float
    """
    train = table.rows("train")
    measurement_variance = 1.0 / (np.maximum(table.ew_ivar, 1e-30) * (1.0 + table.ew_obs ** 2))
    intrinsic_variance = intrinsic_scatter(table.colours[train], np.arcsinh(table.ew_obs[train]),
                                           measurement_variance[train])
    if weighting == "inverse_expected_variance":
        return (expected_variance_weights(table.colours, measurement_variance, intrinsic_variance,
                                          reference=train), intrinsic_variance)
    return (target_weights(table.ew_obs, table.ew_ivar, intrinsic_variance=intrinsic_variance,
                           reference=train), intrinsic_variance)


#: Loss weightings compared on the validation split (see the module docstring).
WEIGHTINGS = ("inverse_expected_variance", "inverse_total_variance", "uniform")
WEIGHTING_DESCRIPTIONS = {
    "inverse_expected_variance": ("1 / (mean measurement variance of arcsinh(EW) among the 100 "
                                  "nearest training continua + intrinsic variance), mean 1"),
    "inverse_total_variance": ("1 / (the galaxy's measurement variance of arcsinh(EW), "
                               "1 / (ivar_EW (1 + EW^2)), + intrinsic variance), mean 1"),
    "uniform": "1 for every galaxy",
}
#: Losses: squared error (fits the conditional mean of arcsinh(EW)) or absolute error (the
#: conditional median, which is what NMAD rewards).
LOSSES = ("mse", "l1")


def training_arrays(data, split_name, *, per_line, weighting="inverse_total_variance"):
    """Features, arcsinh targets and weights of one split.

    Parameters
    ----------
    data : training.emission_lines.data.EmissionLineData
    split_name : str
    per_line : bool
    weighting : {"inverse_total_variance", "uniform"}
        `line_weights`, or 1 for every galaxy (the control).

    Returns
    -------
    list of (colours, targets, weights)
        Per line when ``per_line``: ``(n, 11)``, ``(n, 1)``, ``(n, 1)``. Otherwise one entry with
        a row per galaxy: its colours averaged over the lines it has (the lines' bin fluxes
        differ only through their masking), ``(n, 10)`` targets and weights, weight 0 where a
        line is missing.
    """
    per_line_arrays = []
    for line in EMISSION_LINE_NAMES:
        table = data.tables[line]
        if weighting == "uniform":
            weights = np.ones(table.ew_obs.shape, dtype=np.float32)
        elif weighting in WEIGHTINGS:
            if (weighting, line) not in data.weights_cache:
                data.weights_cache[weighting, line] = line_weights(table, weighting=weighting)
            weights = data.weights_cache[weighting, line][0]
        else:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        rows = table.rows(split_name)
        per_line_arrays.append((table.targetid[rows], table.colours[rows],
                                np.arcsinh(table.ew_obs[rows]).astype(np.float32),
                                weights[rows]))
    if per_line:
        return [(colours, target[:, None], weight[:, None])
                for _, colours, target, weight in per_line_arrays]
    all_ids = np.unique(np.concatenate([ids for ids, *_ in per_line_arrays]))
    n_colours = per_line_arrays[0][1].shape[1]
    colour_sum = np.zeros((all_ids.size, n_colours))
    colour_count = np.zeros(all_ids.size)
    targets = np.zeros((all_ids.size, len(EMISSION_LINE_NAMES)), dtype=np.float32)
    weights = np.zeros_like(targets)
    for index, (ids, colours, target, weight) in enumerate(per_line_arrays):
        where = np.searchsorted(all_ids, ids)
        np.add.at(colour_sum, where, colours)
        np.add.at(colour_count, where, 1.0)
        targets[where, index] = target
        weights[where, index] = weight
    colours = (colour_sum / colour_count[:, None]).astype(np.float32)
    return [(colours, targets, weights)]


def _weighted_loss(prediction, target, weight, loss):
    """Weighted mean squared or absolute error.

    For the absolute error the weights enter as their square root: with Laplace-distributed
    residuals the scale goes as the standard deviation, not the variance.
    """
    if loss == "l1":
        weight = weight.sqrt()
        return (weight * (prediction - target).abs()).sum() / weight.sum()
    return (weight * (prediction - target) ** 2).sum() / weight.sum()


def train_net(train_sets, validation_sets, config, *, log=print):
    """Train one `EmissionLineNet` (its heads on their own rows) with early stopping.

    Parameters
    ----------
    train_sets, validation_sets : list of (colours, targets, weights)
        From `training_arrays`; one entry per head.
    config : TrainConfig
    log : callable

    Returns
    -------
    net : training.emission_lines.nets.EmissionLineNet
        In eval mode, with the weights of each head's best validation epoch.
    history : list of dict
        Per head: ``best_epoch``, ``best_validation_loss``, ``epochs_run``.
    """
    import torch

    from .nets import EmissionLineNet

    torch.manual_seed(config.seed)
    all_colours = np.concatenate([colours for colours, *_ in train_sets])
    net = EmissionLineNet(all_colours.mean(axis=0), all_colours.std(axis=0),
                          n_lines=len(EMISSION_LINE_NAMES), per_line=len(train_sets) > 1,
                          hidden=config.hidden)
    history = []
    for index, (head, train_set, validation_set) in enumerate(zip(net.heads, train_sets,
                                                                  validation_sets)):
        history.append(_train_head(net, head, train_set, validation_set, config,
                                   seed=config.seed + index, log=log,
                                   label=EMISSION_LINE_NAMES[index] if len(train_sets) > 1
                                   else "multi-output"))
    return net.eval(), history


def _train_head(net, head, train_set, validation_set, config, *, seed, log, label):
    import torch

    generator = torch.Generator().manual_seed(seed)
    colours, targets, weights = (torch.from_numpy(np.ascontiguousarray(a)) for a in train_set)
    val_colours, val_targets, val_weights = (torch.from_numpy(np.ascontiguousarray(a))
                                             for a in validation_set)
    optimizer = torch.optim.Adam(head.parameters(), lr=config.learning_rate)

    def head_output(features):
        return head((features - net.colour_mean) / net.colour_std)

    best = (np.inf, 0, None)
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        head.train()
        order = torch.randperm(len(colours), generator=generator)
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            optimizer.zero_grad()
            loss = _weighted_loss(head_output(colours[batch]), targets[batch], weights[batch],
                                  config.loss)
            loss.backward()
            optimizer.step()
        head.eval()
        with torch.no_grad():
            validation_loss = float(_weighted_loss(head_output(val_colours), val_targets,
                                                   val_weights, config.loss))
        if validation_loss < best[0]:
            best = (validation_loss, epoch,
                    {key: value.clone() for key, value in head.state_dict().items()})
        elif epoch - best[1] >= config.patience:
            break
    head.load_state_dict(best[2])
    log(f"  {label}: best epoch {best[1]} of {epoch}, validation loss {best[0]:.4f}")
    return {"head": label, "best_epoch": best[1], "best_validation_loss": best[0],
            "epochs_run": epoch}


def predict_ew(net, colours):
    """EW (Angstrom) of all lines for ``(n, 11)`` colours with a torch net."""
    import torch

    with torch.no_grad():
        return np.sinh(net(torch.from_numpy(np.asarray(colours, dtype=np.float32))).numpy()
                       .astype(np.float64))


def validation_scores(net, data):
    """Per-line `ew_scores` on each line's validation rows."""
    scores = {}
    for index, line in enumerate(EMISSION_LINE_NAMES):
        table = data.tables[line]
        rows = table.rows("validation")
        scores[line] = ew_scores(table.ew_obs[rows], predict_ew(net, table.colours[rows])[:, index])
    return scores


def _centres_text(line):
    return ", ".join(f"{centre:.2f}" for centre in EMISSION_LINE_WAVELENGTHS_VACUUM[line])


def build_card(*, data, config, architecture, choice, command, metrics=None, name=MODEL_NAME):
    """The model card of the exported graph (metrics filled in by the evaluation command).

    Parameters
    ----------
    data : training.emission_lines.data.EmissionLineData
    config : TrainConfig
    architecture : str
        ``"per_line"`` or ``"multi_output"``.
    choice : dict
        Validation scores of both architectures and why one was chosen.
    command : str
    metrics : dict, optional
    """
    lines = list(EMISSION_LINE_NAMES)
    edges = list(data.bin_edges)
    n_bins = len(edges) - 1
    return {
        "schema_version": 1,
        "name": name,
        "version": MODEL_VERSION,
        "task": "regression",
        "description": (f"Equivalent widths of ten optical emission lines predicted from the "
                        f"stellar continuum: {n_bins - 1} colours of {n_bins} rest-frame bins, "
                        f"{edges[0]:g}-{edges[-1]:g} A (Khederlarian et al. 2024 method), "
                        "trained on DESI SV3 bright galaxies."),
        "input": {
            "name": INPUT_NAME,
            "kind": "binned rest-frame continuum colours",
            "description": (f"(batch, {n_bins - 1}) float32 colours log10(f[j+1]/f[j]) of the "
                            f"mean flux density in {n_bins} top-hat rest-frame bins of 300 A from "
                            f"{edges[0]:g} to {edges[-1]:g} A, after the emission lines are "
                            "masked and interpolated over; the runtime "
                            "(glue_turbml.emission_lines) computes them from a spectrum or cube "
                            "and its redshift"),
            "channels": n_bins - 1,
            "dtype": "float32",
            "units": "dex",
            "layout": "NC",
            "spectral": {
                "frame": "rest",
                "wavelength_unit": "Angstrom",
                "wavelength_medium": "vacuum",
                "bin_edges": edges,
                "bin_statistic": "mean of finite pixels",
                "feature": "log10_adjacent_bin_ratio",
                "masked_lines": {line: list(centres) for line, centres
                                 in EMISSION_LINE_WAVELENGTHS_VACUUM.items()},
                "mask_half_width_angstrom": DEFAULT_MASK_HALF_WIDTH_ANGSTROM,
                "min_valid_fraction": 0.5,
                "redshift_range_trained": [0.059, 0.300],
            },
        },
        "outputs": [{
            "name": OUTPUT_NAME,
            "description": ("(batch, 10) equivalent width of each line in Angstrom, positive = "
                            "emission; the graph applies sinh to the network's arcsinh(EW)"),
            "units": "Angstrom",
            "activation": "none",
            "channels": [{"name": line, "description": f"{line} equivalent width "
                          f"(rest {_centres_text(line)} A, "
                          "vacuum); positive = emission", "units": "Angstrom"}
                         for line in lines],
        }],
        "preprocess": [],
        "saliency": {"methods": []},
        "provenance": {
            "training_data": {
                "summary": ("DESI SV3 bright galaxies (z 0.06-0.30), measured EWs with inverse "
                            "variances, rebuilt from ashodkh/emission-lines (MIT)"),
                **data.provenance(),
            },
            "split": data.provenance()["split"],
            "seeds": {"split": data.split_seed, "torch": config.seed},
            "training": {"architecture": architecture, "config": config.as_dict(),
                         "loss": f"{config.loss} on arcsinh(EW), weights: "
                                 f"{WEIGHTING_DESCRIPTIONS[config.weighting]}",
                         "architecture_choice": choice},
            "command": command,
            "code_version": code_version(),
            "date": utc_timestamp(),
        },
        "metrics": metrics or {},
    }


def check_regression_parity(net, onnx_path, colours, *, tolerance=1e-3):
    """Compare torch and onnxruntime on real colours for several batch sizes.

    Returns
    -------
    list of dict
        ``batch_size`` and ``max_rel_diff`` (relative to max(1, |EW|)) per batch size.
    """
    import onnxruntime

    from ..common.export import ParityError

    session = onnxruntime.InferenceSession(os.fspath(onnx_path),
                                           providers=["CPUExecutionProvider"])
    records = []
    for batch_size in (1, 7, 256):
        batch = np.ascontiguousarray(colours[:batch_size], dtype=np.float32)
        expected = predict_ew(net, batch)
        (actual,) = session.run(None, {INPUT_NAME: batch})
        difference = np.max(np.abs(actual - expected) / np.maximum(1.0, np.abs(expected)))
        records.append({"batch_size": batch_size, "max_rel_diff": float(difference)})
    failures = [record for record in records if not record["max_rel_diff"] <= tolerance]
    if failures:
        raise ParityError(f"torch and onnxruntime differ on {onnx_path}: {failures}")
    return records


def export_emission_line_model(net, path, card, *, parity_colours, opset_version=18):
    """Export ``sinh(net)`` to one ONNX file with its card and check parity.

    Returns
    -------
    written_card : dict
    parity : list of dict
    """
    import torch
    from torch.export import Dim

    from .nets import EquivalentWidthGraph
    from ..common.export import export_onnx_with_card

    graph = EquivalentWidthGraph(net.cpu().eval()).eval()
    example = torch.from_numpy(np.ascontiguousarray(parity_colours[:4], dtype=np.float32))
    path, written = export_onnx_with_card(
        graph, (example,), path, card, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
        dynamic_shapes={"colours": {0: Dim("batch", min=1)}}, opset_version=opset_version)
    parity = check_regression_parity(net, path, parity_colours)
    return written, parity


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m training.emission_lines.desi_emission_lines",
        description="Train and export the DESI emission-line EW model (see module docstring).")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--report", required=True, help="JSON report to write")
    parser.add_argument("--data", default=str(DEFAULT_DATA_PATH), help="the npz data file")
    parser.add_argument("--seed", type=int, default=0, help="torch seed (default 0)")
    parser.add_argument("--split-seed", type=int, default=20240601,
                        help="seed of the TARGETID split (default 20240601)")
    parser.add_argument("--max-epochs", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--first-bin-edge", type=float, default=DESI_BIN_EDGES_ANGSTROM[0],
                        help="keep bins from this rest edge (A) redward: 4600 gives the "
                        "narrow-coverage variant for cubes such as MUSE (default 3400)")
    parser.add_argument("--name", default=MODEL_NAME, help=f"model name (default {MODEL_NAME})")
    return parser


def _train_candidate(data, config, *, per_line, log):
    started = time.perf_counter()
    net, history = train_net(
        training_arrays(data, "train", per_line=per_line, weighting=config.weighting),
        training_arrays(data, "validation", per_line=per_line, weighting=config.weighting),
        config, log=log)
    scores = validation_scores(net, data)
    mean_rho = float(np.mean([score["spearman_rho"] for score in scores.values()]))
    return {"net": net, "history": history, "validation": scores, "mean_validation_rho": mean_rho,
            "train_seconds": round(time.perf_counter() - started, 1),
            "config": config.as_dict()}


def _choose(candidates, names):
    return max(names, key=lambda name: candidates[name]["mean_validation_rho"])


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    arguments = _parser().parse_args(argv)
    configure_torch_threads(arguments.threads)
    started = time.perf_counter()
    data = load_emission_line_data(arguments.data, split_seed=arguments.split_seed)
    if arguments.first_bin_edge != DESI_BIN_EDGES_ANGSTROM[0]:
        restrict_bins(data, arguments.first_bin_edge)
    name = arguments.name

    def log(text):
        print(text, flush=True)

    log(f"{name}: bins {data.bin_edges[0]:g}-{data.bin_edges[-1]:g} A; galaxies per split "
        f"{data.split_counts}")
    candidates = {}
    # Stage 1: the loss weighting, on the cheap multi-output net.
    for weighting in WEIGHTINGS:
        config = TrainConfig(seed=arguments.seed, max_epochs=arguments.max_epochs,
                             weighting=weighting)
        candidate = f"multi_output/{weighting}"
        log(f"training {candidate}")
        candidates[candidate] = _train_candidate(data, config, per_line=False, log=log)
        log(f"  {candidate}: mean validation rho "
            f"{candidates[candidate]['mean_validation_rho']:.4f}")
    inverse_variance = [f"multi_output/{w}" for w in WEIGHTINGS if w != "uniform"]
    weighting = candidates[_choose(candidates, inverse_variance)]["config"]["weighting"]
    # Stage 2: the architecture, with that weighting.
    config = TrainConfig(seed=arguments.seed, max_epochs=arguments.max_epochs,
                         weighting=weighting)
    candidate = f"per_line/{weighting}"
    log(f"training {candidate}")
    candidates[candidate] = _train_candidate(data, config, per_line=True, log=log)
    log(f"  {candidate}: mean validation rho {candidates[candidate]['mean_validation_rho']:.4f}")
    chosen = _choose(candidates, [f"multi_output/{weighting}", f"per_line/{weighting}"])
    architecture = chosen.split("/")[0]
    choice = {
        "chosen": chosen,
        "rule": ("weighting: the inverse-variance weighting with the higher mean validation "
                 "Spearman rho of the multi-output net (uniform weights are a control, not a "
                 "candidate); architecture: per-line vs multi-output with that weighting, higher "
                 "mean validation rho"),
        "intrinsic_variance_arcsinh": {line: round(value[1], 4) for (w, line), value
                                       in data.weights_cache.items() if w == weighting},
        **{f"{key}_mean_validation_rho": round(entry["mean_validation_rho"], 4)
           for key, entry in candidates.items()},
    }
    log(f"chosen: {chosen}")
    command = command_line("training.emission_lines.desi_emission_lines", argv)
    card = build_card(data=data, config=config, architecture=architecture, choice=choice,
                      command=command, name=name)
    parity_colours = data.tables["HALPHA"].colours[data.tables["HALPHA"].rows("test")]
    written, parity = export_emission_line_model(candidates[chosen]["net"], arguments.out, card,
                                                 parity_colours=parity_colours)
    os.makedirs(os.path.dirname(os.path.abspath(arguments.report)), exist_ok=True)
    saliency_summary = add_saliency_end_step(arguments.out, arguments.report, command=command,
                                             script="training.emission_lines.desi_emission_lines",
                                             say=log)
    domain = record_colour_domain(arguments.out, data, command=command)["domain"]["measured"]
    log(f"domain check: {domain['held_out_training_domain']['flagged_fraction']:.1%} of the "
        "test galaxies flagged")
    report = {
        "model": name, "command": command,
        "code_version": written["provenance"]["code_version"],
        "date": written["provenance"]["date"], "onnx": os.path.relpath(arguments.out),
        "weights_sha256": written["weights_sha256"], "data": data.provenance(),
        "chosen_config": config.as_dict(), "choice": choice, "parity": parity,
        "saliency": saliency_summary, "domain_measured": domain,
        "candidates": {key: {field: value for field, value in entry.items() if field != "net"}
                       for key, entry in candidates.items()},
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    with open(arguments.report, "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=1)
    log(f"wrote {arguments.out} and {arguments.report} ({report['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
