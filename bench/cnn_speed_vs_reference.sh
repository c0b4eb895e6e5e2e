#!/usr/bin/env bash
# CNN feature speed, side by side in one run: photoatlas (OpenCV DNN, C++) and the reference
# extractor ../shared/reference/nsfwjs-features/extract.js (TF.js 4.22, WASM backend), both at the
# default frozen layer (InceptionV3 mixed5, MobileNetV2 block_10_project_BN, pooled), one image at a
# time, decoding included, on the same N photos of ../shared/datasets/intel_scenes.
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

echo "CNN features, $i photos of intel_scenes, one at a time, decoding included ($(nproc) cores)"
printf '%-14s %-22s %14s %16s %8s\n' model layer "photoatlas i/s" "TF.js wasm i/s" ratio
"$build/bench/bench_cnn_folder" "$work/images" --limit "$i" --nsfwjs "$nsfwjs" >"$work/ours.txt"
while read -r model layer count seconds ips; do
  # extract.js prints seconds per image with one decimal only: time a run of 1 image and one of all,
  # so the difference is N-1 images of decoding + preprocessing + inference, without model loading.
  reference() {
    local t0 t1
    t0=$(date +%s.%N)
    TFJSREF_DIR=$refdir NSFWJS_MODELS_DIR=$work/models \
      node "$ref/extract.js" "$model" "$work/images" "$work/$model.f32" "$work/$model.txt" --layer frozen \
      --backend wasm --limit "$1" 2>"$work/$model.log" || { cat "$work/$model.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
  }
  one=$(reference 1)
  all=$(reference "$count")
  ref_ips=$(awk -v a="$one" -v b="$all" -v n="$count" 'BEGIN { printf "%.2f", (n - 1) / (b - a) }')
  ratio=$(awk -v a="$ips" -v b="$ref_ips" 'BEGIN { printf "%.1fx", a / b }')
  printf '%-14s %-22s %14.2f %16s %8s\n' "$model" "$layer" "$ips" "$ref_ips" "$ratio"
done <"$work/ours.txt"
