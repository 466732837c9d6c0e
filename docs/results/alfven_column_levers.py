"""Do a spectral tilt, a zoom, a resampling or fixed Fourier power close the column model's
numerics gap? Issue 13, item 2 ("find out, with numbers, which of these levers matter").

Trained on the main set, ``alfven-column``'s control networks lose 4.7 / 16.8 / 27.3 points on
the other driving, minmod and 64^3 (``alfven-column_report.md``, 8 seeds); more runs, more maps
and dropping the scales below 1/12 of the box did not close it (``alfven_column_map_size.txt``,
``alfven_data_quantity.txt``). Two numerics at the same physics differ, among other things,
in how fast the spectrum falls between the driving and the dissipation scales. This script
first prints the log-log slope of each set's column maps' power (of log10 column density, over
3 <= |k| <= 11 cycles per box, mean and run-to-run spread per class), then trains the column
model's setting controls (three networks on the main set, the shipped command otherwise) for
each arm:

- the shipped options;
- ``--spectral-tilt S`` for each ``S`` given: every degraded training copy's power spectrum
  tilted by a slope change uniform in -S..S (`training.common.spectral_tilt`);
- with ``--ffp``, fixed Fourier power on each whole map (the ``alfven-ffp`` preprocessing);
- ``--map-size N`` for each ``N`` of ``--map-sizes``: every map resampled to ``N`` px over the
  box in place of ``--native-pixels``. With ``N = 48`` the main set's maps are the shipped
  ones and a 64^3 map is scored whole at the main set's pixel scale, not as the runtime's
  48 px tiles over three quarters of the box: what is left of the 64^3 gap is not the tiles'
  geometry;
- ``--zoom Z`` for each ``Z`` of ``--zooms``, alone and with the first tilt: every degraded
  training copy magnified by a factor uniform in 1..Z and cut back to its size, so the main
  set's inputs also cover less than the box at a finer pixel scale, as the 64^3 tiles do.

Every arm reads the same runs, so the arms compare side by side whatever runs ``ROOT`` holds
(its header line says how many). Each arm's scores are also given by true class and by angle
between the line of sight and the field (the networks' mean answer per input). Run from the
repository root::

    python docs/results/alfven_column_levers.py ROOT --tilts 0.6 1.2 --ffp --map-sizes 48 \\
        --zooms 1.5 \\
        > docs/results/alfven_column_levers.txt

An experiment: nothing shipped changes.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alfven_data_quantity import (SETS, main_set_controls, print_controls,  # noqa: E402
                                  shipped_options)

COLUMN_REPORT = Path(__file__).resolve().parent / "alfven_column.json"


def map_power_slope(image, low=3, high=11):
    """Log-log slope of the radially averaged power of log10(map) over ``low <= |k| <= high``
    cycles per map side (`glue_turbml.core.radial_power_spectrum`, integer annuli)."""
    from glue_turbml.core import fit_power_law_slope, radial_power_spectrum

    wavenumber, power = radial_power_spectrum(np.log10(image))
    return fit_power_law_slope(wavenumber, power, k_min=low, k_max=high)


def print_set_slopes(root, options):
    """Per set and class: the column maps' power slope, mean over runs and the spread of the
    run means; and the runs present."""
    from training.classifiers.alfven import map_settings, parse_command
    from training.classifiers.alfven_family import class_spec

    argv = [word for recipe in SETS for label in ("sub_alfvenic", "super_alfvenic")
            for word in ("--class", class_spec(root, recipe, label))]
    _, _, _, data, _ = parse_command(argv + list(options))
    settings = map_settings(data)
    slopes = np.array([map_power_slope(image) for image in data.maps])
    print("\nlog-log power slope of log10 column density, 3 <= |k| <= 11 cycles per box "
          "(mean over runs +- spread of the run means; runs)")
    for setting in sorted(set(settings.tolist())):
        numerics, driving = setting.split(" | ")
        short = " ".join(part for part in (numerics + " " + driving).split()
                         if part.split("=")[0] in ("cells", "limiter", "forcing_shape"))
        cells = []
        for label_index, label in enumerate(data.class_names):
            chosen = (settings == setting) & (data.labels == label_index)
            run_means = [slopes[chosen & (data.runs == run)].mean()
                         for run in np.unique(data.runs[chosen])]
            spread = (f" +- {np.std(run_means, ddof=1):.2f}" if len(run_means) > 1 else "")
            cells.append(f"{label} {np.mean(run_means):+.2f}{spread} ({len(run_means)})")
        print(f"  {short:<40} " + "   ".join(cells))


def print_by_angle(controls):
    """Per setting, the networks' accuracy at each angle of its maps to the field."""
    for setting, by_angle in [("same setting", controls["same_setting_accuracy_by_angle"]),
                              *((name, result["accuracy_by_angle"])
                                for name, result in controls["settings"].items())]:
        cells = ", ".join(f"{float(angle):.0f}: {accuracy:.3f}"
                          for angle, accuracy in sorted(by_angle.items(),
                                                        key=lambda item: float(item[0])))
        print(f"  by angle to the field (deg): {cells}  ({setting.split(' | ')[0]})",
              flush=True)


def main(argv=None):
    from training.common.network_cache import NetworkCache

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the release folder (one subfolder per set)")
    parser.add_argument("--tilts", type=float, nargs="*", default=[0.6])
    parser.add_argument("--ffp", action="store_true", help="also the fixed-Fourier-power arm")
    parser.add_argument("--map-sizes", type=int, nargs="*", default=[])
    parser.add_argument("--zooms", type=float, nargs="*", default=[])
    parser.add_argument("--network-cache", metavar="DIR")
    arguments = parser.parse_args(argv)
    cache = None if arguments.network_cache is None else NetworkCache(arguments.network_cache)
    print(f"# written by: python docs/results/alfven_column_levers.py {arguments.root} "
          f"--tilts {' '.join(map(str, arguments.tilts))}" + (" --ffp" if arguments.ffp else "")
          + (f" --map-sizes {' '.join(map(str, arguments.map_sizes))}"
             if arguments.map_sizes else "")
          + (f" --zooms {' '.join(map(str, arguments.zooms))}" if arguments.zooms else "")
          + (f" --network-cache {arguments.network_cache}" if arguments.network_cache else ""))
    # the release's cache folder is not this experiment's: a lost machine takes it anyway
    shipped = shipped_options(COLUMN_REPORT, drop_with_value=("--network-cache",))
    print_set_slopes(arguments.root, shipped)
    arms = [("shipped options", shipped)]
    arms += [(f"spectral tilt uniform in -{tilt}..{tilt}", shipped + ["--spectral-tilt", str(tilt)])
             for tilt in arguments.tilts]
    if arguments.ffp:
        arms.append(("fixed Fourier power on whole maps (--ffp)", shipped + ["--ffp"]))
    arms += [(f"every map resampled to {size} px over the box (--map-size {size})",
              [word for word in shipped if word != "--native-pixels"] + ["--map-size", str(size)])
             for size in arguments.map_sizes]
    for zoom in arguments.zooms:
        arms.append((f"zoom uniform in 1..{zoom}", shipped + ["--zoom", str(zoom)]))
        if arguments.tilts:
            arms.append((f"zoom uniform in 1..{zoom} and spectral tilt in "
                         f"-{arguments.tilts[0]}..{arguments.tilts[0]}",
                         shipped + ["--zoom", str(zoom), "--spectral-tilt",
                                    str(arguments.tilts[0])]))
    for text, options in arms:
        controls, n_train = main_set_controls(arguments.root, options, cache=cache)
        print(f"\n== alfven-column, {text}: {n_train} training maps (all sets); "
              f"{controls['networks']} networks trained on the main set, same-setting "
              f"accuracy {controls['same_setting_accuracy']:.4f}", flush=True)
        print_controls(controls)
        # a shift of the decision with the setting shows as one class lost, not both
        for setting, result in [("same setting", {"accuracy_by_class": controls[
                "same_setting_accuracy_by_class"]}), *controls["settings"].items()]:
            by_class = ", ".join(f"{label} {accuracy:.3f}"
                                 for label, accuracy in result["accuracy_by_class"].items())
            print(f"  by true class: {by_class}  ({setting.split(' | ')[0]})", flush=True)
        # a gap that lives along the field (little signal in projection) shows at 0 degrees
        print_by_angle(controls)


if __name__ == "__main__":
    main()
