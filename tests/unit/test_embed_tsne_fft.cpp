// The fast t-SNE engine: FFT-interpolated gradient, approximate neighbours, transform, degrees of freedom.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "core/rng.h"
#include "embed/affinity.h"
#include "embed/knn.h"
#include "embed/tsne.h"
#include "embed/tsne_detail.h"
#include "test_support.h"

namespace photoatlas::embed {
namespace {

detail::Embedding2D random_layout(std::size_t n, double scale, std::uint64_t seed) {
  detail::Embedding2D y;
  y.zero(n);
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    y.x[i] = scale * standard_normal(rng);
    y.y[i] = scale * standard_normal(rng);
  }
  return y;
}

double relative_error(const detail::Embedding2D& a, const detail::Embedding2D& b) {
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a.x[i] - b.x[i]) * (a.x[i] - b.x[i]) + (a.y[i] - b.y[i]) * (a.y[i] - b.y[i]);
    den += b.x[i] * b.x[i] + b.y[i] * b.y[i];
  }
  return std::sqrt(num / den);
}

TEST(TsneFft, GradientApproximatesExactGradient) {
  std::vector<int> labels;
  const FloatMatrix data = testing::gaussian_blobs(6, 200, 10, 1.0, 10.0, 31, &labels);
  AffinityOptions affinity;
  affinity.num_threads = 2;
  const SparseMatrix p = compute_affinities(data, affinity);
  // Layouts at the scales an optimisation passes through: tiny (early), a few units, tens of units.
  for (double scale : {1e-3, 2.0, 20.0}) {
    for (double dof : {1.0, 0.6}) {
      const detail::Embedding2D y = random_layout(data.rows, scale, 32);
      detail::Embedding2D exact, fft;
      detail::exact_gradient(p, y, 1.0, 2, exact, dof);
      detail::InterpolationOptions interpolation;
      interpolation.points_per_interval = 4;  // the engine's choice below 200k points
      detail::FftRepulsion engine(interpolation);
      detail::fft_gradient(p, y, 1.0, dof, 2, engine, fft);
      // A sparse random layout (scale 20: 1200 points over ~150 x 150 units) is the hard case:
      // most of each point's repulsion comes from a few near neighbours.
      EXPECT_LT(relative_error(fft, exact), scale > 10.0 ? 2e-2 : 2e-3) << "scale " << scale << " dof " << dof;
      const double kl_exact = detail::exact_kl_divergence(p, y, 2, dof);
      const double kl_fft = detail::fft_kl_divergence(p, y, dof, 2, engine);
      EXPECT_NEAR(kl_fft, kl_exact, 2e-3 * std::fabs(kl_exact)) << "scale " << scale << " dof " << dof;
    }
  }
}

TEST(TsneFft, IntervalsGrowWithExtent) {
  detail::FftRepulsion engine;
  EXPECT_EQ(engine.interval_count(1e-4), 50u);  // the floor
  EXPECT_EQ(engine.interval_count(10.0), 50u);
  const std::size_t wide = engine.interval_count(173.0);
  EXPECT_GE(wide, 173u);  // about one interval per unit, rounded up to an FFT-friendly size
  EXPECT_LE(wide, 190u);
}

TEST(TsneFft, ExactAndFftModesAgreeOnKlAt2k) {
  std::vector<int> labels;
  const FloatMatrix data = testing::gaussian_blobs(8, 250, 20, 1.0, 12.0, 33, &labels);
  TsneOptions options;
  options.num_threads = 2;
  options.seed = 4;
  options.gradient = TsneGradient::Exact;
  Tsne exact(data, options);
  options.gradient = TsneGradient::Fft;
  Tsne fft(data, options);
  EXPECT_FALSE(exact.uses_fft());
  EXPECT_TRUE(fft.uses_fft());
  while (!exact.finished()) exact.run(100);
  while (!fft.finished()) fft.run(100);
  const double kl_exact = exact.kl_divergence(), kl_fft = fft.exact_kl_divergence();
  EXPECT_NEAR(kl_fft, kl_exact, 0.02 * kl_exact);
  // The FFT mode's own KL (Z by interpolation) is close to its exact value.
  EXPECT_NEAR(fft.kl_divergence(), kl_fft, 1e-3 * kl_fft);
}

TEST(TsneFft, DeterministicForSeedAndThreadsAndChunking) {
  std::vector<int> labels;
  const FloatMatrix data = testing::gaussian_blobs(4, 150, 8, 1.0, 8.0, 34, &labels);
  TsneOptions options;
  options.iterations = 120;
  options.exaggeration_iterations = 60;
  options.gradient = TsneGradient::Fft;
  options.num_threads = 2;
  const TsneResult a = tsne(data, options);
  Tsne state(data, options);
  while (!state.finished()) state.run(33);
  EXPECT_EQ(a.embedding.values, state.embedding().values);
  const TsneResult b = tsne(data, options);
  EXPECT_EQ(a.embedding.values, b.embedding.values);
  EXPECT_EQ(a.kl_history, b.kl_history);
}

TEST(TsneFft, HeavyTailsExactGradientMatchesFiniteDifferences) {
  const FloatMatrix data = testing::gaussian_blobs(2, 5, 4, 1.0, 3.0, 35, nullptr);
  AffinityOptions affinity;
  affinity.perplexity = 2.0;
  const SparseMatrix p = compute_affinities(data, affinity);
  detail::Embedding2D y = random_layout(data.rows, 1.0, 36);
  const double dof = 0.5;
  detail::Embedding2D gradient;
  detail::exact_gradient(p, y, 1.0, 2, gradient, dof);
  const double h = 1e-6;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double saved = y.x[i];
    y.x[i] = saved + h;
    const double plus = detail::exact_kl_divergence(p, y, 1, dof);
    y.x[i] = saved - h;
    const double minus = detail::exact_kl_divergence(p, y, 1, dof);
    y.x[i] = saved;
    const double numeric = (plus - minus) / (2.0 * h);
    EXPECT_NEAR(gradient.x[i], numeric, 1e-7 + 1e-5 * std::fabs(numeric)) << i;
  }
}

TEST(TsneKnn, HnswRecallAndDeterminism) {
  std::vector<int> labels;
  const FloatMatrix data = testing::gaussian_blobs(10, 400, 30, 1.0, 6.0, 37, &labels);
  NeighbourOptions options;
  options.method = NeighbourMethod::Hnsw;
  options.num_threads = 2;
  options.seed = 3;
  const NeighbourGraph approx = nearest_neighbours(data, 90, options);
  ASSERT_EQ(approx.k, 90u);
  const double recall = neighbour_recall(approx, data, 400, 8, 2);
  EXPECT_GE(recall, 0.99);
  // Rows hold distinct other points, nearest first.
  for (std::size_t i = 0; i < data.rows; i += 97) {
    for (std::size_t t = 0; t < approx.k; ++t) {
      EXPECT_NE(approx.indices[i * 90 + t], i);
      if (t) {
        EXPECT_LE(approx.sq_distances[i * 90 + t - 1], approx.sq_distances[i * 90 + t]);
      }
    }
  }
  const NeighbourGraph again = nearest_neighbours(data, 90, options);
  EXPECT_EQ(approx.indices, again.indices);
  EXPECT_EQ(approx.sq_distances, again.sq_distances);
  // The exact graph has recall 1 by construction.
  EXPECT_DOUBLE_EQ(neighbour_recall(exact_neighbours(data, 90, 2), data, 200, 9, 2), 1.0);
}

// Majority label among the k nearest reference points of each new point in 2-D.
double placement_accuracy(const FloatMatrix& reference_embedding, const std::vector<int>& reference_labels,
                          const FloatMatrix& placed, int expected, std::size_t k) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < placed.rows; ++i) {
    std::vector<std::pair<double, int>> by_distance;
    for (std::size_t j = 0; j < reference_embedding.rows; ++j) {
      const double dx = placed.at(i, 0) - reference_embedding.at(j, 0);
      const double dy = placed.at(i, 1) - reference_embedding.at(j, 1);
      by_distance.emplace_back(dx * dx + dy * dy, reference_labels[j]);
    }
    std::partial_sort(by_distance.begin(), by_distance.begin() + static_cast<std::ptrdiff_t>(k), by_distance.end());
    int votes = 0;
    for (std::size_t t = 0; t < k; ++t) votes += by_distance[t].second == expected;
    correct += votes * 2 > static_cast<int>(k);
  }
  return static_cast<double>(correct) / static_cast<double>(placed.rows);
}

TEST(TsneTransform, NewPointsFromABlobLandNextToThatBlob) {
  // 6 blobs; the reference holds 100 points of each, the new points are 15 more from each blob.
  std::vector<int> labels;
  const FloatMatrix all = testing::gaussian_blobs(6, 115, 12, 1.0, 10.0, 38, &labels);
  FloatMatrix reference(0, all.cols), fresh(0, all.cols);
  std::vector<int> reference_labels, fresh_labels;
  std::map<int, int> seen;
  for (std::size_t i = 0; i < all.rows; ++i) {
    FloatMatrix& target = seen[labels[i]]++ < 100 ? reference : fresh;
    (&target == &reference ? reference_labels : fresh_labels).push_back(labels[i]);
    target.values.insert(target.values.end(), all.row(i), all.row(i) + all.cols);
    ++target.rows;
  }
  TsneOptions options;
  options.num_threads = 2;
  options.seed = 5;
  const TsneResult base = tsne(reference, options);

  for (std::size_t exact_pairs : {std::size_t{50'000'000}, std::size_t{0}}) {  // exact, then FFT repulsion
    TsneTransformOptions transform;
    transform.num_threads = 2;
    transform.exact_max_pairs = exact_pairs;
    const FloatMatrix placed = tsne_transform(reference, base.embedding, fresh, transform);
    ASSERT_EQ(placed.rows, fresh.rows);
    ASSERT_EQ(placed.cols, 2u);
    for (int blob = 0; blob < 6; ++blob) {
      FloatMatrix mine(0, 2);
      for (std::size_t i = 0; i < placed.rows; ++i)
        if (fresh_labels[i] == blob) {
          mine.values.insert(mine.values.end(), placed.row(i), placed.row(i) + 2);
          ++mine.rows;
        }
      EXPECT_GE(placement_accuracy(base.embedding, reference_labels, mine, blob, 10), 0.95)
          << "blob " << blob << (exact_pairs ? " exact" : " fft");
    }
    // A point's placement does not depend on which other points come with it (exact mode).
    if (exact_pairs) {
      FloatMatrix one(1, all.cols);
      std::copy(fresh.row(7), fresh.row(7) + all.cols, one.row(0));
      const FloatMatrix alone = tsne_transform(reference, base.embedding, one, transform);
      EXPECT_FLOAT_EQ(alone.at(0, 0), placed.at(7, 0));
      EXPECT_FLOAT_EQ(alone.at(0, 1), placed.at(7, 1));
    }
  }
}

}  // namespace
}  // namespace photoatlas::embed
