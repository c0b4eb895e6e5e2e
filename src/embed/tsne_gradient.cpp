// t-SNE gradients and KL divergence: exact O(N²), and FFT-interpolated repulsion + sparse attraction.
#include <immintrin.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstring>

#include "core/parallel.h"
#include "embed/tsne_detail.h"

// Hot loops are compiled for AVX-512, AVX2 and the baseline, picked at load time (GCC ifunc),
// because the project builds for the generic x86-64 target by default.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PHOTOATLAS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PHOTOATLAS_CLONES
#endif

namespace photoatlas::embed::detail {
namespace {

// GCC/Clang vector extension: eight doubles, one AVX-512 register (two AVX2 or four SSE2
// registers on the narrower clones). Explicit lanes because the compiler may not reorder a
// floating-point reduction (no -ffast-math) and would otherwise leave the hot loop scalar.
using v8d = double __attribute__((vector_size(64)));
constexpr std::size_t kLanes = 8;

struct Repulsion {
  double z = 0.0;   // Σ_{j≠i} w_ij
  double fx = 0.0;  // Σ_j w_ij^((α+1)/α) (x_i - x_j)
  double fy = 0.0;
};

double lane_sum(v8d v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }

// Repulsive sums of the point (xi, yi) over all n sources (α = 1), 16 sources per step in two
// register sets for instruction-level parallelism. A source at the point itself contributes
// w = 1 and no force (the caller removes the 1), so the loop has no branch. Lanes are combined
// in a fixed order: the result depends on the row alone (and on which clone runs: the machine,
// not the thread count).
PHOTOATLAS_CLONES
Repulsion repulsion_point_cauchy(double xi, double yi, const double* x, const double* y, std::size_t n, bool forces) {
  v8d one, vxi, vyi, zero;
  for (std::size_t l = 0; l < kLanes; ++l) one[l] = 1.0, vxi[l] = xi, vyi[l] = yi, zero[l] = 0.0;
  v8d z0 = zero, z1 = zero, fx0 = zero, fx1 = zero, fy0 = zero, fy1 = zero;
  std::size_t j = 0;
  for (; j + 2 * kLanes <= n; j += 2 * kLanes) {
    v8d xa, xb, ya, yb;
    std::memcpy(&xa, x + j, sizeof xa);
    std::memcpy(&xb, x + j + kLanes, sizeof xb);
    std::memcpy(&ya, y + j, sizeof ya);
    std::memcpy(&yb, y + j + kLanes, sizeof yb);
    const v8d dxa = vxi - xa, dya = vyi - ya, dxb = vxi - xb, dyb = vyi - yb;
    const v8d wa = one / (one + dxa * dxa + dya * dya);
    const v8d wb = one / (one + dxb * dxb + dyb * dyb);
    z0 += wa;
    z1 += wb;
    if (forces) {
      const v8d wa2 = wa * wa, wb2 = wb * wb;
      fx0 += wa2 * dxa;
      fx1 += wb2 * dxb;
      fy0 += wa2 * dya;
      fy1 += wb2 * dyb;
    }
  }
  Repulsion r;
  r.z = lane_sum(z0) + lane_sum(z1);
  r.fx = lane_sum(fx0) + lane_sum(fx1);
  r.fy = lane_sum(fy0) + lane_sum(fy1);
  for (; j < n; ++j) {
    const double dx = xi - x[j], dy = yi - y[j];
    const double w = 1.0 / (1.0 + dx * dx + dy * dy);
    r.z += w;
    if (forces) {
      r.fx += w * w * dx;
      r.fy += w * w * dy;
    }
  }
  return r;
}

// The same for any degrees of freedom α (scalar: needs a power per pair); `skip` = the point's own index or n.
Repulsion repulsion_point_general(double xi, double yi, const double* x, const double* y, std::size_t n,
                                  std::size_t skip, double dof, bool forces) {
  const double inv_dof = 1.0 / dof;
  Repulsion r;
  for (std::size_t j = 0; j < n; ++j) {
    if (j == skip) continue;
    const double dx = xi - x[j], dy = yi - y[j];
    const double base = 1.0 + (dx * dx + dy * dy) * inv_dof;
    const double w = std::pow(base, -dof);
    r.z += w;
    if (forces) {
      const double k2 = w / base;
      r.fx += k2 * dx;
      r.fy += k2 * dy;
    }
  }
  return r;
}

// Row i of the embedding against all other points.
Repulsion repulsion_row(const double* x, const double* y, std::size_t n, std::size_t i, double dof, bool forces) {
  if (dof != 1.0) return repulsion_point_general(x[i], y[i], x, y, n, i, dof, forces);
  Repulsion r = repulsion_point_cauchy(x[i], y[i], x, y, n, forces);
  r.z -= 1.0;  // the point itself
  return r;
}

// Σ_i z_i in row order, independent of how rows were split among threads.
double ordered_sum(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s;
}

#if defined(__GNUC__) && defined(__x86_64__)
#define PHOTOATLAS_HAVE_AVX512_PATH 1
// GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized on their own undefined-vector idiom.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The exact repulsion over pairs i < j only, each pair's kernel computed once and added to
// both rows (Newton's third law: the force on j is minus the force on i), in single precision
// with AVX-512 and the hardware reciprocal estimate (vrcp14ps: relative error below 2^-14 =
// 6e-5 per kernel value; a Newton step to full float precision cost 20% more time and moved the
// final KL at N = 5000 by 0.2%: these errors are ~100x below those of the FFT and Barnes-Hut
// approximations). Padding points sit at 1e18 (weight ~1e-36 -> 0).
//
// Layout: rows in tiles of 16 (one register of columns). A tile's pairs with its own 16 columns
// are summed row-wise only (each pair twice, the point itself once: the caller removes it); its
// pairs with the columns of later tiles are visited once, 4 rows at a time: the 4 rows'
// accumulators stay in registers (12), each column vector's accumulators are loaded, updated by
// the 4 rows and stored (3 loads + 3 stores per 64 pairs). 12 vector operations per 16 pairs
// instead of the row-wise kernel's 2 x 9 for the same pairs visited from both sides.
//
// Determinism: tiles are dealt to kSymmetricGroups fixed groups (tile t to group t % groups,
// which also balances the triangle); each group owns its column accumulators, and the groups'
// sums are combined in group order (in double). The result therefore depends on neither the
// thread count nor the schedule. Row sums are flushed from float to double every 1024 columns.
constexpr std::size_t kSymmetricGroups = 8;
constexpr std::size_t kTile = 16;

// Column partial sums of one group (float: each column gets one term per 4 rows of the
// group, a few thousand terms at most below the FFT crossover; relative rounding ~1e-6).
struct ColumnSums {
  std::vector<float> z, fx, fy;  // padded
  void reset(std::size_t padded) { z.assign(padded, 0.0f), fx.assign(padded, 0.0f), fy.assign(padded, 0.0f); }
};

// One tile of 16 rows: its own 16 columns row-wise, the later columns once per pair. Writes the
// rows' sums (self pair included in z) and adds the later columns' shares into `cols`.
__attribute__((target("avx512f"))) void symmetric_tile_avx512(const float* x, const float* y, std::size_t padded,
                                                               std::size_t tile, double* row_z, double* row_fx,
                                                               double* row_fy, ColumnSums& cols) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const std::size_t i0 = tile * kTile;
  {
    const __m512 xj = _mm512_loadu_ps(x + i0), yj = _mm512_loadu_ps(y + i0);
    for (std::size_t i = i0; i < i0 + kTile; ++i) {
      const __m512 dx = _mm512_sub_ps(_mm512_set1_ps(x[i]), xj), dy = _mm512_sub_ps(_mm512_set1_ps(y[i]), yj);
      const __m512 w = _mm512_rcp14_ps(_mm512_fmadd_ps(dy, dy, _mm512_fmadd_ps(dx, dx, one)));
      const __m512 w2 = _mm512_mul_ps(w, w);
      row_z[i] = static_cast<double>(_mm512_reduce_add_ps(w));
      row_fx[i] = static_cast<double>(_mm512_reduce_add_ps(_mm512_mul_ps(w2, dx)));
      row_fy[i] = static_cast<double>(_mm512_reduce_add_ps(_mm512_mul_ps(w2, dy)));
    }
  }
  float* cz = cols.z.data();
  float* cfx = cols.fx.data();
  float* cfy = cols.fy.data();
  for (std::size_t r0 = i0; r0 < i0 + kTile; r0 += 4) {
    const __m512 x0 = _mm512_set1_ps(x[r0]), x1 = _mm512_set1_ps(x[r0 + 1]), x2 = _mm512_set1_ps(x[r0 + 2]),
                 x3 = _mm512_set1_ps(x[r0 + 3]);
    const __m512 y0 = _mm512_set1_ps(y[r0]), y1 = _mm512_set1_ps(y[r0 + 1]), y2 = _mm512_set1_ps(y[r0 + 2]),
                 y3 = _mm512_set1_ps(y[r0 + 3]);
    double sz[4] = {}, sfx[4] = {}, sfy[4] = {};
    for (std::size_t j0 = i0 + kTile; j0 < padded; j0 += 1024) {
      const std::size_t j1 = std::min(padded, j0 + 1024);
      __m512 z0 = _mm512_setzero_ps(), z1 = z0, z2 = z0, z3 = z0;
      __m512 fx0 = z0, fx1 = z0, fx2 = z0, fx3 = z0, fy0 = z0, fy1 = z0, fy2 = z0, fy3 = z0;
      for (std::size_t j = j0; j < j1; j += kTile) {
        const __m512 xj = _mm512_loadu_ps(x + j), yj = _mm512_loadu_ps(y + j);
        __m512 cz_j = _mm512_loadu_ps(cz + j), cfx_j = _mm512_loadu_ps(cfx + j), cfy_j = _mm512_loadu_ps(cfy + j);
#define PHOTOATLAS_PAIR(XI, YI, Z, FX, FY)                                                  \
  {                                                                                         \
    const __m512 dx = _mm512_sub_ps(XI, xj), dy = _mm512_sub_ps(YI, yj);                    \
    const __m512 w = _mm512_rcp14_ps(_mm512_fmadd_ps(dy, dy, _mm512_fmadd_ps(dx, dx, one))); \
    const __m512 w2 = _mm512_mul_ps(w, w);                                                  \
    Z = _mm512_add_ps(Z, w);                                                                \
    FX = _mm512_fmadd_ps(w2, dx, FX);                                                       \
    FY = _mm512_fmadd_ps(w2, dy, FY);                                                       \
    cz_j = _mm512_add_ps(cz_j, w);                                                          \
    cfx_j = _mm512_fnmadd_ps(w2, dx, cfx_j);                                                \
    cfy_j = _mm512_fnmadd_ps(w2, dy, cfy_j);                                                \
  }
        PHOTOATLAS_PAIR(x0, y0, z0, fx0, fy0)
        PHOTOATLAS_PAIR(x1, y1, z1, fx1, fy1)
        PHOTOATLAS_PAIR(x2, y2, z2, fx2, fy2)
        PHOTOATLAS_PAIR(x3, y3, z3, fx3, fy3)
#undef PHOTOATLAS_PAIR
        _mm512_storeu_ps(cz + j, cz_j);
        _mm512_storeu_ps(cfx + j, cfx_j);
        _mm512_storeu_ps(cfy + j, cfy_j);
      }
      sz[0] += _mm512_reduce_add_ps(z0), sz[1] += _mm512_reduce_add_ps(z1);
      sz[2] += _mm512_reduce_add_ps(z2), sz[3] += _mm512_reduce_add_ps(z3);
      sfx[0] += _mm512_reduce_add_ps(fx0), sfx[1] += _mm512_reduce_add_ps(fx1);
      sfx[2] += _mm512_reduce_add_ps(fx2), sfx[3] += _mm512_reduce_add_ps(fx3);
      sfy[0] += _mm512_reduce_add_ps(fy0), sfy[1] += _mm512_reduce_add_ps(fy1);
      sfy[2] += _mm512_reduce_add_ps(fy2), sfy[3] += _mm512_reduce_add_ps(fy3);
    }
    for (std::size_t r = 0; r < 4; ++r) {
      row_z[r0 + r] += sz[r];
      row_fx[r0 + r] += sfx[r];
      row_fy[r0 + r] += sfy[r];
    }
  }
}
#endif

}  // namespace

// The embedding as (x, y) float pairs centred on the first point: one 8-byte gather fetches
// both coordinates of a neighbour.
std::vector<float> packed_coordinates(const Embedding2D& y) {
  const std::size_t n = y.size();
  std::vector<float> out(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = static_cast<float>(y.x[i] - y.x[0]);
    out[2 * i + 1] = static_cast<float>(y.y[i] - y.y[0]);
  }
  return out;
}

#ifdef PHOTOATLAS_HAVE_AVX512_PATH
// Two coordinates pairs (x_a, y_a, x_b, y_b) from two 8-byte loads.
__attribute__((target("avx512f"))) inline __m128d two_pairs(const double* pairs, std::uint32_t a, std::uint32_t b) {
  return _mm_loadh_pd(_mm_load_sd(pairs + a), pairs + b);
}

// Attractive forces of rows [begin, end) over sparse P in single precision, 16 entries per
// step. The 16 neighbours' packed (x, y) pairs are fetched by 16 scalar 8-byte loads assembled
// into two registers, not by the AVX-512 gather instruction: on this project's AMD EPYC the
// two 8-lane gathers cost ~1.2 ns per entry, the loads ~0.66 ns (a microbenchmark of this loop
// on a 5000-point P, 690k entries), and the attraction was a third of a 5k run once the
// repulsion got cheaper. Rows are summed in a fixed order (depends on the row alone).
__attribute__((target("avx512f,avx512vl"))) void attraction_rows_packed(const SparseMatrix& p, const float* xy,
                                                                        double inv_dof, std::size_t begin,
                                                                        std::size_t end, double* out_x,
                                                                        double* out_y) {
  const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
  const __m512 vinv = _mm512_set1_ps(static_cast<float>(inv_dof));
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const double* pairs = reinterpret_cast<const double*>(xy);
  const std::uint32_t* cols = p.cols.data();
  for (std::size_t i = begin; i < end; ++i) {
    const __m512 xi = _mm512_set1_ps(xy[2 * i]), yi = _mm512_set1_ps(xy[2 * i + 1]);
    __m512 ax = _mm512_setzero_ps(), ay = ax;
    const std::size_t e1 = p.row_start[i + 1];
    for (std::size_t e = p.row_start[i]; e < e1; e += 16) {
      const std::size_t left = e1 - e;
      // A row's last, partial step reads its indices from a copy padded with point 0 (whose
      // lanes get p = 0), so every step uses the same loads.
      const std::uint32_t* c = cols + e;
      alignas(64) std::uint32_t tail[16];
      __m512 pv;
      if (left >= 16) {
        pv = _mm512_loadu_ps(p.values.data() + e);
      } else {
        const __mmask16 m = static_cast<__mmask16>((1u << left) - 1u);
        _mm512_store_si512(tail, _mm512_maskz_loadu_epi32(m, c));
        c = tail;
        pv = _mm512_maskz_loadu_ps(m, p.values.data() + e);
      }
      const __m256d a0 = _mm256_insertf128_pd(_mm256_castpd128_pd256(two_pairs(pairs, c[0], c[1])),
                                              two_pairs(pairs, c[2], c[3]), 1);
      const __m256d a1 = _mm256_insertf128_pd(_mm256_castpd128_pd256(two_pairs(pairs, c[4], c[5])),
                                              two_pairs(pairs, c[6], c[7]), 1);
      const __m256d a2 = _mm256_insertf128_pd(_mm256_castpd128_pd256(two_pairs(pairs, c[8], c[9])),
                                              two_pairs(pairs, c[10], c[11]), 1);
      const __m256d a3 = _mm256_insertf128_pd(_mm256_castpd128_pd256(two_pairs(pairs, c[12], c[13])),
                                              two_pairs(pairs, c[14], c[15]), 1);
      const __m512d lo = _mm512_insertf64x4(_mm512_castpd256_pd512(a0), a1, 1);
      const __m512d hi = _mm512_insertf64x4(_mm512_castpd256_pd512(a2), a3, 1);
      const __m512 xj = _mm512_permutex2var_ps(_mm512_castpd_ps(lo), even, _mm512_castpd_ps(hi));
      const __m512 yj = _mm512_permutex2var_ps(_mm512_castpd_ps(lo), odd, _mm512_castpd_ps(hi));
      const __m512 dx = _mm512_sub_ps(xi, xj), dy = _mm512_sub_ps(yi, yj);
      const __m512 d2 = _mm512_fmadd_ps(dy, dy, _mm512_mul_ps(dx, dx));
      // p / b through the reciprocal estimate and one Newton step (float precision; a division
      // instruction has a quarter of the throughput).
      const __m512 b = _mm512_fmadd_ps(d2, vinv, one);
      const __m512 r0 = _mm512_rcp14_ps(b);
      const __m512 r = _mm512_mul_ps(r0, _mm512_fnmadd_ps(b, r0, two));
      const __m512 pw = _mm512_mul_ps(pv, r);  // masked lanes: p = 0
      ax = _mm512_fmadd_ps(pw, dx, ax);
      ay = _mm512_fmadd_ps(pw, dy, ay);
    }
    out_x[i] = static_cast<double>(_mm512_reduce_add_ps(ax));
    out_y[i] = static_cast<double>(_mm512_reduce_add_ps(ay));
  }
}
#endif

bool attraction_vector_path(std::size_t n) {
#ifdef PHOTOATLAS_HAVE_AVX512_PATH
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  return avx512 && n >= 512;
#else
  (void)n;
  return false;
#endif
}

namespace {

// Whether the exact gradient takes the single-precision AVX-512 path (large enough rows, CPU
// support, the Cauchy kernel).
bool use_avx512_path(std::size_t n, double dof) { return dof == 1.0 && attraction_vector_path(n); }

}  // namespace

void attraction_rows(const SparseMatrix& p, const float* packed, std::size_t begin, std::size_t end, double* out_x,
                     double* out_y) {
#ifdef PHOTOATLAS_HAVE_AVX512_PATH
  attraction_rows_packed(p, packed, 1.0, begin, end, out_x, out_y);
#else
  (void)p, (void)packed, (void)begin, (void)end, (void)out_x, (void)out_y;
#endif
}

void attraction_rows_double(const SparseMatrix& p, const Embedding2D& y, double inv_dof, std::size_t begin,
                            std::size_t end, double* out_x, double* out_y) {
  for (std::size_t i = begin; i < end; ++i) {
    double ax = 0.0, ay = 0.0;
    const double xi = y.x[i], yi = y.y[i];
    for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
      const std::size_t j = p.cols[e];
      const double dx = xi - y.x[j], dy = yi - y.y[j];
      // p w^(1/α) = p / (1 + d²/α)
      const double pw = p.values[e] / (1.0 + (dx * dx + dy * dy) * inv_dof);
      ax += pw * dx;
      ay += pw * dy;
    }
    out_x[i] = ax;
    out_y[i] = ay;
  }
}

void exact_repulsion(const double* sx, const double* sy, std::size_t ns, const double* tx, const double* ty,
                     std::size_t nt, double dof, int num_threads, double* z, double* fx, double* fy) {
  parallel_for_chunks(nt, num_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) {
      const Repulsion r = dof == 1.0 ? repulsion_point_cauchy(tx[i], ty[i], sx, sy, ns, fx != nullptr)
                                     : repulsion_point_general(tx[i], ty[i], sx, sy, ns, ns, dof, fx != nullptr);
      z[i] = r.z;
      if (fx) {
        fx[i] = r.fx;
        fy[i] = r.fy;
      }
    }
  });
}

double attractive_forces(const SparseMatrix& p, const Embedding2D& y, double dof, int num_threads,
                         std::vector<double>* out_x, std::vector<double>* out_y) {
  const std::size_t n = y.size();
  if (out_x) out_x->assign(n, 0.0);
  if (out_y) out_y->assign(n, 0.0);
  if (n == 0 || p.nonzeros() == 0) return 0.0;
  const double* xs = y.x.data();
  const double* ys = y.y.data();
  const double inv_dof = 1.0 / dof;
  if (out_x) {
#ifdef PHOTOATLAS_HAVE_AVX512_PATH
    if (attraction_vector_path(n)) {
      const std::vector<float> packed = packed_coordinates(y);
      parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
        attraction_rows_packed(p, packed.data(), inv_dof, begin, end, out_x->data(), out_y->data());
      });
      return 0.0;
    }
#endif
    parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
      attraction_rows_double(p, y, inv_dof, begin, end, out_x->data(), out_y->data());
    });
    return 0.0;
  }
  std::vector<double> row_kl(n, 0.0);
  parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) {
      double kl = 0.0;
      const double xi = xs[i], yi = ys[i];
      for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
        const std::size_t j = p.cols[e];
        const double dx = xi - xs[j], dy = yi - ys[j];
        const double pij = p.values[e];
        // log p - log w = log p + α log(1 + d²/α)
        if (pij > 0.0) kl += pij * (std::log(pij) + dof * std::log1p((dx * dx + dy * dy) * inv_dof));
      }
      row_kl[i] = kl;
    }
  });
  return ordered_sum(row_kl);
}

double kl_divergence_given_z(const SparseMatrix& p, const Embedding2D& y, double dof, int num_threads, double z) {
  // KL = Σ p log p - Σ p log w + log Z  (q_ij = w_ij / Z), times Σ p (1 for a normalised P).
  if (!(z > 0.0)) return 0.0;
  const double kl = attractive_forces(p, y, dof, num_threads, nullptr, nullptr);
  double total_p = 0.0;
  for (double v : p.values) total_p += v;
  return kl + total_p * std::log(z);
}

void exact_gradient(const SparseMatrix& p, const Embedding2D& y, double exaggeration, int num_threads,
                    Embedding2D& gradient, double dof) {
  const std::size_t n = y.size();
  gradient.zero(n);
  if (n < 2) return;
  std::vector<double> row_z(n);
  std::vector<double> attract_x(n), attract_y(n);
  const double* xs = y.x.data();
  const double* ys = y.y.data();
#ifdef PHOTOATLAS_HAVE_AVX512_PATH
  if (use_avx512_path(n, dof)) {
    // Float copies centred on the first point (coordinates stay small relative to their
    // differences), padded to whole tiles with far-away points.
    const std::size_t padded = (n + kTile - 1) / kTile * kTile, tiles = padded / kTile;
    std::vector<float> fxs(padded, 1e18f), fys(padded, 1e18f);
    for (std::size_t i = 0; i < n; ++i) {
      fxs[i] = static_cast<float>(xs[i] - xs[0]);
      fys[i] = static_cast<float>(ys[i] - ys[0]);
    }
    const std::vector<float> packed = packed_coordinates(y);
    std::vector<double> rz(padded), rfx(padded), rfy(padded);
    std::vector<ColumnSums> groups(kSymmetricGroups);
    // One parallel region per iteration (starting threads costs ~0.1 ms per region): each
    // thread runs its groups' tiles, waits for the others, then merges the column sums and
    // computes the attraction of its share of rows.
    const int workers = std::min(resolve_threads(num_threads), static_cast<int>(kSymmetricGroups));
    std::barrier tiles_done(workers);
    parallel_for_chunks(kSymmetricGroups, workers, [&](std::size_t g0, std::size_t g1, int) {
      for (std::size_t g = g0; g < g1; ++g) {
        ColumnSums& cols = groups[g];
        cols.reset(padded);
        for (std::size_t t = g; t < tiles; t += kSymmetricGroups)
          symmetric_tile_avx512(fxs.data(), fys.data(), padded, t, rz.data(), rfx.data(), rfy.data(), cols);
      }
      tiles_done.arrive_and_wait();
      const std::size_t r0 = n * g0 / kSymmetricGroups, r1 = n * g1 / kSymmetricGroups;
      for (std::size_t i = r0; i < r1; ++i) {
        double z = rz[i] - 1.0, fx = rfx[i], fy = rfy[i];  // minus the point itself
        for (const ColumnSums& cols : groups) z += cols.z[i], fx += cols.fx[i], fy += cols.fy[i];
        row_z[i] = z;
        gradient.x[i] = fx;
        gradient.y[i] = fy;
      }
      attraction_rows_packed(p, packed.data(), 1.0, r0, r1, attract_x.data(), attract_y.data());
    });
  } else
#endif
  {
    attractive_forces(p, y, dof, num_threads, &attract_x, &attract_y);
    parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
      for (std::size_t i = begin; i < end; ++i) {
        const Repulsion r = repulsion_row(xs, ys, n, i, dof, true);
        row_z[i] = r.z;
        gradient.x[i] = r.fx;  // unnormalised repulsion until Z is known
        gradient.y[i] = r.fy;
      }
    });
  }
  const double z = ordered_sum(row_z);
  const double inv_z = z > 0.0 ? 1.0 / z : 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    gradient.x[i] = 4.0 * (exaggeration * attract_x[i] - gradient.x[i] * inv_z);
    gradient.y[i] = 4.0 * (exaggeration * attract_y[i] - gradient.y[i] * inv_z);
  }
}

double exact_kl_divergence(const SparseMatrix& p, const Embedding2D& y, int num_threads, double dof) {
  const std::size_t n = y.size();
  if (n < 2 || p.nonzeros() == 0) return 0.0;
  // KL = Σ p log p - Σ p log w + log Z  (Σ p = 1, q_ij = w_ij / Z).
  std::vector<double> row_z(n);
  const double* xs = y.x.data();
  const double* ys = y.y.data();
  parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) row_z[i] = repulsion_row(xs, ys, n, i, dof, false).z;
  });
  return kl_divergence_given_z(p, y, dof, num_threads, ordered_sum(row_z));
}

double fft_gradient(const SparseMatrix& p, const Embedding2D& y, double exaggeration, double dof, int num_threads,
                    FftRepulsion& engine, Embedding2D& gradient) {
  const std::size_t n = y.size();
  gradient.zero(n);
  if (n < 2) return 0.0;
  std::vector<double> attract_x, attract_y;
  attractive_forces(p, y, dof, num_threads, &attract_x, &attract_y);
  std::vector<double> row_z(n);
  engine.compute(y.x.data(), y.y.data(), n, y.x.data(), y.y.data(), n, dof, num_threads, row_z.data(),
                 gradient.x.data(), gradient.y.data());
  const double z = ordered_sum(row_z);  // self-pairs already removed by the engine
  const double inv_z = z > 0.0 ? 1.0 / z : 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    gradient.x[i] = 4.0 * (exaggeration * attract_x[i] - gradient.x[i] * inv_z);
    gradient.y[i] = 4.0 * (exaggeration * attract_y[i] - gradient.y[i] * inv_z);
  }
  return z;
}

double fft_kl_divergence(const SparseMatrix& p, const Embedding2D& y, double dof, int num_threads,
                         FftRepulsion& engine) {
  const std::size_t n = y.size();
  if (n < 2 || p.nonzeros() == 0) return 0.0;
  std::vector<double> row_z(n);
  engine.compute(y.x.data(), y.y.data(), n, y.x.data(), y.y.data(), n, dof, num_threads, row_z.data(), nullptr,
                 nullptr);
  return kl_divergence_given_z(p, y, dof, num_threads, ordered_sum(row_z));
}

}  // namespace photoatlas::embed::detail
