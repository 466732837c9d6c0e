#!/bin/bash
# Cost and per-class summary of the hydro sets of issue 16 (run from the repository root with
# the venv active; HYDRO_ROOT is the folder the recipes were run into, each run's log beside it):
#   HYDRO_ROOT=/work/simdata/hydro bash docs/results/sim_recipes_hydro.sh > docs/results/sim_recipes_hydro.txt
# Both recipes ran one after the other on one core (--threads 1), the other core busy with
# other work, as:
#   python -m training.sim recipe training/sim/recipes/<recipe>.toml --threads 1 \
#       --output-dir $HYDRO_ROOT/<recipe> > $HYDRO_ROOT/<recipe>.log
R=${HYDRO_ROOT:?set HYDRO_ROOT}
for recipe in kolmogorov_burgers_64_cpu spectral_index_64_cpu; do
  echo "== $recipe"
  echo "driver log (calibration rounds, then each run; the last line has the driver's seconds):"
  grep -E "calibration round|\] seed [0-9]+:|classes' mean" "$R/$recipe.log" | sed 's/^/   /'
  echo "per-class summary (python -m training.sim.recipes.summary):"
  python -m training.sim.recipes.summary "$R/$recipe" | sed 's/^/   /'
  echo
done
