#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "cluster/hdbscan.h"
#include "cluster/metrics.h"
#include "core/rng.h"

namespace photoatlas::cluster {
namespace {

// Four tight blobs at the corners of a square (truth 0..3), then `noise` points uniform over a
// larger square (truth -1).
FloatMatrix blobs_with_noise(std::size_t per_blob, std::size_t noise, std::uint64_t seed, std::vector<int>& truth) {
  const double centres[4][2] = {{0, 0}, {10, 0}, {0, 10}, {10, 10}};
  Rng rng(seed);
  FloatMatrix x(4 * per_blob + noise, 2);
  truth.clear();
  std::size_t r = 0;
  for (int c = 0; c < 4; ++c)
    for (std::size_t p = 0; p < per_blob; ++p, ++r) {
      x.at(r, 0) = static_cast<float>(centres[c][0] + 0.5 * standard_normal(rng));
      x.at(r, 1) = static_cast<float>(centres[c][1] + 0.5 * standard_normal(rng));
      truth.push_back(c);
    }
  for (std::size_t p = 0; p < noise; ++p, ++r) {
    x.at(r, 0) = static_cast<float>(-5.0 + 20.0 * uniform01(rng));
    x.at(r, 1) = static_cast<float>(-5.0 + 20.0 * uniform01(rng));
    truth.push_back(-1);
  }
  return x;
}

// Distance from (x, y) to the nearest blob centre.
double to_nearest_centre(float x, float y) {
  double best = 1e9;
  for (double cx : {0.0, 10.0})
    for (double cy : {0.0, 10.0}) best = std::min(best, std::hypot(x - cx, y - cy));
  return best;
}

TEST(Hdbscan, RecoversBlobsAndLabelsNoise) {
  std::vector<int> truth;
  const FloatMatrix x = blobs_with_noise(150, 80, 3, truth);
  HdbscanOptions options;
  options.min_cluster_size = 15;
  options.num_threads = 2;
  const HdbscanResult r = hdbscan(x, options);
  ASSERT_EQ(r.labels.size(), x.rows);
  EXPECT_EQ(r.clusters, 4);
  // The blob points: the same partition as the truth.
  std::vector<int> blob_truth(truth.begin(), truth.begin() + 600), blob_found(r.labels.begin(), r.labels.begin() + 600);
  EXPECT_GE(adjusted_rand_index(blob_truth, blob_found), 0.95);
  // Scattered points well away from every blob are noise. Those nearer a blob are absorbed by it
  // before the blobs separate (HDBSCAN's own semantics: they fell out of a selected cluster, not noise).
  std::size_t far = 0, far_noise = 0, blob_noise = 0;
  for (std::size_t i = 600; i < x.rows; ++i)
    if (to_nearest_centre(x.at(i, 0), x.at(i, 1)) > 5.0) {
      ++far;
      far_noise += r.labels[i] == -1;
    }
  for (std::size_t i = 0; i < 600; ++i) blob_noise += r.labels[i] == -1;
  ASSERT_GT(far, 10u);
  EXPECT_GE(static_cast<double>(far_noise) / static_cast<double>(far), 0.95);
  EXPECT_LE(blob_noise, 6u);  // at most 1% of the blob points
  std::size_t noise = 0;
  for (int l : r.labels) noise += l == -1;
  EXPECT_EQ(noise, r.noise);
  EXPECT_GT(r.noise, 0u);
}

TEST(Hdbscan, FindsShapesKMeansCannot) {
  // Two interleaved half-moons: density-connected, not convex.
  Rng rng(11);
  FloatMatrix x(600, 2);
  std::vector<int> truth;
  for (std::size_t i = 0; i < 600; ++i) {
    const int moon = i < 300 ? 0 : 1;
    const double t = 3.14159265 * uniform01(rng);
    const double px = moon == 0 ? std::cos(t) : 1.0 - std::cos(t);
    const double py = moon == 0 ? std::sin(t) : 0.5 - std::sin(t);
    x.at(i, 0) = static_cast<float>(px + 0.05 * standard_normal(rng));
    x.at(i, 1) = static_cast<float>(py + 0.05 * standard_normal(rng));
    truth.push_back(moon);
  }
  HdbscanOptions options;
  options.min_cluster_size = 20;
  const HdbscanResult r = hdbscan(x, options);
  EXPECT_EQ(r.clusters, 2);
  std::vector<int> kept_truth, kept_found;
  for (std::size_t i = 0; i < x.rows; ++i)
    if (r.labels[i] >= 0) kept_truth.push_back(truth[i]), kept_found.push_back(r.labels[i]);
  EXPECT_GE(kept_found.size(), 540u);  // at most 10% noise
  EXPECT_GE(adjusted_rand_index(kept_truth, kept_found), 0.95);
}

TEST(Hdbscan, LabelsOrderedLargestFirstWithSizes) {
  std::vector<int> truth;
  FloatMatrix x = blobs_with_noise(100, 0, 5, truth);
  // Shrink the last blob to 40 points by moving 60 of them onto the first blob's region.
  Rng rng(2);
  for (std::size_t i = 300; i < 360; ++i) {
    x.at(i, 0) = static_cast<float>(0.5 * standard_normal(rng));
    x.at(i, 1) = static_cast<float>(0.5 * standard_normal(rng));
  }
  const HdbscanResult r = hdbscan(x, {});
  ASSERT_EQ(r.clusters, 4);
  ASSERT_EQ(r.sizes.size(), 4u);
  for (std::size_t c = 1; c < r.sizes.size(); ++c) EXPECT_GE(r.sizes[c - 1], r.sizes[c]);
  EXPECT_EQ(r.labels[0], 0);  // the first blob, now the biggest
  std::vector<std::size_t> counted(4, 0);
  for (int l : r.labels)
    if (l >= 0) ++counted[static_cast<std::size_t>(l)];
  EXPECT_EQ(counted, r.sizes);
  EXPECT_EQ(r.stability.size(), 4u);
}

TEST(Hdbscan, ThreadCountDoesNotChangeTheResult) {
  std::vector<int> truth;
  const FloatMatrix x = blobs_with_noise(80, 40, 9, truth);
  HdbscanOptions one, three;
  one.num_threads = 1;
  three.num_threads = 3;
  EXPECT_EQ(hdbscan(x, one).labels, hdbscan(x, three).labels);
}

TEST(Hdbscan, TooFewPointsAreAllNoise) {
  std::vector<int> truth;
  const FloatMatrix x = blobs_with_noise(3, 0, 1, truth);  // 12 points, min_cluster_size 15
  const HdbscanResult r = hdbscan(x, {});
  EXPECT_EQ(r.clusters, 0);
  EXPECT_EQ(r.noise, x.rows);
  for (int l : r.labels) EXPECT_EQ(l, -1);
  EXPECT_EQ(hdbscan(FloatMatrix(0, 2), {}).labels.size(), 0u);
}

TEST(Hdbscan, DuplicatePointsDoNotBreakIt) {
  std::vector<int> truth;
  FloatMatrix x = blobs_with_noise(50, 0, 4, truth);
  for (std::size_t i = 0; i < 30; ++i) x.at(i, 0) = x.at(i, 1) = 0.0f;  // 30 copies of one point
  const HdbscanResult r = hdbscan(x, {});
  EXPECT_GE(r.clusters, 4);
  for (double s : r.stability) EXPECT_TRUE(std::isfinite(s));
}

TEST(Hdbscan, IdenticalPointsAreOneGroupWhenTheRootMayBeSelected) {
  FloatMatrix x(40, 2);
  for (float& v : x.values) v = 3.0f;
  HdbscanOptions options;
  options.allow_single_cluster = true;
  const HdbscanResult r = hdbscan(x, options);
  EXPECT_EQ(r.clusters, 1);
  EXPECT_EQ(r.noise, 0u);
  for (double s : r.stability) EXPECT_TRUE(std::isfinite(s));
  // Without the root, no split ever separates two groups of 15: all noise, as in `hdbscan`.
  EXPECT_EQ(hdbscan(x, {}).noise, 40u);
}

TEST(Hdbscan, RejectsMeaninglessOptions) {
  const FloatMatrix x(10, 2);
  HdbscanOptions bad;
  bad.min_cluster_size = 1;
  EXPECT_THROW(hdbscan(x, bad), std::invalid_argument);
  bad.min_cluster_size = 5;
  bad.min_samples = -1;
  EXPECT_THROW(hdbscan(x, bad), std::invalid_argument);
}

}  // namespace
}  // namespace photoatlas::cluster
