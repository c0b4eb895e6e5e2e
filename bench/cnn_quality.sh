#!/usr/bin/env bash
# Map quality on ../shared/datasets/intel_scenes: K-Means NMI and 10-NN accuracy for raw pixels and
# InceptionV3 / MobileNetV2 (nsfwjs) layers, poolings, normalisations and fusions (bench_cnn_quality,
# table written to bench/results/cnn_quality_table.md), then the real pipeline (`photoatlas run ...
# -k 6 --cache`) with the default features and with the previous default (mixed5, gap, no
# normalisation), scored from its points.csv.
#
# The main candidates are checked on a second labelled set, ../shared/datasets/imagenet_sample
# (13 broad WordNet groups made by bench/imagenet_coarse_labels.py), with [0,1] and [-1,1] input.
#
# usage: bench/cnn_quality.sh [BUILD_DIR (default build)] [PER_CLASS (default 0 = all 2158 images)]
# Not part of scripts/test: the first run computes every image's features (minutes on two cores);
# the features stay in bench/results/ (the table's cache) and in a photoatlas cache for the pipeline.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
per_class=${2:-0}
shared=${PHOTOATLAS_SHARED_DIR:-$root/../shared}
data=$shared/datasets/intel_scenes
if [ ! -f "$data/labels.csv" ]; then
  echo "skip: ../shared/datasets/intel_scenes is absent"
  exit 0
fi
cmake --build "$build" --target bench_cnn_quality photoatlas -j2 >/dev/null
mkdir -p "$root/bench/results"
cd "$root"
"$build/bench/bench_cnn_quality" "$data" --per-class "$per_class" --seeds 5 \
  --cache "$root/bench/results/cnn_quality_features_$per_class.bin" --out "$root/bench/results/cnn_quality_table.md"

if [ "$per_class" = 0 ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  # Only the clusters are scored: an empty page stands in for the viewer (web/dist may not be built).
  mkdir -p "$out/viewer"
  echo '<!doctype html><title>viewer not needed</title>' >"$out/viewer/index.html"
  for extra in "" "--layer mixed5 --pooling gap --normalize none"; do
    "$build/photoatlas" run "$data/images" -o "$out/atlas" -k 6 -q --viewer-dir "$out/viewer" \
      --cache "$root/bench/results/cnn_quality_cache.sqlite" $extra >/dev/null
    echo "photoatlas run -k 6 $extra:"
    "$build/bench/bench_cnn_quality" "$data" --points "$out/atlas/points.csv"
  done
fi

imagenet=$shared/datasets/imagenet_sample
if [ "$per_class" = 0 ] && [ -f "$imagenet/labels.csv" ] && [ -f /usr/share/wordnet/data.noun ]; then
  coarse=$(mktemp)
  /usr/bin/python3 "$root/bench/imagenet_coarse_labels.py" "$imagenet" >"$coarse" 2>/dev/null
  for range in 01 pm1; do
    echo "imagenet_sample, 13 WordNet groups, input $range:"
    "$build/bench/bench_cnn_quality" "$imagenet" --labels "$coarse" --mobilenet 0 --input-range "$range" --seeds 5 \
      --cache "$root/bench/results/cnn_quality_imagenet_$range.bin" \
      --only "=mixed5 avg,=mixed6 avg,=mixed7 avg,=mixed5 spp,=mixed6+mixed7 avg,=mixed6+mixed7 spp,=mixed5+mixed6+mixed7 spp"
  done
  rm -f "$coarse"
fi
