#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "core/rng.h"
#include "embed/affinity.h"
#include "embed/tsne.h"
#include "embed/tsne_detail.h"
#include "test_support.h"

namespace photoatlas::embed {
namespace {

FloatMatrix random_points(std::size_t n, std::size_t dims, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  FloatMatrix m(n, dims);
  for (float& v : m.values) v = static_cast<float>(scale * standard_normal(rng));
  return m;
}

// Leave-one-out k-NN label accuracy in the embedding (majority vote, ties to the lower label).
double knn_accuracy(const FloatMatrix& embedding, const std::vector<int>& labels, std::size_t k) {
  const std::size_t n = embedding.rows;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, std::size_t>> by_distance;
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double dx = embedding.at(i, 0) - embedding.at(j, 0), dy = embedding.at(i, 1) - embedding.at(j, 1);
      by_distance.emplace_back(dx * dx + dy * dy, j);
    }
    std::partial_sort(by_distance.begin(), by_distance.begin() + static_cast<std::ptrdiff_t>(k), by_distance.end());
    std::map<int, int> votes;
    for (std::size_t t = 0; t < k; ++t) ++votes[labels[by_distance[t].second]];
    int best = -1, best_votes = -1;
    for (const auto& [label, count] : votes)
      if (count > best_votes) best = label, best_votes = count;
    if (best == labels[i]) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

void expect_finite(const FloatMatrix& m) {
  for (float v : m.values) ASSERT_TRUE(std::isfinite(v));
}

TEST(TsneAffinity, ExactNeighboursMatchBruteForce) {
  const FloatMatrix data = random_points(60, 4, 1);
  const NeighbourGraph graph = exact_neighbours(data, 7, 2);
  ASSERT_EQ(graph.k, 7u);
  for (std::size_t i = 0; i < data.rows; ++i) {
    std::vector<std::pair<double, std::uint32_t>> all;
    for (std::size_t j = 0; j < data.rows; ++j) {
      if (j == i) continue;
      double d2 = 0.0;
      for (std::size_t t = 0; t < data.cols; ++t) {
        const double diff = static_cast<double>(data.at(i, t)) - data.at(j, t);
        d2 += diff * diff;
      }
      all.emplace_back(d2, static_cast<std::uint32_t>(j));
    }
    std::sort(all.begin(), all.end());
    for (std::size_t t = 0; t < 7; ++t) {
      EXPECT_EQ(graph.indices[i * 7 + t], all[t].second);
      EXPECT_NEAR(graph.sq_distances[i * 7 + t], all[t].first, 1e-12);
    }
  }
}

// The partitioned search skips cells by a proof, not a guess: its neighbours are brute force's,
// on clustered data (where cells are skipped) and on structureless data (where few are).
TEST(TsneAffinity, PartitionedNeighboursEqualBruteForce) {
  const FloatMatrix blobs = testing::gaussian_blobs(8, 300, 10, 1.0, 10.0, 41, nullptr);
  const FloatMatrix noise = random_points(1500, 6, 42);
  for (const FloatMatrix* data : {&blobs, &noise}) {
    const NeighbourGraph brute = exact_neighbours(*data, 12, 2);  // brute force below 20k points
    const NeighbourGraph cells = partitioned_neighbours(*data, 12, 100, 2);
    ASSERT_EQ(cells.k, 12u);
    EXPECT_EQ(cells.indices, brute.indices);
    ASSERT_EQ(cells.sq_distances.size(), brute.sq_distances.size());
    for (std::size_t e = 0; e < brute.sq_distances.size(); ++e)
      ASSERT_DOUBLE_EQ(cells.sq_distances[e], brute.sq_distances[e]) << "entry " << e;
    // Deterministic and independent of the thread count.
    EXPECT_EQ(partitioned_neighbours(*data, 12, 100, 1).indices, cells.indices);
  }
}

// exp(entropy) of one conditional row.
double row_perplexity(const double* p, std::size_t k) {
  double h = 0.0;
  for (std::size_t j = 0; j < k; ++j)
    if (p[j] > 0.0) h -= p[j] * std::log(p[j]);
  return std::exp(h);
}

TEST(TsneAffinity, CalibrationHitsPerplexityAndPIsAJointDistribution) {
  std::vector<int> labels;
  const FloatMatrix data = testing::gaussian_blobs(4, 75, 10, 1.0, 8.0, 3, &labels);
  const std::size_t k = neighbour_count(data.rows, 30.0);
  ASSERT_EQ(k, 90u);
  const NeighbourGraph graph = exact_neighbours(data, k, 2);
  const std::vector<double> conditionals = calibrate_conditionals(graph, 30.0, 1e-5, 200, 2);
  for (std::size_t i = 0; i < data.rows; ++i) {
    const double* row = conditionals.data() + i * k;
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) sum += row[j];
    EXPECT_NEAR(sum, 1.0, 1e-12);
    EXPECT_NEAR(row_perplexity(row, k), 30.0, 30.0 * 1e-3) << "row " << i;
  }

  const SparseMatrix p = symmetrise(graph, conditionals);
  ASSERT_EQ(p.n, data.rows);
  double total = 0.0;
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> entries;
  for (std::size_t i = 0; i < p.n; ++i) {
    for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
      if (e > p.row_start[i]) {
        EXPECT_LT(p.cols[e - 1], p.cols[e]);
      }
      EXPECT_NE(p.cols[e], i);
      EXPECT_GE(p.values[e], 0.0);  // float: far-tail entries (below ~1e-38) round to 0
      total += p.values[e];
      entries[{static_cast<std::uint32_t>(i), p.cols[e]}] = p.values[e];
    }
  }
  EXPECT_NEAR(total, 1.0, 1e-6);  // float values
  for (const auto& [ij, v] : entries) {
    auto it = entries.find({ij.second, ij.first});
    ASSERT_NE(it, entries.end());
    EXPECT_EQ(it->second, v);
  }
}

TEST(TsneAffinity, PerplexityReducedForSmallN) {
  EXPECT_DOUBLE_EQ(effective_perplexity(10, 30.0), 3.0);
  EXPECT_DOUBLE_EQ(effective_perplexity(1000, 30.0), 30.0);
  EXPECT_EQ(neighbour_count(10, 3.0), 9u);
  EXPECT_EQ(neighbour_count(2, 30.0), 1u);
  EXPECT_EQ(neighbour_count(1, 30.0), 0u);

  const FloatMatrix data = random_points(10, 3, 4);
  const double perplexity = effective_perplexity(10, 30.0);
  const NeighbourGraph graph = exact_neighbours(data, neighbour_count(10, perplexity), 1);
  const std::vector<double> conditionals = calibrate_conditionals(graph, perplexity, 1e-5, 200, 1);
  for (std::size_t i = 0; i < 10; ++i)
    EXPECT_NEAR(row_perplexity(conditionals.data() + i * graph.k, graph.k), 3.0, 3e-3);
}

TEST(TsneGradient, MatchesFiniteDifferencesOfKl) {
  const FloatMatrix data = random_points(8, 5, 5);
  AffinityOptions affinity;
  affinity.perplexity = 2.0;
  const SparseMatrix p = compute_affinities(data, affinity);
  detail::Embedding2D y;
  y.zero(8);
  Rng rng(6);
  for (std::size_t i = 0; i < 8; ++i) {
    y.x[i] = standard_normal(rng);
    y.y[i] = standard_normal(rng);
  }
  detail::Embedding2D gradient;
  detail::exact_gradient(p, y, 1.0, 2, gradient);
  const double h = 1e-6;
  for (std::size_t i = 0; i < 8; ++i) {
    for (int axis = 0; axis < 2; ++axis) {
      std::vector<double>& coord = axis == 0 ? y.x : y.y;
      const double saved = coord[i];
      coord[i] = saved + h;
      const double plus = detail::exact_kl_divergence(p, y, 1);
      coord[i] = saved - h;
      const double minus = detail::exact_kl_divergence(p, y, 1);
      coord[i] = saved;
      const double numeric = (plus - minus) / (2.0 * h);
      const double analytic = axis == 0 ? gradient.x[i] : gradient.y[i];
      EXPECT_NEAR(analytic, numeric, 1e-7 + 1e-5 * std::fabs(numeric)) << "point " << i << " axis " << axis;
    }
  }
  // Exaggeration scales only the attractive term: g(a) - g(1) = (a - 1) * 4 Σ_j p_ij w_ij (y_i - y_j).
  detail::Embedding2D exaggerated;
  detail::exact_gradient(p, y, 3.0, 1, exaggerated);
  for (std::size_t i = 0; i < 8; ++i) {
    double ax = 0.0;
    for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
      const std::size_t j = p.cols[e];
      const double dx = y.x[i] - y.x[j], dy = y.y[i] - y.y[j];
      ax += p.values[e] * dx / (1.0 + dx * dx + dy * dy);
    }
    EXPECT_NEAR(exaggerated.x[i] - gradient.x[i], 2.0 * 4.0 * ax, 1e-12);
  }
}

// Above 512 points the exact gradient takes the single-precision AVX-512 kernel that visits
// each pair once; it must match the double-precision row-wise sums (exact_repulsion) to the
// reciprocal estimate's ~1e-4, and not depend on the thread count.
TEST(TsneGradient, PairwiseKernelMatchesDoubleReference) {
  const std::size_t n = 1337;  // not a multiple of the 16-point tiles
  const FloatMatrix data = random_points(n, 5, 15);
  AffinityOptions affinity;
  affinity.num_threads = 2;
  const SparseMatrix p = compute_affinities(data, affinity);
  for (double scale : {1e-3, 3.0, 30.0}) {
    detail::Embedding2D y;
    y.zero(n);
    Rng rng(16);
    for (std::size_t i = 0; i < n; ++i) {
      y.x[i] = scale * standard_normal(rng) + 100.0 * scale;  // off-centre: the kernel re-centres
      y.y[i] = scale * standard_normal(rng);
    }
    std::vector<double> z(n), fx(n), fy(n), ax, ay;
    detail::exact_repulsion(y.x.data(), y.y.data(), n, y.x.data(), y.y.data(), n, 1.0, 2, z.data(), fx.data(),
                            fy.data());
    detail::attractive_forces(p, y, 1.0, 2, &ax, &ay);
    double total_z = 0.0;
    for (double v : z) total_z += v - 1.0;  // rows include the point itself
    double err = 0.0, norm = 0.0;
    detail::Embedding2D gradient, gradient_one_thread;
    detail::exact_gradient(p, y, 1.0, 2, gradient);
    detail::exact_gradient(p, y, 1.0, 1, gradient_one_thread);
    EXPECT_EQ(gradient.x, gradient_one_thread.x);
    EXPECT_EQ(gradient.y, gradient_one_thread.y);
    for (std::size_t i = 0; i < n; ++i) {
      const double gx = 4.0 * (ax[i] - fx[i] / total_z), gy = 4.0 * (ay[i] - fy[i] / total_z);
      err += (gradient.x[i] - gx) * (gradient.x[i] - gx) + (gradient.y[i] - gy) * (gradient.y[i] - gy);
      norm += gx * gx + gy * gy;
    }
    EXPECT_LT(std::sqrt(err / norm), 3e-4) << "scale " << scale;
  }
}

TEST(TsneGradient, KlIsZeroWhenQEqualsP) {
  // Two points: P = Q = 1/2 for the only pair, wherever the points are.
  const FloatMatrix data = random_points(2, 3, 7);
  const SparseMatrix p = compute_affinities(data, AffinityOptions{});
  detail::Embedding2D y;
  y.zero(2);
  y.x[1] = 1.5;
  EXPECT_NEAR(detail::exact_kl_divergence(p, y, 1), 0.0, 1e-15);
  detail::Embedding2D gradient;
  detail::exact_gradient(p, y, 1.0, 1, gradient);
  EXPECT_NEAR(gradient.x[0], 0.0, 1e-15);
  EXPECT_NEAR(gradient.x[1], 0.0, 1e-15);
}

TEST(Tsne, SeparatesGaussianBlobsAndKlDecreases) {
  std::vector<int> labels;
  const FloatMatrix data = testing::gaussian_blobs(5, 60, 20, 1.0, 10.0, 11, &labels);
  TsneOptions options;
  options.seed = 3;
  options.num_threads = 2;
  std::vector<std::size_t> progress;
  const TsneResult result = tsne(data, options, [&](std::size_t done, std::size_t total) {
    EXPECT_EQ(total, 1000u);
    progress.push_back(done);
  });
  ASSERT_EQ(result.embedding.rows, 300u);
  ASSERT_EQ(result.embedding.cols, 2u);
  expect_finite(result.embedding);
  EXPECT_GE(knn_accuracy(result.embedding, labels, 10), 0.95);

  ASSERT_EQ(result.kl_history.size(), 20u);  // chunks of 50
  EXPECT_EQ(progress.front(), 0u);
  EXPECT_EQ(progress.back(), 1000u);
  // From the end of early exaggeration (iteration 250, entry 4) the true KL only goes down.
  for (std::size_t t = 5; t < result.kl_history.size(); ++t)
    EXPECT_LE(result.kl_history[t], result.kl_history[t - 1] + 1e-9) << "chunk " << t;
  EXPECT_LT(result.kl_history.back(), result.kl_history[4]);
  EXPECT_DOUBLE_EQ(result.kl_divergence, result.kl_history.back());
  EXPECT_GT(result.kl_divergence, 0.0);
}

TEST(Tsne, ChunkedRunEqualsOneCall) {
  const FloatMatrix data = random_points(80, 6, 12);
  TsneOptions options;
  options.iterations = 300;
  options.exaggeration_iterations = 100;
  options.num_threads = 2;
  const TsneResult one_call = tsne(data, options);
  Tsne state(data, options);
  int ran = 0;
  while (!state.finished()) ran += state.run(37);
  EXPECT_EQ(ran, 300);
  EXPECT_EQ(state.iteration(), 300);
  EXPECT_EQ(state.run(10), 0);
  EXPECT_EQ(state.embedding().values, one_call.embedding.values);
  EXPECT_DOUBLE_EQ(state.kl_divergence(), one_call.kl_divergence);
}

TEST(Tsne, DeterministicForSeedAndThreads) {
  const FloatMatrix data = random_points(120, 10, 13);
  for (TsneInit init : {TsneInit::Pca, TsneInit::Random}) {
    TsneOptions options;
    options.iterations = 300;
    options.init = init;
    options.seed = 21;
    options.num_threads = 2;
    const TsneResult a = tsne(data, options);
    const TsneResult b = tsne(data, options);
    EXPECT_EQ(a.embedding.values, b.embedding.values);
    EXPECT_EQ(a.kl_history, b.kl_history);
    // Every row is summed in a fixed order, so this engine does not even depend on the thread count.
    options.num_threads = 1;
    const TsneResult c = tsne(data, options);
    EXPECT_EQ(a.embedding.values, c.embedding.values);
  }
  TsneOptions options;
  options.iterations = 100;
  options.init = TsneInit::Random;
  options.seed = 1;
  const TsneResult first = tsne(data, options);
  options.seed = 2;
  const TsneResult second = tsne(data, options);
  EXPECT_NE(first.embedding.values, second.embedding.values);
}

TEST(Tsne, InitialisationScale) {
  const FloatMatrix data = random_points(200, 8, 14, 5.0);
  TsneOptions options;
  for (TsneInit init : {TsneInit::Pca, TsneInit::Random}) {
    options.init = init;
    const detail::Embedding2D y = detail::initial_embedding(data, options);
    ASSERT_EQ(y.size(), 200u);
    double mean = 0.0, sq = 0.0;
    for (double v : y.x) mean += v;
    mean /= 200.0;
    for (double v : y.x) sq += (v - mean) * (v - mean);
    const double std0 = std::sqrt(sq / 200.0);
    if (init == TsneInit::Pca) {
      EXPECT_NEAR(std0, 1e-4, 1e-10);
    } else {
      EXPECT_NEAR(std0, 1e-4, 2e-5);
    }
  }
}

TEST(Tsne, DegenerateSizesAndDuplicatesStayFinite) {
  TsneOptions options;
  options.iterations = 120;
  options.exaggeration_iterations = 50;
  for (std::size_t n : {0u, 1u, 2u, 3u}) {
    const FloatMatrix data = random_points(n, 4, 15 + n);
    const TsneResult r = tsne(data, options);
    ASSERT_EQ(r.embedding.rows, n);
    ASSERT_EQ(r.embedding.cols, 2u);
    expect_finite(r.embedding);
    EXPECT_TRUE(std::isfinite(r.kl_divergence)) << n;
    Tsne state(data, options);
    EXPECT_EQ(state.size(), n);
    while (!state.finished()) state.run(50);
    EXPECT_EQ(state.iteration(), 120);
  }

  FloatMatrix identical(12, 5);
  for (float& v : identical.values) v = 1.25f;
  FloatMatrix pairs = random_points(30, 5, 16);
  for (std::size_t i = 1; i < 30; i += 2)
    for (std::size_t j = 0; j < 5; ++j) pairs.at(i, j) = pairs.at(i - 1, j);
  for (const FloatMatrix* data : {&identical, &pairs}) {
    for (TsneInit init : {TsneInit::Pca, TsneInit::Random}) {
      options.init = init;
      const TsneResult r = tsne(*data, options);
      expect_finite(r.embedding);
      EXPECT_TRUE(std::isfinite(r.kl_divergence));
      for (double kl : r.kl_history) EXPECT_TRUE(std::isfinite(kl));
    }
  }
}

}  // namespace
}  // namespace photoatlas::embed
