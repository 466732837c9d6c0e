"""Do the two numerics of the Alfven sets simulate the same physics at 48-64^3? Issue 13 item 2.

The numerics control trains on ``alfven_48_fast`` (MC limiter, HLLD) and scores
``alfven_64_minmod_hlle`` (minmod, HLLE): its sub-Alfvenic maps are called super-Alfvenic
(``alfven_numerics_by_class.txt``). This script asks whether that is a network reading the
solver, or the solvers making different flows: per set and class, averaged over every snapshot
of every run, it prints the statistic that separates the classes, the anisotropy
SF2_par / SF2_perp of ln(rho) (`training.sim.density_spectrum`), at the same fractions of the
box (1/16, 1/8, 1/4) whatever the resolution, beside the density spectrum slope (k = 3-12),
the share of density variance at |k| >= 16, sigma of ln(rho) and the snapshots' M_s and M_A.
Run from the repository root::

    python docs/results/alfven_numerics_physics.py ROOT > docs/results/alfven_numerics_physics.txt

An analysis: nothing shipped changes.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SETS = ("alfven_48_fast", "alfven_48_drive", "alfven_64_minmod_hlle", "alfven_48_minmod_hlld",
        "alfven_64_minmod_hlld", "probe_48_minmod_hlle", "probe_48_minmod_hlld",
        "probe_48_mc_hlle", "probe_48_hlld_no_order_check")
#: lags as fractions of the box side
LAG_FRACTIONS = (1 / 16, 1 / 8, 1 / 4)


def set_statistics(folder, label):
    """Per-snapshot statistics of every run of one class in one recipe folder."""
    from training.sim.density_spectrum import density_numerics_statistics
    from training.sim.snapshots import read_snapshot_density

    rows = []
    for path in sorted((folder / label).glob("seed_*/snapshot_*.fits")):
        density, header = read_snapshot_density(path)
        side = density.shape[0]
        lags = tuple(int(round(fraction * side)) for fraction in LAG_FRACTIONS)
        found = density_numerics_statistics(density, lags=lags)
        log_density = np.log(density / density.mean())
        rows.append({"run": path.parent.name, "time": float(header["TTURN"]),
                     "mach_sonic": float(header["MS"]),
                     "mach_alfven": float(header.get("MATOTAL", np.nan)),
                     "slope": found["density_slope"],
                     "small_scale": found["small_scale_fraction"],
                     "sigma_ln": float(log_density.std()),
                     "anisotropy": [found["sf_anisotropy"][lag] for lag in lags],
                     "side": side})
    return rows


def summary(rows):
    """Means over snapshots and the spread of the run means (run-to-run scatter)."""
    def mean_and_run_spread(values):
        by_run = {}
        for row, value in zip(rows, values):
            by_run.setdefault(row["run"], []).append(value)
        run_means = [np.mean(run_values, axis=0) for run_values in by_run.values()]
        return (np.mean(values, axis=0).tolist(),
                np.std(run_means, axis=0, ddof=1).tolist() if len(run_means) > 1 else None)

    record = {"n_runs": len({row["run"] for row in rows}), "n_snapshots": len(rows),
              "side": rows[0]["side"]}
    for key in ("mach_sonic", "mach_alfven", "slope", "small_scale", "sigma_ln", "anisotropy"):
        record[key], record[key + "_run_spread"] = mean_and_run_spread(
            [row[key] for row in rows])
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    arguments = parser.parse_args(argv)
    print(f"# written by: python docs/results/alfven_numerics_physics.py {arguments.root}")
    print("# means over every snapshot of every run; +- the standard deviation of the run means")
    print("# anisotropy = SF2_par / SF2_perp of ln(rho) at 1/16, 1/8, 1/4 of the box "
          "(below 1: elongated along B0)")
    results = {}
    for name in arguments.sets:
        folder = Path(arguments.root) / name
        if not (folder / "manifest.json").is_file():
            print(f"\n== {name}: not there or not finished (no manifest.json)")
            continue
        recipe = json.loads((folder / "recipe.json").read_text(encoding="utf-8"))
        common = recipe.get("common", recipe)
        numerics = " ".join(f"{key}={common.get(key)}" for key in ("cells", "limiter", "riemann"))
        print(f"\n== {name}: {numerics}")
        results[name] = {"numerics": numerics, "classes": {}}
        for label in ("sub_alfvenic", "super_alfvenic"):
            rows = set_statistics(folder, label)
            if not rows:
                continue
            record = summary(rows)
            results[name]["classes"][label] = record
            spread = record["anisotropy_run_spread"]
            print(f"   {label:15s} {record['n_runs']} runs, {record['n_snapshots']} snapshots: "
                  f"M_s {record['mach_sonic']:.2f}, M_A {record['mach_alfven']:.2f}; "
                  f"anisotropy " + "/".join(f"{value:.3f}" for value in record["anisotropy"])
                  + (" +- " + "/".join(f"{value:.3f}" for value in spread) if spread else "")
                  + f"; sigma ln rho {record['sigma_ln']:.3f}; slope {record['slope']:.3f}; "
                  f"|k|>=16 share {record['small_scale']:.3f}")
    print("\n== as JSON")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
