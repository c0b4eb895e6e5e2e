// COCO object tags on ../shared/datasets/imagenet_sample: per-motif hit rate on the 63 motif photos
// (Coffee, Wine/Beer, Cycling, Books, Food in motifs.csv), false-tag rate on the other photos, and time
// per photo. A photo is a hit when one of its tags (score >= threshold) belongs to its motif in
// data/ontologies/coco.json (the reference's mapping: Coffee <- cup, Wine/Beer <- wine glass, bottle,
// ...); a non-motif photo has a false tag when any tag belongs to one of the five motifs.
// bench/objects_vs_reference.sh runs this next to the reference extractor (TF.js WASM).
//
// usage: bench_objects [--dataset DIR] [--model DIR] [--threshold T] [--motifs-only] [--limit N]
//   prints the hit-rate table, the false-tag rate and timings as Markdown.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/csv.h"
#include "detect/objects.h"
#include "ingest/decode.h"
#include "label/object_categories.h"

using namespace photoatlas;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

int main(int argc, char** argv) {
  fs::path root = fs::path(PHOTOATLAS_BENCH_SOURCE_DIR);
  fs::path dataset = root.parent_path() / "shared" / "datasets" / "imagenet_sample";
  fs::path model_dir = detect::centernet_model_dir(root);
  float threshold = 0.3f;
  bool motifs_only = false;
  std::size_t limit = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--dataset" && i + 1 < argc) dataset = argv[++i];
    else if (arg == "--model" && i + 1 < argc) model_dir = argv[++i];
    else if (arg == "--threshold" && i + 1 < argc) threshold = std::strtof(argv[++i], nullptr);
    else if (arg == "--limit" && i + 1 < argc) limit = std::strtoul(argv[++i], nullptr, 10);
    else if (arg == "--motifs-only") motifs_only = true;
    else {
      std::fprintf(stderr, "usage: bench_objects [--dataset DIR] [--model DIR] [--threshold T] [--motifs-only] [--limit N]\n");
      return 2;
    }
  }
  if (!fs::exists(dataset / "motifs.csv")) {
    std::printf("skip: %s/motifs.csv not found (../shared is absent)\n", dataset.c_str());
    return 0;
  }
  const auto t_load = Clock::now();
  const auto model = detect::CenterNet::load(model_dir);
  const double load_seconds = seconds_since(t_load);
  const detect::ObjectExtractor extractor(model);
  const auto ontology = label::LabelOntology::load_named("coco", detect::coco_labels(), root / "data");
  const std::vector<std::string> motifs = {"Coffee", "Wine/Beer", "Cycling", "Books", "Food"};

  std::ifstream in(dataset / "motifs.csv", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const auto rows = parse_csv(text.str());
  struct Item {
    fs::path path;
    std::string name, motif;
  };
  std::vector<Item> items;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() < 4) continue;
    const bool is_motif = std::find(motifs.begin(), motifs.end(), rows[r][3]) != motifs.end();
    if (motifs_only && !is_motif) continue;
    items.push_back({dataset / rows[r][0], rows[r][2], is_motif ? rows[r][3] : ""});
  }
  // Motif photos first, so --limit keeps them.
  std::stable_partition(items.begin(), items.end(), [](const Item& i) { return !i.motif.empty(); });
  if (limit && items.size() > limit) items.resize(limit);

  std::map<std::string, std::pair<int, int>> per_motif;  // motif -> (photos, hits)
  std::map<std::string, int> false_by_motif;
  int others = 0, others_false = 0;
  double decode_s = 0, detect_s = 0;
  std::vector<std::string> per_image;
  ingest::DecodeOptions decode_options;
  decode_options.min_short_side = extractor.min_input_side();
  std::vector<float> row(extractor.dims());
  // One warm-up call: OpenCV allocates its buffers on the first forward pass.
  extractor.extract(ingest::decode_file(items.front().path, decode_options).image, row);
  for (const Item& item : items) {
    auto t = Clock::now();
    ingest::DecodedImage decoded;
    try {
      decoded = ingest::decode_file(item.path, decode_options);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", item.path.c_str(), e.what());
      continue;
    }
    decode_s += seconds_since(t);
    t = Clock::now();
    extractor.extract(decoded.image, row);
    detect_s += seconds_since(t);
    const auto tags = detect::object_tags(detect::detections_from_row(row), threshold);
    std::vector<std::string> tag_motifs;
    for (const auto& tag : tags) {
      const std::string category = ontology.category_of(tag.label);
      if (std::find(motifs.begin(), motifs.end(), category) != motifs.end()) tag_motifs.push_back(category);
    }
    if (!item.motif.empty()) {
      const bool hit = std::find(tag_motifs.begin(), tag_motifs.end(), item.motif) != tag_motifs.end();
      auto& [photos, hits] = per_motif[item.motif];
      ++photos;
      hits += hit;
      per_image.push_back(std::string(hit ? "- HIT  " : "- miss ") + item.motif + " " + item.name + ": " +
                          detect::format_object_tags(tags));
    } else {
      ++others;
      if (!tag_motifs.empty()) {
        ++others_false;
        std::sort(tag_motifs.begin(), tag_motifs.end());
        tag_motifs.erase(std::unique(tag_motifs.begin(), tag_motifs.end()), tag_motifs.end());
        for (const auto& m : tag_motifs) ++false_by_motif[m];
      }
    }
  }
  const std::size_t photos = per_image.size() + static_cast<std::size_t>(others);
  std::printf("## CenterNet object tags (photoatlas, OpenCV DNN), score >= %.2f\n\n", threshold);
  std::printf("| motif | photos | hits | hit rate |\n|---|---|---|---|\n");
  int all_photos = 0, all_hits = 0;
  for (const std::string& motif : motifs) {
    const auto it = per_motif.find(motif);
    if (it == per_motif.end()) continue;
    const auto [n, hits] = it->second;
    all_photos += n;
    all_hits += hits;
    std::printf("| %s | %d | %d | %.0f%% |\n", motif.c_str(), n, hits, 100.0 * hits / n);
  }
  std::printf("| **all** | %d | %d | %.0f%% |\n\n", all_photos, all_hits, all_photos ? 100.0 * all_hits / all_photos : 0.0);
  if (others > 0) {
    std::printf("False tags: %d of %d other photos (%.1f%%) get a motif label; by motif:", others_false, others,
                100.0 * others_false / others);
    for (const auto& [m, n] : false_by_motif) std::printf(" %s %d", m.c_str(), n);
    std::printf("\n\n");
  }
  std::printf("Time per photo over %zu photos (1 image at a time, after one warm-up): decode %.1f ms, "
              "detector (resize + network + decoding + NMS) %.1f ms, total %.1f ms = %.1f photos/s; model load %.2f s\n\n",
              photos, 1000 * decode_s / photos, 1000 * detect_s / photos, 1000 * (decode_s + detect_s) / photos,
              photos / (decode_s + detect_s), load_seconds);
  std::printf("detector_ms_per_photo %.2f\n\n", 1000 * detect_s / photos);
  std::printf("Per motif photo:\n\n");
  for (const auto& line : per_image) std::printf("%s\n", line.c_str());
  return 0;
}
