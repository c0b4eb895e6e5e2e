// t-SNE input affinities: exact k nearest neighbours, Gaussian kernels calibrated to a
// perplexity, symmetrised into a sparse joint distribution P. Separate from the optimiser
// (the openTSNE split) so every gradient engine, exact or FFT, starts from the same P.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "embed/knn.h"

namespace photoatlas::embed {

// Compressed sparse rows of a square matrix.
struct SparseMatrix {
  std::size_t n = 0;                   // rows = cols
  std::vector<std::size_t> row_start;  // n + 1 offsets into `cols` / `values`
  std::vector<std::uint32_t> cols;     // column indices, ascending within a row
  // Single precision: P is the largest structure of a big run (1M points x ~130 entries) and
  // float's 1e-7 relative rounding is far below the neighbour search's and the gradient's errors.
  std::vector<float> values;
  std::size_t nonzeros() const { return values.size(); }
};

struct AffinityOptions {
  double perplexity = 30.0;      // effective neighbour count; reduced to (N - 1) / 3 when N is too small
  double tolerance = 1e-5;       // |entropy - log(perplexity)| (nats) at which the search stops
  int max_steps = 200;           // binary-search steps per point before giving up on the tolerance
  int num_threads = 0;           // 0 = all cores
  NeighbourOptions neighbours;   // exact or approximate (HNSW) neighbours; its num_threads is overridden by ours
};

// The perplexity actually used for N points: needs 3 * perplexity neighbours, so it is capped
// at (N - 1) / 3 as openTSNE does (for N < 4 that cap is below 1 and cannot be met exactly;
// calibration then settles on the sharpest kernel it reaches).
double effective_perplexity(std::size_t n, double perplexity);

// Neighbours per point for a perplexity: min(N - 1, floor(3 * perplexity)), at least 1 when N > 1.
std::size_t neighbour_count(std::size_t n, double perplexity);

// Conditional p(j|i) over each point's neighbours (n * k, rows sum to 1), each row's Gaussian
// precision found by bisection so its perplexity matches. `betas` (optional) receives the precisions.
std::vector<double> calibrate_conditionals(const NeighbourGraph& graph, double perplexity, double tolerance,
                                           int max_steps, int num_threads, std::vector<double>* betas = nullptr);

// P = (C + Cᵀ) / (2N) for the conditional matrix C: symmetric, sums to 1 (within float
// rounding). Built in two passes over a transposed index (no (i, j, value) triplets).
SparseMatrix symmetrise(const NeighbourGraph& graph, const std::vector<double>& conditionals);

// The whole pipeline: neighbours (exact or HNSW per options.neighbours), calibration at the
// effective perplexity, symmetrisation.
SparseMatrix compute_affinities(const FloatMatrix& data, const AffinityOptions& options);

}  // namespace photoatlas::embed
