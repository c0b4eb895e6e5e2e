// Private to src/cluster: the two halves of a Lloyd iteration, kept apart so that a faster assignment
// engine (BLAS, triangle-inequality bounds) can replace assign_labels without touching the update.
#pragma once

#include <cstddef>
#include <vector>

#include "core/matrix.h"

namespace photoatlas::cluster::detail {

// E-step. labels[i] becomes the nearest centroid (ties towards the smaller index) and distances[i]
// the squared distance to it. Returns how many labels changed. Deterministic for any thread count.
std::size_t assign_labels(const FloatMatrix& data, const std::vector<double>& data_norms, const FloatMatrix& centroids,
                          std::vector<int>& labels, std::vector<double>& distances, int num_threads);

// Sufficient statistics of a labelling, in double.
struct ClusterSums {
  std::size_t dims = 0;
  std::vector<double> sums;          // k x dims: sum of member rows
  std::vector<std::size_t> counts;   // members per cluster
  std::vector<double> sq_norms;      // sum of members' squared norms (gives the inertia for free)

  // Within-cluster sum of squares about the means: sum_c (sq_norms_c - ||sums_c||^2 / counts_c).
  double inertia() const;
  // The means as a k x dims matrix. Clusters must be non-empty.
  FloatMatrix means() const;
};

// M-step statistics. Threads accumulate private partial sums over contiguous chunks which are then
// added in thread order, so the result is deterministic for a given thread count.
ClusterSums accumulate_clusters(const FloatMatrix& data, const std::vector<double>& data_norms,
                                const std::vector<int>& labels, std::size_t k, int num_threads);

// Gives every empty cluster a member: the points farthest from their centroid (by `distances`, ties
// towards the smaller index) move into the empty clusters, taken only from clusters that keep at least
// one member, so no cluster is empty afterwards as long as there are at least k points.
// Updates labels and sums; returns the number of points moved.
std::size_t relocate_empty_clusters(const FloatMatrix& data, const std::vector<double>& data_norms,
                                    const std::vector<double>& distances, std::vector<int>& labels, ClusterSums& sums);

// Sum of squared distances of each point to its labelled centroid, computed directly from the
// differences (no norm-expansion cancellation), threads reduced in order.
double exact_inertia(const FloatMatrix& data, const std::vector<int>& labels, const FloatMatrix& centroids,
                     int num_threads);

}  // namespace photoatlas::cluster::detail
