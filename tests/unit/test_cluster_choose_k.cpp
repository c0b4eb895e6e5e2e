#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>

#include "cluster/choose_k.h"
#include "test_support.h"

namespace photoatlas::cluster {
namespace {

void print_curve(const char* what, const ChooseKResult& r) {
  std::cout << what << ": best k = " << r.best_k << "; silhouette by k:";
  for (const auto& s : r.curve) std::cout << " " << s.k << ":" << std::fixed << std::setprecision(3) << s.silhouette;
  std::cout << "\n";
}

// Blobs with centres in a box 10x wider than their spread (16 dimensions): well separated.
void expect_chosen(int clusters, std::uint64_t seed) {
  FloatMatrix x = testing::gaussian_blobs(clusters, 150, 16, 1.0, 10.0, seed, nullptr);
  ChooseKOptions o;
  o.k_max = 12;
  o.seed = 3;
  const auto start = std::chrono::steady_clock::now();
  const ChooseKResult r = choose_k(x, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_curve(("blobs(" + std::to_string(clusters) + ")").c_str(), r);
  std::cout << "  " << s << " s\n";
  EXPECT_EQ(r.best_k, clusters);
  ASSERT_EQ(r.curve.size(), 11u);
  for (std::size_t i = 0; i < r.curve.size(); ++i) {
    EXPECT_EQ(r.curve[i].k, 2 + static_cast<int>(i));
    EXPECT_GE(r.curve[i].silhouette, -1.0);
    EXPECT_LE(r.curve[i].silhouette, 1.0);
  }
  // Well separated: the right k scores high, and splitting a blob (k + 1) costs visibly.
  const double at_k = r.curve[clusters - 2].silhouette;
  EXPECT_GT(at_k, 0.6);
  EXPECT_LT(r.curve[clusters - 1].silhouette, at_k - 0.05);
}

TEST(ChooseK, FindsFourBlobs) { expect_chosen(4, 21); }
TEST(ChooseK, FindsSevenBlobs) { expect_chosen(7, 42); }

TEST(ChooseK, SampledSilhouetteAndSubsampledFitStillFindTheBlobs) {
  // 5 blobs of 1200 points; the silhouette sees 500 of them and K-Means is fitted on 2000.
  FloatMatrix x = testing::gaussian_blobs(5, 1200, 8, 1.0, 10.0, 7, nullptr);
  ChooseKOptions o;
  o.k_max = 9;
  o.sample = 500;
  o.fit_sample = 2000;
  const ChooseKResult r = choose_k(x, o);
  print_curve("blobs(5) sampled", r);
  EXPECT_EQ(r.best_k, 5);
  // Deterministic for a seed, whatever the thread count.
  ChooseKOptions one = o;
  one.num_threads = 1;
  const ChooseKResult again = choose_k(x, one);
  ASSERT_EQ(again.curve.size(), r.curve.size());
  for (std::size_t i = 0; i < r.curve.size(); ++i) EXPECT_EQ(again.curve[i].silhouette, r.curve[i].silhouette);
}

TEST(ChooseK, ProgressAndEdgeCases) {
  FloatMatrix x = testing::gaussian_blobs(3, 20, 4, 1.0, 10.0, 1, nullptr);
  ChooseKOptions o;
  o.k_max = 5;
  std::vector<std::size_t> done;
  choose_k(x, o, [&](std::size_t d, std::size_t total) {
    EXPECT_EQ(total, 4u);
    done.push_back(d);
  });
  EXPECT_EQ(done, (std::vector<std::size_t>{1, 2, 3, 4}));

  EXPECT_EQ(choose_k(FloatMatrix(), o).best_k, 0);
  EXPECT_EQ(choose_k(FloatMatrix(2, 3), o).best_k, 2);
  // Four points: k is clipped to 3 (the silhouette needs a cluster with two members).
  FloatMatrix four(4, 1);
  const float v[] = {0, 0.1f, 10, 10.1f};
  for (std::size_t i = 0; i < 4; ++i) four.at(i, 0) = v[i];
  const ChooseKResult small = choose_k(four, o);
  ASSERT_EQ(small.curve.size(), 2u);
  EXPECT_EQ(small.best_k, 2);

  ChooseKOptions bad = o;
  bad.k_min = 1;
  EXPECT_THROW(choose_k(x, bad), std::invalid_argument);
  bad = o;
  bad.k_max = 1;
  EXPECT_THROW(choose_k(x, bad), std::invalid_argument);
  bad = o;
  bad.restarts = 0;
  EXPECT_THROW(choose_k(x, bad), std::invalid_argument);
}

TEST(Silhouette, HandWorkedExample) {
  // 1-D points {0, 2} in cluster 0 and {10} in cluster 1:
  // s(0) = (b - a) / max = (10 - 2) / 10 = 0.8; s(2) = (8 - 2) / 8 = 0.75; s(10) = 0 (alone).
  FloatMatrix x(3, 1);
  x.at(0, 0) = 0;
  x.at(1, 0) = 2;
  x.at(2, 0) = 10;
  EXPECT_NEAR(silhouette_score(x, {0, 0, 1}), (0.8 + 0.75 + 0.0) / 3.0, 1e-9);
  EXPECT_EQ(silhouette_score(x, {0, 0, 0}), 0.0);  // one cluster
  EXPECT_THROW(silhouette_score(x, {0, 1}), std::invalid_argument);
}

}  // namespace
}  // namespace photoatlas::cluster
