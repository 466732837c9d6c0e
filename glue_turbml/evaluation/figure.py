"""The evaluation figure: confusion matrices of tiles and maps, and the ROC curves."""

import numpy as np

__all__ = ["plot_evaluation"]


def _confusion_panel(axes, matrix, class_names, title):
    matrix = np.asarray(matrix, dtype=float)
    fractions = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    axes.imshow(fractions, vmin=0, vmax=1, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, f"{int(count)}\n{fractions[row, column]:.0%}", ha="center",
                  va="center", color="white" if fractions[row, column] > 0.6 else "black")
    axes.set_xticks(range(len(class_names)), class_names, rotation=20)
    axes.set_yticks(range(len(class_names)), class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)


def plot_evaluation(result, path):
    """Save the figure of an `EvaluationResult` as PNG.

    Parameters
    ----------
    result : glue_turbml.evaluation.EvaluationResult
    path : str or path
        The PNG file (written in PNG format whatever its ending).

    Returns
    -------
    path
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 4.6), layout="constrained")
    confusion_tiles, confusion_maps, roc = figure.subplots(1, 3)
    _confusion_panel(confusion_tiles, result.tile_scores["confusion_matrix"], result.class_names,
                     f"tiles: accuracy {result.tile_scores['accuracy']:.1%}")
    _confusion_panel(confusion_maps, result.map_scores["confusion_matrix"], result.class_names,
                     f"maps: accuracy {result.map_scores['accuracy']:.1%}")
    classes = result.class_names[1:] if len(result.class_names) == 2 else result.class_names
    for scope, scores, style in (("tiles", result.tile_scores, "-"),
                                 ("maps", result.map_scores, "--")):
        for name in classes:
            curve = scores["roc"][name]
            if curve is not None:
                roc.plot(curve["false_positive_rate"], curve["true_positive_rate"], style,
                         label=f"{scope}, {name}: AUC {curve['auc']:.3f}")
    roc.plot([0, 1], [0, 1], ":", color="grey")
    roc.set_xlabel("false positive rate")
    roc.set_ylabel("true positive rate")
    roc.set_title("ROC (one class against the rest)")
    if roc.get_legend_handles_labels()[0]:
        roc.legend(loc="lower right", fontsize="small")
    else:
        roc.text(0.5, 0.5, "one class only: no ROC", ha="center", transform=roc.transAxes)
    figure.suptitle(f"{result.model_card['name']} {result.model_card['version']} on "
                    f"{len({s['file'] for s in result.samples})} labelled files")
    figure.savefig(path, format="png", dpi=100)
    return path
