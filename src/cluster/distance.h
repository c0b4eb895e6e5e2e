// Private to src/cluster: the dense squared-distance kernel shared by k-means seeding,
// Lloyd assignment and the kNN metric. A BLAS- or bound-based engine can replace it later
// without touching the callers, which only see "distances from a block of rows to a few centres".
#pragma once

#include <cstddef>
#include <vector>

#include "core/matrix.h"

namespace photoatlas::cluster::detail {

// Squared Euclidean norm of every row, computed in double.
std::vector<double> row_sq_norms(const FloatMatrix& m, int num_threads);

// ||x - y||^2 from the differences themselves, in double: slower than the norm expansion below but
// free of its cancellation, for values that are reported rather than compared (the final inertia).
double sq_distance(const float* x, const float* y, std::size_t d);

// out[(i - begin) * centres.rows + c] = ||data_i - centre_c||^2 for i in [begin, end), computed as
// ||x||^2 - 2 x.c + ||c||^2 from the precomputed norms and clamped at 0 (rounding can make it
// slightly negative for coincident points). Deterministic: the value for a (row, centre) pair does
// not depend on begin/end, so results do not depend on how rows are split among threads.
void sq_distances(const FloatMatrix& data, std::size_t begin, std::size_t end, const double* data_norms,
                  const FloatMatrix& centres, const double* centre_norms, double* out);

// The same against the centres in rows [c_begin, c_end) only (out is (end - begin) x (c_end - c_begin)):
// lets a caller stream a large reference set through the kernel block by block.
void sq_distances(const FloatMatrix& data, std::size_t begin, std::size_t end, const double* data_norms,
                  const FloatMatrix& centres, std::size_t c_begin, std::size_t c_end, const double* centre_norms,
                  double* out);

// Rows handed to sq_distances at once by callers that loop over a chunk: small enough that the
// block's output stays in L1/L2, large enough to amortise the call.
inline constexpr std::size_t kRowBlock = 64;

}  // namespace photoatlas::cluster::detail
