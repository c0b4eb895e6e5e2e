#include "label/cluster_names.h"
#include <set>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>

#include "core/parallel.h"
#include "core/rng.h"
#include "label/ontology.h"

namespace photoatlas::label {
namespace {

int cluster_count(const std::vector<int>& labels) {
  int k = 0;
  for (int l : labels) k = std::max(k, l + 1);
  return k;
}

// Labels of one cluster by share, largest first; equal shares in name order (deterministic).
std::vector<std::pair<std::string, double>> shares(const std::map<std::string, std::size_t>& counts,
                                                   std::size_t size) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [label, n] : counts) out.emplace_back(label, static_cast<double>(n) / static_cast<double>(size));
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

// The share rules: one dominant label, else a dominant pair, else nothing (empty string).
std::string name_from(const std::vector<std::pair<std::string, double>>& ranked, const ClusterNamingOptions& o) {
  if (ranked.empty()) return {};
  if (ranked[0].second >= o.single_share) return ranked[0].first;
  if (ranked.size() >= 2 && ranked[1].second >= o.second_min_share &&
      ranked[0].second + ranked[1].second >= o.pair_share) {
    return ranked[0].first + o.separator + ranked[1].first;
  }
  return {};
}

std::string readable(std::string s) {
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

// Euclidean distance with eight independent float accumulators (vectorisable without
// -ffast-math), folded into double every 256 elements so wide rows keep their precision.
double distance(const float* a, const float* b, std::size_t d) {
  double total = 0.0;
  for (std::size_t j0 = 0; j0 < d; j0 += 256) {
    const std::size_t j1 = std::min(d, j0 + 256);
    float acc[8] = {};
    std::size_t j = j0;
    for (; j + 8 <= j1; j += 8)
      for (std::size_t l = 0; l < 8; ++l) {
        const float t = a[j + l] - b[j + l];
        acc[l] += t * t;
      }
    for (; j < j1; ++j) {
      const float t = a[j] - b[j];
      acc[0] += t * t;
    }
    for (float v : acc) total += v;
  }
  return std::sqrt(total);
}

}  // namespace

std::vector<ClusterName> name_clusters(const std::vector<int>& cluster_labels, const std::vector<std::string>& categories,
                                       const std::vector<std::string>& classes, const ClusterNamingOptions& options) {
  if (categories.size() != cluster_labels.size()) {
    throw std::invalid_argument("name_clusters: categories and cluster labels differ in length");
  }
  if (!classes.empty() && classes.size() != cluster_labels.size()) {
    throw std::invalid_argument("name_clusters: classes and cluster labels differ in length");
  }
  const int k = cluster_count(cluster_labels);
  std::vector<std::map<std::string, std::size_t>> category_counts(k), class_counts(k);
  std::vector<std::size_t> sizes(k, 0);
  for (std::size_t i = 0; i < cluster_labels.size(); ++i) {
    const int c = cluster_labels[i];
    if (c < 0) continue;
    ++sizes[c];
    ++category_counts[c][categories[i]];
    if (!classes.empty()) ++class_counts[c][readable(classes[i])];
  }
  std::vector<ClusterName> out(k);
  for (int c = 0; c < k; ++c) {
    ClusterName& n = out[c];
    n.cluster = c;
    n.size = sizes[c];
    if (n.size == 0) {
      n.name = "Empty";
      continue;
    }
    auto ranked = shares(category_counts[c], n.size);
    n.name = name_from(ranked, options);
    if (n.name == kMisc && !classes.empty()) {
      // "Misc" says nothing; the classes of the cluster may say more.
      const std::string by_class = name_from(shares(class_counts[c], n.size), options);
      if (!by_class.empty()) n.name = by_class;
    }
    if (n.name.empty()) n.name = options.mixed;
    if (ranked.size() > 3) ranked.resize(3);
    n.top = std::move(ranked);
  }
  return out;
}

std::vector<std::ptrdiff_t> cluster_medoids(const FloatMatrix& features, const std::vector<int>& cluster_labels,
                                            const MedoidOptions& options) {
  if (features.rows != cluster_labels.size()) {
    throw std::invalid_argument("cluster_medoids: labels and feature rows differ in count");
  }
  const std::size_t d = features.cols;
  const int k = cluster_count(cluster_labels);
  std::vector<std::vector<std::size_t>> members(k);
  for (std::size_t i = 0; i < cluster_labels.size(); ++i) {
    if (cluster_labels[i] >= 0) members[cluster_labels[i]].push_back(i);
  }
  const int threads = resolve_threads(options.num_threads);
  std::vector<std::ptrdiff_t> out(k, -1);
  for (int c = 0; c < k; ++c) {
    const std::vector<std::size_t>& m = members[c];
    if (m.empty()) continue;
    std::vector<std::size_t> candidates = m, references = m;
    if (m.size() > options.exact_limit) {
      // The medoid of a sizeable cluster lies near its mean, so the members nearest the mean are
      // the only candidates worth scoring; a random sample estimates each one's sum of distances.
      std::vector<double> mean(d, 0.0);
      for (std::size_t i : m)
        for (std::size_t j = 0; j < d; ++j) mean[j] += features.at(i, j);
      std::vector<float> centre(d);
      for (std::size_t j = 0; j < d; ++j) centre[j] = static_cast<float>(mean[j] / static_cast<double>(m.size()));
      std::vector<std::pair<double, std::size_t>> by_distance(m.size());
      parallel_for_chunks(m.size(), threads, [&](std::size_t b, std::size_t e, int) {
        for (std::size_t t = b; t < e; ++t) by_distance[t] = {distance(features.row(m[t]), centre.data(), d), m[t]};
      });
      const std::size_t keep = std::clamp<std::size_t>(options.candidates, 1, m.size());
      std::partial_sort(by_distance.begin(), by_distance.begin() + static_cast<std::ptrdiff_t>(keep), by_distance.end());
      candidates.resize(keep);
      for (std::size_t t = 0; t < keep; ++t) candidates[t] = by_distance[t].second;

      Rng rng(derive_seed(options.seed, static_cast<std::uint64_t>(c)));
      const std::size_t sample = std::clamp<std::size_t>(options.references, 1, m.size());
      for (std::size_t t = 0; t < sample; ++t) {  // partial Fisher-Yates
        const std::size_t pick = t + static_cast<std::size_t>(uniform01(rng) * static_cast<double>(m.size() - t));
        std::swap(references[t], references[std::min(pick, m.size() - 1)]);
      }
      references.resize(sample);
    }
    std::vector<double> cost(candidates.size(), 0.0);
    parallel_for_chunks(candidates.size(), threads, [&](std::size_t b, std::size_t e, int) {
      for (std::size_t t = b; t < e; ++t) {
        double s = 0.0;
        for (std::size_t r : references) s += distance(features.row(candidates[t]), features.row(r), d);
        cost[t] = s;
      }
    });
    std::size_t best = 0;
    for (std::size_t t = 1; t < candidates.size(); ++t) {
      if (cost[t] < cost[best] || (cost[t] == cost[best] && candidates[t] < candidates[best])) best = t;
    }
    out[c] = static_cast<std::ptrdiff_t>(candidates[best]);
  }
  return out;
}

std::vector<ClusterName> name_clusters_by_tags(const std::vector<int>& cluster_labels,
                                               const std::vector<std::vector<std::string>>& tags, double min_share,
                                               const std::string& prefix) {
  if (cluster_labels.size() != tags.size()) throw std::invalid_argument("one tag list per point is needed");
  int k = 0;
  for (int label : cluster_labels) k = std::max(k, label + 1);
  std::vector<std::map<std::string, std::size_t>> counts(k);
  std::vector<ClusterName> names(k);
  for (int c = 0; c < k; ++c) names[c].cluster = c;
  for (std::size_t i = 0; i < cluster_labels.size(); ++i) {
    const int c = cluster_labels[i];
    if (c < 0) continue;
    ++names[c].size;
    std::set<std::string> once(tags[i].begin(), tags[i].end());  // a tag repeated in one caption counts once
    for (const auto& tag : once) ++counts[c][tag];
  }
  for (int c = 0; c < k; ++c) {
    if (names[c].size == 0) continue;
    std::vector<std::pair<std::string, std::size_t>> ranked(counts[c].begin(), counts[c].end());
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t t = 0; t < ranked.size() && t < 3; ++t)
      names[c].top.emplace_back(ranked[t].first, static_cast<double>(ranked[t].second) / names[c].size);
    const auto& top = names[c].top;
    if (!top.empty() && top[0].second >= min_share) {
      names[c].name = prefix + top[0].first;
      if (top.size() > 1 && top[1].second >= min_share) names[c].name += " · " + prefix + top[1].first;
    }
  }
  return names;
}

}  // namespace photoatlas::label
