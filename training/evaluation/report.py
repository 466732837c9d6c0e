"""A model's evaluation report (image-to-image models: `training.evaluation.unet_report`); a
classifier's is Markdown beside one PNG: confusion matrix, ROC and AUC,
learning curves, and the baselines side by side, from the JSON report its training wrote.

Run as::

    python -m training.evaluation.report MODEL [--training-report JSON] [--out-dir DIR]

``MODEL`` is a shipped model's name or an ``.onnx`` file; its card names the training report
(``provenance.report``), or give ``--training-report``. The files are written as
``<DIR>/<model>_report.md`` and ``<model>_report.png`` (``DIR`` defaults to the training
report's folder), and the robustness curves as ``<model>_robustness.png``.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["softmax", "roc_curve_points", "write_report", "main"]


def softmax(logits):
    """Row-wise softmax of ``(n, k)`` logits (shifted by the row maximum: no overflow)."""
    logits = np.asarray(logits, dtype=float)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def roc_curve_points(labels, scores):
    """False- and true-positive rates and the AUC of ``scores`` for the second class."""
    from sklearn.metrics import roc_auc_score, roc_curve

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return None
    false_positive, true_positive, _ = roc_curve(labels, scores)
    return false_positive, true_positive, float(roc_auc_score(labels, scores))


def _confusion(labels, predictions, n_classes):
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(labels, predictions, labels=list(range(n_classes)))


def _figure(report, name, path):
    from matplotlib.figure import Figure

    scores = report["test_scores"]
    labels = np.asarray(scores["labels"])
    probabilities = softmax(scores["logits"])
    classes = scores["class_names"]
    figure = Figure(figsize=(15, 3.9), layout="constrained")
    confusion_axes, roc_axes, learning_axes, baseline_axes = figure.subplots(1, 4)

    matrix = _confusion(labels, probabilities.argmax(axis=1), len(classes))
    confusion_axes.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        confusion_axes.text(column, row, str(count), ha="center", va="center",
                            color="white" if count > matrix.max() / 2 else "black")
    confusion_axes.set_xticks(range(len(classes)), classes, fontsize="small")
    confusion_axes.set_yticks(range(len(classes)), classes, fontsize="small")
    confusion_axes.set_xlabel("predicted")
    confusion_axes.set_ylabel("true")
    confusion_axes.set_title("CNN confusion (held-out runs)")

    curves = [("CNN", probabilities[:, -1])] + [
        (key, np.asarray(entry["test_scores"])) for key, entry in report["baselines"].items()
        if entry.get("test_scores") is not None]
    for label, values in curves:
        points = roc_curve_points(labels, values)
        if points is not None:
            roc_axes.plot(points[0], points[1], label=f"{label} (AUC {points[2]:.3f})")
    roc_axes.plot([0, 1], [0, 1], color="grey", lw=0.5)
    roc_axes.set_xlabel(f"false {classes[-1]} rate")
    roc_axes.set_ylabel(f"true {classes[-1]} rate")
    roc_axes.set_title("ROC")
    roc_axes.legend(fontsize="x-small", loc="lower right")

    history = report["history"]
    epochs = [entry["epoch"] for entry in history]
    learning_axes.plot(epochs, [entry["train_loss"] for entry in history], "o-",
                       label="training loss")
    learning_axes.plot(epochs, [entry["validation_loss"] for entry in history], "s-",
                       label="validation loss")
    accuracy_axes = learning_axes.twinx()
    accuracy_axes.plot(epochs, [entry["validation_accuracy"] for entry in history], "^--",
                       color="tab:green", label="validation accuracy")
    accuracy_axes.set_ylim(0.4, 1.02)
    accuracy_axes.set_ylabel("validation accuracy")
    learning_axes.set_xlabel("epoch")
    learning_axes.set_ylabel("cross-entropy")
    learning_axes.set_title("learning curves")
    learning_axes.legend(fontsize="x-small", loc="center right")

    names = ["CNN"] + list(report["baselines"])
    accuracies = [report["metrics"]["test_accuracy"]] + [
        entry["accuracy"] for entry in report["baselines"].values()]
    baseline_axes.bar(range(len(names)), accuracies,
                      color=["tab:blue"] + ["tab:grey"] * (len(names) - 1))
    for index, value in enumerate(accuracies):
        baseline_axes.text(index, value + 0.01, f"{value:.3f}", ha="center", fontsize="small")
    baseline_axes.set_xticks(range(len(names)), names, rotation=20, fontsize="small")
    baseline_axes.set_ylim(0, 1.08)
    baseline_axes.axhline(0.5, color="grey", lw=0.5)
    baseline_axes.set_ylabel("held-out accuracy")
    baseline_axes.set_title("CNN and baselines, same split")
    figure.suptitle(name)
    figure.savefig(path, format="png", dpi=100)
    return path


def _table(rows, header):
    from glue_turbml.models.catalog import markdown_cell

    def cells(row):
        return "| " + " | ".join(markdown_cell(cell) for cell in row) + " |"

    return [cells(header), "|" + "---|" * len(header), *map(cells, rows)]


def _accuracy_text(row):
    # a degraded map smaller than a tile has no score (zoomed out below the tile size)
    value = row["map_accuracy"] if row["map_accuracy"] is not None else row["tile_accuracy"]
    return "n/a" if value is None else f"{value:.3f}"


def _markdown(report, name, figure_name, robustness_name, *, angle_name=None):
    metrics = report["metrics"]
    scores = report["test_scores"]
    labels = np.asarray(scores["labels"])
    probabilities = softmax(scores["logits"])
    cnn_auc = roc_curve_points(labels, probabilities[:, -1])
    lines = [f"# {name}: evaluation report", "",
             f"Written by `python -m training.evaluation.report` from the training report of "
             f"`{report['command']}` ({report['date']}).", "",
             f"Held-out test: {metrics['n_test_maps']} "
             + ("network inputs (whole maps, and the runtime's tiles of maps larger than an "
                "input)" if report.get("config", {}).get("native_pixels") else "maps")
             + f" of runs never used in training or validation "
             f"({metrics.get('evaluation', '')}).", "",
             f"![confusion, ROC, learning curves, baselines]({figure_name})", "",
             "## CNN and baselines on the same split", ""]
    rows = [["CNN", f"{metrics['test_accuracy']:.4f}",
             "" if cnn_auc is None else f"{cnn_auc[2]:.4f}", "-"]]
    for key, entry in report["baselines"].items():
        rows.append([f"{key}: {entry['description']}", f"{entry['accuracy']:.4f}",
                     "" if entry["auc"] is None else f"{entry['auc']:.4f}",
                     f"{100 * (metrics['test_accuracy'] - entry['accuracy']):+.1f}"])
    lines += _table(rows, ["model", "accuracy", "AUC", "CNN minus model (points)"])
    matrix = _confusion(labels, probabilities.argmax(axis=1), len(scores["class_names"]))
    lines += ["", "## Confusion matrix (rows: true, columns: predicted)", ""]
    lines += _table([[name_] + list(map(int, row)) for name_, row in
                     zip(scores["class_names"], matrix)], ["", *scores["class_names"]])
    for key, title in (("test_accuracy_by_time_turnovers", "snapshot time (turnovers)"),
                       ("test_accuracy_by_angle_degrees", "angle to the mean field (deg)"),
                       ("test_accuracy_by_setting", "setting (numerics | driving)")):
        if metrics.get(key):
            lines += ["", f"## Accuracy by {title}", ""]
            lines += _table([[value, f"{accuracy:.4f}"] for value, accuracy
                             in metrics[key].items()], [title, "accuracy"])
            if key == "test_accuracy_by_angle_degrees" and angle_name:
                lines += ["", f"![accuracy against angle]({angle_name})"]
    by_mach = metrics.get("test_accuracy_by_alfven_mach") or {}
    if by_mach:
        lines += ["", "## Accuracy by the snapshot's Alfven Mach number (total field)", ""]
        lines += _table([[edge, name, entry["maps"], f"{entry['accuracy']:.4f}"]
                         for name, bins in by_mach.items() for edge, entry in bins.items()],
                        ["M_A", "true class", "held-out inputs", "accuracy"])
    for key, title in (("setting_controls", "Numerics and driving controls"),
                       ("pooled_setting_controls", "Pooled control")):
        controls = metrics.get(key)
        if not controls:
            continue
        networks = controls.get("networks", 1)
        trained = ("A network" if networks == 1 else
                   f"Averaged over {networks} networks (seeds in a row), a network")
        reference = controls["reference"]
        if isinstance(reference, str):
            on, held_out = f"`{reference}` only", "that setting's held-out runs"
        else:
            on = " and ".join(f"`{setting}`" for setting in reference) + " together"
            held_out = "their held-out runs"
        lines += ["", f"## {title}", "",
                  f"{trained} trained on {on} scores "
                  f"{controls['same_setting_accuracy']:.4f} on {held_out}; "
                  f"on the other settings (target: at most {controls['tolerance_points']:g} "
                  "points below" + ("" if networks == 1 else
                                    "; +- the networks' standard deviation") + "):", ""]
        lines += _table([[setting, entry["difference"], f"{entry['accuracy']:.4f}",
                          f"{entry['points_below_same_setting']:+.1f}"
                          + ("" if entry.get("points_below_spread") is None
                             else f" +- {entry['points_below_spread']:.1f}"),
                          "yes" if entry["within_target"] else "NO", entry["n_runs"]]
                         for setting, entry in controls["settings"].items()],
                        ["setting", "differs in", "accuracy", "points below", "within target",
                         "runs"])
        lines += _controls_by_angle(controls)
        if key == "setting_controls":
            lines += _baseline_controls(metrics.get("baseline_setting_controls"))
    controls = [(key, metrics[key]) for key in ("run_identity_control",
                                                "run_identity_control_long") if metrics.get(key)]
    if controls:
        lines += ["", "## Run-identity control", ""]
        for key, identity in controls:
            gap = identity.get("gap_turnovers", 1.0)
            lines.append(f"- {gap:g} turnover(s) after the training snapshots"
                         + (" (longer runs, `training.classifiers.alfven_identity`)"
                            if key.endswith("_long") else "")
                         + f": mean accuracy {identity['mean_accuracy']:.3f} telling two runs of "
                         f"one class apart (chance 0.5 +- {identity['tolerance']}; at chance: "
                         f"{identity['at_chance']})" + _identity_pairs_text(identity) + ".")
    lines += ["", "## Robustness", "", f"![robustness curves]({robustness_name})", ""]
    for curve, rows_ in report["robustness"].items():
        if isinstance(rows_, list):
            lines.append(f"- {curve.replace('_', ' ')} (map accuracy): " + ", ".join(
                f"{row['value']}: {_accuracy_text(row)}" for row in rows_))
    return "\n".join(lines) + "\n"


def _controls_by_angle(controls):
    """A control's accuracy per angle to the field (column maps), the reference's held-out
    runs first; no lines where its maps have one angle (slices)."""
    same = controls.get("same_setting_accuracy_by_angle")
    if not same:
        return []
    angles = sorted(same, key=float)
    rows = [["same setting (held-out runs)", *(f"{same[angle]:.3f}" for angle in angles)]]
    rows += [[setting, *(f"{entry['accuracy_by_angle'][angle]:.3f}"
                         if angle in (entry.get("accuracy_by_angle") or {}) else "n/a"
                         for angle in angles)]
             for setting, entry in controls["settings"].items()]
    header = ["setting", *(f"{float(angle):.1f}" for angle in angles)]
    return ["", "By angle between the line of sight and the mean field (degrees; the "
            "networks' mean):", ""] + _table(rows, header)


def _baseline_controls(controls):
    """The baselines' numerics and driving controls (`training.classifiers.
    alfven_baseline_controls`): does the class signal itself carry over, whatever reads it?
    One row per setting, one column per baseline."""
    if not controls:
        return []
    baselines = controls["baselines"]
    settings = list(next(iter(baselines.values()))["settings"])
    rows = [["same setting (held-out runs)",
             *(f"{entry['same_setting_accuracy']:.3f}" for entry in baselines.values())]]
    rows += [[setting, *(f"{entry['settings'][setting]['accuracy']:.3f} "
                         f"({entry['settings'][setting]['points_below_same_setting']:+.1f})"
                         for entry in baselines.values())]
             for setting in settings]
    return ["", f"The baselines, fitted on {controls['n_train']} of the reference setting's "
            "degraded training inputs and scored on the same runs (accuracy, and points below "
            "the same setting):", ""] + _table(rows, ["setting", *baselines])


def _identity_pairs_text(identity):
    """``; over N pairs: label seeds a/b 0.xxx, ...`` where the control scored several pairs."""
    pairs = [(label, pair) for label, entry in identity.get("classes", {}).items()
             for pair in entry.get("pairs", [])]
    if len(pairs) <= len(identity.get("classes", {})):
        return ""
    return f"; over {len(pairs)} pairs of runs: " + ", ".join(
        f"{label.replace('_', '-')} seeds {pair['seeds'][0]}/{pair['seeds'][1]} "
        f"{pair['accuracy']:.3f}" for label, pair in pairs)


def write_report(report, name, out_dir):
    """Write ``<name>_report.md``, ``<name>_report.png`` and ``<name>_robustness.png``.

    Parameters
    ----------
    report : dict
        A training report (e.g. of `training.classifiers.alfven`): ``metrics``,
        ``baselines`` with ``test_scores``, ``history``, ``robustness``, ``test_scores``.
    name : str
    out_dir : str or path

    Returns
    -------
    list of path
        The files written.
    """
    from .angle_figure import plot_accuracy_by_angle
    from .robustness import plot_robustness

    if report.get("card", {}).get("task") == "image_to_image":
        from .unet_report import write_unet_report

        return write_unet_report(report, name, out_dir)
    if report.get("card", {}).get("task") == "regression":
        from .regression_report import write_regression_report

        return write_regression_report(report, name, out_dir)
    missing = sorted({"metrics", "baselines", "history", "robustness", "test_scores"}
                     - set(report))
    if missing:
        raise ValueError(f"the training report lacks {missing}: it was written before the "
                         "report writer existed; train the model again")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = _figure(report, name, out_dir / f"{name}_report.png")
    robustness = plot_robustness(report["robustness"], out_dir / f"{name}_robustness.png",
                                 title=f"{name}: robustness on held-out runs")
    written = [figure, Path(robustness)]
    angle_name = None
    if len(report["metrics"].get("test_accuracy_by_angle_degrees") or {}) > 1:
        angle_name = f"{name}_angles.png"
        written.append(Path(plot_accuracy_by_angle(
            report["metrics"], out_dir / angle_name,
            title=f"{name}: held-out accuracy against viewing angle")))
    markdown = out_dir / f"{name}_report.md"
    markdown.write_text(_markdown(report, name, figure.name, Path(robustness).name,
                                  angle_name=angle_name), encoding="utf-8")
    return [markdown, *written]


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    from glue_turbml.models import resolve_model

    parser = argparse.ArgumentParser(prog="python -m training.evaluation.report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("model", help="shipped model name or .onnx file")
    parser.add_argument("--training-report", help="JSON report of its training (default: "
                                                  "the one its card names)")
    parser.add_argument("--out-dir", help="folder for the report (default: beside the "
                                          "training report)")
    arguments = parser.parse_args(argv)
    model = resolve_model(arguments.model)
    source = arguments.training_report or model.card.get("provenance", {}).get("report")
    if not source:
        print(f"error: the card of {model.name} names no training report; give "
              "--training-report", file=sys.stderr)
        return 2
    source = Path(source)
    if not source.is_absolute() and not source.exists():
        source = Path(__file__).resolve().parents[2] / source
    if not source.is_file():
        print(f"error: training report {source} not found; give --training-report",
              file=sys.stderr)
        return 2
    report = json.loads(source.read_text(encoding="utf-8"))
    try:
        written = write_report(report, model.name, arguments.out_dir or source.parent)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
