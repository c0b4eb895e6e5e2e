#include "cluster/choose_k.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "cluster/distance.h"
#include "cluster/kmeans.h"
#include "core/parallel.h"
#include "core/rng.h"

namespace photoatlas::cluster {
namespace {

// `count` distinct indices of [0, n) drawn uniformly (partial Fisher-Yates), returned sorted so the
// copied rows keep the input's order (and its memory locality).
std::vector<std::size_t> sample_indices(std::size_t n, std::size_t count, std::uint64_t seed) {
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  if (count >= n) return all;
  Rng rng(seed);
  for (std::size_t t = 0; t < count; ++t) {
    const std::size_t pick = t + std::min(n - t - 1, static_cast<std::size_t>(uniform01(rng) * static_cast<double>(n - t)));
    std::swap(all[t], all[pick]);
  }
  all.resize(count);
  std::sort(all.begin(), all.end());
  return all;
}

FloatMatrix rows_of(const FloatMatrix& m, const std::vector<std::size_t>& rows) {
  FloatMatrix out(rows.size(), m.cols);
  for (std::size_t t = 0; t < rows.size(); ++t) std::copy_n(m.row(rows[t]), m.cols, out.row(t));
  return out;
}

// All pairwise Euclidean distances (n x n, row-major), from the shared distance kernel.
std::vector<float> pairwise_distances(const FloatMatrix& m, int threads) {
  const std::size_t n = m.rows;
  const std::vector<double> norms = detail::row_sq_norms(m, threads);
  std::vector<float> out(n * n);
  parallel_for_chunks(n, threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<double> block(detail::kRowBlock * n);
    for (std::size_t b = begin; b < end; b += detail::kRowBlock) {
      const std::size_t e = std::min(end, b + detail::kRowBlock);
      detail::sq_distances(m, b, e, norms.data(), m, norms.data(), block.data());
      for (std::size_t i = b; i < e; ++i)
        for (std::size_t j = 0; j < n; ++j)
          out[i * n + j] = i == j ? 0.0f : static_cast<float>(std::sqrt(block[(i - b) * n + j]));
    }
  });
  return out;
}

// Mean silhouette from a precomputed distance matrix: s(i) = (b - a) / max(a, b) with a the mean
// distance to the other members of i's cluster and b the smallest mean distance to another cluster.
double silhouette_from_distances(const std::vector<float>& dist, const std::vector<int>& labels, int threads) {
  const std::size_t n = labels.size();
  int k = 0;
  for (int l : labels) k = std::max(k, l + 1);
  std::vector<std::size_t> counts(k, 0);
  for (int l : labels) ++counts[l];
  if (std::count_if(counts.begin(), counts.end(), [](std::size_t c) { return c > 0; }) < 2) return 0.0;
  std::vector<double> s(n, 0.0);
  parallel_for_chunks(n, threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<double> sums(k);
    for (std::size_t i = begin; i < end; ++i) {
      const int own = labels[i];
      if (counts[own] < 2) continue;  // a singleton scores 0
      std::fill(sums.begin(), sums.end(), 0.0);
      const float* row = dist.data() + i * n;
      for (std::size_t j = 0; j < n; ++j) sums[labels[j]] += row[j];
      const double a = sums[own] / static_cast<double>(counts[own] - 1);
      double b = std::numeric_limits<double>::infinity();
      for (int c = 0; c < k; ++c) {
        if (c != own && counts[c] > 0) b = std::min(b, sums[c] / static_cast<double>(counts[c]));
      }
      const double denom = std::max(a, b);
      s[i] = denom > 0.0 ? (b - a) / denom : 0.0;
    }
  });
  double total = 0.0;
  for (double v : s) total += v;  // index order: independent of the thread count
  return total / static_cast<double>(n);
}

}  // namespace

double silhouette_score(const FloatMatrix& data, const std::vector<int>& labels, int num_threads) {
  if (labels.size() != data.rows) throw std::invalid_argument("silhouette_score: labels and rows differ in count");
  if (data.rows == 0) return 0.0;
  const int threads = resolve_threads(num_threads);
  return silhouette_from_distances(pairwise_distances(data, threads), labels, threads);
}

// Why the plain maximum of the silhouette: the score is bounded and scale-free, so values at
// different k compare directly, unlike the inertia, which falls with every k and needs an elbow
// heuristic. A penalty on k would need a scale that depends on the data, and the "first local
// maximum" rule stops at whichever small bump sampling noise puts at low k. The sample is fixed
// across k (the same points, the same distance matrix), so differences between k are not sampling
// noise between samples. Known bias: with nested structure (groups of groups) the silhouette
// prefers the coarser level; the curve is returned so a caller can show it and override k.
ChooseKResult choose_k(const FloatMatrix& data, const ChooseKOptions& options, const ProgressCallback& progress) {
  if (options.k_min < 2) throw std::invalid_argument("choose_k: k_min must be at least 2");
  if (options.k_max < options.k_min) throw std::invalid_argument("choose_k: k_max must be at least k_min");
  if (options.sample < 3) throw std::invalid_argument("choose_k: sample must be at least 3");
  if (options.restarts < 1) throw std::invalid_argument("choose_k: restarts must be at least 1");
  ChooseKResult result;
  if (data.rows < 3) {
    result.best_k = static_cast<int>(data.rows);
    return result;
  }
  const int threads = resolve_threads(options.num_threads);

  const bool subsample = options.fit_sample > 0 && data.rows > options.fit_sample;
  FloatMatrix fit_rows;
  if (subsample) fit_rows = rows_of(data, sample_indices(data.rows, options.fit_sample, derive_seed(options.seed, 0)));
  const FloatMatrix& fit = subsample ? fit_rows : data;

  const std::vector<std::size_t> scored = sample_indices(fit.rows, options.sample, derive_seed(options.seed, 1));
  const std::vector<float> dist = pairwise_distances(rows_of(fit, scored), threads);

  const int k_max = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(options.k_max), scored.size() - 1));
  if (k_max < options.k_min) {  // too few points to try any k in the range
    result.best_k = std::min<int>(options.k_min, static_cast<int>(fit.rows));
    return result;
  }
  const std::size_t total = static_cast<std::size_t>(k_max - options.k_min + 1);
  std::vector<int> sample_labels(scored.size());
  double best = -std::numeric_limits<double>::infinity();
  for (int k = options.k_min; k <= k_max; ++k) {
    KMeansOptions km;
    km.k = k;
    km.restarts = options.restarts;
    km.max_iterations = options.max_iterations;
    km.seed = derive_seed(options.seed, 2 + static_cast<std::uint64_t>(k));
    km.num_threads = threads;
    const Clustering c = kmeans(fit, km);
    for (std::size_t t = 0; t < scored.size(); ++t) sample_labels[t] = c.labels[scored[t]];
    const double score = silhouette_from_distances(dist, sample_labels, threads);
    result.curve.push_back({k, score, c.inertia});
    if (score > best) {
      best = score;
      result.best_k = k;
    }
    report(progress, result.curve.size(), total);
  }
  return result;
}

}  // namespace photoatlas::cluster
