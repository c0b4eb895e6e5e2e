#include "cluster/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "cluster/distance.h"
#include "cluster/lloyd.h"
#include "core/parallel.h"
#include "core/rng.h"

namespace photoatlas::cluster {
namespace {

using detail::kRowBlock;

// The outcome of one restart, before relabelling.
struct Run {
  std::vector<int> labels;
  FloatMatrix centroids;
  double inertia = 0.0;
  int iterations = 0;
  std::vector<double> inertia_history;
};

// Index of the point a draw r in [0, total) lands on, when point i owns the interval of width
// weights[i] in `cumulative`. upper_bound skips zero-weight points, so a point that already coincides
// with a centre is never drawn while any other point is left.
std::size_t sample_index(const std::vector<double>& cumulative, double r) {
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), r);
  return std::min<std::size_t>(static_cast<std::size_t>(it - cumulative.begin()), cumulative.size() - 1);
}

// Sum in index order: the seeding's choices then do not depend on the thread count.
double ordered_sum(const double* values, std::size_t n, std::size_t stride) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += values[i * stride];
  return s;
}

// Greedy k-means++ (Arthur & Vassilvitskii 2007, as in scikit-learn's _kmeans_plusplus): each step draws
// 2 + floor(ln k) candidates with probability proportional to D^2 and keeps the one that minimises the
// potential. The greedy variant is markedly more robust than drawing a single candidate, for about
// (2 + ln k) times the distance work, which one pass over the data does for all candidates at once.
FloatMatrix seed_plus_plus(const FloatMatrix& data, const std::vector<double>& norms, std::size_t k, Rng& rng,
                           int threads) {
  const std::size_t n = data.rows;
  const std::size_t d = data.cols;
  FloatMatrix centres(k, d);
  auto copy_row = [&](std::size_t from, std::size_t to) { std::copy_n(data.row(from), d, centres.row(to)); };

  const std::size_t first = std::min(n - 1, static_cast<std::size_t>(uniform01(rng) * static_cast<double>(n)));
  copy_row(first, 0);

  // Distances from every point to one or more candidate centres, in row blocks across threads.
  auto distances_to = [&](const FloatMatrix& candidates, std::vector<double>& out) {
    const std::vector<double> cand_norms = detail::row_sq_norms(candidates, 1);
    out.resize(n * candidates.rows);
    parallel_for_chunks(n, threads, [&](std::size_t begin, std::size_t end, int) {
      for (std::size_t b = begin; b < end; b += kRowBlock) {
        const std::size_t e = std::min(end, b + kRowBlock);
        detail::sq_distances(data, b, e, norms.data(), candidates, cand_norms.data(), out.data() + b * candidates.rows);
      }
    });
  };

  FloatMatrix first_centre(1, d);
  std::copy_n(data.row(first), d, first_centre.row(0));
  std::vector<double> closest;
  distances_to(first_centre, closest);
  closest[first] = 0.0;  // exact, whatever the norm expansion rounded to

  const std::size_t trials = 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)));
  std::vector<double> cumulative(n);
  std::vector<std::size_t> candidate_ids(trials);
  FloatMatrix candidates(trials, d);
  std::vector<double> cand_dist;
  for (std::size_t c = 1; c < k; ++c) {
    std::partial_sum(closest.begin(), closest.end(), cumulative.begin());
    const double potential = cumulative.back();
    for (std::size_t t = 0; t < trials; ++t) {
      const double u = uniform01(rng);
      // All points already coincide with a centre: any choice is as good; the empty-cluster
      // relocation in Lloyd's loop sorts out the duplicates.
      candidate_ids[t] = potential > 0.0 ? sample_index(cumulative, u * potential)
                                         : std::min(n - 1, static_cast<std::size_t>(u * static_cast<double>(n)));
      std::copy_n(data.row(candidate_ids[t]), d, candidates.row(t));
    }
    distances_to(candidates, cand_dist);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t t = 0; t < trials; ++t) cand_dist[i * trials + t] = std::min(cand_dist[i * trials + t], closest[i]);
    std::size_t best = 0;
    double best_potential = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < trials; ++t) {
      const double p = ordered_sum(cand_dist.data() + t, n, trials);
      if (p < best_potential) {
        best_potential = p;
        best = t;
      }
    }
    for (std::size_t i = 0; i < n; ++i) closest[i] = cand_dist[i * trials + best];
    closest[candidate_ids[best]] = 0.0;
    copy_row(candidate_ids[best], c);
  }
  return centres;
}

Run lloyd(const FloatMatrix& data, const std::vector<double>& norms, std::size_t k, const KMeansOptions& options,
          Rng& rng, int threads) {
  Run run;
  run.centroids = seed_plus_plus(data, norms, k, rng, threads);
  run.labels.assign(data.rows, -1);
  std::vector<double> distances(data.rows);
  double previous = std::numeric_limits<double>::infinity();
  for (int it = 1; it <= options.max_iterations; ++it) {
    std::size_t changed = detail::assign_labels(data, norms, run.centroids, run.labels, distances, threads);
    detail::ClusterSums sums = detail::accumulate_clusters(data, norms, run.labels, k, threads);
    changed += detail::relocate_empty_clusters(data, norms, distances, run.labels, sums);
    // Ending every iteration with the update keeps the returned centroids the exact means of the
    // returned labels, and the inertia that of this (labels, centroids) pair.
    run.centroids = sums.means();
    const double inertia = sums.inertia();
    run.inertia_history.push_back(inertia);
    run.iterations = it;
    // Unchanged labels mean the next iteration would reproduce this one: a fixed point.
    if (changed == 0) break;
    if (it > 1 && std::abs(previous - inertia) <= options.tolerance * previous) break;
    previous = inertia;
  }
  // The history's values come from the sufficient statistics (free, but with cancellation when the
  // data sit far from the origin); the figure that ranks restarts and is reported is recomputed exactly.
  run.inertia = detail::exact_inertia(data, run.labels, run.centroids, threads);
  return run;
}

// Largest cluster first, ties towards the cluster whose first member has the smaller index: a stable,
// meaningful order for legends and colours, independent of which seed happened to win.
void relabel_by_size(Clustering& result) {
  const std::size_t k = static_cast<std::size_t>(result.k);
  std::vector<std::size_t> first(k, result.labels.size());
  for (std::size_t i = result.labels.size(); i-- > 0;) first[static_cast<std::size_t>(result.labels[i])] = i;
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (result.sizes[a] != result.sizes[b]) return result.sizes[a] > result.sizes[b];
    return first[a] < first[b];
  });
  std::vector<int> new_label(k);
  FloatMatrix centroids(k, result.centroids.cols);
  std::vector<std::size_t> sizes(k);
  for (std::size_t r = 0; r < k; ++r) {
    new_label[order[r]] = static_cast<int>(r);
    std::copy_n(result.centroids.row(order[r]), centroids.cols, centroids.row(r));
    sizes[r] = result.sizes[order[r]];
  }
  for (int& l : result.labels) l = new_label[static_cast<std::size_t>(l)];
  result.centroids = std::move(centroids);
  result.sizes = std::move(sizes);
}

}  // namespace

Clustering kmeans(const FloatMatrix& data, const KMeansOptions& options, const ProgressCallback& progress) {
  if (options.k < 1) throw std::invalid_argument("kmeans: k must be at least 1, got " + std::to_string(options.k));
  if (options.restarts < 1)
    throw std::invalid_argument("kmeans: restarts must be at least 1, got " + std::to_string(options.restarts));
  if (options.max_iterations < 1)
    throw std::invalid_argument("kmeans: max_iterations must be at least 1, got " +
                                std::to_string(options.max_iterations));
  if (!(options.tolerance >= 0.0)) throw std::invalid_argument("kmeans: tolerance must be >= 0");

  Clustering result;
  result.centroids = FloatMatrix(0, data.cols);
  if (data.rows == 0) {
    report(progress, static_cast<std::size_t>(options.restarts), static_cast<std::size_t>(options.restarts));
    return result;
  }
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(options.k), data.rows);
  const int threads = resolve_threads(options.num_threads);
  const std::vector<double> norms = detail::row_sq_norms(data, threads);

  Run best;
  const int restarts = options.restarts;
  for (int r = 0; r < restarts; ++r) {
    // Restart r's stream depends only on (seed, r), so a run with more restarts replays the same
    // first restarts and can only end with an equal or lower inertia.
    Rng rng(derive_seed(options.seed, static_cast<std::uint64_t>(r)));
    Run run = lloyd(data, norms, k, options, rng, threads);
    if (r == 0 || run.inertia < best.inertia) best = std::move(run);  // ties keep the earlier restart
    report(progress, static_cast<std::size_t>(r + 1), static_cast<std::size_t>(restarts));
  }

  result.k = static_cast<int>(k);
  result.labels = std::move(best.labels);
  result.centroids = std::move(best.centroids);
  result.inertia = best.inertia;
  result.iterations = best.iterations;
  result.inertia_history = std::move(best.inertia_history);
  result.sizes.assign(k, 0);
  for (int l : result.labels) ++result.sizes[static_cast<std::size_t>(l)];
  relabel_by_size(result);
  return result;
}

}  // namespace photoatlas::cluster
