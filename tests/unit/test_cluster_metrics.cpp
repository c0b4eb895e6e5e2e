#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "cluster/metrics.h"
#include "core/rng.h"
#include "test_support.h"

namespace photoatlas::cluster {
namespace {

std::vector<int> random_labels(std::size_t n, int k, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<int> out(n);
  for (int& l : out) l = static_cast<int>(uniform01(rng) * k);
  return out;
}

// Worked example. a = [0,0,1,1], b = [0,0,1,2], n = 4, C(4,2) = 6 pairs.
// Contingency cells: (0,0)=2, (1,1)=1, (1,2)=1; row sizes a: 2,2; column sizes b: 2,1,1.
// ARI: index = sum C(n_ij,2) = 1; sum C(a_i,2) = 2; sum C(b_j,2) = 1;
//      expected = 2*1/6 = 1/3; max = (2+1)/2 = 3/2; ARI = (1 - 1/3) / (3/2 - 1/3) = (2/3)/(7/6) = 4/7.
// NMI: H(a) = ln 2; H(b) = -(1/2 ln 1/2 + 2 * 1/4 ln 1/4) = 3/2 ln 2;
//      MI = sum p_ij ln(p_ij / (p_i p_j)) = 1/2 ln((1/2)/(1/2*1/2)) + 2 * 1/4 ln((1/4)/(1/2*1/4)) = ln 2;
//      NMI = ln 2 / ((ln 2 + 3/2 ln 2) / 2) = 1 / 1.25 = 0.8.
TEST(Metrics, WorkedExampleFourPoints) {
  const std::vector<int> a = {0, 0, 1, 1}, b = {0, 0, 1, 2};
  EXPECT_NEAR(adjusted_rand_index(a, b), 4.0 / 7.0, 1e-12);
  EXPECT_NEAR(adjusted_rand_index(a, b), 0.5714285714, 1e-10);
  EXPECT_NEAR(normalized_mutual_info(a, b), 0.8, 1e-12);
}

// a = [0,0,0,1,1,1], b = [0,0,1,1,2,2], n = 6, C(6,2) = 15.
// Cells: (0,0)=2, (0,1)=1, (1,1)=1, (1,2)=2. index = 1+0+0+1 = 2; sum C(a_i,2) = 3+3 = 6;
// sum C(b_j,2) = 1+1+1 = 3; expected = 6*3/15 = 6/5; max = 9/2; ARI = (2 - 6/5)/(9/2 - 6/5) = 8/33.
// H(a) = ln 2, H(b) = ln 3. MI: cells (0,0) and (1,2) give 1/3 ln((1/3)/(1/2*1/3)) = 1/3 ln 2 each, the
// other two 1/6 ln((1/6)/(1/2*1/3)) = 0, so MI = 2/3 ln 2 and NMI = (2/3 ln 2) / ((ln 2 + ln 3)/2) = 4 ln 2 / (3 ln 6).
TEST(Metrics, WorkedExampleSixPoints) {
  const std::vector<int> a = {0, 0, 0, 1, 1, 1}, b = {0, 0, 1, 1, 2, 2};
  EXPECT_NEAR(adjusted_rand_index(a, b), 8.0 / 33.0, 1e-12);
  EXPECT_NEAR(normalized_mutual_info(a, b), 4.0 * std::log(2.0) / (3.0 * std::log(6.0)), 1e-12);
}

// a = [0,0,1,1], b = [0,1,0,1]: every cell holds 1, so MI = 0 exactly (p_ij = p_i p_j).
// ARI: index = 0, sums 2 and 2, expected = 4/6, max = 2: (0 - 2/3)/(2 - 2/3) = -1/2 (worse than chance).
TEST(Metrics, ExactlyIndependentSmallExample) {
  const std::vector<int> a = {0, 0, 1, 1}, b = {0, 1, 0, 1};
  EXPECT_NEAR(adjusted_rand_index(a, b), -0.5, 1e-12);
  EXPECT_EQ(normalized_mutual_info(a, b), 0.0);
}

TEST(Metrics, IdenticalLabelingsScoreOne) {
  const std::vector<int> a = random_labels(1000, 7, 1);
  EXPECT_EQ(adjusted_rand_index(a, a), 1.0);
  EXPECT_NEAR(normalized_mutual_info(a, a), 1.0, 1e-12);
}

TEST(Metrics, InvariantToRenamingAndArgumentOrder) {
  const std::vector<int> a = random_labels(500, 5, 2);
  std::vector<int> b = random_labels(500, 4, 3);
  for (std::size_t i = 0; i < 200; ++i) b[i] = a[i] % 4;  // some agreement, so the values are not ~0
  // Any injective renaming, including negative and sparse label values.
  const std::vector<int> rename = {17, -1, 3, 1000};
  std::vector<int> b_renamed(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) b_renamed[i] = rename[b[i]];

  const double ari = adjusted_rand_index(a, b), nmi = normalized_mutual_info(a, b);
  EXPECT_GT(ari, 0.05);
  EXPECT_GT(nmi, 0.05);
  EXPECT_NEAR(adjusted_rand_index(a, b_renamed), ari, 1e-12);
  EXPECT_NEAR(normalized_mutual_info(a, b_renamed), nmi, 1e-12);
  EXPECT_NEAR(adjusted_rand_index(b, a), ari, 1e-12);
  EXPECT_NEAR(normalized_mutual_info(b, a), nmi, 1e-12);
  EXPECT_EQ(adjusted_rand_index(b, b_renamed), 1.0);
}

TEST(Metrics, IndependentLabelingsScoreAboutZero) {
  const std::vector<int> a = random_labels(20000, 5, 4), b = random_labels(20000, 5, 5);
  EXPECT_NEAR(adjusted_rand_index(a, b), 0.0, 0.005);
  EXPECT_NEAR(normalized_mutual_info(a, b), 0.0, 0.005);
}

TEST(Metrics, SingleClusterEdgeCasesFollowScikitLearn) {
  const std::vector<int> one = {3, 3, 3, 3}, two = {0, 0, 1, 1};
  EXPECT_EQ(normalized_mutual_info(one, one), 1.0);
  EXPECT_EQ(adjusted_rand_index(one, one), 1.0);
  EXPECT_EQ(normalized_mutual_info(one, two), 0.0);
  EXPECT_EQ(normalized_mutual_info(two, one), 0.0);
  // index = 2, sums 6 and 2, expected = 6*2/6 = 2, max = 4: ARI = 0.
  EXPECT_NEAR(adjusted_rand_index(one, two), 0.0, 1e-12);
  // Every point its own cluster in both: identical partitions.
  EXPECT_EQ(adjusted_rand_index({0, 1, 2}, {5, 6, 7}), 1.0);
  EXPECT_EQ(normalized_mutual_info({}, {}), 1.0);
  EXPECT_EQ(adjusted_rand_index({}, {}), 1.0);
  EXPECT_THROW(adjusted_rand_index({0, 1}, {0}), std::invalid_argument);
  EXPECT_THROW(normalized_mutual_info({0, 1}, {0}), std::invalid_argument);
}

TEST(Metrics, KnnAccuracyOnSeparatedBlobs) {
  std::vector<int> truth;
  // 750 points: more than one 512-point reference block and not a multiple of the 4-row tile.
  const FloatMatrix data = photoatlas::testing::gaussian_blobs(3, 250, 5, 0.5, 10.0, 6, &truth);
  EXPECT_EQ(knn_label_accuracy(data, truth, 10, 2), 1.0);

  // A mislabelled point is outvoted by its true neighbours, and is the only miss.
  std::vector<int> noisy = truth;
  noisy[10] = 2;
  EXPECT_NEAR(knn_label_accuracy(data, noisy, 5, 3), 749.0 / 750.0, 1e-12);
}

TEST(Metrics, KnnTiesGoToTheSmallestLabel) {
  // On a line: A=0 (label 5), B=1 (label 2), C=-1.5 (label 5), k = 2.
  // A's neighbours B, C vote {2, 5}: tie -> 2, a miss. B's are A, C -> 5, a miss.
  // C's are A, B -> tie -> 2, a miss. With ties towards the larger label A and C would hit.
  FloatMatrix points(3, 1);
  points.values = {0.0f, 1.0f, -1.5f};
  EXPECT_EQ(knn_label_accuracy(points, {5, 2, 5}, 2, 1), 0.0);
  // k beyond n - 1 is clipped; all three points vote among the other two.
  EXPECT_EQ(knn_label_accuracy(points, {5, 2, 5}, 50, 1), 0.0);
}

TEST(Metrics, KnnMatchesBruteForceAndThreadCount) {
  const std::size_t n = 301, d = 3;
  Rng rng(12);
  FloatMatrix points(n, d);
  for (float& v : points.values) v = static_cast<float>(uniform01(rng));
  const std::vector<int> labels = random_labels(n, 3, 13);
  const int k = 7;

  std::size_t hits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, std::size_t>> all;
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double s = 0.0;
      for (std::size_t t = 0; t < d; ++t) s += std::pow(static_cast<double>(points.at(i, t)) - points.at(j, t), 2);
      all.emplace_back(s, j);
    }
    std::sort(all.begin(), all.end());
    std::vector<int> votes(3, 0);
    for (int m = 0; m < k; ++m) ++votes[labels[all[m].second]];
    const int winner = static_cast<int>(std::max_element(votes.begin(), votes.end()) - votes.begin());
    hits += winner == labels[i];
  }
  const double expected = static_cast<double>(hits) / n;
  EXPECT_NEAR(knn_label_accuracy(points, labels, k, 1), expected, 1e-12);
  EXPECT_NEAR(knn_label_accuracy(points, labels, k, 4), expected, 1e-12);
}

TEST(Metrics, KnnDegenerateInputs) {
  EXPECT_EQ(knn_label_accuracy(FloatMatrix(0, 2), {}, 10, 1), 0.0);
  EXPECT_EQ(knn_label_accuracy(FloatMatrix(1, 2), {0}, 10, 1), 0.0);
  EXPECT_THROW(knn_label_accuracy(FloatMatrix(2, 2), {0}, 10, 1), std::invalid_argument);
  EXPECT_THROW(knn_label_accuracy(FloatMatrix(2, 2), {0, 1}, 0, 1), std::invalid_argument);
}

}  // namespace
}  // namespace photoatlas::cluster
