#!/bin/bash
# Work queue of recipe runs, one worker per core (nice, one thread each), with the project's
# Python environment active:
#   training/sim/recipes/run_queue.sh ROOT JOBS WORKER &
# JOBS is a file of "recipe class seed" lines (training/sim/recipes/<recipe>.toml); each worker
# claims the next unclaimed line by mkdir (atomic) and runs it into ROOT/<recipe>. The driver
# continues a run from its checkpoint, so after a lost machine: rm -rf ROOT/claims and start
# the workers again. Then, per recipe, once without --classes for the manifest
# (python -m training.sim recipe RECIPE --output-dir ROOT/<recipe>).
cd "$(dirname "$0")/../../.."  # the repository root

R=training/sim/recipes
Q=${1:?give the folder for the runs}
JOBS=${2:?give the job file}
mkdir -p $Q/claims $Q/logs
grep -v '^#' "$JOBS" | while read recipe label seed; do
  [ -z "$recipe" ] && continue
  mkdir $Q/claims/${recipe}_${label}_${seed} 2>/dev/null || continue
  echo "$(date -u +%FT%T) worker $3 start $recipe $label $seed" >> $Q/queue.log
  nice -n 10 python -m training.sim recipe $R/$recipe.toml --classes $label --seeds $seed \
      --threads 1 --output-dir $Q/$recipe >> $Q/logs/${recipe}_${label}_${seed}.log 2>&1
  status=$?  # before the date's command substitution resets $?
  echo "$(date -u +%FT%T) worker $3 end $recipe $label $seed rc=$status" >> $Q/queue.log
done
