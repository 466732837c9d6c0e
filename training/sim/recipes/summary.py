"""Per-class summary of a finished recipe: for each class and snapshot time, the mean over the
seeds of M_s, the velocity and density power-spectrum slopes and sigma_s^2 / ln(1 + b^2 M_s^2),
so the difference the classes are meant to carry (and the Mach match) can be read at a glance::

    python -m training.sim.recipes.summary OUTPUT_DIR [--json FILE]
"""

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

from ..stats import read_snapshot_statistics

__all__ = ["summarize_recipe_output", "format_summary", "main"]

_QUANTITIES = ("mach_sonic", "velocity_spectrum_slope", "density_spectrum_slope",
               "log_density_variance_ratio", "mach_alfven_total")


def summarize_recipe_output(output_dir):
    """Rows (class, time in turnovers, number of seeds, then mean and standard deviation of
    each quantity in ``_QUANTITIES``) from the snapshots listed in ``manifest.json``."""
    manifest = json.loads((Path(output_dir) / "manifest.json").read_text())
    rows = []
    for label, entry in manifest["classes"].items():
        by_time = {}
        for run in entry["runs"]:
            for path in run["snapshots"]:
                found = read_snapshot_statistics(path)
                by_time.setdefault(round(found["time_turnovers"], 6), []).append(found)
        for time_turnovers, group in sorted(by_time.items()):
            row = {"class": label, "time_turnovers": time_turnovers, "seeds": len(group)}
            for name in _QUANTITIES:
                row[name], row[name + "_sd"] = _mean_and_sd([float(found[name])
                                                             for found in group])
            rows.append(row)
    return rows


def _mean_and_sd(values):
    if not all(math.isfinite(value) for value in values):
        return (values[0] if len(set(values)) == 1 else math.nan), math.nan   # e.g. M_A = inf
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def format_summary(rows):
    lines = [f"{'class':16s} {'t/T':>5s} {'seeds':>5s}  {'M_s':>6s}  "
             f"{'velocity slope':>17s}  {'density slope':>17s}  {'sigma ratio':>11s}  "
             f"{'M_A total':>9s}"]
    for row in sorted(rows, key=lambda row: (row["time_turnovers"], row["class"])):
        lines.append(
            f"{row['class']:16s} {row['time_turnovers']:5.2f} {row['seeds']:5d}  "
            f"{row['mach_sonic']:6.3f}  {row['velocity_spectrum_slope']:8.3f} +- "
            f"{row['velocity_spectrum_slope_sd']:5.3f}  {row['density_spectrum_slope']:8.3f} +- "
            f"{row['density_spectrum_slope_sd']:5.3f}  {row['log_density_variance_ratio']:11.3f}  "
            f"{row['mach_alfven_total']:9.3g}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training.sim.recipes.summary",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", help="a recipe's --output-dir (with manifest.json)")
    parser.add_argument("--json", dest="json_path", help="also write the rows as JSON here")
    arguments = parser.parse_args(argv)
    try:
        rows = summarize_recipe_output(arguments.output_dir)
    except (OSError, KeyError, ValueError) as error:
        print(f"summary: {error} (is {arguments.output_dir} a finished recipe's output "
              f"directory?)", file=sys.stderr)
        return 2
    print(format_summary(rows))
    if arguments.json_path:
        Path(arguments.json_path).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
