#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "label/cluster_names.h"
#include "test_support.h"

namespace photoatlas::label {
namespace {

// n copies of a label.
void add(std::vector<int>& clusters, std::vector<std::string>& cats, int cluster, const std::string& cat, int n) {
  for (int i = 0; i < n; ++i) {
    clusters.push_back(cluster);
    cats.push_back(cat);
  }
}

TEST(ClusterNames, DominantPairAndMixed) {
  std::vector<int> clusters;
  std::vector<std::string> cats;
  add(clusters, cats, 0, "Food", 8);  // 80% Food
  add(clusters, cats, 0, "Coffee", 2);
  add(clusters, cats, 1, "Food", 5);  // 50% + 40%: a pair
  add(clusters, cats, 1, "Coffee", 4);
  add(clusters, cats, 1, "Books", 1);
  add(clusters, cats, 2, "Food", 8);  // 40% + 25% = 65% < pair_share: no rule applies
  add(clusters, cats, 2, "Nature", 5);
  add(clusters, cats, 2, "Books", 4);
  add(clusters, cats, 2, "Coffee", 3);
  add(clusters, cats, 3, "Food", 6);  // 60% exactly: the single-share threshold is inclusive
  add(clusters, cats, 3, "Books", 4);
  const auto names = name_clusters(clusters, cats);
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].name, "Food");
  EXPECT_EQ(names[1].name, "Food · Coffee");
  EXPECT_EQ(names[2].name, "Mixed");
  EXPECT_EQ(names[3].name, "Food");
  EXPECT_EQ(names[1].size, 10u);
  ASSERT_EQ(names[2].top.size(), 3u);
  EXPECT_EQ(names[2].top[0], (std::pair<std::string, double>{"Food", 0.4}));
  EXPECT_EQ(names[2].top[1], (std::pair<std::string, double>{"Nature", 0.25}));
  EXPECT_EQ(names[2].top[2], (std::pair<std::string, double>{"Books", 0.2}));
  EXPECT_EQ(names[2].size, 20u);
}

TEST(ClusterNames, SecondLabelTooSmallForAPair) {
  // 55% + 15% + 15% + 15%: the first two reach 70% but the second is below second_min_share.
  std::vector<int> clusters;
  std::vector<std::string> cats;
  add(clusters, cats, 0, "Food", 11);
  add(clusters, cats, 0, "Coffee", 3);
  add(clusters, cats, 0, "Books", 3);
  add(clusters, cats, 0, "Nature", 3);
  EXPECT_EQ(name_clusters(clusters, cats)[0].name, "Mixed");
  ClusterNamingOptions loose;
  loose.second_min_share = 0.1;
  EXPECT_EQ(name_clusters(clusters, cats, {}, loose)[0].name, "Food · Books");  // 15% ties: name order
}

TEST(ClusterNames, MiscClustersAreNamedByTheirClasses) {
  const std::vector<int> clusters = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2};
  const std::vector<std::string> cats = {"Misc", "Misc", "Misc", "Misc", "Misc", "Misc", "Misc", "Misc", "Food", "Food"};
  const std::vector<std::string> classes = {"golden_retriever", "golden_retriever", "golden_retriever", "tabby",
                                            "tench", "goldfish", "jay", "magpie", "pizza", "bagel"};
  const auto names = name_clusters(clusters, cats, classes);
  EXPECT_EQ(names[0].name, "golden retriever");  // 75% one class
  EXPECT_EQ(names[1].name, "Misc");             // no class dominates
  EXPECT_EQ(names[2].name, "Food");             // a real category is kept
  EXPECT_EQ(name_clusters(clusters, cats)[0].name, "Misc");  // without classes
}

TEST(ClusterNames, NoiseIgnoredGapsEmptyAndLengthChecks) {
  const std::vector<int> clusters = {-1, 0, 0, 2};
  const std::vector<std::string> cats = {"Books", "Food", "Food", "Nature"};
  const auto names = name_clusters(clusters, cats);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].name, "Food");
  EXPECT_EQ(names[0].size, 2u);
  EXPECT_EQ(names[1].name, "Empty");
  EXPECT_EQ(names[1].size, 0u);
  EXPECT_EQ(names[2].name, "Nature");
  EXPECT_TRUE(name_clusters({}, {}).empty());
  EXPECT_THROW(name_clusters({0, 1}, {"Food"}), std::invalid_argument);
  EXPECT_THROW(name_clusters({0}, {"Food"}, {"a", "b"}), std::invalid_argument);
}

// The exact medoid by brute force, for comparison.
std::ptrdiff_t brute_medoid(const FloatMatrix& x, const std::vector<int>& labels, int cluster) {
  std::ptrdiff_t best = -1;
  double best_cost = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < x.rows; ++i) {
    if (labels[i] != cluster) continue;
    double cost = 0.0;
    for (std::size_t j = 0; j < x.rows; ++j) {
      if (labels[j] != cluster) continue;
      double d2 = 0.0;
      for (std::size_t c = 0; c < x.cols; ++c) d2 += std::pow(double(x.at(i, c)) - x.at(j, c), 2);
      cost += std::sqrt(d2);
    }
    if (cost < best_cost) {
      best_cost = cost;
      best = static_cast<std::ptrdiff_t>(i);
    }
  }
  return best;
}

TEST(ClusterMedoids, HandWorkedLine) {
  // Points on a line: cluster 0 = {0, 1, 2, 10}: sums of distances 13, 11, 11, 27 -> the tie goes to
  // index 1; cluster 1 = {100, 101, 103}: sums 4, 3, 5 -> the point at 101.
  FloatMatrix x(7, 1);
  const float v[] = {0, 100, 1, 101, 2, 103, 10};
  for (std::size_t i = 0; i < 7; ++i) x.at(i, 0) = v[i];
  const std::vector<int> labels = {0, 1, 0, 1, 0, 1, 0};
  const auto medoids = cluster_medoids(x, labels);
  EXPECT_EQ(medoids, (std::vector<std::ptrdiff_t>{2, 3}));
}

TEST(ClusterMedoids, MatchesBruteForceAndMarksEmptyClusters) {
  std::vector<int> labels;
  FloatMatrix x = testing::gaussian_blobs(3, 60, 16, 1.0, 5.0, 11, &labels);
  for (int& l : labels) l = l == 2 ? 3 : l;  // cluster 2 has no member
  for (int threads : {1, 3}) {
    MedoidOptions o;
    o.num_threads = threads;
    const auto medoids = cluster_medoids(x, labels, o);
    ASSERT_EQ(medoids.size(), 4u);
    EXPECT_EQ(medoids[2], -1);
    for (int c : {0, 1, 3}) EXPECT_EQ(medoids[c], brute_medoid(x, labels, c)) << c;
  }
  EXPECT_THROW(cluster_medoids(x, std::vector<int>(3, 0)), std::invalid_argument);
}

TEST(ClusterMedoids, LargeClustersUseTheSampledSearch) {
  // One 3000-point blob: beyond exact_limit, candidates near the mean are scored on a sample.
  // The result must be a member whose true cost is within 1% of the exact medoid's.
  std::vector<int> labels;
  FloatMatrix x = testing::gaussian_blobs(1, 3000, 8, 1.0, 0.0, 5, &labels);
  MedoidOptions o;
  o.exact_limit = 500;
  o.candidates = 50;
  o.references = 500;
  const auto approx = cluster_medoids(x, labels, o);
  ASSERT_EQ(approx.size(), 1u);
  ASSERT_GE(approx[0], 0);
  auto cost = [&](std::size_t i) {
    double s = 0.0;
    for (std::size_t j = 0; j < x.rows; ++j) {
      double d2 = 0.0;
      for (std::size_t c = 0; c < x.cols; ++c) d2 += std::pow(double(x.at(i, c)) - x.at(j, c), 2);
      s += std::sqrt(d2);
    }
    return s;
  };
  const double exact = cost(static_cast<std::size_t>(brute_medoid(x, labels, 0)));
  EXPECT_LE(cost(static_cast<std::size_t>(approx[0])), exact * 1.01);
  EXPECT_EQ(cluster_medoids(x, labels, o), approx);  // seeded: the same answer again
}

}  // namespace
}  // namespace photoatlas::label

TEST(ClusterNamesByTags, DominantHashtagsNameTheCluster) {
  const std::vector<int> labels = {0, 0, 0, 0, 1, 1, 1, 2};
  const std::vector<std::vector<std::string>> tags = {
      {"coffee", "latte", "coffee"}, {"coffee"}, {"coffee", "latte"}, {}, {"bike"}, {"bike", "alps"}, {"alps"}, {}};
  const auto names = photoatlas::label::name_clusters_by_tags(labels, tags);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].name, "#coffee · #latte");  // 3 of 4 and 2 of 4
  EXPECT_DOUBLE_EQ(names[0].top[0].second, 0.75);  // a tag repeated in one caption counts once
  EXPECT_EQ(names[1].name, "#alps · #bike");       // ties keep name order
  EXPECT_EQ(names[2].name, "");                    // nothing to go by
  EXPECT_EQ(names[2].size, 1u);
  EXPECT_THROW(photoatlas::label::name_clusters_by_tags({0, 1}, {{}}), std::invalid_argument);
}

TEST(ClusterNamesByTags, ObjectLabelsGoWithoutAHashAndNeedTheirShare) {
  // The pipeline names clusters by dominant object labels (COCO) with no prefix and a 30% share.
  const std::vector<int> labels = {0, 0, 0, 1, 1, 1, 1};
  const std::vector<std::vector<std::string>> objects = {
      {"bicycle", "person"}, {"bicycle"}, {"person", "bicycle"}, {"cup"}, {}, {}, {}};
  const auto names = photoatlas::label::name_clusters_by_tags(labels, objects, 0.3, "");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].name, "bicycle · person");
  EXPECT_EQ(names[1].name, "");  // one cup in four photos is not enough
}
