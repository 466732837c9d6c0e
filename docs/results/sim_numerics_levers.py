"""Which numerics bring our density spectrum close to the other code's (issue 13 item 2)?

Reads the lever-study runs (super-Alfvenic, B0 = 0.1, M_s target 7, seed 0, Mach control on,
snapshots at 2, 2.5, 3 T; made by /work/simdata/levers/run_levers.sh and
run_levers_extra.sh, one run per variant) and
prints, per variant and snapshot, the density statistics of ``training.sim.density_spectrum``
next to the other code's numbers quoted from issue 13, then the cost of each variant and the
shift of each lever against the recipe's numerics (a).

    python docs/results/sim_numerics_levers.py [LEVERS_DIR] > docs/results/sim_numerics_levers.txt
"""

import math
import re
import sys
from pathlib import Path

import numpy as np

from training.sim.density_spectrum import read_density_numerics_statistics

# issue 13, super-Alfvenic class at 64^3, M_s ~ 7 (one run each): the other code, and ours then
OTHER_CODE = {"density_slope": -0.79, "small_scale_fraction": 0.103, "sf_anisotropy": "~1.04"}
OURS_IN_ISSUE = {"density_slope": -0.58, "small_scale_fraction": 0.167,
                 "sf_anisotropy": "~0.92-0.98"}

VARIANTS = [
    ("a_mc_hlld_64", "(a) recipe: MC, log where steep, HLLD, flattener 30, 64^3"),
    ("a2_mc_hlld_64_seed1", "(a) with seed 1 instead of 0: the scale of seed-to-seed chance"),
    ("b_vanleer_hlld_64", "(b) van Leer limiter, HLLD, 64^3"),
    ("c_mc_hlle_64", "(c) MC limiter, HLLE, 64^3"),
    ("d_vanleer_hlle_64", "(d) van Leer + HLLE, 64^3"),
    ("e_mc_hlld_48", "(e) recipe numerics at 48^3"),
    ("f_vanleer_hlld_48", "(f) van Leer, HLLD, 48^3"),
    ("j_minmod_hlld_64", "(j) minmod limiter (the most diffusive), HLLD, 64^3"),
    ("k_minmod_hlle_64", "(k) minmod + HLLE, 64^3"),
    ("g_mc_hlld_noflat_64", "(g) recipe numerics without the flattener, 64^3"),
    ("i_parabola_drive_64", "(i) recipe numerics, parabolic forcing spectrum (peak k = 2), 64^3"),
    ("h_linear_rho_64", "(h) recipe numerics, rho (not ln rho) reconstructed everywhere, 64^3"),
]
BASELINE = "a_mc_hlld_64"

_CONTROL_LINE = re.compile(r"t =\s*([0-9.]+) T: .*step (\d+); .*; (\d+) s wall")


def _control_log(path):
    """(t in T, step, wall seconds since the process started) of each control line of a run
    log; a resumed run restarts its wall clock, so only one process's lines are kept (the
    last one that started before 2 T), and the cost is measured within it."""
    if not path.exists():
        return []
    runs, current = [], []
    for line in path.read_text().splitlines():
        found = _CONTROL_LINE.search(line)
        if found:
            entry = (float(found.group(1)), int(found.group(2)), int(found.group(3)))
            if current and entry[2] < current[-1][2]:
                runs.append(current)
                current = []
            current.append(entry)
    runs.append(current)
    return max(runs, key=lambda lines: sum(1 for t, _, _ in lines if t >= 1.99))


def _cost(path):
    """Steps and wall seconds per turnover between the control lines nearest 2 T and 3 T."""
    lines = [entry for entry in _control_log(path) if entry[0] >= 1.99]
    if len(lines) < 2:
        return math.nan, math.nan, math.nan
    (t0, s0, w0), (t1, s1, w1) = lines[0], lines[-1]
    span = t1 - t0
    return (s1 - s0) / span, (w1 - w0) / span, (w1 - w0) / max(s1 - s0, 1)


def _recorded(path):
    from astropy.io import fits

    header = fits.getheader(path)
    keys = ("cells", "seed", "limiter", "riemann", "density_reconstruction",
            "flatten_density_contrast", "forcing_shape", "solenoidal_fraction", "mach_control")
    # a run started before an option existed has no card for it: it ran that option's default
    return ", ".join(f"{key}={header.get(f'HIERARCH PAR {key}', '(default)')}" for key in keys)


def _fmt(value, digits=3):
    return "   n/a" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def main(levers_dir="/work/simdata/levers"):
    levers = Path(levers_dir)
    print("Lever study (issue 13 item 2): density spectrum of our solver against the other code's")
    print("=" * 88)
    print(f"runs: {levers}/<variant>/ (run_levers.sh and run_levers_extra.sh there; h was "
          "never started),\nsuper-Alfvenic B0 = 0.1, c_s = 0.1, "
          "target M_s = 7,\nseed 0, Mach control on, k = 1-3 solenoidal OU driving with "
          "correlation time 1 T, float32 compiled, one thread, one run per variant.")
    print("Statistics (training/sim/density_spectrum.py): slope of the shell-SUMMED spectrum E(k) "
          "of\nrho/<rho> - 1 over shells k = 3..12 (least squares in log-log); share of var(rho) "
          "in modes\n|k| >= 16; SF2_par/SF2_perp of ln rho at lags 2/4/8 cells (par = z, along "
          "B0).")
    print(f"The other code (quoted from issue 13, super-Alfvenic, 64^3): slope "
          f"{OTHER_CODE['density_slope']}, share |k|>=16 {OTHER_CODE['small_scale_fraction']}, "
          f"SF anisotropy {OTHER_CODE['sf_anisotropy']};\nours as quoted there: slope "
          f"{OURS_IN_ISSUE['density_slope']}, share {OURS_IN_ISSUE['small_scale_fraction']}, "
          f"SF anisotropy {OURS_IN_ISSUE['sf_anisotropy']}.\n")
    header = (f"{'variant':<20} {'t/T':>5} {'step':>6} {'M_s':>6} {'M_A':>6} {'slope':>7} "
              f"{'d_other':>8} {'|k|>=16':>8} {'SF 2/4/8 par/perp':>19}")
    print(header)
    print("-" * len(header))
    summary = {}
    for name, _ in VARIANTS:
        snapshots = sorted((levers / name).glob("snapshot_*.fits"))
        found = [read_density_numerics_statistics(path) for path in snapshots]
        summary[name] = found
        if not found:
            print(f"{name:<20}   (no snapshot: not run)")
        for f in found:
            sf = "/".join(f"{f['sf_anisotropy'][lag]:.2f}" for lag in (2, 4, 8))
            ma = f.get("mach_alfven_total", math.nan)
            print(f"{name:<20} {f['time_turnovers']:5.2f} {f['step']:6d} {f['mach_sonic']:6.2f} "
                  f"{float(ma):6.2f} {f['density_slope']:7.3f} "
                  f"{f['density_slope'] - OTHER_CODE['density_slope']:+8.3f} "
                  f"{f['small_scale_fraction']:8.3f} {sf:>19}")
    print(f"{'other code (issue)':<20} {'':>5} {'':>6} {'~7':>6} {'2.15':>6} "
          f"{OTHER_CODE['density_slope']:7.3f} {0.0:+8.3f} "
          f"{OTHER_CODE['small_scale_fraction']:8.3f} {'~1.04':>19}")
    print("\nd_other = our slope - the other code's (positive: ours shallower). M_A on the total "
          "field.\n")

    print("Per variant: mean (sd) over its snapshots at 2, 2.5, 3 T; cost between 2 and 3 T "
          "from its run.log")
    header = (f"{'variant':<20} {'n':>2} {'slope':>15} {'|k|>=16':>15} {'M_s':>6} "
              f"{'steps/T':>8} {'wall s/T':>9} {'s/step':>7}")
    print(header)
    print("-" * len(header))
    means = {}
    for name, label in VARIANTS:
        found = summary[name]
        steps, wall, per_step = _cost(levers / name / "run.log")
        if not found:
            print(f"{name:<20}  0   (not run)")
            continue
        slopes = np.array([f["density_slope"] for f in found])
        shares = np.array([f["small_scale_fraction"] for f in found])
        machs = np.array([f["mach_sonic"] for f in found])
        means[name] = (slopes.mean(), shares.mean(), slopes.std(ddof=1) if len(found) > 1
                       else math.nan, shares.std(ddof=1) if len(found) > 1 else math.nan)
        print(f"{name:<20} {len(found):2d} {slopes.mean():7.3f} ({_fmt(means[name][2])}) "
              f"{shares.mean():7.3f} ({_fmt(means[name][3])}) {machs.mean():6.2f} "
              f"{_fmt(steps, 0):>8} {_fmt(wall, 0):>9} {_fmt(per_step, 3):>7}")
    print("\nWhat each run recorded (FITS header of its first snapshot):")
    for name, label in VARIANTS:
        print(f"  {name}: {label}")
        snapshots = sorted((levers / name).glob("snapshot_*.fits"))
        if snapshots:
            print(f"    {_recorded(snapshots[0])}")

    if BASELINE in means:
        base_slope, base_share = means[BASELINE][:2]
        gap_slope = OTHER_CODE["density_slope"] - base_slope
        gap_share = OTHER_CODE["small_scale_fraction"] - base_share
        print(f"\nLevers against (a) (mean over snapshots; the gap to the other code from (a) is "
              f"{gap_slope:+.3f} in slope, {gap_share:+.3f} in the |k|>=16 share):")
        for name, label in VARIANTS:
            if name == BASELINE or name not in means:
                continue
            slope, share = means[name][:2]
            moved_slope, moved_share = slope - base_slope, share - base_share
            print(f"  {name:<20} slope {moved_slope:+.3f} ({moved_slope / gap_slope:+.0%} of the "
                  f"gap), |k|>=16 share {moved_share:+.3f} ({moved_share / gap_share:+.0%} of "
                  "the gap)")
        print("  (one run per variant: a2, the same numerics with another seed, and the "
              "snapshot-to-snapshot sd\n  above are the scale of chance)")
        if "a2_mc_hlld_64_seed1" in means:
            # the chance scale of a difference between two runs' means: the seed-to-seed
            # difference of (a), or what the pooled snapshot-to-snapshot sd implies for a
            # difference of two 3-snapshot means, whichever is larger (one seed pair is one draw)
            seed = [abs(means["a2_mc_hlld_64_seed1"][i] - means[BASELINE][i]) for i in (0, 1)]
            pooled = [math.sqrt(np.mean([m[i] ** 2 for m in means.values()
                                         if not math.isnan(m[i])])) for i in (2, 3)]
            implied = [math.sqrt(2.0 / 3.0) * sd for sd in pooled]
            unit = [max(a, b) for a, b in zip(seed, implied)]
            print(f"  chance scale: seed-to-seed difference of (a) {seed[0]:.3f} in slope, "
                  f"{seed[1]:.3f} in the share;\n  pooled snapshot sd {pooled[0]:.3f} / "
                  f"{pooled[1]:.3f}, implying {implied[0]:.3f} / {implied[1]:.3f} for a "
                  f"difference of two runs' means;\n  each shift in units of the larger "
                  f"({unit[0]:.3f} / {unit[1]:.3f}):")
            for name, _ in VARIANTS:
                if name in (BASELINE, "a2_mc_hlld_64_seed1") or name not in means:
                    continue
                slope, share = means[name][:2]
                print(f"    {name:<20} slope {abs(slope - base_slope) / unit[0]:5.1f}x, "
                      f"share {abs(share - base_share) / unit[1]:5.1f}x")


if __name__ == "__main__":
    main(*sys.argv[1:])
