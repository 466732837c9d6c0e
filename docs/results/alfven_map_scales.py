"""Where in wavenumber the Alfven classes differ, and where driving and numerics do (issue 13, 2).

``alfven-column``'s control networks lose 7-24 points on the other driving and numerics
(``alfven-column_report.md``) where the slice networks lose 0.6-5.4 (``alfven_report.md``).
This script measures, without any network, where in wavenumber the maps the networks see
(log10, then histogram equalization, as ``glue_turbml.core.preprocess`` does for the cards)
hold their variance: the fraction of each map's variance in wavenumber bands given in cycles
per box side (so the same physical scales at 48^3 and 64^3): the driving range k <= 3, the
inertial range 4-11, 12-15, and the solver's dissipation range k >= 16.

Maps: slices perpendicular to the mean field (every 4th plane, as the slice models see them),
and column densities along the field (0 deg, lattice direction (0, 1)) and across it (90 deg,
(1, 0)). Per set and class: the mean over each run's snapshots, then the mean and spread of
the runs. Then, per kind of map and band, three gaps in units of the runs' spread (pooled
standard deviation of the run means): the class gap (signal) in the main set, and the shift of
each other set from the main set, class by class (nuisance). A band where the nuisance shift
is as large as the class gap is one a network cannot read and still carry over. Run from the
repository root::

    python docs/results/alfven_map_scales.py ROOT > docs/results/alfven_map_scales.txt

An analysis: nothing shipped changes.
"""

import argparse
from pathlib import Path

import numpy as np

SETS = ("alfven_48_fast", "alfven_48_drive", "alfven_48_minmod_hlld", "alfven_64_minmod_hlld")
MAIN_SET = "alfven_48_fast"
CLASSES = ("sub_alfvenic", "super_alfvenic")
BANDS = {"k<=3": (0.5, 3.5), "4-11": (3.5, 11.5), "12-15": (11.5, 15.5), "k>=16": (15.5, np.inf)}
SLICE_STEP = 4
SNAPSHOTS = 7  # a run counts once it has all of its recipe's snapshots


def band_fractions(image):
    """Fraction of a map's variance in each of `BANDS` (|k| in cycles per map side)."""
    field = image - image.mean()
    power = np.abs(np.fft.fft2(field)) ** 2
    ny, nx = field.shape
    k_abs = np.hypot(*np.meshgrid(np.fft.fftfreq(ny) * ny, np.fft.fftfreq(nx) * nx,
                                  indexing="ij"))
    total = power.sum()
    return [power[(k_abs >= low) & (k_abs < high)].sum() / total for low, high in BANDS.values()]


def cube_maps(cube):
    """The maps of one ``(z, y, x)`` cube, z along the mean field, by kind."""
    from training.common.lattice_projection import lattice_projection

    return {"slices": [cube[plane] for plane in range(0, cube.shape[0], SLICE_STEP)],
            "column 0 deg": [lattice_projection(cube, (0, 1))],
            "column 90 deg": [lattice_projection(cube, (1, 0))]}


def run_means(run):
    """Per kind of map, the mean band fractions over every map of every snapshot of one run."""
    from astropy.io import fits

    from glue_turbml.core.preprocess import equalize_histogram, log10

    fractions = {}
    for path in sorted(run.glob("snapshot_*.fits")):
        cube = fits.getdata(path).astype(np.float64)
        for kind, maps in cube_maps(cube).items():
            for image in maps:
                seen = equalize_histogram(log10(image))
                fractions.setdefault(kind, []).append(band_fractions(seen))
    return {kind: np.mean(values, axis=0) for kind, values in fractions.items()}


def gap_in_spreads(first, second):
    """Difference of two sets of run means in units of their pooled run-to-run spread."""
    pooled = np.sqrt((np.var(first, axis=0, ddof=1) + np.var(second, axis=0, ddof=1)) / 2)
    return (np.mean(second, axis=0) - np.mean(first, axis=0)) / pooled


def main(argv=None):
    # the sibling script's run filter: run from the repository root, this folder is on the path
    from alfven_column_anisotropy import finished_runs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    arguments = parser.parse_args(argv)
    header = ("fraction of the variance of log10 + histogram-equalized maps per band of |k| "
              "(cycles per box side); every run with all snapshots, held-out seeds included")
    print(f"# written by: python docs/results/alfven_map_scales.py {arguments.root}\n# {header}")
    means = {}
    for name in SETS:
        for label in CLASSES:
            runs = finished_runs(Path(arguments.root) / name, label, SNAPSHOTS)
            if len(runs) < 2:
                continue
            per_run = [run_means(run) for run in runs]
            for kind in per_run[0]:
                means[name, label, kind] = np.array([values[kind] for values in per_run])
    kinds = sorted({kind for _, _, kind in means})
    bands = "  ".join(f"{band:>13s}" for band in BANDS)
    for kind in kinds:
        print(f"\n== {kind}: band fractions, mean +- spread of the runs' means")
        print(f"{'set':22s} {'class':15s} {'runs':>4s}  {bands}")
        for name in SETS:
            for label in CLASSES:
                if (name, label, kind) not in means:
                    continue
                values = means[name, label, kind]
                cells = "  ".join(f"{mean:6.4f}+-{spread:5.4f}" for mean, spread in
                                  zip(values.mean(axis=0), values.std(axis=0, ddof=1)))
                print(f"{name:22s} {label:15s} {len(values):4d}  {cells}")
        print(f"-- {kind}: gaps in units of the runs' spread (pooled sd of run means)")
        main_sub = means.get((MAIN_SET, "sub_alfvenic", kind))
        main_super = means.get((MAIN_SET, "super_alfvenic", kind))
        if main_sub is None or main_super is None:
            continue
        cells = "  ".join(f"{gap:13.1f}" for gap in gap_in_spreads(main_sub, main_super))
        print(f"{'class gap, main set (super - sub)':38s}  {cells}")
        for name in SETS:
            if name == MAIN_SET:
                continue
            for label in CLASSES:
                if (name, label, kind) not in means:
                    continue
                shift = gap_in_spreads(means[MAIN_SET, label, kind], means[name, label, kind])
                cells = "  ".join(f"{gap:13.1f}" for gap in shift)
                print(f"{name + ' - main, ' + label[:5]:38s}  {cells}")


if __name__ == "__main__":
    main()
