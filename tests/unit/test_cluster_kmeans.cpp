#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "cluster/kmeans.h"
#include "cluster/metrics.h"
#include "core/rng.h"
#include "test_support.h"

namespace photoatlas::cluster {
namespace {

using photoatlas::testing::gaussian_blobs;

KMeansOptions options_with(int k, std::uint64_t seed = 7, int threads = 2) {
  KMeansOptions o;
  o.k = k;
  o.seed = seed;
  o.num_threads = threads;
  return o;
}

FloatMatrix uniform_data(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  FloatMatrix m(n, d);
  for (float& v : m.values) v = static_cast<float>(uniform01(rng));
  return m;
}

double recomputed_inertia(const FloatMatrix& data, const Clustering& c) {
  double total = 0.0;
  for (std::size_t i = 0; i < data.rows; ++i)
    for (std::size_t j = 0; j < data.cols; ++j) {
      const double diff = static_cast<double>(data.at(i, j)) - c.centroids.at(static_cast<std::size_t>(c.labels[i]), j);
      total += diff * diff;
    }
  return total;
}

// The structural invariants every result must satisfy, whatever the data.
void expect_consistent(const FloatMatrix& data, const Clustering& c) {
  ASSERT_EQ(c.labels.size(), data.rows);
  ASSERT_EQ(c.centroids.rows, static_cast<std::size_t>(c.k));
  ASSERT_EQ(c.centroids.cols, data.cols);
  ASSERT_EQ(c.sizes.size(), static_cast<std::size_t>(c.k));
  std::vector<std::size_t> counts(c.k, 0);
  for (int l : c.labels) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, c.k);
    ++counts[l];
  }
  EXPECT_EQ(counts, c.sizes);
  for (float v : c.centroids.values) EXPECT_TRUE(std::isfinite(v));
  EXPECT_TRUE(std::isfinite(c.inertia));
  EXPECT_GE(c.inertia, 0.0);
  EXPECT_EQ(c.inertia_history.size(), static_cast<std::size_t>(c.iterations));
  // Largest first, ties by first member: the legend order.
  for (int l = 1; l < c.k; ++l) EXPECT_GE(c.sizes[l - 1], c.sizes[l]);
}

TEST(KMeans, RecoversTenBlobsInEightDimensions) {
  std::vector<int> truth;
  const FloatMatrix data = gaussian_blobs(10, 100, 8, 0.5, 10.0, 1, &truth);
  const Clustering c = kmeans(data, options_with(10));
  expect_consistent(data, c);
  EXPECT_EQ(c.k, 10);
  EXPECT_EQ(adjusted_rand_index(truth, c.labels), 1.0);
  for (std::size_t s : c.sizes) EXPECT_EQ(s, 100u);
}

TEST(KMeans, RecoversThreeBlobsInTwoDimensions) {
  std::vector<int> truth;
  const FloatMatrix data = gaussian_blobs(3, 200, 2, 0.3, 10.0, 2, &truth);
  const Clustering c = kmeans(data, options_with(3));
  expect_consistent(data, c);
  EXPECT_EQ(adjusted_rand_index(truth, c.labels), 1.0);
}

TEST(KMeans, InertiaAndCentroidsMatchTheLabels) {
  // Unstructured data, so Lloyd needs many iterations and the final state is not trivially right.
  const FloatMatrix data = uniform_data(1003, 5, 11);
  const Clustering c = kmeans(data, options_with(7));
  expect_consistent(data, c);
  EXPECT_GT(c.iterations, 1);
  EXPECT_NEAR(c.inertia, recomputed_inertia(data, c), 1e-9 * c.inertia);

  std::vector<double> sums(c.k * data.cols, 0.0);
  for (std::size_t i = 0; i < data.rows; ++i)
    for (std::size_t j = 0; j < data.cols; ++j) sums[c.labels[i] * data.cols + j] += data.at(i, j);
  for (int l = 0; l < c.k; ++l)
    for (std::size_t j = 0; j < data.cols; ++j)
      EXPECT_NEAR(c.centroids.at(l, j), sums[l * data.cols + j] / static_cast<double>(c.sizes[l]), 1e-6);

  // Lloyd never increases the objective; the last entry describes the returned state.
  for (std::size_t i = 1; i < c.inertia_history.size(); ++i)
    EXPECT_LE(c.inertia_history[i], c.inertia_history[i - 1] * (1 + 1e-12));
  EXPECT_NEAR(c.inertia_history.back(), c.inertia, 1e-9 * c.inertia);
}

TEST(KMeans, MoreRestartsNeverWorse) {
  const FloatMatrix data = uniform_data(600, 4, 5);
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    KMeansOptions one = options_with(8, seed);
    one.restarts = 1;
    KMeansOptions many = one;
    many.restarts = 6;
    EXPECT_LE(kmeans(data, many).inertia, kmeans(data, one).inertia) << "seed " << seed;
  }
}

TEST(KMeans, DeterministicForAFixedSeed) {
  const FloatMatrix data = uniform_data(800, 6, 3);
  for (int threads : {1, 3}) {
    const Clustering a = kmeans(data, options_with(6, 42, threads));
    const Clustering b = kmeans(data, options_with(6, 42, threads));
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(a.centroids.values, b.centroids.values);
    EXPECT_EQ(a.inertia, b.inertia);
    EXPECT_EQ(a.inertia_history, b.inertia_history);
  }
}

TEST(KMeans, ThreadCountDoesNotChangeTheResultOnSeparatedData) {
  const FloatMatrix data = gaussian_blobs(6, 150, 16, 0.5, 10.0, 9, nullptr);
  const Clustering reference = kmeans(data, options_with(6, 1, 1));
  for (int threads : {2, 3, 4}) {
    const Clustering c = kmeans(data, options_with(6, 1, threads));
    EXPECT_EQ(c.labels, reference.labels) << threads << " threads";
    EXPECT_EQ(c.sizes, reference.sizes);
    EXPECT_NEAR(c.inertia, reference.inertia, 1e-9 * reference.inertia);
    for (std::size_t i = 0; i < c.centroids.values.size(); ++i)
      EXPECT_NEAR(c.centroids.values[i], reference.centroids.values[i], 1e-5);
  }
}

TEST(KMeans, EmptyInputGivesAnEmptyResult) {
  const FloatMatrix data(0, 4);
  const Clustering c = kmeans(data, options_with(5));
  EXPECT_EQ(c.k, 0);
  EXPECT_TRUE(c.labels.empty());
  EXPECT_TRUE(c.sizes.empty());
  EXPECT_EQ(c.centroids.rows, 0u);
  EXPECT_EQ(c.inertia, 0.0);
}

TEST(KMeans, FewerPointsThanClustersClipsK) {
  FloatMatrix data(3, 2);
  data.values = {0, 0, 5, 5, -3, 4};
  const Clustering c = kmeans(data, options_with(10));
  expect_consistent(data, c);
  EXPECT_EQ(c.k, 3);
  EXPECT_EQ(c.inertia, 0.0);
  // Equal sizes: ordered by first member, so the labels read 0, 1, 2.
  EXPECT_EQ(c.labels, (std::vector<int>{0, 1, 2}));
}

TEST(KMeans, IdenticalPointsDoNotBreakIt) {
  FloatMatrix data(20, 3);
  for (std::size_t i = 0; i < data.rows; ++i) data.values[i * 3 + 0] = 1.5f, data.values[i * 3 + 1] = -2.0f;
  const Clustering c = kmeans(data, options_with(4));
  expect_consistent(data, c);
  EXPECT_EQ(c.k, 4);
  EXPECT_EQ(c.inertia, 0.0);
  for (std::size_t s : c.sizes) EXPECT_GT(s, 0u);  // empty clusters were re-seeded
  for (int l = 0; l < c.k; ++l) EXPECT_EQ(c.centroids.at(l, 0), 1.5f);
}

TEST(KMeans, DuplicatePointsAmongOthers) {
  // Two stacks of 30 identical points and a few stragglers: seeding meets many zero distances.
  FloatMatrix data(64, 2);
  for (std::size_t i = 0; i < 30; ++i) data.at(i, 0) = 1.0f;
  for (std::size_t i = 30; i < 60; ++i) data.at(i, 1) = 1.0f;
  for (std::size_t i = 60; i < 64; ++i) data.at(i, 0) = data.at(i, 1) = 5.0f + static_cast<float>(i - 60);
  const Clustering c = kmeans(data, options_with(5));
  expect_consistent(data, c);
  for (std::size_t s : c.sizes) EXPECT_GT(s, 0u);
  EXPECT_EQ(c.labels[0], c.labels[29]);
  EXPECT_EQ(c.labels[30], c.labels[59]);
  EXPECT_NE(c.labels[0], c.labels[30]);
}

TEST(KMeans, SingleClusterIsTheMean) {
  const FloatMatrix data = uniform_data(101, 3, 8);
  const Clustering c = kmeans(data, options_with(1));
  expect_consistent(data, c);
  EXPECT_EQ(c.k, 1);
  EXPECT_EQ(c.sizes[0], data.rows);
  for (std::size_t j = 0; j < data.cols; ++j) {
    double mean = 0.0;
    for (std::size_t i = 0; i < data.rows; ++i) mean += data.at(i, j);
    EXPECT_NEAR(c.centroids.at(0, j), mean / data.rows, 1e-6);
  }
  EXPECT_NEAR(c.inertia, recomputed_inertia(data, c), 1e-9 * c.inertia);
}

TEST(KMeans, LabelsAreOrderedLargestFirst) {
  // Groups of 50, 200 and 100 points (in that order of first appearance) around far-apart centres,
  // then a second 100-point group that ties with the third and appears after it.
  const std::vector<std::pair<std::size_t, float>> groups = {{50, 0.0f}, {200, 100.0f}, {100, 200.0f}, {100, 300.0f}};
  std::size_t n = 0;
  for (const auto& g : groups) n += g.first;
  FloatMatrix data(n, 2);
  Rng rng(4);
  std::size_t row = 0;
  for (const auto& g : groups)
    for (std::size_t i = 0; i < g.first; ++i, ++row) {
      data.at(row, 0) = g.second + static_cast<float>(uniform01(rng));
      data.at(row, 1) = static_cast<float>(uniform01(rng));
    }
  const Clustering c = kmeans(data, options_with(4));
  expect_consistent(data, c);
  EXPECT_EQ(c.sizes, (std::vector<std::size_t>{200, 100, 100, 50}));
  EXPECT_EQ(c.labels[50], 0);    // the 200-point group
  EXPECT_EQ(c.labels[250], 1);   // first of the tied 100-point groups
  EXPECT_EQ(c.labels[350], 2);   // second of them
  EXPECT_EQ(c.labels[0], 3);     // the smallest group
  EXPECT_NEAR(c.centroids.at(0, 0), 100.5f, 0.2f);
}

TEST(KMeans, ReportsProgressPerRestart) {
  const FloatMatrix data = uniform_data(50, 2, 1);
  KMeansOptions o = options_with(3);
  o.restarts = 4;
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  kmeans(data, o, [&](std::size_t done, std::size_t total) { calls.emplace_back(done, total); });
  ASSERT_EQ(calls.size(), 4u);
  for (std::size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i], std::make_pair(i + 1, std::size_t{4}));
}

TEST(KMeans, RejectsMeaninglessOptions) {
  const FloatMatrix data = uniform_data(10, 2, 1);
  KMeansOptions o;
  o.k = 0;
  EXPECT_THROW(kmeans(data, o), std::invalid_argument);
  o = KMeansOptions{};
  o.restarts = 0;
  EXPECT_THROW(kmeans(data, o), std::invalid_argument);
  o = KMeansOptions{};
  o.max_iterations = 0;
  EXPECT_THROW(kmeans(data, o), std::invalid_argument);
}

}  // namespace
}  // namespace photoatlas::cluster
