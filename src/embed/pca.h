// PCA: projects feature rows onto their leading principal components.
#pragma once

#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "core/progress.h"

namespace photoatlas::embed {

enum class PcaSolver {
  Auto,        // Exact when min(rows, cols) <= exact_max_dim or components + oversampling >= half of it
  Exact,       // eigendecomposition of the smaller of the covariance and the Gram matrix
  Randomized,  // randomized range finder (Halko, Martinsson & Tropp 2011)
};

struct PcaOptions {
  int components = 50;        // output dimensions (the study: 50 before t-SNE); clipped to min(rows, cols)
  bool whiten = false;        // divide each component by its standard deviation
  std::uint64_t seed = 0;     // for the randomized solver
  int num_threads = 0;        // 0 = all cores
  PcaSolver solver = PcaSolver::Auto;  // which algorithm; Auto picks by size (see PcaSolver)
  int exact_max_dim = 1000;   // Auto goes exact up to this min(rows, cols): a 1000^2 eigensolve is ~0.7 s, 2000^2 ~13 s
  int power_iterations = 2;   // randomized solver: two passes over the data each; 2 keeps >99.9% of the exact top-50 variance
  int oversampling = 10;      // randomized solver: extra sample directions beyond `components`
};

struct PcaResult {
  FloatMatrix projected;                 // rows x k: centred data times components
  FloatMatrix components;                // k x cols, orthonormal rows, sign fixed (largest |loading| positive)
  std::vector<double> explained_variance;  // k eigenvalues of the covariance (divided by rows - 1), descending
  double total_variance = 0.0;           // trace of the covariance, for explained-variance ratios
  std::vector<float> mean;               // cols
};

// Principal components of `data` (rows = samples). Exact (Gram/covariance eigendecomposition)
// when min(rows, cols) is small; randomized range finder with power iterations otherwise.
// Deterministic for a given seed, whatever the thread count. The centred data is never copied
// whole, and a wide input never forms its cols x cols covariance.
PcaResult pca(const FloatMatrix& data, const PcaOptions& options, const ProgressCallback& progress = {});

}  // namespace photoatlas::embed
