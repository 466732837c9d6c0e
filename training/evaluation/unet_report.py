"""An image-to-image model's evaluation report, Markdown beside one PNG: held-out error and
interval coverage per class of run beside the baselines, the sigma calibration, learning
curves and robustness curves, from the JSON report its training wrote
(`training.unet.sim_training.train_sim_unet`). `training.evaluation.report` calls it for
``image_to_image`` models, so one command writes every model's report.
"""

from pathlib import Path

__all__ = ["COVERAGE_TARGETS", "write_unet_report"]

#: The issue's coverage targets: nominal 68% and 95% intervals within these of nominal.
COVERAGE_TARGETS = {"inside_68": (0.68, 0.05), "inside_95": (0.95, 0.03)}


def _rows(entries, baseline_names):
    lines = ["| maps of | pixels | U-Net MSE(log10) | bias (dex) | 68% covers | 95% covers | "
             + " | ".join(f"{name} MSE" for name in baseline_names) + " |",
             "|---" * (6 + len(baseline_names)) + "|"]
    for group, entry in entries.items():
        unet = entry["unet"]
        lines.append(
            f"| {group} | {entry['n_pixels']} | {unet['mse_log10']:.4f} | "
            f"{unet['mean_error_log10']:+.4f} | {unet['fraction_inside_68_interval']:.3f} | "
            f"{unet['fraction_inside_95_interval']:.3f} | "
            + " | ".join(f"{entry[name]['mse_log10']:.4f}" for name in baseline_names) + " |")
    return lines


def _figure(report, name, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = report["history"]
    robustness = report["metrics"]["robustness"]
    curves = [key for key in ("smoothing_sigma_px", "zoom_factor", "noise_snr")
              if key in robustness]
    figure, axes = plt.subplots(1, 1 + len(curves), figsize=(4.2 * (1 + len(curves)), 3.6))
    epochs = [row["epoch"] for row in history]
    axes[0].plot(epochs, [row["validation_mse"] for row in history], "o-",
                 label="validation MSE(log10)")
    axes[0].plot(epochs, [row["train_loss"] for row in history], "s--", label="training loss")
    axes[0].set_xlabel("epoch")
    axes[0].set_title("learning curves")
    axes[0].legend(fontsize=8)
    for axis, curve in zip(axes[1:], curves):
        rows = robustness[curve]
        labels = ["none" if row["value"] in (0.0, float("inf")) or
                  (curve == "zoom_factor" and row["value"] == 1.0) else f"{row['value']:g}"
                  for row in rows]
        axis.plot(range(len(rows)), [row["mse_log10"] for row in rows], "o-", label="MSE")
        axis.set_xticks(range(len(rows)), labels)
        axis.set_xlabel(curve.replace("_", " "))
        axis.set_ylabel("MSE(log10)")
        twin = axis.twinx()
        twin.plot(range(len(rows)), [row["fraction_inside_68_interval"] for row in rows],
                  "s--", color="tab:orange", label="68% covers")
        twin.axhline(0.68, color="tab:orange", lw=0.6)
        twin.set_ylim(0, 1)
        twin.set_ylabel("68% interval covers", color="tab:orange")
        axis.set_title(f"held-out runs: {curve.split('_')[0]}")
    figure.suptitle(f"{name}: training and robustness")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return Path(path)


def _markdown(report, name, figure_name):
    metrics = report["metrics"]
    held_out = metrics["held_out"]
    baseline_names = [key for key in held_out["all"] if key not in ("unet", "n_pixels")]
    calibration = metrics["sigma_calibration"]
    card = report["card"]
    lines = [f"# Evaluation of {name}", "",
             f"{card['description']}", "",
             f"Written by `python -m training.evaluation.report {name}` from "
             f"the training report of `{report['command']}` ({report['date']}).", "",
             f"![learning and robustness curves]({figure_name})", "",
             "## Held-out runs (whole runs never used in training, validation or calibration)",
             "", *(_rows(held_out["by_run_classes"], baseline_names)), ""]
    for grouping, title in (("by_runs", "held-out run"),
                            ("by_depth_fractions", "line-of-sight depth / map width"),
                            ("by_times", "snapshot time (turnovers)")):
        if grouping in held_out:
            lines += [f"By {title}:", "", *(_rows(held_out[grouping], baseline_names)), ""]
    for extra, entries in (metrics.get("held_out_extra") or {}).items():
        lines += [f"{extra.replace('_', ' ').capitalize()}:", "",
                  *(_rows(entries["by_run_classes"], baseline_names)), ""]
    lines += ["## Interval calibration", "",
              f"One scale on sigma, {calibration['scale']:.3f}, fitted on the calibration runs "
              f"({calibration['n_pixels']} pixels): their 68% interval covered "
              f"{calibration['validation_inside_68_before']:.3f} -> "
              f"{calibration['validation_inside_68_after']:.3f} of pixels, the 95% interval "
              f"{calibration['validation_inside_95_before']:.3f} -> "
              f"{calibration['validation_inside_95_after']:.3f}.", "",
              "Held-out coverage per class of run against the targets (68 +- 5%, 95 +- 3%):", "",
              "| class of run | 68% covers | 95% covers | within target |", "|---|---|---|---|"]
    for group, entry in metrics["coverage_by_class_of_run"].items():
        lines.append(f"| {group} | {entry['inside_68']:.3f} | {entry['inside_95']:.3f} | "
                     f"{'yes' if entry['within_target'] else 'NO'} |")
    lines += ["", "## Robustness (held-out runs)", ""]
    for curve in ("smoothing_sigma_px", "zoom_factor", "noise_snr"):
        rows = metrics["robustness"].get(curve, [])
        if rows:
            lines += [f"{curve.replace('_', ' ')}: " + ", ".join(
                f"{row['value']:g} -> MSE {row['mse_log10']:.4f} (68% covers "
                f"{row['fraction_inside_68_interval']:.2f})" for row in rows), ""]
    domain = card.get("domain", {}).get("measured", {})
    if domain:
        lines += ["## Domain check", "", "| maps | flagged |", "|---|---|"]
        lines += [f"| {key.replace('_', ' ')} | {value['flagged_fraction']:.1%} of "
                  f"{value['n_tiles']} |" for key, value in domain.items()]
        lines.append("")
    return "\n".join(lines)


def write_unet_report(report, name, out_dir):
    """Write ``<name>_report.md`` and ``<name>_report.png`` of an image-to-image model.

    Parameters
    ----------
    report : dict
        The training report (``metrics`` with ``held_out``, ``robustness``,
        ``sigma_calibration``; ``history``; ``card``).
    name : str
    out_dir : str or path

    Returns
    -------
    list of path

    Raises
    ------
    ValueError
        For a report without the held-out evaluation (older training scripts).
    """
    missing = sorted({"held_out", "robustness", "sigma_calibration"}
                     - set(report.get("metrics", {})))
    if missing or "history" not in report:
        raise ValueError(f"the training report lacks {missing or ['history']}: it was not "
                         "written by training.unet.sim_training; train the model again")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = _figure(report, name, out_dir / f"{name}_report.png")
    markdown = out_dir / f"{name}_report.md"
    markdown.write_text(_markdown(report, name, figure.name), encoding="utf-8")
    return [markdown, figure]
