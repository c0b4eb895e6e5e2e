// The exact O(N²) t-SNE gradient and KL divergence.
#include <cmath>
#include <cstring>

#include "core/parallel.h"
#include "embed/tsne_detail.h"

namespace photoatlas::embed::detail {
namespace {

// GCC/Clang vector extension: two doubles, i.e. one SSE2 register on the baseline x86-64
// target. Explicit lanes because the compiler may not reorder a floating-point reduction
// (no -ffast-math) and would otherwise leave the hot loop scalar.
using v2d = double __attribute__((vector_size(16)));

struct Repulsion {
  double z = 0.0;   // Σ_{j≠i} w_ij
  double fx = 0.0;  // Σ_j w_ij² (x_i - x_j)
  double fy = 0.0;
};

// One row of the repulsive sums over all N points, four points per step in two register
// pairs for instruction-level parallelism. j = i contributes w = 1 and no force, removed at
// the end, so the loop has no branch. Lanes are combined in a fixed order: the result depends
// on the row alone.
template <bool kForces>
Repulsion repulsion_row(const double* x, const double* y, std::size_t n, std::size_t i) {
  const double xi = x[i], yi = y[i];
  const v2d one = {1.0, 1.0}, vxi = {xi, xi}, vyi = {yi, yi};
  v2d z0 = {0.0, 0.0}, z1 = z0, fx0 = z0, fx1 = z0, fy0 = z0, fy1 = z0;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    v2d xa, xb, ya, yb;
    std::memcpy(&xa, x + j, sizeof xa);
    std::memcpy(&xb, x + j + 2, sizeof xb);
    std::memcpy(&ya, y + j, sizeof ya);
    std::memcpy(&yb, y + j + 2, sizeof yb);
    const v2d dxa = vxi - xa, dya = vyi - ya, dxb = vxi - xb, dyb = vyi - yb;
    const v2d wa = one / (one + dxa * dxa + dya * dya);
    const v2d wb = one / (one + dxb * dxb + dyb * dyb);
    z0 += wa;
    z1 += wb;
    if constexpr (kForces) {
      const v2d wa2 = wa * wa, wb2 = wb * wb;
      fx0 += wa2 * dxa;
      fx1 += wb2 * dxb;
      fy0 += wa2 * dya;
      fy1 += wb2 * dyb;
    }
  }
  Repulsion r;
  r.z = (z0[0] + z0[1]) + (z1[0] + z1[1]);
  r.fx = (fx0[0] + fx0[1]) + (fx1[0] + fx1[1]);
  r.fy = (fy0[0] + fy0[1]) + (fy1[0] + fy1[1]);
  for (; j < n; ++j) {
    const double dx = xi - x[j], dy = yi - y[j];
    const double w = 1.0 / (1.0 + dx * dx + dy * dy);
    r.z += w;
    if constexpr (kForces) {
      r.fx += w * w * dx;
      r.fy += w * w * dy;
    }
  }
  r.z -= 1.0;
  return r;
}

// Σ_i z_i in row order, independent of how rows were split among threads.
double normalisation(const std::vector<double>& row_z) {
  double z = 0.0;
  for (double v : row_z) z += v;
  return z;
}

}  // namespace

void exact_gradient(const SparseMatrix& p, const Embedding2D& y, double exaggeration, int num_threads,
                    Embedding2D& gradient) {
  const std::size_t n = y.size();
  gradient.zero(n);
  if (n < 2) return;
  std::vector<double> row_z(n);
  std::vector<double> attract_x(n), attract_y(n);
  const double* xs = y.x.data();
  const double* ys = y.y.data();
  parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) {
      const Repulsion r = repulsion_row<true>(xs, ys, n, i);
      row_z[i] = r.z;
      gradient.x[i] = r.fx;  // unnormalised repulsion until Z is known
      gradient.y[i] = r.fy;
      double ax = 0.0, ay = 0.0;
      for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
        const std::size_t j = p.cols[e];
        const double dx = xs[i] - xs[j], dy = ys[i] - ys[j];
        const double pw = p.values[e] / (1.0 + dx * dx + dy * dy);
        ax += pw * dx;
        ay += pw * dy;
      }
      attract_x[i] = ax;
      attract_y[i] = ay;
    }
  });
  const double z = normalisation(row_z);
  const double inv_z = z > 0.0 ? 1.0 / z : 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    gradient.x[i] = 4.0 * (exaggeration * attract_x[i] - gradient.x[i] * inv_z);
    gradient.y[i] = 4.0 * (exaggeration * attract_y[i] - gradient.y[i] * inv_z);
  }
}

double exact_kl_divergence(const SparseMatrix& p, const Embedding2D& y, int num_threads) {
  const std::size_t n = y.size();
  if (n < 2 || p.nonzeros() == 0) return 0.0;
  // KL = Σ p log p - Σ p log w + log Z  (Σ p = 1, q_ij = w_ij / Z).
  std::vector<double> row_z(n), row_terms(n);
  const double* xs = y.x.data();
  const double* ys = y.y.data();
  parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) {
      row_z[i] = repulsion_row<false>(xs, ys, n, i).z;
      double terms = 0.0;
      for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
        const double pij = p.values[e];
        if (pij <= 0.0) continue;
        const std::size_t j = p.cols[e];
        const double dx = xs[i] - xs[j], dy = ys[i] - ys[j];
        // log p - log w = log p + log(1 + d²)
        terms += pij * (std::log(pij) + std::log1p(dx * dx + dy * dy));
      }
      row_terms[i] = terms;
    }
  });
  double kl = 0.0, total_p = 0.0;
  for (std::size_t i = 0; i < n; ++i) kl += row_terms[i];
  for (double v : p.values) total_p += v;
  const double z = normalisation(row_z);
  return z > 0.0 ? kl + total_p * std::log(z) : 0.0;
}

}  // namespace photoatlas::embed::detail
