#!/bin/bash
# The hydro sets of issue 16 extended from 8 (kolmogorov_burgers_64_cpu) and 6
# (spectral_index_64_cpu) seeds to 12 each, so that the U-Nets can hold out several runs per
# class (run from the repository root with the venv active; HYDRO_ROOT as in
# sim_recipes_hydro.sh):
#   HYDRO_ROOT=/work/simdata/hydro bash docs/results/sim_recipes_hydro_more_seeds.sh \
#       > docs/results/sim_recipes_hydro_more_seeds.txt
# Both extensions ran at once, one core each (--threads 1, nice), as:
#   python -m training.sim recipe training/sim/recipes/<recipe>.toml --threads 1 \
#       --output-dir $HYDRO_ROOT/<recipe> --seeds 0 1 2 3 4 5 6 7 8 9 10 11 \
#       > $HYDRO_ROOT/<recipe>_more.log
# The calibration and the runs already there were read back (not run again), so the driver's
# seconds on the last line are the new runs' cost.
R=${HYDRO_ROOT:?set HYDRO_ROOT}
for recipe in kolmogorov_burgers_64_cpu spectral_index_64_cpu; do
  echo "== $recipe"
  echo "driver log (each run, read back or new; the last line has the driver's seconds):"
  grep -E "calibration read back|\] seed [0-9]+:|classes' mean" "$R/${recipe}_more.log" \
    | sed 's/^/   /'
  echo "per-class summary over all seeds (python -m training.sim.recipes.summary):"
  python -m training.sim.recipes.summary "$R/$recipe" | sed 's/^/   /'
  echo
done
