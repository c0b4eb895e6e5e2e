// Map quality of candidate feature sets on a labelled data set (../shared/datasets/intel_scenes):
// K-Means (k = number of classes) NMI, mean and spread over several seeds, and 10-NN accuracy, for
// raw pixels and the nsfwjs networks' layers under several poolings (average, max, GeM, average+max,
// 2x2 spatial pyramid), normalisations (none, L2, signed square root + L2), horizontal-flip
// test-time averaging, multi-layer fusion and InceptionV3 + MobileNetV2 concatenation. One pass per
// image computes every layer's map and pools it every way; the pooled vectors are kept in a cache
// file so a re-run only evaluates.
//
// usage: bench_cnn_quality DATASET_DIR [--cache FILE] [--per-class N] [--nsfwjs DIR] [--out FILE.md]
//                          [--seeds N] [--flip 0|1] [--only A,B,=EXACT] [--points POINTS.csv]
//                          [--input-range 01|pm1] [--mobilenet 0|1] [--labels FILE.csv]
//   DATASET_DIR holds labels.csv (path,label) and the images it names; --labels reads another
//   file of the same form (paths relative to DATASET_DIR, label in the last column). --points
//   scores the *_cluster columns of a photoatlas points.csv instead (the real pipeline).
//   --input-range pm1 feeds both networks [-1,1] pixels instead of nsfwjs' [0,1] (use its own
//   --cache file); --mobilenet 0 skips MobileNetV2. --sweep 1 varies the clustering input instead:
//   PCA to 10..100 dimensions, rows L2-normalised after PCA, columns standardised before PCA.
//   --layers L1,L2,.. sets the InceptionV3 layers a feature pass keeps (default mixed4..mixed7).
//   --more-norms 1 adds two normalisations: |x|^(1/4) then L2, and per-quadrant L2 after the root.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <atomic>
#include <mutex>

#include "cluster/kmeans.h"
#include "core/parallel.h"
#include "cluster/metrics.h"
#include "embed/pca.h"
#include "embed/tsne.h"
#include "features/cnn_extractor.h"
#include "features/raw_pixels.h"
#include "ingest/decode.h"

using namespace photoatlas;
namespace fs = std::filesystem;

namespace {

// The layers a feature pass keeps (--layers replaces the list; the candidates of layers missing
// from a cache are skipped).
std::vector<std::string> kInceptionLayers = {"mixed4", "mixed5", "mixed6", "mixed7"};
const std::vector<std::string> kFlipLayers = {"mixed4", "mixed5", "mixed6", "mixed7"};  // candidates with +flip
const std::vector<std::string> kMobilenetLayers = {"block_10_project_BN", "block_13_expand_relu", "out_relu"};

struct Dataset {
  std::vector<std::string> paths;
  std::vector<int> labels;
  std::vector<std::string> class_names;
};

Dataset read_labels(const fs::path& dir, const fs::path& labels_file, int per_class) {
  std::ifstream in(labels_file);
  if (!in) throw std::runtime_error("cannot read " + labels_file.string());
  Dataset d;
  std::map<std::string, int> ids;
  std::map<int, int> counts;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const std::size_t comma = line.rfind(',');
    if (comma == std::string::npos) continue;
    const std::string label = line.substr(comma + 1);
    if (!ids.count(label)) {
      ids[label] = static_cast<int>(d.class_names.size());
      d.class_names.push_back(label);
    }
    const int id = ids[label];
    if (per_class > 0 && counts[id] >= per_class) continue;
    ++counts[id];
    d.paths.push_back((dir / line.substr(0, comma)).string());
    d.labels.push_back(id);
  }
  return d;
}

// Feature sets by name ("mixed5:avg", "mixed5:gem:flip", "raw150"), one row per image.
using FeatureSets = std::map<std::string, FloatMatrix>;

void save(const fs::path& file, const Dataset& d, const FeatureSets& sets) {
  std::ofstream out(file, std::ios::binary);
  auto u64 = [&](std::uint64_t v) { out.write(reinterpret_cast<const char*>(&v), 8); };
  u64(d.paths.size());
  for (const auto& p : d.paths) {
    u64(p.size());
    out.write(p.data(), static_cast<std::streamsize>(p.size()));
  }
  u64(sets.size());
  for (const auto& [name, m] : sets) {
    u64(name.size());
    out.write(name.data(), static_cast<std::streamsize>(name.size()));
    u64(m.rows);
    u64(m.cols);
    out.write(reinterpret_cast<const char*>(m.values.data()), static_cast<std::streamsize>(m.values.size() * 4));
  }
}

bool load(const fs::path& file, const Dataset& d, FeatureSets& sets) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  auto u64 = [&] {
    std::uint64_t v = 0;
    in.read(reinterpret_cast<char*>(&v), 8);
    return v;
  };
  auto str = [&] {
    std::string s(u64(), '\0');
    in.read(s.data(), static_cast<std::streamsize>(s.size()));
    return s;
  };
  if (u64() != d.paths.size()) return false;
  for (const auto& p : d.paths)
    if (str() != p) return false;
  const std::uint64_t count = u64();
  for (std::uint64_t i = 0; i < count && in; ++i) {
    const std::string name = str();
    const std::uint64_t rows = u64(), cols = u64();
    FloatMatrix m(rows, cols);
    in.read(reinterpret_cast<char*>(m.values.data()), static_cast<std::streamsize>(m.values.size() * 4));
    sets[name] = std::move(m);
  }
  return static_cast<bool>(in);
}

ingest::RgbImage mirrored(const ingest::RgbImage& image) {
  ingest::RgbImage out = image;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      std::copy_n(image.at(image.width - 1 - x, y), 3, out.pixels.data() + (static_cast<std::size_t>(y) * image.width + x) * 3);
  return out;
}

// Poolings of one image's C x H x W map, by name. A 2-D output (C only) is its own pooling.
std::map<std::string, std::vector<float>> poolings(const cv::Mat& maps, int image, bool pyramid) {
  const int channels = maps.size[1];
  const int h = maps.dims == 4 ? maps.size[2] : 1, w = maps.dims == 4 ? maps.size[3] : 1;
  const float* base = maps.ptr<float>(image);
  std::vector<float> avg(channels), max(channels), gem(channels), spp(pyramid ? channels * 4 : 0);
  for (int c = 0; c < channels; ++c) {
    const float* cell = base + static_cast<std::size_t>(c) * h * w;
    double sum = 0, cubes = 0;
    float top = cell[0];
    for (int k = 0; k < h * w; ++k) {
      sum += cell[k];
      const double positive = std::max(0.0f, cell[k]);
      cubes += positive * positive * positive;
      top = std::max(top, cell[k]);
    }
    avg[c] = static_cast<float>(sum / (h * w));
    max[c] = top;
    gem[c] = static_cast<float>(std::cbrt(cubes / (h * w)));  // generalised mean, p = 3
    if (pyramid) {
      // 2x2 quadrants; with an odd side the middle row / column belongs to both halves.
      const int y_end[2] = {(h + 1) / 2, h}, y_begin[2] = {0, h / 2};
      const int x_end[2] = {(w + 1) / 2, w}, x_begin[2] = {0, w / 2};
      for (int qy = 0; qy < 2; ++qy)
        for (int qx = 0; qx < 2; ++qx) {
          double s = 0;
          for (int y = y_begin[qy]; y < y_end[qy]; ++y)
            for (int x = x_begin[qx]; x < x_end[qx]; ++x) s += cell[y * w + x];
          spp[(qy * 2 + qx) * channels + c] =
              static_cast<float>(s / ((y_end[qy] - y_begin[qy]) * (x_end[qx] - x_begin[qx])));
        }
    }
  }
  std::map<std::string, std::vector<float>> out = {{"avg", avg}, {"max", max}, {"gem", gem}};
  if (pyramid) {
    out["spp"] = spp;
    // Three horizontal bands (top, middle, bottom; flip-invariant) and a 3x3 grid.
    std::vector<float> bands(3 * channels), grid(9 * channels);
    for (int c = 0; c < channels; ++c) {
      const float* cell = base + static_cast<std::size_t>(c) * h * w;
      for (int by = 0; by < 3; ++by) {
        const int y0 = by * h / 3, y1 = (by + 1) * h / 3;
        double band = 0;
        for (int bx = 0; bx < 3; ++bx) {
          const int x0 = bx * w / 3, x1 = (bx + 1) * w / 3;
          double s = 0;
          for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) s += cell[y * w + x];
          band += s;
          grid[(by * 3 + bx) * channels + c] = static_cast<float>(s / ((y1 - y0) * (x1 - x0)));
        }
        bands[by * channels + c] = static_cast<float>(band / ((y1 - y0) * w));
      }
    }
    out["bands"] = bands;
    out["grid3"] = grid;
  }
  return out;
}

void put(FeatureSets& sets, std::mutex& mutex, const std::string& name, std::size_t rows, std::size_t row,
         const std::vector<float>& v) {
  std::lock_guard lock(mutex);
  FloatMatrix& m = sets[name];
  if (m.rows == 0) m = FloatMatrix(rows, v.size());
  std::copy(v.begin(), v.end(), m.row(row));
}

// One worker per core, each on its own copy of the networks with OpenCV single-threaded (the
// fastest way on few cores, bench/results/cnn_speed.md). With `flip`, each photo's mirror image
// goes through InceptionV3 in the same batch.
FeatureSets compute(const Dataset& d, const fs::path& nsfwjs, bool flip, features::InputRange range,
                    bool with_mobilenet) {
  ingest::ensure_vips_started();
  const auto inception = features::load_nsfwjs_model(nsfwjs, "inception_v3");
  const auto mobilenet = features::load_nsfwjs_model(nsfwjs, "mobilenet_v2");
  const int threads = resolve_threads(0);
  inception->set_max_replicas(threads);
  mobilenet->set_max_replicas(threads);
  cv::setNumThreads(1);
  features::RawPixelExtractor raw({150});
  FeatureSets sets;
  std::mutex mutex;
  const std::size_t n = d.paths.size();
  FloatMatrix& raw_rows = sets["raw150"] = FloatMatrix(n, raw.dims());  // map references stay valid
  ingest::DecodeOptions decode;
  decode.min_short_side = 299;
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<std::size_t> done{0};
  parallel_for_dynamic(n, threads, [&](std::size_t i) {
    const ingest::RgbImage image = ingest::decode_file(d.paths[i], decode).image;
    const ingest::RgbImage flipped = mirrored(image);
    raw.extract(image, {raw_rows.row(i), raw.dims()});
    const ingest::RgbImage* both[] = {&image, &flipped};
    const auto maps = inception->run_maps(std::span(both, flip ? 2 : 1), kInceptionLayers, range);
    for (std::size_t l = 0; l < kInceptionLayers.size(); ++l) {
      for (const auto& [pool, v] : poolings(maps[l], 0, true)) put(sets, mutex, kInceptionLayers[l] + ":" + pool, n, i, v);
      if (flip)
        for (const auto& [pool, v] : poolings(maps[l], 1, false))
          put(sets, mutex, kInceptionLayers[l] + ":" + pool + ":flip", n, i, v);
    }
    if (with_mobilenet) {
      const auto mobile_maps = mobilenet->run_maps(std::span(both, 1), kMobilenetLayers, range);
      for (std::size_t l = 0; l < kMobilenetLayers.size(); ++l)
        for (const auto& [pool, v] : poolings(mobile_maps[l], 0, mobile_maps[l].dims == 4))
          put(sets, mutex, "mobilenet_v2/" + kMobilenetLayers[l] + ":" + pool, n, i, v);
    }
    const std::size_t now = ++done;
    if (now % 25 == 0 || now == n) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::lock_guard lock(mutex);
      std::fprintf(stderr, "\r%zu / %zu images, %.2f images/s   ", now, n, now / s);
    }
  });
  std::fprintf(stderr, "\n");
  return sets;
}

// Pow4L2: x -> sign(x) |x|^(1/4), then L2 (a stronger power normalisation). IntraSqrtL2: signed
// square root, then each quadrant of a quadrant-pooled part L2-normalised on its own (so every
// quarter of the photo weighs the same), then L2.
enum class Norm { None, L2, SqrtL2, Pow4L2, IntraSqrtL2 };
const char* norm_name(Norm n) {
  switch (n) {
    case Norm::None: return "none";
    case Norm::L2: return "l2";
    case Norm::SqrtL2: return "sqrt+l2";
    case Norm::Pow4L2: return "pow1/4+l2";
    case Norm::IntraSqrtL2: return "sqrt+quadrant l2";
  }
  return "?";
}

FloatMatrix normalise(const FloatMatrix& m, Norm norm) {
  FloatMatrix out = m;
  if (norm == Norm::None) return out;
  for (std::size_t i = 0; i < out.rows; ++i) {
    float* row = out.row(i);
    double sum = 0;
    for (std::size_t k = 0; k < out.cols; ++k) {
      if (norm == Norm::SqrtL2 || norm == Norm::IntraSqrtL2) row[k] = std::copysign(std::sqrt(std::abs(row[k])), row[k]);
      if (norm == Norm::Pow4L2) row[k] = std::copysign(std::sqrt(std::sqrt(std::abs(row[k]))), row[k]);
      sum += static_cast<double>(row[k]) * row[k];
    }
    const double scale = sum > 0 ? 1.0 / std::sqrt(sum) : 1.0;
    for (std::size_t k = 0; k < out.cols; ++k) row[k] = static_cast<float>(row[k] * scale);
  }
  return out;
}

// A candidate: the parts (feature set names) of a fusion, and whether the flipped pass is averaged in.
struct Candidate {
  std::string name;
  std::vector<std::string> parts;
  bool flip = false;
};

// Each of the four quadrant blocks of every row L2-normalised on its own.
FloatMatrix quadrants_l2(const FloatMatrix& m) {
  FloatMatrix out = m;
  const std::size_t block = m.cols / 4;
  for (std::size_t i = 0; i < m.rows; ++i)
    for (int q = 0; q < 4; ++q) {
      float* b = out.row(i) + q * block;
      double sum = 0;
      for (std::size_t k = 0; k < block; ++k) sum += static_cast<double>(b[k]) * b[k];
      if (sum > 0)
        for (std::size_t k = 0; k < block; ++k) b[k] = static_cast<float>(b[k] / std::sqrt(sum));
    }
  return out;
}

FloatMatrix part_of(const FeatureSets& sets, const std::string& part, bool flip, Norm norm = Norm::None) {
  if (norm == Norm::IntraSqrtL2 && part.ends_with(":spp")) {
    FloatMatrix rooted = sets.at(part);
    for (float& x : rooted.values) x = std::copysign(std::sqrt(std::abs(x)), x);
    return quadrants_l2(rooted);
  }
  FloatMatrix m = sets.at(part);
  if (!flip) return m;
  const FloatMatrix& f = sets.at(part + ":flip");
  for (std::size_t k = 0; k < m.values.size(); ++k) m.values[k] = 0.5f * (m.values[k] + f.values[k]);
  return m;
}

// One part: normalised as asked. Several: each part normalised (L2 at least, so no layer dominates
// by scale), concatenated, and the whole L2-normalised again.
FloatMatrix assemble(const FeatureSets& sets, const Candidate& c, Norm norm) {
  if (norm == Norm::IntraSqrtL2) {
    // Quadrant blocks first (square-rooted), then as L2 below (the root is not taken twice).
    if (c.parts.size() == 1) return normalise(part_of(sets, c.parts[0], c.flip, norm), Norm::L2);
  }
  if (c.parts.size() == 1) return normalise(part_of(sets, c.parts[0], c.flip), norm);
  std::vector<FloatMatrix> parts;
  std::size_t cols = 0;
  for (const std::string& p : c.parts) {
    if (norm == Norm::IntraSqrtL2) parts.push_back(normalise(part_of(sets, p, c.flip, norm), Norm::L2));
    else parts.push_back(normalise(part_of(sets, p, c.flip), norm == Norm::None ? Norm::L2 : norm));
    cols += parts.back().cols;
  }
  FloatMatrix out(parts[0].rows, cols);
  for (std::size_t i = 0; i < out.rows; ++i) {
    std::size_t at = 0;
    for (const FloatMatrix& p : parts) {
      std::copy_n(p.row(i), p.cols, out.row(i) + at);
      at += p.cols;
    }
  }
  return normalise(out, Norm::L2);
}

struct Score {
  double nmi = 0, nmi_sd = 0, nmi_l2 = 0, knn = 0;
};

Score evaluate(const FloatMatrix& features, const std::vector<int>& labels, int k, int seeds) {
  embed::PcaOptions pca;
  pca.components = 50;
  const FloatMatrix reduced = embed::pca(features, pca).projected;
  const FloatMatrix reduced_l2 = normalise(reduced, Norm::L2);
  Score s;
  double sum = 0, squares = 0, sum_l2 = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    cluster::KMeansOptions km;
    km.k = k;
    km.restarts = 10;
    km.seed = static_cast<std::uint64_t>(seed);
    const double nmi = cluster::normalized_mutual_info(labels, cluster::kmeans(reduced, km).labels);
    sum += nmi;
    squares += nmi * nmi;
    sum_l2 += cluster::normalized_mutual_info(labels, cluster::kmeans(reduced_l2, km).labels);
  }
  s.nmi = sum / seeds;
  s.nmi_sd = std::sqrt(std::max(0.0, squares / seeds - s.nmi * s.nmi));
  s.nmi_l2 = sum_l2 / seeds;
  s.knn = cluster::knn_label_accuracy(reduced, labels, 10);
  return s;
}

// A colour cue the CNN layers may have lost: per quadrant of the 150x150 raw pixels (RGB in
// [0,1], interleaved), a 4x4x4 RGB histogram (fractions), 256 values.
FloatMatrix colour_histograms(const FloatMatrix& raw, int side) {
  FloatMatrix out(raw.rows, 4 * 64);
  for (std::size_t i = 0; i < raw.rows; ++i) {
    const float* p = raw.row(i);
    float* h = out.row(i);
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        const float* px = p + (static_cast<std::size_t>(y) * side + x) * 3;
        const int bin = std::min(3, static_cast<int>(px[0] * 4)) * 16 + std::min(3, static_cast<int>(px[1] * 4)) * 4 +
                        std::min(3, static_cast<int>(px[2] * 4));
        const int quadrant = (y * 2 / side) * 2 + x * 2 / side;
        h[quadrant * 64 + bin] += 1.0f / (side * side / 4);
      }
  }
  return out;
}

// Each column scaled to zero mean and unit variance (a constant column stays zero).
FloatMatrix standardised(const FloatMatrix& m) {
  FloatMatrix out = m;
  for (std::size_t c = 0; c < m.cols; ++c) {
    double sum = 0, squares = 0;
    for (std::size_t r = 0; r < m.rows; ++r) sum += m.at(r, c);
    const double mean = sum / m.rows;
    for (std::size_t r = 0; r < m.rows; ++r) squares += (m.at(r, c) - mean) * (m.at(r, c) - mean);
    const double sd = std::sqrt(squares / m.rows);
    for (std::size_t r = 0; r < m.rows; ++r)
      out.at(r, c) = sd > 0 ? static_cast<float>((m.at(r, c) - mean) / sd) : 0.0f;
  }
  return out;
}

double mean_nmi(const FloatMatrix& x, const std::vector<int>& labels, int k, int seeds) {
  double sum = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    cluster::KMeansOptions km;
    km.k = k;
    km.restarts = 10;
    km.seed = static_cast<std::uint64_t>(seed);
    sum += cluster::normalized_mutual_info(labels, cluster::kmeans(x, km).labels);
  }
  return sum / seeds;
}

const std::vector<int> kSweepDims = {10, 20, 30, 50, 100};

// How the clustering input is prepared, for one feature set: K-Means NMI on PCA-d for several d,
// on those rows L2-normalised, and on PCA-50 of the per-column standardised features; 10-NN on each
// PCA-d. One table row.
std::string sweep_row(const FloatMatrix& features, const std::vector<int>& labels, int k, int seeds) {
  std::string row;
  char cell[64];
  std::string knn;
  for (int dims : kSweepDims) {
    embed::PcaOptions pca;
    pca.components = dims;
    const FloatMatrix reduced = embed::pca(features, pca).projected;
    std::snprintf(cell, sizeof cell, " %.3f | %.3f |", mean_nmi(reduced, labels, k, seeds),
                  mean_nmi(normalise(reduced, Norm::L2), labels, k, seeds));
    row += cell;
    std::snprintf(cell, sizeof cell, " %.3f |", cluster::knn_label_accuracy(reduced, labels, 10));
    knn += cell;
  }
  embed::PcaOptions pca;
  const FloatMatrix reduced_std = embed::pca(standardised(features), pca).projected;
  std::snprintf(cell, sizeof cell, " %.3f | %.3f |", mean_nmi(reduced_std, labels, k, seeds),
                cluster::knn_label_accuracy(reduced_std, labels, 10));
  row += cell;
  // The pipeline's map: t-SNE (its defaults, seed 0) of PCA-50, and K-Means on the map itself.
  const FloatMatrix map = embed::tsne(embed::pca(features, pca).projected, embed::TsneOptions{}).embedding;
  std::snprintf(cell, sizeof cell, " %.3f | %.3f |", mean_nmi(map, labels, k, seeds),
                cluster::knn_label_accuracy(map, labels, 10));
  return row + cell + knn;
}

// --only: comma-separated patterns; a candidate is evaluated when its name contains one, or equals
// one that starts with '='.
bool selected(const std::string& name, const std::string& only) {
  std::stringstream patterns(only);
  std::string p;
  while (std::getline(patterns, p, ','))
    if (p.starts_with("=") ? name == p.substr(1) : name.find(p) != std::string::npos) return true;
  return false;
}

std::vector<Candidate> candidates() {
  std::vector<Candidate> out = {{"raw 150x150x3", {"raw150"}}};
  for (const std::string& layer : kInceptionLayers)
    for (const std::string pool : {"avg", "max", "gem", "spp"}) out.push_back({layer + " " + pool, {layer + ":" + pool}});
  for (const std::string& layer : kInceptionLayers)
    out.push_back({layer + " avg+max", {layer + ":avg", layer + ":max"}});
  for (const std::string& layer : kFlipLayers)
    for (const std::string pool : {"avg", "gem"}) out.push_back({layer + " " + pool + " +flip", {layer + ":" + pool}, true});
  const std::vector<std::vector<std::string>> fusions = {
      {"mixed5", "mixed6"}, {"mixed5", "mixed7"}, {"mixed6", "mixed7"}, {"mixed4", "mixed5", "mixed6"},
      {"mixed5", "mixed6", "mixed7"}, {"mixed4", "mixed5", "mixed6", "mixed7"}};
  for (const auto& layers : fusions)
    for (const std::string pool : {"avg", "gem", "max"}) {
      Candidate c;
      for (const auto& l : layers) {
        c.name += (c.name.empty() ? "" : "+") + l;
        c.parts.push_back(l + ":" + pool);
      }
      c.name += " " + pool;
      out.push_back(c);
      if (pool != "max") {
        c.name += " +flip";
        c.flip = true;
        out.push_back(c);
      }
    }
  // 2x2 quadrants (spp) of several layers, and the full pyramid (1x1 + 2x2).
  const std::vector<std::vector<std::string>> spp_fusions = {{"mixed6", "mixed7"}, {"mixed5", "mixed6", "mixed7"},
                                                             {"mixed4", "mixed6"}, {"mixed4", "mixed7"},
                                                             {"mixed4", "mixed6", "mixed7"}};
  for (const auto& layers : spp_fusions) {
    Candidate c;
    for (const auto& l : layers) {
      c.name += (c.name.empty() ? "" : "+") + l;
      c.parts.push_back(l + ":spp");
    }
    c.name += " spp";
    out.push_back(c);
  }
  for (const std::string layer : {"mixed5", "mixed6", "mixed7"})
    out.push_back({layer + " avg+spp", {layer + ":avg", layer + ":spp"}});
  // mixed8 (8x8, fine-tuned) fused, and MobileNetV2's quadrants, alone and with the default.
  out.push_back({"mixed6+mixed7+mixed8 spp", {"mixed6:spp", "mixed7:spp", "mixed8:spp"}});
  out.push_back({"mixed7+mixed8 spp", {"mixed7:spp", "mixed8:spp"}});
  out.push_back({"colour quadrant histograms", {"colour"}});
  out.push_back({"mixed6+mixed7 spp + colour", {"mixed6:spp", "mixed7:spp", "colour"}});
  out.push_back({"mixed5+mixed6+mixed7+mixed8 spp", {"mixed5:spp", "mixed6:spp", "mixed7:spp", "mixed8:spp"}});
  for (const std::string& layer : kMobilenetLayers) {
    out.push_back({"mobilenet_v2 " + layer + " spp", {"mobilenet_v2/" + layer + ":spp"}});
    out.push_back({"mixed6+mixed7 spp + mobilenet_v2 " + layer + " spp",
                   {"mixed6:spp", "mixed7:spp", "mobilenet_v2/" + layer + ":spp"}});
  }
  // Other spatial layouts (in feature caches that have them): three horizontal bands, a 3x3 grid.
  for (const std::string pool : {"bands", "grid3"}) {
    for (const std::string layer : {"mixed5", "mixed6", "mixed7"}) out.push_back({layer + " " + pool, {layer + ":" + pool}});
    out.push_back({"mixed6+mixed7 " + pool, {"mixed6:" + pool, "mixed7:" + pool}});
  }
  for (const std::string& layer : kMobilenetLayers)
    for (const std::string pool : {"avg", "max", "gem"})
      out.push_back({"mobilenet_v2 " + layer + " " + pool, {"mobilenet_v2/" + layer + ":" + pool}});
  out.push_back({"mixed5 avg + mobilenet_v2 block_10_project_BN avg", {"mixed5:avg", "mobilenet_v2/block_10_project_BN:avg"}});
  out.push_back({"mixed5+mixed6+mixed7 avg + mobilenet_v2 block_10_project_BN avg",
                 {"mixed5:avg", "mixed6:avg", "mixed7:avg", "mobilenet_v2/block_10_project_BN:avg"}});
  out.push_back({"mixed5+mixed6+mixed7 avg + mobilenet_v2 out_relu avg",
                 {"mixed5:avg", "mixed6:avg", "mixed7:avg", "mobilenet_v2/out_relu:avg"}});
  return out;
}

// The real pipeline's clusters: NMI of every *_cluster column of a points.csv against the labels
// (rows matched by the last two path components, "buildings/20057.jpg").
int score_points(const Dataset& d, const fs::path& file) {
  std::map<std::string, int> label_of;
  for (std::size_t i = 0; i < d.paths.size(); ++i) {
    const fs::path p = d.paths[i];
    label_of[(p.parent_path().filename() / p.filename()).string()] = d.labels[i];
  }
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream h(line);
    std::string cell;
    while (std::getline(h, cell, ',')) header.push_back(cell);
  }
  std::map<std::string, std::vector<int>> clusters;
  std::map<std::string, std::vector<float>> maps;  // layout id -> x, y per row
  std::vector<int> truth;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream r(line);
    std::string cell;
    while (std::getline(r, cell, ',')) cells.push_back(cell);  // the data set's paths have no commas
    if (cells.empty()) continue;
    const fs::path p = cells[0];
    const auto it = label_of.find((p.parent_path().filename() / p.filename()).string());
    if (it == label_of.end()) continue;
    truth.push_back(it->second);
    for (std::size_t c = 0; c < header.size() && c < cells.size(); ++c) {
      if (header[c].size() > 8 && header[c].ends_with("_cluster")) clusters[header[c]].push_back(std::stoi(cells[c]));
      if (header[c].size() > 2 && header[c].ends_with("_x") && c + 1 < cells.size() && header[c + 1].ends_with("_y")) {
        maps[header[c].substr(0, header[c].size() - 2)].push_back(std::stof(cells[c]));
        maps[header[c].substr(0, header[c].size() - 2)].push_back(std::stof(cells[c + 1]));
      }
    }
  }
  for (const auto& [column, labels] : clusters)
    std::printf("pipeline %-14s K-Means NMI %.3f  (%zu images)\n", column.c_str(),
                cluster::normalized_mutual_info(truth, labels), truth.size());
  // 10-NN label accuracy on the map itself (the t-SNE coordinates the viewer shows), and what
  // K-Means (k = the number of classes, 10 restarts, 5 seeds) on the map would score.
  const int k = static_cast<int>(d.class_names.size());
  for (auto& [layout, xy] : maps) {
    FloatMatrix points(truth.size(), 2);
    points.values = std::move(xy);
    std::printf("pipeline %-14s 10-NN on the map %.3f, K-Means (k = %d) on the map NMI %.3f\n",
                (layout + "_x,y").c_str(), cluster::knn_label_accuracy(points, truth, 10), k,
                mean_nmi(points, truth, k, 5));
  }
  return truth.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: bench_cnn_quality DATASET_DIR [--cache FILE] [--per-class N] [--nsfwjs DIR] [--out FILE.md] "
                 "[--seeds N] [--flip 0|1] [--only TEXT] [--points POINTS.csv] [--input-range 01|pm1] "
                 "[--mobilenet 0|1] [--labels FILE.csv]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  fs::path cache = "bench/results/cnn_quality_features.bin", nsfwjs = "models/nsfwjs/node_modules/nsfwjs", out_md;
  int per_class = 0, seeds = 5;
  bool flip = false;
  std::string only;  // evaluate only the candidates whose name contains this
  fs::path points, labels_file = dir / "labels.csv";
  bool sweep = false, more_norms = false;
  features::InputRange range = features::InputRange::ZeroOne;
  bool with_mobilenet = true;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--points") points = argv[i + 1];
    else if (arg == "--cache") cache = argv[i + 1];
    else if (arg == "--per-class") per_class = std::atoi(argv[i + 1]);
    else if (arg == "--nsfwjs") nsfwjs = argv[i + 1];
    else if (arg == "--out") out_md = argv[i + 1];
    else if (arg == "--seeds") seeds = std::max(1, std::atoi(argv[i + 1]));
    else if (arg == "--flip") flip = std::atoi(argv[i + 1]) != 0;
    else if (arg == "--only") only = argv[i + 1];
    else if (arg == "--labels") labels_file = argv[i + 1];
    else if (arg == "--sweep") sweep = std::atoi(argv[i + 1]) != 0;
    else if (arg == "--more-norms") more_norms = std::atoi(argv[i + 1]) != 0;
    else if (arg == "--layers") {
      kInceptionLayers.clear();
      std::stringstream list(argv[i + 1]);
      std::string layer;
      while (std::getline(list, layer, ',')) kInceptionLayers.push_back(layer);
    }
    else if (arg == "--mobilenet") with_mobilenet = std::atoi(argv[i + 1]) != 0;
    else if (arg == "--input-range") {
      if (std::string(argv[i + 1]) == "pm1") range = features::InputRange::PlusMinusOne;
      else if (std::string(argv[i + 1]) != "01") {
        std::fprintf(stderr, "--input-range: 01 or pm1, not '%s'\n", argv[i + 1]);
        return 2;
      }
    }
  }
  const Dataset d = read_labels(dir, labels_file, per_class);
  if (!points.empty()) return score_points(d, points);
  FeatureSets sets;
  if (!load(cache, d, sets)) {
    std::fprintf(stderr, "computing features for %zu images (cache %s)\n", d.paths.size(), cache.c_str());
    sets = compute(d, nsfwjs, flip, range, with_mobilenet);
    if (!cache.parent_path().empty()) fs::create_directories(cache.parent_path());
    save(cache, d, sets);
  }
  if (sets.count("raw150")) sets["colour"] = colour_histograms(sets.at("raw150"), 150);
  const int k = static_cast<int>(d.class_names.size());

  std::ostringstream table;
  char line[1024];
  if (sweep) {
    std::string head = "| features | normalisation |", rule = "|---|---|";
    for (int dims : kSweepDims) {
      head += " PCA-" + std::to_string(dims) + " | PCA-" + std::to_string(dims) + " rows L2 |";
      rule += "---|---|";
    }
    head += " standardised, PCA-50 | 10-NN std PCA-50 | K-Means on the t-SNE map | 10-NN on the map |";
    rule += "---|---|---|---|";
    for (int dims : kSweepDims) {
      head += " 10-NN PCA-" + std::to_string(dims) + " |";
      rule += "---|";
    }
    std::snprintf(line, sizeof line, "%s\n", head.c_str());
    table << line << rule << "\n";
  } else {
    std::snprintf(line, sizeof line,
                  "| features | dims | normalisation | K-Means NMI (mean ± sd, %d seeds) | NMI, rows L2 after PCA | 10-NN |\n",
                  seeds);
    table << line << "|---|---|---|---|---|---|\n";
  }
  std::fputs(line, stdout);
  for (const Candidate& c : candidates()) {
    if (c.flip && !sets.count(c.parts[0] + ":flip")) continue;  // computed without --flip
    if (!only.empty() && !selected(c.name, only)) continue;
    if (!std::all_of(c.parts.begin(), c.parts.end(), [&](const std::string& p) { return sets.count(p) > 0; }))
      continue;  // a cache made before this pooling existed
    const bool raw = c.name.rfind("raw", 0) == 0;
    for (Norm norm : {Norm::None, Norm::L2, Norm::SqrtL2, Norm::Pow4L2, Norm::IntraSqrtL2}) {
      if (norm > Norm::SqrtL2 && !more_norms) continue;
      if (norm == Norm::IntraSqrtL2 && c.name.find("spp") == std::string::npos) continue;
      if (raw && norm >= Norm::SqrtL2) continue;
      if (c.parts.size() > 1 && norm == Norm::None) continue;  // the same as L2 for a fusion
      const FloatMatrix f = assemble(sets, c, norm);
      if (sweep) {
        std::snprintf(line, sizeof line, "| %s | %s |%s\n", c.name.c_str(), norm_name(norm),
                      sweep_row(f, d.labels, k, seeds).c_str());
        std::fputs(line, stdout);
        std::fflush(stdout);
        table << line;
        continue;
      }
      const Score s = evaluate(f, d.labels, k, seeds);
      std::snprintf(line, sizeof line, "| %s | %zu | %s | %.3f ± %.3f | %.3f | %.3f |\n", c.name.c_str(), f.cols,
                    norm_name(norm), s.nmi, s.nmi_sd, s.nmi_l2, s.knn);
      std::fputs(line, stdout);
      std::fflush(stdout);
      table << line;
    }
  }
  if (!out_md.empty()) {
    std::ofstream md(out_md);
    md << "# CNN feature quality on intel_scenes\n\n"
       << d.paths.size() << " images, " << k << " classes. PCA-50, then K-Means k = " << k << " (10 restarts) for "
       << seeds << " seeds, NMI against the labels; 10-NN leave-one-out label accuracy on PCA-50. "
       << "Written by bench/bench_cnn_quality (bench/cnn_quality.sh).\n\n"
       << table.str();
  }
  return 0;
}
