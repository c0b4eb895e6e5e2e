// t-SNE gradients and KL divergence: exact O(N²), and FFT-interpolated repulsion + sparse attraction.
#include <immintrin.h>

#include <algorithm>
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
// The exact repulsion in single precision with AVX-512, 16 pairs per instruction and the
// division replaced by the hardware reciprocal estimate (vrcp14ps: relative error below 2^-14
// = 6e-5 per kernel value; a Newton step to full float precision cost 20% more time and
// moved the final KL at N = 5000 by 0.2% (2.1179 vs 2.1227, both below scikit-learn's 2.1309):
// these errors are ~100x below those of the FFT and Barnes-Hut approximations). Lane sums are flushed to double every 1024 points. The KL divergence is
// still evaluated in double. Padding points sit at 1e18 (weight ~1e-36 -> 0).
// Row i is summed in a fixed order, independent of the thread count.
__attribute__((target("avx512f"))) void repulsion_rows_avx512(const float* x, const float* y, std::size_t padded,
                                                              std::size_t begin, std::size_t end, double* z,
                                                              double* fx, double* fy) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (std::size_t i = begin; i < end; ++i) {
    const __m512 xi = _mm512_set1_ps(x[i]), yi = _mm512_set1_ps(y[i]);
    double zs = 0.0, fxs = 0.0, fys = 0.0;
    for (std::size_t j0 = 0; j0 < padded; j0 += 1024) {
      const std::size_t j1 = std::min(padded, j0 + 1024);
      __m512 za = _mm512_setzero_ps(), zb = za, fxa = za, fxb = za, fya = za, fyb = za;
      for (std::size_t j = j0; j < j1; j += 32) {
        const __m512 dxa = _mm512_sub_ps(xi, _mm512_loadu_ps(x + j));
        const __m512 dya = _mm512_sub_ps(yi, _mm512_loadu_ps(y + j));
        const __m512 dxb = _mm512_sub_ps(xi, _mm512_loadu_ps(x + j + 16));
        const __m512 dyb = _mm512_sub_ps(yi, _mm512_loadu_ps(y + j + 16));
        const __m512 ba = _mm512_fmadd_ps(dya, dya, _mm512_fmadd_ps(dxa, dxa, one));
        const __m512 bb = _mm512_fmadd_ps(dyb, dyb, _mm512_fmadd_ps(dxb, dxb, one));
        const __m512 wa = _mm512_rcp14_ps(ba), wb = _mm512_rcp14_ps(bb);
        za = _mm512_add_ps(za, wa);
        zb = _mm512_add_ps(zb, wb);
        const __m512 wa2 = _mm512_mul_ps(wa, wa), wb2 = _mm512_mul_ps(wb, wb);
        fxa = _mm512_fmadd_ps(wa2, dxa, fxa);
        fxb = _mm512_fmadd_ps(wb2, dxb, fxb);
        fya = _mm512_fmadd_ps(wa2, dya, fya);
        fyb = _mm512_fmadd_ps(wb2, dyb, fyb);
      }
      zs += static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(za, zb)));
      fxs += static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(fxa, fxb)));
      fys += static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(fya, fyb)));
    }
    z[i] = zs - 1.0;  // the point itself
    fx[i] = fxs;
    fy[i] = fys;
  }
}
#endif

#ifdef PHOTOATLAS_HAVE_AVX512_PATH
// Attractive forces of rows [begin, end) over sparse P, 8 entries per step (gathers of the
// neighbours' coordinates). Lanes are combined in a fixed order: depends on the row alone.
__attribute__((target("avx512f,avx512vl"))) void attraction_rows_avx512(const SparseMatrix& p, const double* xs,
                                                                        const double* ys, double inv_dof,
                                                                        std::size_t begin, std::size_t end,
                                                                        double* out_x, double* out_y) {
  const __m512d one = _mm512_set1_pd(1.0), vinv = _mm512_set1_pd(inv_dof), zero = _mm512_setzero_pd();
  for (std::size_t i = begin; i < end; ++i) {
    const __m512d xi = _mm512_set1_pd(xs[i]), yi = _mm512_set1_pd(ys[i]);
    __m512d ax = zero, ay = zero;
    const std::size_t e1 = p.row_start[i + 1];
    for (std::size_t e = p.row_start[i]; e < e1; e += 8) {
      const std::size_t left = e1 - e;
      const __mmask8 m = left >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << left) - 1u);
      const __m256i idx = _mm256_maskz_loadu_epi32(m, p.cols.data() + e);
      const __m512d xj = _mm512_mask_i32gather_pd(zero, m, idx, xs, 8);
      const __m512d yj = _mm512_mask_i32gather_pd(zero, m, idx, ys, 8);
      const __m512d pv = _mm512_maskz_loadu_pd(m, p.values.data() + e);
      const __m512d dx = _mm512_sub_pd(xi, xj), dy = _mm512_sub_pd(yi, yj);
      const __m512d d2 = _mm512_fmadd_pd(dy, dy, _mm512_mul_pd(dx, dx));
      const __m512d pw = _mm512_div_pd(pv, _mm512_fmadd_pd(d2, vinv, one));
      ax = _mm512_fmadd_pd(pw, dx, ax);
      ay = _mm512_fmadd_pd(pw, dy, ay);
    }
    out_x[i] = _mm512_reduce_add_pd(ax);
    out_y[i] = _mm512_reduce_add_pd(ay);
  }
}

#endif

// Whether the exact gradient takes the single-precision AVX-512 path (large enough rows, CPU support).
bool use_avx512_path(std::size_t n, double dof) {
#ifdef PHOTOATLAS_HAVE_AVX512_PATH
  static const bool supported = __builtin_cpu_supports("avx512f");
  return supported && dof == 1.0 && n >= 512;
#else
  return false;
#endif
}

}  // namespace

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
  std::vector<double> row_kl(n, 0.0);
  const bool want_forces = out_x != nullptr;
#ifdef PHOTOATLAS_HAVE_AVX512_PATH
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  if (want_forces && avx512 && n >= 512) {
    parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
      attraction_rows_avx512(p, xs, ys, inv_dof, begin, end, out_x->data(), out_y->data());
    });
    return 0.0;
  }
#endif
  parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) {
      double ax = 0.0, ay = 0.0, kl = 0.0;
      const double xi = xs[i], yi = ys[i];
      for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
        const std::size_t j = p.cols[e];
        const double dx = xi - xs[j], dy = yi - ys[j];
        const double d2 = dx * dx + dy * dy;
        const double pij = p.values[e];
        if (want_forces) {
          // p w^(1/α) = p / (1 + d²/α)
          const double pw = pij / (1.0 + d2 * inv_dof);
          ax += pw * dx;
          ay += pw * dy;
        } else if (pij > 0.0) {
          // log p - log w = log p + α log(1 + d²/α)
          kl += pij * (std::log(pij) + dof * std::log1p(d2 * inv_dof));
        }
      }
      if (want_forces) {
        (*out_x)[i] = ax;
        (*out_y)[i] = ay;
      } else {
        row_kl[i] = kl;
      }
    }
  });
  return want_forces ? 0.0 : ordered_sum(row_kl);
}

void exact_gradient(const SparseMatrix& p, const Embedding2D& y, double exaggeration, int num_threads,
                    Embedding2D& gradient, double dof) {
  const std::size_t n = y.size();
  gradient.zero(n);
  if (n < 2) return;
  std::vector<double> row_z(n);
  std::vector<double> attract_x, attract_y;
  attractive_forces(p, y, dof, num_threads, &attract_x, &attract_y);
  const double* xs = y.x.data();
  const double* ys = y.y.data();
#ifdef PHOTOATLAS_HAVE_AVX512_PATH
  if (use_avx512_path(n, dof)) {
    // Float copies centred on the first point (coordinates stay small relative to their
    // differences), padded to a multiple of 32 with far-away points. (A variant visiting each
    // pair once, i < j, with per-thread column accumulators measured no faster: it is bound by
    // the column side's loads and stores.)
    const std::size_t padded = (n + 31) / 32 * 32;
    std::vector<float> fxs(padded, 1e18f), fys(padded, 1e18f);
    for (std::size_t i = 0; i < n; ++i) {
      fxs[i] = static_cast<float>(xs[i] - xs[0]);
      fys[i] = static_cast<float>(ys[i] - ys[0]);
    }
    parallel_for_chunks(n, num_threads, [&](std::size_t begin, std::size_t end, int) {
      repulsion_rows_avx512(fxs.data(), fys.data(), padded, begin, end, row_z.data(), gradient.x.data(),
                            gradient.y.data());
    });
  } else
#endif
  {
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
  const double kl = attractive_forces(p, y, dof, num_threads, nullptr, nullptr);
  double total_p = 0.0;
  for (double v : p.values) total_p += v;
  const double z = ordered_sum(row_z);
  return z > 0.0 ? kl + total_p * std::log(z) : 0.0;
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
  const double z = ordered_sum(row_z);
  const double kl = attractive_forces(p, y, dof, num_threads, nullptr, nullptr);
  double total_p = 0.0;
  for (double v : p.values) total_p += v;
  return z > 0.0 ? kl + total_p * std::log(z) : 0.0;
}

}  // namespace photoatlas::embed::detail
