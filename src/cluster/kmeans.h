// K-Means clustering (k-means++ seeding, several restarts, Lloyd iterations).
#pragma once

#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "core/progress.h"

namespace photoatlas::cluster {

struct KMeansOptions {
  int k = 10;                  // number of clusters (the study: 10); clipped to the number of points
  int restarts = 10;           // independent k-means++ initialisations; the best inertia is kept
  int max_iterations = 300;    // Lloyd iterations per restart
  double tolerance = 1e-4;     // stop when relative inertia change falls below this
  std::uint64_t seed = 0;      // seeds every restart (restart r uses derive_seed(seed, r))
  int num_threads = 0;         // 0 = all cores
};

struct Clustering {
  std::vector<int> labels;               // per point, in [0, k)
  int k = 0;
  FloatMatrix centroids;                 // k x dims
  double inertia = 0.0;                  // sum of squared distances to the assigned centroid
  int iterations = 0;                    // Lloyd iterations of the kept restart
  std::vector<double> inertia_history;   // per iteration of the kept restart
  std::vector<std::size_t> sizes;        // points per cluster
};

// Labels are ordered by cluster size, largest first (ties: the cluster whose first member comes first),
// so label 0 is always the biggest group in legends. No cluster is empty (k is clipped to the number of
// points; empty clusters are re-seeded during the iterations). The centroids are the means of the returned labels' members and `inertia` is computed for
// exactly that (labels, centroids) pair. Deterministic for a given seed and num_threads.
// Empty data gives an empty result (k = 0). Throws std::invalid_argument for k, restarts or
// max_iterations below 1 or a negative tolerance. progress(r, restarts) after each restart r.
Clustering kmeans(const FloatMatrix& data, const KMeansOptions& options, const ProgressCallback& progress = {});

}  // namespace photoatlas::cluster
