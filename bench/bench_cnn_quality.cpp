// Map quality of candidate feature sets on a labelled data set (../shared/datasets/intel_scenes):
// K-Means (k = number of classes) NMI and 10-NN accuracy, for raw pixels and InceptionV3 (nsfwjs)
// layers mixed4..mixed7 pooled, with and without L2 / signed-sqrt normalisation, PCA-50 with and
// without whitening, and concatenations of two layers. One forward pass per image computes every
// layer; the features are kept in a cache file so a re-run only evaluates.
//
// usage: bench_cnn_quality DATASET_DIR [--cache FILE] [--per-class N] [--nsfwjs DIR] [--out FILE.md]
//   DATASET_DIR holds labels.csv (path,label) and the images it names.
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

#include "cluster/kmeans.h"
#include "cluster/metrics.h"
#include "embed/pca.h"
#include "features/cnn_extractor.h"
#include "features/raw_pixels.h"
#include "ingest/decode.h"

using namespace photoatlas;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kLayers = {"mixed4", "mixed5", "mixed6", "mixed7"};

struct Dataset {
  std::vector<std::string> paths;
  std::vector<int> labels;
  std::vector<std::string> class_names;
};

Dataset read_labels(const fs::path& dir, int per_class) {
  std::ifstream in(dir / "labels.csv");
  if (!in) throw std::runtime_error("no labels.csv in " + dir.string());
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

// Feature sets by name, one row per image of the data set.
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

FeatureSets compute(const Dataset& d, const fs::path& nsfwjs) {
  ingest::ensure_vips_started();
  const auto model = features::load_nsfwjs_model(nsfwjs, "inception_v3");
  features::RawPixelExtractor raw({150});
  FeatureSets sets;
  sets["raw150"] = FloatMatrix(d.paths.size(), raw.dims());
  for (const auto& layer : kLayers) sets[layer] = FloatMatrix(d.paths.size(), model->output_dims(layer));
  ingest::DecodeOptions decode;
  decode.min_short_side = 299;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < d.paths.size(); ++i) {
    const ingest::RgbImage image = ingest::decode_file(d.paths[i], decode).image;
    raw.extract(image, {sets["raw150"].row(i), raw.dims()});
    const ingest::RgbImage* one[] = {&image};
    const auto rows = model->run(one, kLayers);
    for (std::size_t l = 0; l < kLayers.size(); ++l)
      std::copy(rows[l].values.begin(), rows[l].values.end(), sets[kLayers[l]].row(i));
    if ((i + 1) % 50 == 0 || i + 1 == d.paths.size()) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "\r%zu / %zu images, %.2f images/s   ", i + 1, d.paths.size(), (i + 1) / s);
    }
  }
  std::fprintf(stderr, "\n");
  return sets;
}

enum class Norm { None, L2, SqrtL2 };
const char* norm_name(Norm n) { return n == Norm::None ? "none" : n == Norm::L2 ? "l2" : "sqrt+l2"; }

FloatMatrix normalise(const FloatMatrix& m, Norm norm) {
  FloatMatrix out = m;
  if (norm == Norm::None) return out;
  for (std::size_t i = 0; i < out.rows; ++i) {
    float* row = out.row(i);
    double sum = 0;
    for (std::size_t k = 0; k < out.cols; ++k) {
      if (norm == Norm::SqrtL2) row[k] = std::copysign(std::sqrt(std::abs(row[k])), row[k]);
      sum += static_cast<double>(row[k]) * row[k];
    }
    const double scale = sum > 0 ? 1.0 / std::sqrt(sum) : 1.0;
    for (std::size_t k = 0; k < out.cols; ++k) row[k] = static_cast<float>(row[k] * scale);
  }
  return out;
}

// Each part L2-normalised first, so neither layer dominates by scale.
FloatMatrix concat(const FloatMatrix& a, const FloatMatrix& b) {
  const FloatMatrix na = normalise(a, Norm::L2), nb = normalise(b, Norm::L2);
  FloatMatrix out(a.rows, a.cols + b.cols);
  for (std::size_t i = 0; i < a.rows; ++i) {
    std::copy(na.row(i), na.row(i) + a.cols, out.row(i));
    std::copy(nb.row(i), nb.row(i) + b.cols, out.row(i) + a.cols);
  }
  return out;
}

struct Score {
  double nmi = 0, knn = 0, knn_full = 0;
};

Score evaluate(const FloatMatrix& features, const std::vector<int>& labels, int k, bool whiten) {
  embed::PcaOptions pca;
  pca.components = 50;
  pca.whiten = whiten;
  const FloatMatrix reduced = embed::pca(features, pca).projected;
  cluster::KMeansOptions km;
  km.k = k;
  km.restarts = 10;
  Score s;
  s.nmi = cluster::normalized_mutual_info(labels, cluster::kmeans(reduced, km).labels);
  s.knn = cluster::knn_label_accuracy(reduced, labels, 10);
  s.knn_full = cluster::knn_label_accuracy(features, labels, 10);
  return s;
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
    for (std::size_t c = 0; c < header.size() && c < cells.size(); ++c)
      if (header[c].size() > 8 && header[c].ends_with("_cluster")) clusters[header[c]].push_back(std::stoi(cells[c]));
  }
  for (const auto& [column, labels] : clusters)
    std::printf("pipeline %-14s NMI %.3f  (%zu images)\n", column.c_str(), cluster::normalized_mutual_info(truth, labels),
                truth.size());
  return truth.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_cnn_quality DATASET_DIR [--cache FILE] [--per-class N] [--nsfwjs DIR] [--out FILE.md]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  fs::path cache = "bench/results/cnn_quality_features.bin", nsfwjs = "models/nsfwjs/node_modules/nsfwjs", out_md;
  int per_class = 0;
  fs::path points;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--points") points = argv[i + 1];
    if (arg == "--cache") cache = argv[i + 1];
    else if (arg == "--per-class") per_class = std::atoi(argv[i + 1]);
    else if (arg == "--nsfwjs") nsfwjs = argv[i + 1];
    else if (arg == "--out") out_md = argv[i + 1];
  }
  const Dataset d = read_labels(dir, per_class);
  if (!points.empty()) return score_points(d, points);
  FeatureSets sets;
  if (!load(cache, d, sets)) {
    std::fprintf(stderr, "computing features for %zu images (cache %s)\n", d.paths.size(), cache.c_str());
    sets = compute(d, nsfwjs);
    if (!cache.parent_path().empty()) fs::create_directories(cache.parent_path());
    save(cache, d, sets);
  }
  const int k = static_cast<int>(d.class_names.size());

  struct Candidate {
    std::string name;
    std::function<FloatMatrix()> make;
  };
  std::vector<Candidate> candidates = {{"raw 150x150x3", [&] { return sets.at("raw150"); }}};
  for (const auto& layer : kLayers) candidates.push_back({layer + " GAP", [&, layer] { return sets.at(layer); }});
  candidates.push_back({"mixed5+mixed6 GAP", [&] { return concat(sets.at("mixed5"), sets.at("mixed6")); }});
  candidates.push_back({"mixed5+mixed7 GAP", [&] { return concat(sets.at("mixed5"), sets.at("mixed7")); }});
  candidates.push_back({"mixed4+mixed5 GAP", [&] { return concat(sets.at("mixed4"), sets.at("mixed5")); }});

  std::ostringstream table;
  char line[256];
  std::snprintf(line, sizeof line, "| features | normalisation | PCA-50 | K-Means NMI | 10-NN (PCA-50) | 10-NN (full) |\n");
  table << line << "|---|---|---|---|---|---|\n";
  std::fputs(line, stdout);
  for (const Candidate& c : candidates) {
    const FloatMatrix base = c.make();
    const bool raw = c.name.rfind("raw", 0) == 0;
    for (Norm norm : {Norm::None, Norm::L2, Norm::SqrtL2}) {
      if (raw && norm == Norm::SqrtL2) continue;
      const FloatMatrix f = normalise(base, norm);
      for (bool whiten : {false, true}) {
        const Score s = evaluate(f, d.labels, k, whiten);
        std::snprintf(line, sizeof line, "| %s | %s | %s | %.3f | %.3f | %.3f |\n", c.name.c_str(), norm_name(norm),
                      whiten ? "whitened" : "plain", s.nmi, s.knn, s.knn_full);
        std::fputs(line, stdout);
        std::fflush(stdout);
        table << line;
      }
    }
  }
  if (!out_md.empty()) {
    std::ofstream md(out_md);
    md << "# CNN feature quality on intel_scenes\n\n"
       << d.paths.size() << " images, " << k << " classes; K-Means k = " << k
       << " (10 restarts, seed 0) on PCA-50, NMI against the labels; 10-NN leave-one-out label accuracy on PCA-50 "
          "and on the full vectors. InceptionV3 = nsfwjs 4.4.0's, [0,1] input, 299x299, layers global-average-pooled. "
          "Written by bench/bench_cnn_quality (bench/cnn_quality.sh).\n\n"
       << table.str();
  }
  return 0;
}
