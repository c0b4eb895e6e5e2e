#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "cluster/kmeans.h"
#include "cluster/metrics.h"
#include "cluster/spectral.h"
#include "core/rng.h"
#include "test_support.h"

namespace photoatlas::cluster {
namespace {

// Two concentric rings (radius 1 and 4) with a little noise: connected, not convex, and the
// outer ring's mean is inside the inner one, so K-Means on the points cannot separate them.
FloatMatrix rings(std::size_t per_ring, std::uint64_t seed, std::vector<int>& truth) {
  Rng rng(seed);
  FloatMatrix x(2 * per_ring, 2);
  truth.clear();
  for (std::size_t i = 0; i < 2 * per_ring; ++i) {
    const int ring = i < per_ring ? 0 : 1;
    const double radius = ring == 0 ? 1.0 : 4.0;
    const double t = 2.0 * 3.14159265358979 * uniform01(rng);
    x.at(i, 0) = static_cast<float>(radius * std::cos(t) + 0.08 * standard_normal(rng));
    x.at(i, 1) = static_cast<float>(radius * std::sin(t) + 0.08 * standard_normal(rng));
    truth.push_back(ring);
  }
  return x;
}

TEST(Spectral, SeparatesRingsKMeansCannot) {
  // 300 points: the dense eigensolver; 1200: Lanczos (Spectra).
  for (std::size_t per_ring : {150u, 600u}) {
    std::vector<int> truth;
    const FloatMatrix x = rings(per_ring, 5, truth);
    SpectralOptions options;
    options.k = 2;
    options.num_threads = 2;
    const SpectralResult r = spectral_clustering(x, options);
    ASSERT_EQ(r.labels.size(), x.rows);
    EXPECT_EQ(r.k, 2);
    EXPECT_GE(adjusted_rand_index(truth, r.labels), 0.99) << per_ring;
    KMeansOptions kmeans_options;
    kmeans_options.k = 2;
    EXPECT_LT(adjusted_rand_index(truth, kmeans(x, kmeans_options).labels), 0.2) << per_ring;
    // The leading eigenvalue is the trivial 1 and the values descend.
    ASSERT_EQ(r.eigenvalues.size(), 3u);
    EXPECT_NEAR(r.eigenvalues[0], 1.0, 1e-6);
    EXPECT_GE(r.eigenvalues[0], r.eigenvalues[1] - 1e-9);
    EXPECT_GE(r.eigenvalues[1], r.eigenvalues[2] - 1e-9);
    // The clustered rows have unit length.
    for (std::size_t i = 0; i < x.rows; i += 97)
      EXPECT_NEAR(std::hypot(r.embedding.at(i, 0), r.embedding.at(i, 1), r.embedding.at(i, 2)), 1.0, 1e-4);
  }
}

TEST(Spectral, RecoversBlobsInManyDimensions) {
  std::vector<int> truth;
  const FloatMatrix x = testing::gaussian_blobs(6, 120, 20, 1.0, 8.0, 21, &truth);
  SpectralOptions options;
  options.k = 6;
  const SpectralResult r = spectral_clustering(x, options);
  EXPECT_GE(adjusted_rand_index(truth, r.labels), 0.98);
  // Sizes match the labels, largest first.
  ASSERT_EQ(r.sizes.size(), 6u);
  std::vector<std::size_t> counted(6, 0);
  for (int l : r.labels) ++counted[static_cast<std::size_t>(l)];
  EXPECT_EQ(counted, r.sizes);
  for (std::size_t c = 1; c < r.sizes.size(); ++c) EXPECT_GE(r.sizes[c - 1], r.sizes[c]);
}

TEST(Spectral, CountsComponentsOfTheGraph) {
  // Three blobs far apart: the 10-neighbour graph has three components. Unregularised, the
  // eigenvalue 1 would repeat three times; the regularised graph is connected, its eigenvalue 1
  // is simple and the two next (one per further component) stand well clear of the rest.
  std::vector<int> truth;
  const FloatMatrix x = testing::gaussian_blobs(3, 200, 5, 0.5, 100.0, 8, &truth);
  SpectralOptions options;
  options.k = 3;
  const SpectralResult r = spectral_clustering(x, options);
  EXPECT_EQ(r.components, 3u);
  ASSERT_EQ(r.eigenvalues.size(), 4u);
  EXPECT_NEAR(r.eigenvalues[0], 1.0, 1e-6);
  EXPECT_LT(r.eigenvalues[1], 1.0 - 1e-3);
  EXPECT_GT(r.eigenvalues[2], r.eigenvalues[3] + 0.1);
  EXPECT_GE(adjusted_rand_index(truth, r.labels), 0.99);
  // Without regularisation on the same blobs the 3 x 200 points still split, by the dense solver.
  std::vector<int> small_truth;
  const FloatMatrix blobs = testing::gaussian_blobs(3, 50, 5, 0.5, 100.0, 8, &small_truth);
  options.regularisation = 0.0;
  const SpectralResult plain = spectral_clustering(blobs, options);
  EXPECT_NEAR(plain.eigenvalues[2], 1.0, 1e-6);
  EXPECT_GE(adjusted_rand_index(small_truth, plain.labels), 0.99);
}

TEST(Spectral, ThreadCountDoesNotChangeTheResult) {
  std::vector<int> truth;
  const FloatMatrix x = testing::gaussian_blobs(5, 150, 10, 2.0, 5.0, 13, &truth);
  SpectralOptions options;
  options.k = 5;
  options.num_threads = 1;
  const SpectralResult one = spectral_clustering(x, options);
  options.num_threads = 2;
  const SpectralResult two = spectral_clustering(x, options);
  EXPECT_EQ(one.labels, two.labels);
  EXPECT_EQ(one.embedding.values, two.embedding.values);
}

TEST(Spectral, SmallInputsAndBadOptions) {
  FloatMatrix three(3, 2);
  for (std::size_t i = 0; i < 3; ++i) three.at(i, 0) = static_cast<float>(i);
  SpectralOptions options;
  options.k = 5;  // more clusters than points: each point its own
  SpectralResult r = spectral_clustering(three, options);
  EXPECT_EQ(r.k, 3);
  EXPECT_EQ(r.labels, (std::vector<int>{0, 1, 2}));
  options.k = 1;
  r = spectral_clustering(three, options);
  EXPECT_EQ(r.labels, (std::vector<int>{0, 0, 0}));
  EXPECT_TRUE(spectral_clustering(FloatMatrix(0, 2), options).labels.empty());
  options.k = 0;
  EXPECT_THROW(spectral_clustering(three, options), std::invalid_argument);
  options.k = 2;
  options.neighbours = 1;
  EXPECT_THROW(spectral_clustering(three, options), std::invalid_argument);
  options.neighbours = 10;
  options.restarts = 0;
  EXPECT_THROW(spectral_clustering(three, options), std::invalid_argument);
}

}  // namespace
}  // namespace photoatlas::cluster
