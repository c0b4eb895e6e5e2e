#include "cluster/distance.h"

#include <algorithm>
#include <cstring>

#include "core/parallel.h"

namespace photoatlas::cluster::detail {
namespace {

// Independent float partial sums per (row, centre) pair, held in an explicit 8-lane vector type
// (GCC/Clang vector extension: one SSE register on baseline x86-64). Spelling the lanes out, rather than hoping the auto-vectoriser finds them, means
//  - the loop vectorises without -ffast-math (each lane is its own accumulator: no reassociation), and
//  - every build and SIMD width computes bit-identical sums (determinism does not depend on the ISA).
using Lanes = float __attribute__((vector_size(16)));
constexpr std::size_t kLanes = sizeof(Lanes) / sizeof(float);
// Float lanes are folded into the double total every kFlush elements (kFlush / kLanes products per lane),
// which bounds the float rounding error independently of the dimension (2048-D CNN features).
constexpr std::size_t kFlush = 256;

inline Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof(v));  // rows carry no alignment guarantee
  return v;
}

// P rows x Q centres at once: each loaded vector is reused P or Q times, which keeps the loop
// compute-bound rather than load-bound. 4 x 2 tiles of 4 lanes measured fastest on baseline SSE
// (8 accumulators + 6 operands fit the 16 registers): ~22 GFlop/s per core against ~5 for a plain loop.
template <std::size_t P, std::size_t Q>
inline void dot_tile(const float* const* x, const float* const* c, std::size_t d, double (&out)[P][Q]) {
  double total[P][Q] = {};
  const std::size_t full = d - d % kLanes;
  std::size_t j = 0;
  while (j < full) {
    const std::size_t stop = std::min(full, j + kFlush);
    Lanes acc[P][Q] = {};
    for (; j < stop; j += kLanes) {
      Lanes xv[P], cv[Q];
      for (std::size_t p = 0; p < P; ++p) xv[p] = load(x[p] + j);
      for (std::size_t q = 0; q < Q; ++q) cv[q] = load(c[q] + j);
      for (std::size_t p = 0; p < P; ++p)
        for (std::size_t q = 0; q < Q; ++q) acc[p][q] += xv[p] * cv[q];
    }
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t q = 0; q < Q; ++q)
        for (std::size_t l = 0; l < kLanes; ++l) total[p][q] += acc[p][q][l];
  }
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t q = 0; q < Q; ++q) {
      for (std::size_t t = full; t < d; ++t) total[p][q] += static_cast<double>(x[p][t]) * c[q][t];
      out[p][q] = total[p][q];
    }
}

template <std::size_t P, std::size_t Q>
inline void distance_tile(const FloatMatrix& data, std::size_t i, const double* data_norms, const FloatMatrix& centres,
                          std::size_t c, const double* centre_norms, double* out_row0, std::size_t stride,
                          std::size_t column) {
  const float* x[P];
  const float* cc[Q];
  for (std::size_t p = 0; p < P; ++p) x[p] = data.row(i + p);
  for (std::size_t q = 0; q < Q; ++q) cc[q] = centres.row(c + q);
  double dots[P][Q];
  dot_tile<P, Q>(x, cc, data.cols, dots);
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t q = 0; q < Q; ++q) {
      const double d2 = data_norms[i + p] - 2.0 * dots[p][q] + centre_norms[c + q];
      out_row0[p * stride + column + q] = d2 > 0.0 ? d2 : 0.0;
    }
}

}  // namespace

namespace {
// In double (float products are exact there): the norms enter the inertia through
// sum ||x||^2 - ||sum x||^2 / n, where cancellation would magnify float rounding. Computed once per call.
double sq_norm(const float* x, std::size_t d) {
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  const std::size_t full = d - d % 4;
  for (std::size_t j = 0; j < full; j += 4)
    for (std::size_t l = 0; l < 4; ++l) acc[l] += static_cast<double>(x[j + l]) * x[j + l];
  for (std::size_t j = full; j < d; ++j) acc[0] += static_cast<double>(x[j]) * x[j];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}
}  // namespace

double sq_distance(const float* x, const float* y, std::size_t d) {
  // Differences and squares in double: the reported inertia should agree with any independent
  // recomputation, and this runs once per restart, not per iteration. Four accumulators in a fixed
  // order keep the adds independent without changing the result between builds.
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  const std::size_t full = d - d % 4;
  for (std::size_t j = 0; j < full; j += 4)
    for (std::size_t l = 0; l < 4; ++l) {
      const double diff = static_cast<double>(x[j + l]) - static_cast<double>(y[j + l]);
      acc[l] += diff * diff;
    }
  for (std::size_t j = full; j < d; ++j) {
    const double diff = static_cast<double>(x[j]) - static_cast<double>(y[j]);
    acc[0] += diff * diff;
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

std::vector<double> row_sq_norms(const FloatMatrix& m, int num_threads) {
  std::vector<double> norms(m.rows);
  parallel_for_chunks(m.rows, num_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) norms[i] = sq_norm(m.row(i), m.cols);
  });
  return norms;
}

namespace {
constexpr std::size_t kTileRows = 4;
constexpr std::size_t kTileCentres = 2;

template <std::size_t P>
void rows_against_centres(const FloatMatrix& data, std::size_t i, const double* data_norms, const FloatMatrix& centres,
                          std::size_t c_begin, std::size_t c_end, const double* centre_norms, double* out_row0) {
  const std::size_t stride = c_end - c_begin;
  std::size_t c = c_begin;
  for (; c + kTileCentres <= c_end; c += kTileCentres)
    distance_tile<P, kTileCentres>(data, i, data_norms, centres, c, centre_norms, out_row0, stride, c - c_begin);
  for (; c < c_end; ++c) distance_tile<P, 1>(data, i, data_norms, centres, c, centre_norms, out_row0, stride, c - c_begin);
}
}  // namespace

void sq_distances(const FloatMatrix& data, std::size_t begin, std::size_t end, const double* data_norms,
                  const FloatMatrix& centres, std::size_t c_begin, std::size_t c_end, const double* centre_norms,
                  double* out) {
  const std::size_t m = c_end - c_begin;
  std::size_t i = begin;
  for (; i + kTileRows <= end; i += kTileRows)
    rows_against_centres<kTileRows>(data, i, data_norms, centres, c_begin, c_end, centre_norms, out + (i - begin) * m);
  for (; i < end; ++i)
    rows_against_centres<1>(data, i, data_norms, centres, c_begin, c_end, centre_norms, out + (i - begin) * m);
}

void sq_distances(const FloatMatrix& data, std::size_t begin, std::size_t end, const double* data_norms,
                  const FloatMatrix& centres, const double* centre_norms, double* out) {
  sq_distances(data, begin, end, data_norms, centres, 0, centres.rows, centre_norms, out);
}

}  // namespace photoatlas::cluster::detail
