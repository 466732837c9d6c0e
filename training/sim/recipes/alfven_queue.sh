#!/bin/bash
# Work queue for the Alfven sets, one worker per core (nice, one thread each):
#   ALFVEN_ROOT=DIR training/sim/recipes/alfven_queue.sh 1 &
#   ALFVEN_ROOT=DIR training/sim/recipes/alfven_queue.sh 2 &
# Each worker claims the next unclaimed (recipe, class, seed) by mkdir (atomic) and runs it into
# DIR/<recipe>; the driver continues a run from its checkpoint, so after a lost machine:
# rm -rf DIR/claims and start the workers again. Then, per recipe, once without --classes for
# the manifest (python -m training.sim recipe RECIPE --output-dir DIR/<recipe>), and
# python docs/results/sim_recipes_alfven.py DIR for the cost and the Mach match.
cd "$(dirname "$0")/../../.."  # the repository root

R=training/sim/recipes
Q=${ALFVEN_ROOT:?set ALFVEN_ROOT to the folder for the runs}
JOBS="
alfven_48_fast sub_alfvenic 0
alfven_48_fast super_alfvenic 0
alfven_48_fast super_alfvenic 1
alfven_48_fast super_alfvenic 2
alfven_48_fast super_alfvenic 3
alfven_48_fast sub_alfvenic 1
alfven_48_fast sub_alfvenic 2
alfven_48_fast sub_alfvenic 3
alfven_64_minmod_hlle super_alfvenic 10
alfven_64_minmod_hlle super_alfvenic 11
alfven_64_minmod_hlle super_alfvenic 12
alfven_64_minmod_hlle super_alfvenic 13
alfven_48_drive super_alfvenic 20
alfven_48_drive super_alfvenic 21
alfven_48_drive super_alfvenic 22
alfven_48_drive super_alfvenic 23
alfven_48_drive sub_alfvenic 20
alfven_48_drive sub_alfvenic 21
alfven_48_drive sub_alfvenic 22
alfven_48_drive sub_alfvenic 23
alfven_48_identity sub_alfvenic 0
alfven_48_identity super_alfvenic 0
alfven_48_identity sub_alfvenic 1
alfven_48_identity super_alfvenic 1
alfven_64_minmod_hlle sub_alfvenic 10
alfven_64_minmod_hlle sub_alfvenic 11
alfven_64_minmod_hlle sub_alfvenic 12
alfven_64_minmod_hlle sub_alfvenic 13
"
mkdir -p $Q/claims $Q/logs
echo "$JOBS" | while read recipe label seed; do
  [ -z "$recipe" ] && continue
  mkdir $Q/claims/${recipe}_${label}_${seed} 2>/dev/null || continue
  echo "$(date -u +%FT%T) worker $1 start $recipe $label $seed" >> $Q/queue.log
  if [ "$recipe" = alfven_48_identity ]; then
    # the same runs as alfven_48_fast's, extended from their checkpoints (see the recipe)
    run=$(printf "seed_%04d" $seed)
    if [ ! -d $Q/$recipe/$label/$run ]; then
      mkdir -p $Q/$recipe/$label && cp -r $Q/alfven_48_fast/$label/$run $Q/$recipe/$label/
    fi
  fi
  nice -n 10 python -m training.sim recipe $R/$recipe.toml --classes $label --seeds $seed \
      --threads 1 --output-dir $Q/$recipe >> $Q/logs/${recipe}_${label}_${seed}.log 2>&1
  status=$?  # before the date's command substitution resets $?
  echo "$(date -u +%FT%T) worker $1 end $recipe $label $seed rc=$status" >> $Q/queue.log
done
