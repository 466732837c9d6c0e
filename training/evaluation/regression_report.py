"""A per-map regressor's evaluation report, Markdown beside one PNG: held-out RMSE against the
baselines, per true value, time and angle, interval coverage, learning and robustness curves,
from the JSON report its training wrote (`training.regressors.spectral_index`).
`training.evaluation.report` calls it for ``regression`` models with image inputs.
"""

from pathlib import Path

__all__ = ["write_regression_report"]


def _table(entries, title):
    lines = [f"| {title} | maps | RMSE | bias | 68% covers | 95% covers |",
             "|---|---|---|---|---|---|"]
    for key, scores in entries.items():
        lines.append(f"| {key} | {scores['n_maps']} | {scores['rmse']:.3f} | "
                     f"{scores['bias']:+.3f} | {scores.get('inside_68', float('nan')):.3f} | "
                     f"{scores.get('inside_95', float('nan')):.3f} |")
    return lines


def _figure(report, name, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics, history = report["metrics"], report["history"]
    curves = ("smoothing_sigma_px", "zoom_factor", "noise_snr")
    figure, axes = plt.subplots(1, 2 + len(curves), figsize=(4.0 * (2 + len(curves)), 3.5))
    by_value = metrics["by_true_slope"]
    truth = [float(key) for key in by_value]
    axes[0].errorbar(truth, [value + by_value[key]["bias"] for key, value in
                             zip(by_value, truth)],
                     yerr=[by_value[key]["rmse"] for key in by_value], fmt="o")
    axes[0].plot([min(truth), max(truth)], [min(truth), max(truth)], "k--", lw=0.8)
    axes[0].set_xlabel("true value")
    axes[0].set_ylabel("mean prediction +- RMSE")
    axes[0].set_title("held-out runs")
    epochs = [row["epoch"] for row in history]
    axes[1].plot(epochs, [row["validation_rmse"] for row in history], "o-")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("validation RMSE")
    axes[1].set_title("learning curve")
    for axis, curve in zip(axes[2:], curves):
        rows = metrics["robustness"][curve]
        axis.plot(range(len(rows)), [row["rmse"] for row in rows], "o-")
        axis.set_xticks(range(len(rows)), [f"{row['value']:g}" for row in rows])
        axis.set_xlabel(curve.replace("_", " "))
        axis.set_ylabel("RMSE")
        for key, value in metrics["baselines"].items():
            axis.axhline(value["rmse"], lw=0.7, ls=":", color="gray")
    figure.suptitle(f"{name}: held-out runs, learning and robustness (dotted: baselines)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return Path(path)


def write_regression_report(report, name, out_dir):
    """Write ``<name>_report.md`` and ``<name>_report.png``.

    Returns
    -------
    list of path

    Raises
    ------
    ValueError
        For a report without the held-out evaluation.
    """
    metrics = report.get("metrics", {})
    missing = sorted({"network", "baselines", "by_true_slope", "robustness"} - set(metrics))
    if missing:
        raise ValueError(f"the training report lacks {missing}; train the model again")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = _figure(report, name, out_dir / f"{name}_report.png")
    network = metrics["network"]
    lines = [f"# Evaluation of {name}", "", report["card"]["description"], "",
             f"Written by `python -m training.evaluation.report {name}` from the training "
             f"report of `{report['command']}` ({report['date']}).", "",
             f"![held-out, learning and robustness]({figure.name})", "",
             "## Held-out runs, network and baselines on the same split", "",
             "| model | RMSE | bias |", "|---|---|---|",
             f"| network | {network['rmse']:.3f} | {network['bias']:+.3f} |"]
    lines += [f"| {key} | {value['rmse']:.3f} | {value['bias']:+.3f} |"
              for key, value in metrics["baselines"].items()]
    lines += ["", f"The network's calibrated 68% / 95% intervals cover "
              f"{network['inside_68']:.3f} / {network['inside_95']:.3f} of the held-out maps.",
              ""]
    for key, title in (("by_true_slope", "true value"), ("by_time_turnovers", "time (T)"),
                       ("by_angle_degrees", "angle (deg)")):
        if metrics.get(key):
            lines += [*_table(metrics[key], title), ""]
    lines += ["## Robustness (held-out runs)", ""]
    for curve in ("smoothing_sigma_px", "zoom_factor", "noise_snr"):
        lines.append(f"{curve.replace('_', ' ')}: " + ", ".join(
            f"{row['value']:g} -> RMSE {row['rmse']:.3f}"
            for row in metrics["robustness"][curve]))
        lines.append("")
    identity = metrics.get("run_identity_control")
    if identity and identity["classes"]:
        scored = sum(entry["n_test_maps"] for entry in identity["classes"].values())
        lines += ["## Run-identity control", "",
                  f"A CNN of the same shape trained to tell two training runs of one class "
                  f"apart, scored {identity['gap_turnovers']:g} turnovers after its training "
                  f"snapshots: mean accuracy {identity['mean_accuracy']:.3f} over {scored} maps "
                  f"(a coin would score 0.5 +- {0.5 / scored ** 0.5:.3f}, one binomial standard "
                  f"error; target 0.5 +- {identity['tolerance']}; at chance: "
                  f"{identity['at_chance']}).", ""]
        lines += ["| class | seeds | accuracy |", "|---|---|---|"]
        lines += [f"| {key} | {entry['seeds']} | {entry['accuracy']:.3f} |"
                  for key, entry in identity["classes"].items()]
        lines.append("")
    measured = report["card"].get("domain", {}).get("measured", {})
    if measured:
        lines += ["## Domain check", "", "| maps | flagged |", "|---|---|"]
        lines += [f"| {key.replace('_', ' ')} | {value['flagged_fraction']:.1%} of "
                  f"{value['n_tiles']} |" for key, value in measured.items()]
    markdown = out_dir / f"{name}_report.md"
    markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [markdown, figure]
