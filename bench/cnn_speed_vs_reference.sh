#!/usr/bin/env bash
# CNN feature speed, side by side in one run: photoatlas (OpenCV DNN, C++, one worker per core as in
# `photoatlas run`) and the reference extractor ../shared/reference/nsfwjs-features/extract.js
# (TF.js 4.22, WASM backend, one image at a time), each with its default features, decoding
# included, on the same N photos of ../shared/datasets/intel_scenes. Prints images/s and CPU
# seconds per image (the fair figure on a shared machine) for both, and their ratios.
#
# usage: bench/cnn_speed_vs_reference.sh [BUILD_DIR (default build)] [N (default 24)]
# Not part of scripts/test. Needs the nsfwjs package (scripts/setup) and npm (for bench/cnn-reference).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-24}
shared=${PHOTOATLAS_SHARED_DIR:-$root/../shared}
ref=$shared/reference/nsfwjs-features
if [ ! -f "$ref/extract.js" ] || [ ! -d "$shared/datasets/intel_scenes" ]; then
  echo "skip: ../shared (reference extractor and intel_scenes) is absent"
  exit 0
fi
nsfwjs=$root/models/nsfwjs/node_modules/nsfwjs
[ -x "$build/bench/bench_cnn_folder" ] || cmake --build "$build" --target bench_cnn_folder -j2 >/dev/null

# npm ci only when the lock file changed (the WASM binaries ship inside @tensorflow/tfjs-backend-wasm).
refdir=$root/bench/cnn-reference
stamp=$refdir/node_modules/.photoatlas-lock-stamp
want=$(sha256sum "$refdir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  (cd "$refdir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The reference reads TF.js layers folders: rebuilt once from the same nsfwjs package.
node "$ref/scripts/convert_models.js" "$nsfwjs" "$work/models" inception_v3 mobilenet_v2 >/dev/null
# N photos spread over the six classes, in one flat folder (extract.js sorts by path, as we do).
mkdir -p "$work/images"
i=0
for class in buildings forest glacier mountain sea street; do
  for f in $(ls "$shared/datasets/intel_scenes/images/$class" | sort | head -n $(((n + 5) / 6))); do
    [ "$i" -lt "$n" ] || break
    ln -s "$shared/datasets/intel_scenes/images/$class/$f" "$work/images/$(printf %03d $i)_$f"
    i=$((i + 1))
  done
done

echo "CNN features, $i photos of intel_scenes, decoding included ($(nproc) cores)"
printf '%-14s %-22s %10s %10s %7s %12s %12s %7s\n' model layer "ours i/s" "TF.js i/s" ratio \
  "ours cpu s" "TF.js cpu s" ratio
"$build/bench/bench_cnn_folder" "$work/images" --limit "$i" --nsfwjs "$nsfwjs" >"$work/ours.txt"
while read -r model layer count seconds ips cpu; do
  reference() {  # prints "wall_seconds cpu_seconds"
    TFJSREF_DIR=$refdir NSFWJS_MODELS_DIR=$work/models /usr/bin/time -f '%e %U %S' -o "$work/time" \
      node "$ref/extract.js" "$model" "$work/images" "$work/$model.f32" "$work/$model.txt" --layer frozen \
      --backend wasm --limit "$1" 2>"$work/$model.log" || { cat "$work/$model.log" >&2; exit 1; }
    awk '{ print $1, $2 + $3 }' "$work/time"
  }
  read -r one_wall one_cpu < <(reference 1)
  read -r all_wall all_cpu < <(reference "$count")
  ref_ips=$(awk -v a="$one_wall" -v b="$all_wall" -v n="$count" 'BEGIN { printf "%.2f", (n - 1) / (b - a) }')
  ref_cpu=$(awk -v a="$one_cpu" -v b="$all_cpu" -v n="$count" 'BEGIN { printf "%.3f", (b - a) / (n - 1) }')
  ratio=$(awk -v a="$ips" -v b="$ref_ips" 'BEGIN { printf "%.1fx", a / b }')
  cpu_ratio=$(awk -v a="$cpu" -v b="$ref_cpu" 'BEGIN { printf "%.1fx", b / a }')
  printf '%-14s %-22s %10.2f %10s %7s %12.3f %12s %7s\n' "$model" "$layer" "$ips" "$ref_ips" "$ratio" "$cpu" \
    "$ref_cpu" "$cpu_ratio"
done <"$work/ours.txt"
