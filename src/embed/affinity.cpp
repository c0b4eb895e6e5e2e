#include "embed/affinity.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/parallel.h"

namespace photoatlas::embed {

double effective_perplexity(std::size_t n, double perplexity) {
  if (n < 2) return perplexity;
  return std::min(perplexity, static_cast<double>(n - 1) / 3.0);
}

std::size_t neighbour_count(std::size_t n, double perplexity) {
  if (n < 2) return 0;
  const double wanted = std::floor(3.0 * std::max(perplexity, 0.0));
  const std::size_t k = wanted >= static_cast<double>(n - 1) ? n - 1 : static_cast<std::size_t>(wanted);
  return std::max<std::size_t>(k, 1);
}

NeighbourGraph exact_neighbours(const FloatMatrix& data, std::size_t k, int num_threads) {
  const std::size_t n = data.rows, dims = data.cols;
  NeighbourGraph graph;
  graph.n = n;
  graph.k = n > 1 ? std::min(k, n - 1) : 0;
  if (graph.k == 0) return graph;
  graph.indices.resize(n * graph.k);
  graph.sq_distances.resize(n * graph.k);

  // Candidates are ranked by |a|² + |b|² - 2 a·b, which turns the N² distance work into GEMM;
  // the k winners then get their distance recomputed directly, free of that cancellation.
  Eigen::MatrixXd points(static_cast<Eigen::Index>(dims), static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dims; ++j) points(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(i)) = data.at(i, j);
  const Eigen::VectorXd norms = points.colwise().squaredNorm().transpose();

  constexpr std::size_t kBlock = 32;
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for_dynamic(blocks, num_threads, [&](std::size_t b) {
    const std::size_t i0 = b * kBlock, rows = std::min(kBlock, n - i0);
    const Eigen::MatrixXd dots =
        points.middleCols(static_cast<Eigen::Index>(i0), static_cast<Eigen::Index>(rows)).transpose() * points;
    std::vector<std::pair<double, std::uint32_t>> candidates;
    candidates.reserve(n);
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t i = i0 + r;
      candidates.clear();
      for (std::size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        const double d2 = norms(static_cast<Eigen::Index>(i)) + norms(static_cast<Eigen::Index>(j)) -
                          2.0 * dots(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j));
        candidates.emplace_back(std::max(d2, 0.0), static_cast<std::uint32_t>(j));
      }
      std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(graph.k - 1),
                       candidates.end());
      candidates.resize(graph.k);
      for (auto& [d2, j] : candidates) {
        double exact = 0.0;
        const float* a = data.row(i);
        const float* c = data.row(j);
        for (std::size_t t = 0; t < dims; ++t) {
          const double diff = static_cast<double>(a[t]) - c[t];
          exact += diff * diff;
        }
        d2 = exact;
      }
      std::sort(candidates.begin(), candidates.end());
      for (std::size_t t = 0; t < graph.k; ++t) {
        graph.sq_distances[i * graph.k + t] = candidates[t].first;
        graph.indices[i * graph.k + t] = candidates[t].second;
      }
    }
  });
  return graph;
}

namespace {

// Row conditional p(j|i) ∝ exp(-beta d_j). Shifting by the nearest distance keeps the largest
// weight at exactly 1, so no beta underflows the whole row. Returns the entropy in nats.
double gaussian_row(const double* d2, std::size_t k, double beta, double* p) {
  const double nearest = d2[0];
  double sum = 0.0, weighted = 0.0;
  for (std::size_t j = 0; j < k; ++j) {
    const double shifted = d2[j] - nearest;
    p[j] = std::exp(-beta * shifted);
    sum += p[j];
    weighted += p[j] * shifted;
  }
  for (std::size_t j = 0; j < k; ++j) p[j] /= sum;
  return std::log(sum) + beta * weighted / sum;
}

}  // namespace

std::vector<double> calibrate_conditionals(const NeighbourGraph& graph, double perplexity, double tolerance,
                                           int max_steps, int num_threads, std::vector<double>* betas) {
  const std::size_t n = graph.n, k = graph.k;
  std::vector<double> p(n * k, 0.0);
  if (betas) betas->assign(n, 0.0);
  if (k == 0) return p;
  const double target = std::log(std::max(perplexity, 1e-12));
  const int steps = std::max(1, max_steps);
  parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) {
      const double* d2 = graph.sq_distances.data() + i * k;
      double* row = p.data() + i * k;
      // Bisection on beta, doubling/halving until the target entropy is bracketed (as in sklearn).
      double beta = 1.0, lo = 0.0, hi = std::numeric_limits<double>::infinity();
      for (int step = 0;; ++step) {
        const double entropy = gaussian_row(d2, k, beta, row);
        const double error = entropy - target;
        if (std::fabs(error) <= tolerance || step + 1 >= steps) break;
        if (error > 0) {  // too flat: sharpen
          lo = beta;
          beta = std::isinf(hi) ? beta * 2.0 : 0.5 * (beta + hi);
        } else {
          hi = beta;
          beta = 0.5 * (beta + lo);
        }
      }
      if (betas) (*betas)[i] = beta;
    }
  });
  return p;
}

SparseMatrix symmetrise(const NeighbourGraph& graph, const std::vector<double>& conditionals) {
  const std::size_t n = graph.n, k = graph.k;
  SparseMatrix p;
  p.n = n;
  p.row_start.assign(n + 1, 0);
  if (k == 0) return p;

  // Scatter every c(j|i) to both (i, j) and (j, i), then merge each row's duplicates.
  std::vector<std::size_t> fill(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    fill[i + 1] += k;
    for (std::size_t t = 0; t < k; ++t) fill[graph.indices[i * k + t] + 1] += 1;
  }
  for (std::size_t i = 0; i < n; ++i) fill[i + 1] += fill[i];
  std::vector<std::pair<std::uint32_t, double>> entries(fill[n]);
  std::vector<std::size_t> cursor(fill.begin(), fill.end() - 1);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t t = 0; t < k; ++t) {
      const std::uint32_t j = graph.indices[i * k + t];
      const double c = conditionals[i * k + t];
      entries[cursor[i]++] = {j, c};
      entries[cursor[j]++] = {static_cast<std::uint32_t>(i), c};
    }
  }
  const double scale = 1.0 / (2.0 * static_cast<double>(n));
  p.cols.reserve(entries.size());
  p.values.reserve(entries.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto first = entries.begin() + static_cast<std::ptrdiff_t>(fill[i]);
    auto last = entries.begin() + static_cast<std::ptrdiff_t>(fill[i + 1]);
    std::sort(first, last, [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto it = first; it != last;) {
      const std::uint32_t col = it->first;
      double sum = 0.0;
      for (; it != last && it->first == col; ++it) sum += it->second;
      p.cols.push_back(col);
      p.values.push_back(sum * scale);
    }
    p.row_start[i + 1] = p.values.size();
  }
  return p;
}

SparseMatrix compute_affinities(const FloatMatrix& data, const AffinityOptions& options) {
  const double perplexity = effective_perplexity(data.rows, options.perplexity);
  const NeighbourGraph graph = exact_neighbours(data, neighbour_count(data.rows, perplexity), options.num_threads);
  const std::vector<double> conditionals =
      calibrate_conditionals(graph, perplexity, options.tolerance, options.max_steps, options.num_threads);
  return symmetrise(graph, conditionals);
}

}  // namespace photoatlas::embed
