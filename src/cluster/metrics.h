// Agreement between labelings and neighbourhood quality: used by tests, benchmarks and the CLI summary.
#pragma once

#include <vector>

#include "core/matrix.h"

namespace photoatlas::cluster {

// Both agreement scores take arbitrary int labels, are symmetric, and throw std::invalid_argument when the
// labelings differ in length. Edge cases follow scikit-learn: identical partitions score 1 (two empty
// labelings, or both with a single cluster, included).

// Adjusted Rand index (Hubert & Arabie 1985) between two labelings of the same points.
double adjusted_rand_index(const std::vector<int>& a, const std::vector<int>& b);

// Normalized mutual information with the arithmetic-mean normalisation (scikit-learn's default).
double normalized_mutual_info(const std::vector<int>& a, const std::vector<int>& b);

// Fraction of points whose k nearest neighbours (Euclidean, excluding itself) vote for their own label
// (majority vote, ties broken towards the smallest label). Exact search; fine for N up to ~50k.
// k is clipped to N - 1; fewer than two points give 0. Throws std::invalid_argument when labels and
// points differ in count or k < 1.
double knn_label_accuracy(const FloatMatrix& points, const std::vector<int>& labels, int k = 10, int num_threads = 0);

}  // namespace photoatlas::cluster
