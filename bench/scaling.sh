#!/usr/bin/env bash
# Throughput of a whole atlas run with 1 and 2 MPI ranks, side by side in one session with the
# peer that needs no MPI (one process, 2 threads), and the per-photo cost of each stage, on the
# same N photos of ../shared/datasets/intel_scenes (generated photos when ../shared is absent).
# Every configuration runs without the result cache (--no-cache; shards are written afresh).
#
# usage: bench/scaling.sh [BUILD_DIR (default build)] [N (default 120)] [MODEL (default inception_v3)]
# Not part of scripts/test. Prints a Markdown report (bench/results/scaling.md holds one).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-120}
model=${3:-inception_v3}
bin=$build/photoatlas
shared=${PHOTOATLAS_SHARED_DIR:-$root/../shared}
command -v mpirun >/dev/null || { echo "skip: mpirun is not installed (scripts/setup)"; exit 0; }
[ -x "$bin" ] || { echo "build photoatlas first ($bin)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/photos"
if [ -d "$shared/datasets/intel_scenes/images" ]; then
  source_note="intel_scenes (150x150 JPEGs)"
  i=0
  for class in buildings forest glacier mountain sea street; do
    for f in $(ls "$shared/datasets/intel_scenes/images/$class" | sort | head -n $(((n + 5) / 6))); do
      [ "$i" -lt "$n" ] || break
      ln -s "$shared/datasets/intel_scenes/images/$class/$f" "$work/photos/${class}_$f"
      i=$((i + 1))
    done
  done
else
  echo "skip: ../shared/datasets/intel_scenes is absent"
  exit 0
fi
export PHOTOATLAS_CACHE_DIR=$work/cache
layout=(-k 6 --seed 0 --no-cache -q)

# One configuration: "name" then the command; records wall, CPU (user+sys, all processes) and peak RSS.
run_config() {
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" ||
    { echo "$name failed:"; cat "$work/$name.err"; exit 1; }
}
run_config one_thread "$bin" run "$work/photos" -o "$work/a1" --model "$model" --threads 1 "${layout[@]}"
run_config two_ranks mpirun --allow-run-as-root --oversubscribe -np 2 "$bin" run "$work/photos" -o "$work/a2" \
  --model "$model" --threads 1 "${layout[@]}"
run_config two_threads "$bin" run "$work/photos" -o "$work/a3" --model "$model" --threads 2 "${layout[@]}"
run_config raw_only "$bin" run "$work/photos" -o "$work/a4" --model none --threads 1 "${layout[@]}"

field() { awk -v f="$2" '{print $f}' "$work/$1.time"; }
echo "# Scaling: 1 and 2 MPI ranks"
echo
echo "$n photos of $source_note, model $model, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo "Command: \`bench/scaling.sh ${1:-build} $n $model\` ($(date -u +%Y-%m-%d))."
echo
echo "| configuration | wall s | photos/s | CPU s | peak RSS MB (largest process) | throughput vs 1 rank |"
echo "|---|---|---|---|---|---|"
base=$(field one_thread 1)
for c in one_thread two_ranks two_threads raw_only; do
  wall=$(field $c 1); cpu=$(awk '{printf "%.1f", $2 + $3}' "$work/$c.time"); rss=$(awk '{printf "%.0f", $4 / 1024}' "$work/$c.time")
  case $c in
    one_thread) label="1 rank (plain run), 1 thread" ;;
    two_ranks) label="2 ranks (mpirun -np 2), 1 thread each" ;;
    two_threads) label="peer: 1 process, 2 threads" ;;
    raw_only) label="1 rank, 1 thread, --model none (decode + raw pixels only)" ;;
  esac
  awk -v l="$label" -v w="$wall" -v n="$n" -v c="$cpu" -v r="$rss" -v b="$base" \
    'BEGIN { printf "| %s | %.1f | %.2f | %s | %s | %.2fx |\n", l, w, n / w, c, r, b / w }'
done
echo
echo "Per-photo cost of each stage (1 rank, 1 thread; ms per photo = stage seconds / $n):"
echo
echo "| stage | s | ms/photo | raw-only run: s |"
echo "|---|---|---|---|"
# The summary lines: "  <stage>   <seconds> s".
stages() { sed -n '/^Summary/,$p' "$work/$1.err" | grep -E '^  .* s$' | sed -E 's/^  (.*[^ ]) +([0-9.]+) s$/\1|\2/'; }
stages raw_only >"$work/raw.stages"
stages one_thread | while IFS='|' read -r stage seconds; do
  raw=$(awk -F'|' -v s="$stage" '$1 == s {print $2}' "$work/raw.stages")
  awk -v s="$stage" -v t="$seconds" -v n="$n" -v r="${raw:--}" 'BEGIN { printf "| %s | %.2f | %.1f | %s |\n", s, t, 1000 * t / n, r }'
done
echo
echo "MPI run, per rank (shard: discover + decode + features) and rank 0's merge:"
echo
echo '```'
grep -E '^rank ' "$work/two_ranks.err" | sort
sed -n '/^Summary/,$p' "$work/two_ranks.err"
echo '```'
