#include "cluster/lloyd.h"

#include <algorithm>
#include <numeric>

#include "cluster/distance.h"
#include "core/parallel.h"

namespace photoatlas::cluster::detail {

std::size_t assign_labels(const FloatMatrix& data, const std::vector<double>& data_norms, const FloatMatrix& centroids,
                          std::vector<int>& labels, std::vector<double>& distances, int num_threads) {
  const std::size_t k = centroids.rows;
  const std::vector<double> centroid_norms = row_sq_norms(centroids, 1);
  const int threads = resolve_threads(num_threads);
  std::vector<std::size_t> changed(threads, 0);
  parallel_for_chunks(data.rows, threads, [&](std::size_t begin, std::size_t end, int t) {
    std::vector<double> block(kRowBlock * k);
    for (std::size_t b = begin; b < end; b += kRowBlock) {
      const std::size_t e = std::min(end, b + kRowBlock);
      sq_distances(data, b, e, data_norms.data(), centroids, centroid_norms.data(), block.data());
      for (std::size_t i = b; i < e; ++i) {
        const double* row = block.data() + (i - b) * k;
        const int best = static_cast<int>(std::min_element(row, row + k) - row);  // first minimum
        if (labels[i] != best) {
          labels[i] = best;
          ++changed[t];
        }
        distances[i] = row[best];
      }
    }
  });
  return std::accumulate(changed.begin(), changed.end(), std::size_t{0});
}

double ClusterSums::inertia() const {
  double total = 0.0;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] == 0) continue;
    double s2 = 0.0;
    for (std::size_t j = 0; j < dims; ++j) s2 += sums[c * dims + j] * sums[c * dims + j];
    // Rounding can push a zero-spread cluster (duplicate points) slightly below zero.
    total += std::max(0.0, sq_norms[c] - s2 / static_cast<double>(counts[c]));
  }
  return total;
}

FloatMatrix ClusterSums::means() const {
  FloatMatrix out(counts.size(), dims);
  for (std::size_t c = 0; c < counts.size(); ++c) {
    const double inv = counts[c] > 0 ? 1.0 / static_cast<double>(counts[c]) : 0.0;
    for (std::size_t j = 0; j < dims; ++j) out.at(c, j) = static_cast<float>(sums[c * dims + j] * inv);
  }
  return out;
}

ClusterSums accumulate_clusters(const FloatMatrix& data, const std::vector<double>& data_norms,
                                const std::vector<int>& labels, std::size_t k, int num_threads) {
  const std::size_t d = data.cols;
  const int threads = static_cast<int>(std::min<std::size_t>(resolve_threads(num_threads), std::max<std::size_t>(data.rows, 1)));
  std::vector<ClusterSums> partial(threads);
  parallel_for_chunks(data.rows, threads, [&](std::size_t begin, std::size_t end, int t) {
    ClusterSums& p = partial[t];
    p.sums.assign(k * d, 0.0);
    p.counts.assign(k, 0);
    p.sq_norms.assign(k, 0.0);
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t c = static_cast<std::size_t>(labels[i]);
      const float* x = data.row(i);
      double* s = p.sums.data() + c * d;
      for (std::size_t j = 0; j < d; ++j) s[j] += x[j];
      ++p.counts[c];
      p.sq_norms[c] += data_norms[i];
    }
  });
  ClusterSums out;
  out.dims = d;
  out.sums.assign(k * d, 0.0);
  out.counts.assign(k, 0);
  out.sq_norms.assign(k, 0.0);
  for (const ClusterSums& p : partial) {  // fixed (thread) order: the determinism guarantee
    if (p.counts.empty()) continue;       // a thread that got no rows
    for (std::size_t j = 0; j < k * d; ++j) out.sums[j] += p.sums[j];
    for (std::size_t c = 0; c < k; ++c) {
      out.counts[c] += p.counts[c];
      out.sq_norms[c] += p.sq_norms[c];
    }
  }
  return out;
}

std::size_t relocate_empty_clusters(const FloatMatrix& data, const std::vector<double>& data_norms,
                                    const std::vector<double>& distances, std::vector<int>& labels, ClusterSums& sums) {
  const std::size_t k = sums.counts.size();
  const std::size_t d = sums.dims;
  std::vector<std::size_t> empty;
  for (std::size_t c = 0; c < k; ++c)
    if (sums.counts[c] == 0) empty.push_back(c);
  if (empty.empty()) return 0;

  std::vector<std::size_t> order(data.rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return distances[a] > distances[b]; });

  std::size_t moved = 0;
  auto next = order.begin();
  for (std::size_t target : empty) {
    // Taking a cluster's last member would just move the hole elsewhere.
    while (next != order.end() && sums.counts[static_cast<std::size_t>(labels[*next])] <= 1) ++next;
    if (next == order.end()) break;  // fewer points than clusters: the caller clips k, so not reached
    const std::size_t i = *next++;
    const std::size_t from = static_cast<std::size_t>(labels[i]);
    const float* x = data.row(i);
    for (std::size_t j = 0; j < d; ++j) {
      sums.sums[from * d + j] -= x[j];
      sums.sums[target * d + j] = x[j];
    }
    --sums.counts[from];
    sums.counts[target] = 1;
    sums.sq_norms[from] -= data_norms[i];
    sums.sq_norms[target] = data_norms[i];
    labels[i] = static_cast<int>(target);
    ++moved;
  }
  return moved;
}

double exact_inertia(const FloatMatrix& data, const std::vector<int>& labels, const FloatMatrix& centroids,
                     int num_threads) {
  const int threads = resolve_threads(num_threads);
  std::vector<double> partial(threads, 0.0);
  parallel_for_chunks(data.rows, threads, [&](std::size_t begin, std::size_t end, int t) {
    double s = 0.0;
    for (std::size_t i = begin; i < end; ++i)
      s += sq_distance(data.row(i), centroids.row(static_cast<std::size_t>(labels[i])), data.cols);
    partial[t] = s;
  });
  return std::accumulate(partial.begin(), partial.end(), 0.0);  // thread order
}

}  // namespace photoatlas::cluster::detail
