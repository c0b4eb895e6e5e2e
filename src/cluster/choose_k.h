// Automatic choice of k for K-Means: the silhouette score of a K-Means solution per k, on a sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "core/progress.h"

namespace photoatlas::cluster {

struct ChooseKOptions {
  int k_min = 2;                  // smallest k tried (the silhouette needs at least 2 clusters)
  int k_max = 30;                 // largest k tried; clipped to (points in the sample) - 1
  std::size_t sample = 2000;      // points the silhouette is computed on (all pairwise distances, exact)
  std::size_t fit_sample = 20000; // points K-Means is fitted on per k (0 = all); the sample above is drawn from them
  int restarts = 3;               // K-Means restarts per k (fewer than a final run: only the score's ranking matters)
  int max_iterations = 100;       // Lloyd iterations per restart
  std::uint64_t seed = 0;         // seeds the samples and every K-Means run
  int num_threads = 0;            // 0 = all cores
};

struct KScore {
  int k = 0;
  double silhouette = 0.0;  // mean silhouette of the sampled points, in [-1, 1]
  double inertia = 0.0;     // K-Means inertia on the fitted points (for the curve printed to the user)
};

struct ChooseKResult {
  int best_k = 0;              // the k of the highest silhouette (ties: the smaller k)
  std::vector<KScore> curve;   // one entry per k tried, increasing k
};

// Fits K-Means for each k in [k_min, k_max] and scores it with the mean silhouette coefficient
// (Rousseeuw 1987) over a random sample. Deterministic for a given seed and num_threads.
// When no k can be scored the curve is empty: fewer than 3 points give best_k = the number of points,
// a sample too small for k_min (k_min > points - 1) gives best_k = min(k_min, points).
// Throws std::invalid_argument for k_min < 2, k_max < k_min, sample < 3 or restarts < 1.
// progress(i, n) after each of the n values of k.
ChooseKResult choose_k(const FloatMatrix& data, const ChooseKOptions& options, const ProgressCallback& progress = {});

// Mean silhouette coefficient of `labels` over all points of `data`, with exact Euclidean distances
// (O(n^2 d): meant for samples). A point alone in its cluster scores 0 (as in scikit-learn); fewer than
// two distinct labels give 0. Throws std::invalid_argument when labels and rows differ in count.
double silhouette_score(const FloatMatrix& data, const std::vector<int>& labels, int num_threads = 0);

}  // namespace photoatlas::cluster
