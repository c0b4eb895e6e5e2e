#!/usr/bin/env bash
# COCO object tags, side by side in one run: photoatlas (CenterNet imported into OpenCV DNN, C++)
# and the reference extractor ../shared/reference/centernet/scripts/run_detect.js (TF.js 4.22, WASM
# backend, human 3.3.6's pre/post-processing) on the 63 motif photos of imagenet_sample: hit rate per
# motif at score 0.3 and time per photo (both exclude JPEG decoding from the detector time; ours also
# reports decoding). Ours runs just before and just after the reference, so a machine shared with
# other jobs weighs on both sides alike. Then ours alone on all 1000 photos for the false-tag rate on
# the 937 non-motif ones (skipped with --quick).
#
# usage: bench/objects_vs_reference.sh [BUILD_DIR (default build)] [--quick]
# Not part of scripts/test. Needs the model (scripts/setup) and npm (for bench/cnn-reference, whose
# four packages are the reference's: @tensorflow/tfjs, tfjs-backend-wasm, jpeg-js, pngjs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
quick=${2:-}
shared=${PHOTOATLAS_SHARED_DIR:-$root/../shared}
ref=$shared/reference/centernet/scripts
dataset=$shared/datasets/imagenet_sample
if [ ! -f "$ref/run_detect.js" ] || [ ! -f "$dataset/motifs.csv" ]; then
  echo "skip: ../shared (reference scripts and imagenet_sample) is absent"
  exit 0
fi
[ -x "$build/bench/bench_objects" ] || cmake --build "$build" --target bench_objects -j2 >/dev/null

refdir=${TFJSREF_DIR:-$root/bench/cnn-reference}
if [ -z "${TFJSREF_DIR:-}" ]; then
  stamp=$refdir/node_modules/.photoatlas-lock-stamp
  want=$(sha256sum "$refdir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    (cd "$refdir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/no-tfjsref-images" "$work/ref"
"$build/bench/bench_objects" --dataset "$dataset" --model "$root/models/human-models" --motifs-only >"$work/ours-before.txt"
echo "# reference: TF.js $(node -p "require('$refdir/node_modules/@tensorflow/tfjs/package.json').version") WASM, $(nproc) cores"
TFJSREF_DIR=$refdir DETREF_MODELS=$root/models/human-models TFJSREF_IMAGES=$work/no-tfjsref-images \
  IMAGENET_SAMPLE=$dataset node "$ref/run_detect.js" --models centernet --set imagenet_sample --out "$work/ref" \
  >"$work/ref.log" 2>&1 || { cat "$work/ref.log" >&2; exit 1; }
node - "$work/ref/detections.json" <<'JS'
const det = require(process.argv[2]).models.centernet;
const MAP = { Coffee: ['cup'], 'Wine/Beer': ['wine glass', 'bottle'], Cycling: ['bicycle'], Books: ['book'],
  Food: ['banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'bowl'] };
const per = {};
for (const im of det.images) {
  const p = (per[im.motif] ??= { n: 0, hits: 0 });
  p.n++;
  if (im.detections.some((d) => d.score >= 0.3 && MAP[im.motif].includes(d.label))) p.hits++;
}
let n = 0, hits = 0;
console.log('\n## Reference (TF.js WASM, same run), score >= 0.30\n\n| motif | photos | hits | hit rate |\n|---|---|---|---|');
for (const m of Object.keys(MAP)) { const p = per[m]; if (!p) continue; n += p.n; hits += p.hits;
  console.log(`| ${m} | ${p.n} | ${p.hits} | ${Math.round(100 * p.hits / p.n)}% |`); }
console.log(`| **all** | ${n} | ${hits} | ${Math.round(100 * hits / n)}% |\n`);
const t = det.timing_ms_per_image;
console.log(`Reference time per photo (resize + inference + readback + NMS, decode excluded): mean ${t.mean} ms, median ${t.median} ms`);
console.log(`reference_ms_per_photo ${t.mean}`);
JS
"$build/bench/bench_objects" --dataset "$dataset" --model "$root/models/human-models" --motifs-only >"$work/ours-after.txt"
echo
cat "$work/ours-after.txt"
before=$(awk '/^detector_ms_per_photo/ { print $2 }' "$work/ours-before.txt")
after=$(awk '/^detector_ms_per_photo/ { print $2 }' "$work/ours-after.txt")
theirs=$(node -p "require('$work/ref/detections.json').models.centernet.timing_ms_per_image.mean")
awk -v a="$before" -v b="$after" -v r="$theirs" 'BEGIN { m = (a + b) / 2;
  printf "\nDetector time per photo on the 63 motif photos: photoatlas %.1f ms (%.1f before, %.1f after the reference), reference %.1f ms: %.2fx\n", m, a, b, r, r / m }'
if [ "$quick" != "--quick" ]; then
  echo
  echo "## All 1000 photos (false tags on the 937 non-motif ones)"
  "$build/bench/bench_objects" --dataset "$dataset" --model "$root/models/human-models" | sed -n '/^False tags/,/^detector_ms/p'
fi
