#!/bin/bash
# All the Alfven runs of a job list at once on one CUDA GPU (the lent device machine), packed
# for the trip back: a 48^3 run is launch-bound on a GPU, so many runs share it (through MPS
# where the driver allows it) and each takes about one core.
#
#   training/sim/recipes/gpu_sets.sh ROOT PACK JOBS DEADLINE_S [DEVICE]
#
# ROOT: the runs' folder (ROOT/<recipe>/, ROOT/logs/, as run_queue.sh); PACK: where the packed
# parts go; JOBS: lines "recipe class seed"; DEADLINE_S: seconds after which unfinished runs are
# stopped (they keep their checkpoints; run the script again to continue them); DEVICE: cuda
# (default) or cpu, for trying the script out here (tests/training/sim/test_gpu_sets.py).
#
# Steps: (1) one pilot run per (recipe numerics, class) compiles first, so the others load the
# compiled step from inductor's cache instead of 20 compiling at once; (2) the rest start once a
# pilot has written its first checkpoint (or after 240 s); (3) at the deadline every unfinished
# run is stopped; (4) each recipe whose runs all finished gets its manifest (the final call
# without --classes, which runs every seed of the recipe: list them all in JOBS, or set
# SKIP_MANIFEST=1 for runs of seeds beyond the recipe's); (5) a copy of ROOT with every snapshot cut down to its density (primary
# HDU and header: what the classifiers and the spectrum statistics read), ROOT.density, is
# packed into PACK/part_* (15 MiB each) with the manifests and logs, for the device's
# 16 MiB-per-file limit (join with cat PACK/part_* | tar -x -C DIR). ROOT itself is kept whole,
# so a second call continues its runs.
set -u
ROOT=${1:?ROOT}; PACK=${2:?PACK}; JOBS=${3:?JOBS}; DEADLINE=${4:?DEADLINE_S}; DEVICE=${5:-cuda}
cd "$(dirname "$0")/../../.."  # the repository root
R=${RECIPES:-training/sim/recipes}  # RECIPES: another folder of recipe files (the tests')
START=$(date +%s)
mkdir -p "$ROOT/logs" "$PACK"
say() { echo "$(date -u +%T) +$(( $(date +%s) - START ))s $*" | tee -a "$PACK/gpu_sets.log"; }
elapsed() { echo $(( $(date +%s) - START )); }

run_job() {  # recipe class seed [extra env]
  local recipe=$1 label=$2 seed=$3
  nice -n 5 python -m training.sim recipe $R/$recipe.toml --classes $label --seeds $seed \
      --device "$DEVICE" $NO_COMPILE --threads 1 --output-dir "$ROOT/$recipe" \
      >> "$ROOT/logs/${recipe}_${label}_${seed}.log" 2>&1
  local status=$?  # before the date's command substitution resets $?
  echo "$(date -u +%FT%T) end $recipe $label $seed rc=$status" >> "$ROOT/queue.log"
}

numerics_key() {  # the compiled step depends on the numerics and grid, and its first compile
  # on the first dt, which depends on the class (mean field)
  python - "$R/$1.toml" "$2" <<'EOF'
import sys, tomllib
recipe = tomllib.load(open(sys.argv[1], "rb"))
common = recipe["common"]
print("_".join(str(common.get(key)) for key in ("cells", "riemann", "limiter", "dtype")) + "_" + sys.argv[2])
EOF
}

if [ "$DEVICE" = cuda ]; then
  nvidia-smi -L | tee -a "$PACK/gpu_sets.log"
  # a daemon left by an earlier call on the same machine serves this one too
  if { pgrep -f nvidia-cuda-mps-control >/dev/null || \
       nvidia-cuda-mps-control -d 2>>"$PACK/gpu_sets.log"; } && \
     timeout 60 python -c "import torch; torch.zeros(1, device='cuda'); print('cuda ok')"; then
    say "MPS daemon on"
  else
    echo quit | nvidia-cuda-mps-control 2>/dev/null
    say "no MPS: the runs time-share the GPU"
  fi
fi

NO_COMPILE=""
declare -A PILOT
PILOTS=(); REST=()
while read -r recipe label seed; do
  case "${recipe:-}" in ""|\#*) continue;; esac
  key=$(numerics_key "$recipe" "$label")
  if [ -z "${PILOT[$key]:-}" ]; then PILOT[$key]="$recipe/$label/$seed"; PILOTS+=("$recipe $label $seed")
  else REST+=("$recipe $label $seed"); fi
done < "$JOBS"
say "pilots: ${PILOTS[*]}"
for job in "${PILOTS[@]}"; do run_job $job & done
while [ "$(elapsed)" -lt 240 ] && [ "$(elapsed)" -lt "$DEADLINE" ]; do
  found=$(find "$ROOT" -name checkpoint.pt -newer "$PACK/gpu_sets.log" 2>/dev/null | head -1)
  [ -n "$found" ] && break
  [ -z "$(jobs -r)" ] && break
  sleep 3
done
if [ -z "${found:-}" ] && [ -z "$(jobs -r)" ] && ! grep -q 'rc=0' "$ROOT/queue.log"; then
  # every pilot failed before its first checkpoint: the compiled step did not build here
  NO_COMPILE="--no-compile"
  say "every pilot failed (see their logs): all runs go eager (--no-compile)"
  REST=("${PILOTS[@]}" "${REST[@]}")
fi
say "first checkpoint: ${found:-none}; starting the other ${#REST[@]} runs"
export TORCHINDUCTOR_COMPILE_THREADS=1  # they load from the cache; compile pools would crowd
for job in "${REST[@]}"; do run_job $job & done

while [ -n "$(jobs -r)" ] && [ "$(elapsed)" -lt "$DEADLINE" ]; do sleep 5; done
if [ -n "$(jobs -r)" ]; then
  say "deadline: stopping $(jobs -r | wc -l) unfinished runs (checkpoints kept)"
  for job in $(jobs -p); do pkill -P "$job"; done  # this script's runs only
  sleep 3
fi
say "runs ended (all calls on ROOT, ROOT/queue.log): $(grep -c 'rc=0' "$ROOT/queue.log") with rc 0; $(grep -vc 'rc=0' "$ROOT/queue.log") not"

for recipe in $(grep -v '^#' "$JOBS" | cut -d' ' -f1 | sort -u); do
  unfinished=0
  while read -r r label seed; do
    [ "$r" = "$recipe" ] || continue
    run=$(printf "%s/%s/seed_%04d" "$ROOT/$recipe" "$label" "$seed")
    n=$(python -c "import tomllib,sys; print(len(tomllib.load(open('$R/$recipe.toml','rb'))['common']['snapshot_turnovers']))")
    [ -f "$run/snapshot_$(printf %03d $((n - 1))).fits" ] || unfinished=1
  done < "$JOBS"
  if [ -n "${SKIP_MANIFEST:-}" ]; then
    say "manifest $recipe: skipped (SKIP_MANIFEST: seeds beyond the recipe's)"
  elif [ $unfinished = 0 ]; then
    timeout 120 python -m training.sim recipe $R/$recipe.toml --device "$DEVICE" $NO_COMPILE \
        --threads 1 \
        --output-dir "$ROOT/$recipe" >> "$ROOT/logs/${recipe}_manifest.log" 2>&1
    say "manifest $recipe: rc=$?"
  else
    say "manifest $recipe: not written (unfinished runs)"
  fi
done

rm -rf "$ROOT.density"
python -m training.sim.density_only "$ROOT" "$ROOT.density" | tee -a "$PACK/gpu_sets.log"
cp "$PACK/gpu_sets.log" "$ROOT.density/logs/gpu_sets.log"
tar -C "$ROOT.density" -cf - . | split -b 15M -d - "$PACK/part_"
say "packed: $(ls "$PACK" | grep -c part_) parts"
