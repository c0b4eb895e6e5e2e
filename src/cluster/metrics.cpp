#include "cluster/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "cluster/distance.h"
#include "core/parallel.h"

namespace photoatlas::cluster {
namespace {

// Two labelings as a sparse contingency table over dense label indices. Labels are arbitrary ints
// (noise labels such as -1 included), so they are ranked first rather than used as indices.
struct Contingency {
  std::size_t n = 0;
  std::vector<std::size_t> a_sizes;  // points per label of a
  std::vector<std::size_t> b_sizes;  // points per label of b
  std::vector<std::size_t> cells;    // the non-zero cells n_ij
  std::vector<std::pair<std::size_t, std::size_t>> cell_index;  // (i, j) of each cell
};

std::vector<std::size_t> dense_labels(const std::vector<int>& labels, std::size_t& count) {
  std::vector<int> values = labels;
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  count = values.size();
  std::vector<std::size_t> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    out[i] = static_cast<std::size_t>(std::lower_bound(values.begin(), values.end(), labels[i]) - values.begin());
  return out;
}

Contingency contingency(const std::vector<int>& a, const std::vector<int>& b, const char* who) {
  if (a.size() != b.size())
    throw std::invalid_argument(std::string(who) + ": labelings differ in length (" + std::to_string(a.size()) +
                                " vs " + std::to_string(b.size()) + ")");
  Contingency t;
  t.n = a.size();
  std::size_t ka = 0, kb = 0;
  const std::vector<std::size_t> da = dense_labels(a, ka);
  const std::vector<std::size_t> db = dense_labels(b, kb);
  t.a_sizes.assign(ka, 0);
  t.b_sizes.assign(kb, 0);
  // Sorting pair codes keeps memory O(n) however many labels there are (a dense ka x kb table would not).
  std::vector<std::uint64_t> codes(t.n);
  for (std::size_t i = 0; i < t.n; ++i) {
    ++t.a_sizes[da[i]];
    ++t.b_sizes[db[i]];
    codes[i] = static_cast<std::uint64_t>(da[i]) * kb + db[i];
  }
  std::sort(codes.begin(), codes.end());
  for (std::size_t i = 0; i < t.n;) {
    std::size_t j = i;
    while (j < t.n && codes[j] == codes[i]) ++j;
    t.cells.push_back(j - i);
    t.cell_index.emplace_back(static_cast<std::size_t>(codes[i] / kb), static_cast<std::size_t>(codes[i] % kb));
    i = j;
  }
  return t;
}

std::uint64_t pairs(std::size_t m) { return static_cast<std::uint64_t>(m) * (m > 0 ? m - 1 : 0) / 2; }

double entropy(const std::vector<std::size_t>& sizes, std::size_t n) {
  const double log_n = std::log(static_cast<double>(n));
  double h = 0.0;
  for (std::size_t s : sizes) {
    const double p = static_cast<double>(s) / static_cast<double>(n);
    h -= p * (std::log(static_cast<double>(s)) - log_n);
  }
  return h;
}

// The k nearest neighbours seen so far of one query, ordered by (distance, index). Candidates arrive in
// increasing index order, so a strict comparison on distance alone keeps that order.
class NearestK {
 public:
  explicit NearestK(std::size_t k) : k_(k) { items_.reserve(k + 1); }
  void offer(double d, std::size_t j) {
    if (items_.size() == k_ && !(d < items_.back().first)) return;
    auto pos = std::upper_bound(items_.begin(), items_.end(), d,
                                [](double v, const std::pair<double, std::size_t>& e) { return v < e.first; });
    items_.insert(pos, {d, j});
    if (items_.size() > k_) items_.pop_back();
  }
  const std::vector<std::pair<double, std::size_t>>& items() const { return items_; }

 private:
  std::size_t k_;
  std::vector<std::pair<double, std::size_t>> items_;
};

// Majority label among the neighbours; ties go to the smallest label.
int vote(const std::vector<std::pair<double, std::size_t>>& neighbours, const std::vector<int>& labels,
         std::vector<int>& scratch) {
  scratch.clear();
  for (const auto& nb : neighbours) scratch.push_back(labels[nb.second]);
  std::sort(scratch.begin(), scratch.end());
  int best = scratch.front();
  std::size_t best_count = 0;
  for (std::size_t i = 0; i < scratch.size();) {
    std::size_t j = i;
    while (j < scratch.size() && scratch[j] == scratch[i]) ++j;
    if (j - i > best_count) {  // strict: an equal count later in sorted order is a larger label
      best_count = j - i;
      best = scratch[i];
    }
    i = j;
  }
  return best;
}

}  // namespace

double adjusted_rand_index(const std::vector<int>& a, const std::vector<int>& b) {
  const Contingency t = contingency(a, b, "adjusted_rand_index");
  std::uint64_t index = 0, sum_a = 0, sum_b = 0;
  for (std::size_t c : t.cells) index += pairs(c);
  for (std::size_t s : t.a_sizes) sum_a += pairs(s);
  for (std::size_t s : t.b_sizes) sum_b += pairs(s);
  // Identical partitions (including the degenerate all-in-one and all-singletons cases, where the
  // formula below is 0/0) agree perfectly; scikit-learn returns 1.0 for them too.
  if (index == sum_a && index == sum_b) return 1.0;
  const double total = static_cast<double>(pairs(t.n));
  const double expected = static_cast<double>(sum_a) * static_cast<double>(sum_b) / total;
  const double maximum = 0.5 * (static_cast<double>(sum_a) + static_cast<double>(sum_b));
  return (static_cast<double>(index) - expected) / (maximum - expected);
}

double normalized_mutual_info(const std::vector<int>& a, const std::vector<int>& b) {
  const Contingency t = contingency(a, b, "normalized_mutual_info");
  // scikit-learn's limit cases: both labelings a single cluster (or empty) is a perfect match, although
  // both entropies are zero.
  if (t.a_sizes.size() == t.b_sizes.size() && t.a_sizes.size() <= 1) return 1.0;
  // One labeling with a single cluster tells nothing about the other: MI is exactly zero.
  if (t.a_sizes.size() == 1 || t.b_sizes.size() == 1) return 0.0;
  const double n = static_cast<double>(t.n);
  const double log_n = std::log(n);
  double mi = 0.0;
  for (std::size_t c = 0; c < t.cells.size(); ++c) {
    const double nij = static_cast<double>(t.cells[c]);
    const double ai = static_cast<double>(t.a_sizes[t.cell_index[c].first]);
    const double bj = static_cast<double>(t.b_sizes[t.cell_index[c].second]);
    const double term = nij / n * (std::log(nij) + log_n - std::log(ai) - std::log(bj));
    // As scikit-learn: a cell of an independent pair contributes exactly 0, not rounding noise.
    if (std::abs(term) >= std::numeric_limits<double>::epsilon()) mi += term;
  }
  if (mi <= 0.0) return 0.0;  // rounding can leave a hair below zero
  const double normaliser = 0.5 * (entropy(t.a_sizes, t.n) + entropy(t.b_sizes, t.n));
  return std::min(1.0, mi / normaliser);
}

double knn_label_accuracy(const FloatMatrix& points, const std::vector<int>& labels, int k, int num_threads) {
  if (labels.size() != points.rows)
    throw std::invalid_argument("knn_label_accuracy: " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(points.rows) + " points");
  if (k < 1) throw std::invalid_argument("knn_label_accuracy: k must be at least 1, got " + std::to_string(k));
  const std::size_t n = points.rows;
  if (n < 2) return 0.0;  // no point has a neighbour to vote
  const std::size_t kk = std::min<std::size_t>(static_cast<std::size_t>(k), n - 1);
  const std::vector<double> norms = detail::row_sq_norms(points, num_threads);

  // Queries in small blocks against reference points in larger blocks: the distance block stays in
  // cache while each query's running k-best list is updated from it.
  constexpr std::size_t kQueryBlock = 16;
  constexpr std::size_t kRefBlock = 512;
  const int threads = resolve_threads(num_threads);
  std::vector<std::size_t> hits(threads, 0);
  parallel_for_chunks(n, threads, [&](std::size_t begin, std::size_t end, int t) {
    std::vector<double> block(kQueryBlock * kRefBlock);
    std::vector<int> scratch;
    for (std::size_t q0 = begin; q0 < end; q0 += kQueryBlock) {
      const std::size_t q1 = std::min(end, q0 + kQueryBlock);
      std::vector<NearestK> best(q1 - q0, NearestK(kk));
      for (std::size_t r0 = 0; r0 < n; r0 += kRefBlock) {
        const std::size_t r1 = std::min(n, r0 + kRefBlock);
        detail::sq_distances(points, q0, q1, norms.data(), points, r0, r1, norms.data(), block.data());
        for (std::size_t q = q0; q < q1; ++q) {
          const double* row = block.data() + (q - q0) * (r1 - r0);
          for (std::size_t r = r0; r < r1; ++r)
            if (r != q) best[q - q0].offer(row[r - r0], r);
        }
      }
      for (std::size_t q = q0; q < q1; ++q)
        if (vote(best[q - q0].items(), labels, scratch) == labels[q]) ++hits[t];
    }
  });
  return static_cast<double>(std::accumulate(hits.begin(), hits.end(), std::size_t{0})) / static_cast<double>(n);
}

}  // namespace photoatlas::cluster
