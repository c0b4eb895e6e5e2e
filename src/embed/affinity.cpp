#include "embed/affinity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
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

namespace {

// Row conditional p(j|i) ∝ exp(-beta d_j). Shifting by the nearest distance keeps the largest
// weight at exactly 1, so no beta underflows the whole row. Returns the entropy in nats and, in
// `variance`, the p-weighted variance of the shifted distances (dH/dbeta = -beta variance).
double gaussian_row(const double* d2, std::size_t k, double beta, double* p, double* variance) {
  const double nearest = d2[0];
  double sum = 0.0, weighted = 0.0, weighted2 = 0.0;
  for (std::size_t j = 0; j < k; ++j) {
    const double shifted = d2[j] - nearest;
    p[j] = std::exp(-beta * shifted);
    sum += p[j];
    weighted += p[j] * shifted;
    weighted2 += p[j] * shifted * shifted;
  }
  for (std::size_t j = 0; j < k; ++j) p[j] /= sum;
  const double mean = weighted / sum;
  *variance = std::max(weighted2 / sum - mean * mean, 0.0);
  return std::log(sum) + beta * mean;
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
      // The entropy falls monotonically with beta (dH/dbeta = -beta Var(d) <= 0). sklearn and
      // openTSNE bisect from beta = 1, doubling until the target is bracketed: ~20-40 steps of k
      // exponentials per point (at 5k points a tenth of the whole optimised run). Here: Newton
      // steps, kept inside the bracket [lo, hi] of betas known to be too flat / too sharp, with
      // the bisection step whenever Newton would leave it or stalls: ~4-6 steps, the same answer
      // (|H - log perplexity| <= tolerance).
      double beta = 1.0, lo = 0.0, hi = std::numeric_limits<double>::infinity();
      for (int step = 0;; ++step) {
        double variance = 0.0;
        const double entropy = gaussian_row(d2, k, beta, row, &variance);
        const double error = entropy - target;
        if (std::fabs(error) <= tolerance || step + 1 >= steps) break;
        if (error > 0) {  // too flat: sharpen
          lo = beta;
        } else {
          hi = beta;
        }
        const double slope = -beta * variance;
        double next = slope < 0.0 ? beta - error / slope : std::numeric_limits<double>::quiet_NaN();
        if (!(next > lo && next < hi)) next = std::isinf(hi) ? beta * 2.0 : 0.5 * (lo + hi);
        beta = next;
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

  // Transposed index: for every j, the positions e = i * k + t with indices[e] = j, by ascending i.
  std::vector<std::size_t> t_start(n + 1, 0);
  for (std::size_t e = 0; e < n * k; ++e) ++t_start[graph.indices[e] + 1];
  for (std::size_t i = 0; i < n; ++i) t_start[i + 1] += t_start[i];
  if (n * k >= (std::size_t{1} << 32)) throw std::length_error("symmetrise: more than 2^32 neighbour entries");
  std::vector<std::uint32_t> t_entry(n * k);  // positions e; the source row is e / k, the value conditionals[e]
  {
    std::vector<std::size_t> cursor(t_start.begin(), t_start.end() - 1);
    for (std::size_t e = 0; e < n * k; ++e) t_entry[cursor[graph.indices[e]]++] = static_cast<std::uint32_t>(e);
  }

  // Row i of P merges its own neighbours (c(j|i)) with the rows that list i (c(i|j)).
  const double scale = 1.0 / (2.0 * static_cast<double>(n));
  auto merge_row = [&](std::size_t i, std::vector<std::pair<std::uint32_t, double>>& own, std::uint32_t* cols,
                       float* values) {
    own.clear();
    for (std::size_t t = 0; t < k; ++t) own.emplace_back(graph.indices[i * k + t], conditionals[i * k + t]);
    std::sort(own.begin(), own.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::size_t count = 0, a = 0, b = t_start[i];
    const std::size_t b_end = t_start[i + 1];
    // A kNN row never repeats a column, so both lists are strictly ascending.
    while (a < own.size() || b < b_end) {
      const std::uint32_t source = b < b_end ? static_cast<std::uint32_t>(t_entry[b] / k) : 0;
      std::uint32_t col;
      double v;
      if (b == b_end || (a < own.size() && own[a].first < source)) {
        col = own[a].first;
        v = own[a].second + 0.0;  // i lists j but j does not list i: c(i|j) = 0
        ++a;
      } else if (a == own.size() || source < own[a].first) {
        col = source;
        v = 0.0 + conditionals[t_entry[b]];
        ++b;
      } else {
        col = own[a].first;
        v = own[a].second + conditionals[t_entry[b]];
        ++a, ++b;
      }
      if (cols) {
        cols[count] = col;
        values[count] = static_cast<float>(v * scale);
      }
      ++count;
    }
    return count;
  };
  std::vector<std::size_t> sizes(n);
  parallel_for_chunks(n, 0, [&](std::size_t begin, std::size_t end, int) {
    std::vector<std::pair<std::uint32_t, double>> own;
    for (std::size_t i = begin; i < end; ++i) sizes[i] = merge_row(i, own, nullptr, nullptr);
  });
  for (std::size_t i = 0; i < n; ++i) p.row_start[i + 1] = p.row_start[i] + sizes[i];
  p.cols.resize(p.row_start[n]);
  p.values.resize(p.row_start[n]);
  parallel_for_chunks(n, 0, [&](std::size_t begin, std::size_t end, int) {
    std::vector<std::pair<std::uint32_t, double>> own;
    for (std::size_t i = begin; i < end; ++i) merge_row(i, own, p.cols.data() + p.row_start[i], p.values.data() + p.row_start[i]);
  });
  return p;
}

SparseMatrix compute_affinities(const FloatMatrix& data, const AffinityOptions& options) {
  const double perplexity = effective_perplexity(data.rows, options.perplexity);
  NeighbourOptions neighbours = options.neighbours;
  neighbours.num_threads = options.num_threads;
  NeighbourGraph graph = nearest_neighbours(data, neighbour_count(data.rows, perplexity), neighbours);
  const std::vector<double> conditionals =
      calibrate_conditionals(graph, perplexity, options.tolerance, options.max_steps, options.num_threads);
  graph.sq_distances = {};  // no longer needed: free before P is built
  return symmetrise(graph, conditionals);
}

}  // namespace photoatlas::embed
