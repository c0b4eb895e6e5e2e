// The t-SNE repulsion by kernel splitting (α = 1): an exact near field plus an FFT-interpolated
// smooth far field, the particle-particle / particle-mesh idea of molecular dynamics (Hockney &
// Eastwood; the softened-kernel splitting of the multilevel summation method, Skeel et al. 2002)
// applied to the Cauchy kernels of t-SNE.
//
// Why not FIt-SNE's interpolation alone (tsne_fft.cpp): interpolating the whole kernel needs
// intervals ~1 unit wide wherever the kernel is steep, i.e. everywhere near a point, so the
// grid grows with the embedding's extent ((4 x extent)² nodes) although a 5k-point map is
// mostly empty space; below ~12k points the O(N²) exact sum was cheaper. Splitting removes
// the steep part: with s = d², each kernel K1(s) = 1 / (1 + s) and K2(s) = K1(s)² is written as
//   K = (K - K_far) + K_far,
//   K_far(s) = K(s) beyond the radius R (s >= R²), and inside it the degree-2 Taylor polynomial
//              of K in s around R² (C² across the circle, smooth and flat inside),
// so K - K_far vanishes beyond R and is summed exactly over the pairs closer than R (a cell
// list: points sorted into R x R cells, each cell against itself and its forward neighbours,
// each pair once), and K_far, which varies on the scale of R rather than 1, is interpolated
// on a grid R times coarser than FIt-SNE's. Measured on a converged 5000-point layout
// (relative error of the repulsive forces, p = 4 nodes per interval): R = 4, h = 4: 4e-3
// (FIt-SNE's p = 4, h = 1: 8e-3) on a 92² grid instead of 360²; degree 2 beat degrees 3 and 4.
//
// The FFT part needs 3 transforms per call instead of FIt-SNE's 7 (+ 2 kernel transforms):
//   - the forces come from one charge (1 per point) convolved with the vector kernel
//     d K2_far(d) (two outputs), not from three charges (1, x, y) and K2 with the sum
//     y_i Σ K2 - Σ K2 y_j (which also loses digits to cancellation far from the origin);
//   - only the total Z = Σ_i Σ_j K1 is needed, and by Parseval it is Σ_k |C_k|² K1_k over the
//     charge spectrum: no inverse transform;
//   - the box width is fixed (h), so the kernels' spectra change only when the number of
//     intervals does, and are cached.
// With R = 0 there is no near field and the engine is plain FFT interpolation with these
// three transforms (the right choice early on, when the embedding is small and dense).
#include <fftw3.h>
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <type_traits>

#include "core/parallel.h"
#include "core/worker_team.h"
#include "embed/tsne_detail.h"

namespace photoatlas::embed::detail {
namespace {

// Degree-2 Taylor coefficients in t = s - R² of K1 = (1 + s)^-1 and K2 = (1 + s)^-2 at s = R².
struct SofteningPolynomials {
  double a0 = 0, a1 = 0, a2 = 0;  // K1
  double b0 = 0, b1 = 0, b2 = 0;  // K2
  explicit SofteningPolynomials(double radius) {
    const double u = 1.0 / (1.0 + radius * radius);
    a0 = u, a1 = -u * u, a2 = u * u * u;
    b0 = u * u, b1 = -2.0 * u * u * u, b2 = 3.0 * u * u * u * u;
  }
};

// The far kernels at squared distance s for near radius R (R = 0: the kernels themselves).
inline double far_k1(double s, double radius, const SofteningPolynomials& c) {
  if (s >= radius * radius) return 1.0 / (1.0 + s);
  const double t = s - radius * radius;
  return c.a0 + t * (c.a1 + t * c.a2);
}
inline double far_k2(double s, double radius, const SofteningPolynomials& c) {
  if (s >= radius * radius) {
    const double k = 1.0 / (1.0 + s);
    return k * k;
  }
  const double t = s - radius * radius;
  return c.b0 + t * (c.b1 + t * c.b2);
}

// The interpolation grid's placement: intervals of width h from the lower corner.
struct GridPlacement {
  double lo_x, lo_y, inverse_width;
  std::size_t boxes, n_grid;
};

// A point's box and its P Lagrange weights per axis (P known at compile time: the loops unroll).
template <int P>
inline void locate_point(double x, double y, const GridPlacement& g, std::size_t& bx, std::size_t& by, double* wx,
                         double* wy) {
  const double ux = (x - g.lo_x) * g.inverse_width, uy = (y - g.lo_y) * g.inverse_width;
  bx = std::min(static_cast<std::size_t>(std::max(ux, 0.0)), g.boxes - 1);
  by = std::min(static_cast<std::size_t>(std::max(uy, 0.0)), g.boxes - 1);
  const double tx = ux - static_cast<double>(bx), ty = uy - static_cast<double>(by);
  // 1 / Π_{l≠m} (u_m - u_l), u = node positions (m + 0.5) / P: constants, so no division per point.
  static constexpr auto inverse_denominators = [] {
    std::array<double, P> out{};
    for (int m = 0; m < P; ++m) {
      double den = 1.0;
      for (int l = 0; l < P; ++l)
        if (l != m) den *= static_cast<double>(m - l) / P;
      out[static_cast<std::size_t>(m)] = 1.0 / den;
    }
    return out;
  }();
  double dx[P], dy[P];
  for (int l = 0; l < P; ++l) dx[l] = tx - (l + 0.5) / P, dy[l] = ty - (l + 0.5) / P;
  for (int m = 0; m < P; ++m) {
    double px = inverse_denominators[static_cast<std::size_t>(m)], py = px;
    for (int l = 0; l < P; ++l)
      if (l != m) px *= dx[l], py *= dy[l];
    wx[m] = px;
    wy[m] = py;
  }
}

// Spreads points [i0, i1) (charge 1) onto `grid` (n_grid²); returns Σ of their interpolated
// self-interactions when `self_table` (K1 between the P x P nodes of a box) is given.
template <int P>
double spread_points(const double* xs, const double* ys, std::size_t i0, std::size_t i1, const GridPlacement& g,
                     double* grid, const double* self_table) {
  double self = 0.0;
  double wx[P], wy[P];
  for (std::size_t i = i0; i < i1; ++i) {
    std::size_t bx, by;
    locate_point<P>(xs[i], ys[i], g, bx, by, wx, wy);
    for (int a = 0; a < P; ++a) {
      double* row = grid + (by * P + a) * g.n_grid + bx * P;
      for (int b = 0; b < P; ++b) row[b] += wy[a] * wx[b];
    }
    if (!self_table) continue;
    // Σ_ac wy_a wy_c Σ_bd wx_b wx_d T(|a-c|, |b-d|) = cyᵀ T cx over the weights'
    // autocorrelations c_k = Σ_b w_b w_{b+k} (twice for k > 0): 2 P² terms, not P⁴.
    double cx[P], cy[P];
    for (int k = 0; k < P; ++k) {
      double sx = 0.0, sy = 0.0;
      for (int b = 0; b + k < P; ++b) sx += wx[b] * wx[b + k], sy += wy[b] * wy[b + k];
      cx[k] = k == 0 ? sx : 2.0 * sx;
      cy[k] = k == 0 ? sy : 2.0 * sy;
    }
    for (int e = 0; e < P; ++e) {
      double u = 0.0;
      for (int f = 0; f < P; ++f) u += self_table[e * P + f] * cx[f];
      self += cy[e] * u;
    }
  }
  return self;
}

// Interpolates the two force grids (rows of `stride` floats) back to points [i0, i1).
template <int P>
void gather_points(const double* xs, const double* ys, std::size_t i0, std::size_t i1, const GridPlacement& g,
                   const float* grid_x, const float* grid_y, std::size_t stride, double scale, double* out_x,
                   double* out_y) {
  double wx[P], wy[P];
  for (std::size_t i = i0; i < i1; ++i) {
    std::size_t bx, by;
    locate_point<P>(xs[i], ys[i], g, bx, by, wx, wy);
    double sx = 0.0, sy = 0.0;
    for (int a = 0; a < P; ++a) {
      const std::size_t row = (by * P + a) * stride + bx * P;
      double rx = 0.0, ry = 0.0;
      for (int b = 0; b < P; ++b) {
        rx += wx[b] * grid_x[row + b];
        ry += wx[b] * grid_y[row + b];
      }
      sx += wy[a] * rx, sy += wy[a] * ry;
    }
    out_x[i] = sx * scale, out_y[i] = sy * scale;
  }
}

// Calls f(std::integral_constant<int, P>) for the runtime p in 1..8.
template <typename F>
void with_points(int p, F&& f) {
  switch (p) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 5: f(std::integral_constant<int, 5>{}); break;
    case 6: f(std::integral_constant<int, 6>{}); break;
    case 7: f(std::integral_constant<int, 7>{}); break;
    default: f(std::integral_constant<int, 8>{}); break;
  }
}

// Near-field cells are R high and R / kCellSplit wide: the cells within R of a point then cover
// (2 kCellSplit + 1) x 3 cells of R² / kCellSplit, 7.5 R² for 2 instead of 9 R² for square
// cells, while the columns a row visits stay two contiguous ranges (its own cell row, the next).
constexpr std::size_t kCellSplit = 2;
constexpr std::size_t kPad = 16;         // one register of float lanes past the end of every array
constexpr float kFarAway = 1e18f;        // coordinate of padding rows: d² ~ 1e36, outside any radius

// Near field of the rows of one cell against columns [j_begin, j_end): 4 rows per step, 16
// columns per vector; each pair's (K - K_far) terms are added to the rows' register sums and to
// the columns' sums in memory. `above` = only columns after each row (the cell and its right
// neighbour: pairs inside one cell are visited once). Portable version (any CPU).
struct NearArrays {
  const float* x;
  const float* y;
  float* row_z;
  float* row_fx;
  float* row_fy;
  float* col_z;
  float* col_fx;
  float* col_fy;
};

void near_rows_portable(const NearArrays& a, std::size_t i0, std::size_t i_end, std::size_t j_begin,
                        std::size_t j_end, bool above, double radius, const SofteningPolynomials& c) {
  const float r2 = static_cast<float>(radius * radius);
  for (std::size_t i = i0; i < i_end; ++i) {
    float z = 0, fx = 0, fy = 0;
    for (std::size_t j = above ? std::max(j_begin, i + 1) : j_begin; j < j_end; ++j) {
      const float dx = a.x[i] - a.x[j], dy = a.y[i] - a.y[j];
      const float s = dx * dx + dy * dy;
      if (!(s < r2)) continue;
      const float w = 1.0f / (1.0f + s);
      const float t = s - r2;
      const float k1 = w - static_cast<float>(c.a0 + t * (c.a1 + t * c.a2));
      const float k2 = w * w - static_cast<float>(c.b0 + t * (c.b1 + t * c.b2));
      z += k1, fx += k2 * dx, fy += k2 * dy;
      a.col_z[j] += k1, a.col_fx[j] -= k2 * dx, a.col_fy[j] -= k2 * dy;
    }
    a.row_z[i] += z, a.row_fx[i] += fx, a.row_fy[i] += fy;
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define PHOTOATLAS_SPLIT_AVX512 1
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// AVX-512 version: the exact kernel's layout (tsne_gradient.cpp: 4 rows in registers, each
// column vector loaded, updated by the 4 rows, stored), with masks for the radius, the range's
// end and (inside a cell) the lower triangle. Masked loads and stores keep the columns of the
// neighbouring ranges untouched (another task may be writing them).
__attribute__((target("avx512f"))) void near_rows_avx512(const NearArrays& a, std::size_t i0, std::size_t i_end,
                                                          std::size_t j_begin, std::size_t j_end, bool above,
                                                          double radius, const SofteningPolynomials& c) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 limit = _mm512_set1_ps(static_cast<float>(1.0 + radius * radius));  // compared with 1 + s
  const __m512 a0 = _mm512_set1_ps(static_cast<float>(c.a0)), a1 = _mm512_set1_ps(static_cast<float>(c.a1)),
               a2 = _mm512_set1_ps(static_cast<float>(c.a2)), b0 = _mm512_set1_ps(static_cast<float>(c.b0)),
               b1 = _mm512_set1_ps(static_cast<float>(c.b1)), b2 = _mm512_set1_ps(static_cast<float>(c.b2));
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (std::size_t r0 = i0; r0 < i_end; r0 += 4) {
    __m512 xr[4], yr[4], z[4], fx[4], fy[4];
    for (int r = 0; r < 4; ++r) {
      const bool valid = r0 + r < i_end;
      xr[r] = _mm512_set1_ps(valid ? a.x[r0 + r] : kFarAway);
      yr[r] = _mm512_set1_ps(valid ? a.y[r0 + r] : kFarAway);
      z[r] = fx[r] = fy[r] = _mm512_setzero_ps();
    }
    const std::size_t start = above ? std::max(j_begin, r0 + 1) : j_begin;
    for (std::size_t j = start; j < j_end; j += 16) {
      const std::size_t left = j_end - j;
      const __mmask16 in_range = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
      const __m512 xj = _mm512_maskz_loadu_ps(in_range, a.x + j), yj = _mm512_maskz_loadu_ps(in_range, a.y + j);
      __m512 cz = _mm512_maskz_loadu_ps(in_range, a.col_z + j);
      __m512 cfx = _mm512_maskz_loadu_ps(in_range, a.col_fx + j);
      __m512 cfy = _mm512_maskz_loadu_ps(in_range, a.col_fy + j);
      for (int r = 0; r < 4; ++r) {
        __mmask16 m = in_range;
        if (above) {  // column index j + lane > row index r0 + r
          const int offset = static_cast<int>(static_cast<long>(r0 + r) - static_cast<long>(j));
          m &= _mm512_cmpgt_epi32_mask(lane, _mm512_set1_epi32(offset));
        }
        const __m512 dx = _mm512_sub_ps(xr[r], xj), dy = _mm512_sub_ps(yr[r], yj);
        const __m512 d1 = _mm512_fmadd_ps(dy, dy, _mm512_fmadd_ps(dx, dx, one));  // 1 + s
        m &= _mm512_cmp_ps_mask(d1, limit, _CMP_LT_OQ);
        const __m512 w = _mm512_rcp14_ps(d1);
        const __m512 t = _mm512_sub_ps(d1, limit);  // s - R²
        const __m512 t1 = _mm512_fmadd_ps(_mm512_fmadd_ps(a2, t, a1), t, a0);
        const __m512 t2 = _mm512_fmadd_ps(_mm512_fmadd_ps(b2, t, b1), t, b0);
        const __m512 k1 = _mm512_maskz_sub_ps(m, w, t1);
        const __m512 k2 = _mm512_maskz_sub_ps(m, _mm512_mul_ps(w, w), t2);
        z[r] = _mm512_add_ps(z[r], k1);
        fx[r] = _mm512_fmadd_ps(k2, dx, fx[r]);
        fy[r] = _mm512_fmadd_ps(k2, dy, fy[r]);
        cz = _mm512_add_ps(cz, k1);
        cfx = _mm512_fnmadd_ps(k2, dx, cfx);
        cfy = _mm512_fnmadd_ps(k2, dy, cfy);
      }
      _mm512_mask_storeu_ps(a.col_z + j, in_range, cz);
      _mm512_mask_storeu_ps(a.col_fx + j, in_range, cfx);
      _mm512_mask_storeu_ps(a.col_fy + j, in_range, cfy);
    }
    for (int r = 0; r < 4 && r0 + r < i_end; ++r) {
      a.row_z[r0 + r] += _mm512_reduce_add_ps(z[r]);
      a.row_fx[r0 + r] += _mm512_reduce_add_ps(fx[r]);
      a.row_fy[r0 + r] += _mm512_reduce_add_ps(fy[r]);
    }
  }
}
#endif

bool split_avx512_supported() {
#ifdef PHOTOATLAS_SPLIT_AVX512
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  return supported;
#else
  return false;
#endif
}

}  // namespace

bool split_vector_path() { return split_avx512_supported(); }

struct SplitRepulsion::Fft {
  std::size_t n_fft = 0, n_grid = 0, n_half = 0;
  fftwf_plan rows_forward = nullptr, columns_forward = nullptr, columns_backward = nullptr, rows_backward = nullptr;
  fftwf_plan kernel = nullptr;  // full 2-D real-to-complex transform of a kernel table
  float* real = nullptr;               // n_grid x n_fft: the charges, then the x output
  float* real_y = nullptr;             // n_grid x n_fft: the y output
  fftwf_complex* spectrum = nullptr;   // n_fft x n_half: the charges' spectrum
  fftwf_complex* spectrum_x = nullptr;
  fftwf_complex* spectrum_y = nullptr;
  float* table = nullptr;              // n_fft x n_fft kernel table (planning and kernel transforms)
  // Kernel spectra for (spacing, radius) on this grid: K1 (real: the kernel is even) and the
  // two components of the vector kernel d K2_far.
  std::vector<float> k1_hat;
  fftwf_complex* gx_hat = nullptr;
  fftwf_complex* gy_hat = nullptr;
  double kernel_spacing = -1.0, kernel_radius = -1.0;

  explicit Fft(std::size_t grid) : n_fft(2 * grid), n_grid(grid), n_half(grid + 1) {
    std::lock_guard lock(fftw_planner_mutex());
    real = fftwf_alloc_real(n_grid * n_fft);
    real_y = fftwf_alloc_real(n_grid * n_fft);
    spectrum = fftwf_alloc_complex(n_fft * n_half);
    spectrum_x = fftwf_alloc_complex(n_fft * n_half);
    spectrum_y = fftwf_alloc_complex(n_fft * n_half);
    gx_hat = fftwf_alloc_complex(n_fft * n_half);
    gy_hat = fftwf_alloc_complex(n_fft * n_half);
    table = fftwf_alloc_real(n_fft * n_fft);
    const int n = static_cast<int>(n_fft), rows = static_cast<int>(n_grid), half = static_cast<int>(n_half);
    // FFTW_ESTIMATE: no timing-dependent plan choice, so results are reproducible.
    rows_forward = fftwf_plan_many_dft_r2c(1, &n, rows, real, nullptr, 1, n, spectrum, nullptr, 1, half, FFTW_ESTIMATE);
    columns_forward = fftwf_plan_many_dft(1, &n, half, spectrum, nullptr, half, 1, spectrum, nullptr, half, 1,
                                          FFTW_FORWARD, FFTW_ESTIMATE);
    columns_backward = fftwf_plan_many_dft(1, &n, half, spectrum, nullptr, half, 1, spectrum, nullptr, half, 1,
                                           FFTW_BACKWARD, FFTW_ESTIMATE);
    rows_backward = fftwf_plan_many_dft_c2r(1, &n, rows, spectrum, nullptr, 1, half, real, nullptr, 1, n, FFTW_ESTIMATE);
    kernel = fftwf_plan_dft_r2c_2d(n, n, table, spectrum_x, FFTW_ESTIMATE);
  }
  ~Fft() {
    std::lock_guard lock(fftw_planner_mutex());
    for (fftwf_plan p : {rows_forward, columns_forward, columns_backward, rows_backward, kernel})
      if (p) fftwf_destroy_plan(p);
    for (void* p : {static_cast<void*>(real), static_cast<void*>(real_y), static_cast<void*>(spectrum),
                    static_cast<void*>(spectrum_x), static_cast<void*>(spectrum_y), static_cast<void*>(gx_hat),
                    static_cast<void*>(gy_hat), static_cast<void*>(table)})
      if (p) fftwf_free(p);
  }
  Fft(const Fft&) = delete;
  Fft& operator=(const Fft&) = delete;

  // The kernel tables on the cyclic (n_fft)² grid of node offsets, transformed once per
  // (spacing, radius): offsets beyond ±(n_grid - 1) never pair two nodes and stay 0.
  void prepare_kernels(double spacing, double radius) {
    if (spacing == kernel_spacing && radius == kernel_radius) return;
    const SofteningPolynomials c(radius);
    auto offset = [&](std::size_t a) {
      return a < n_grid ? static_cast<double>(a) : a == n_grid ? 0.0 : static_cast<double>(a) - n_fft;
    };
    auto fill = [&](int which) {
      for (std::size_t a = 0; a < n_fft; ++a) {
        const double oy = offset(a) * spacing;
        for (std::size_t b = 0; b < n_fft; ++b) {
          const double ox = offset(b) * spacing;
          const double s = ox * ox + oy * oy;
          double v = 0.0;
          if (a != n_grid && b != n_grid) {
            v = which == 0 ? far_k1(s, radius, c) : (which == 1 ? ox : oy) * far_k2(s, radius, c);
          }
          table[a * n_fft + b] = static_cast<float>(v);
        }
      }
    };
    fill(0);
    fftwf_execute_dft_r2c(kernel, table, spectrum_x);
    k1_hat.resize(n_fft * n_half);
    for (std::size_t k = 0; k < n_fft * n_half; ++k) k1_hat[k] = spectrum_x[k][0];
    fill(1);
    fftwf_execute_dft_r2c(kernel, table, gx_hat);
    fill(2);
    fftwf_execute_dft_r2c(kernel, table, gy_hat);
    kernel_spacing = spacing, kernel_radius = radius;
  }
};

SplitRepulsion::SplitRepulsion() = default;
SplitRepulsion::~SplitRepulsion() = default;
SplitRepulsion::SplitRepulsion(SplitRepulsion&&) noexcept = default;
SplitRepulsion& SplitRepulsion::operator=(SplitRepulsion&&) noexcept = default;

SplitLayout SplitRepulsion::prepare(const Embedding2D& y, const SplitRepulsionOptions& options) {
  const std::size_t n = y.size();
  options_ = options;
  options_.points_per_interval = std::clamp(options.points_per_interval, 1, 8);
  options_.box_width = std::max(options.box_width, 1e-12);
  options_.near_radius = std::max(options.near_radius, 0.0);
  const int p = options_.points_per_interval;
  lo_x_ = n ? y.x[0] : 0.0, lo_y_ = n ? y.y[0] : 0.0;
  double hi_x = lo_x_, hi_y = lo_y_;
  for (std::size_t i = 0; i < n; ++i) {
    lo_x_ = std::min(lo_x_, y.x[i]), hi_x = std::max(hi_x, y.x[i]);
    lo_y_ = std::min(lo_y_, y.y[i]), hi_y = std::max(hi_y, y.y[i]);
  }
  const double span = std::max(hi_x - lo_x_, hi_y - lo_y_);
  // Intervals of width h from the lower corner; the largest coordinate must fall inside.
  // Growing embeddings would change the interval count (and the cached kernel spectra) every
  // few iterations: the grid grows with 1/16 headroom and shrinks only below 3/4 of its size.
  const std::size_t needed = static_cast<std::size_t>(std::min(span / options_.box_width, 1e6)) + 1;
  std::size_t boxes = boxes_;
  if (options_.box_width != grid_box_width_ || p != grid_points_ || needed > boxes || 4 * needed < 3 * boxes) {
    boxes = needed + (needed > boxes_ && boxes_ > 0 ? needed / 16 : 0);
    while (!fft_friendly(2 * boxes * static_cast<std::size_t>(p))) ++boxes;
  }
  boxes_ = boxes, grid_box_width_ = options_.box_width, grid_points_ = p;

  SplitLayout layout;
  layout.intervals = boxes;
  layout.fft_size = 2 * boxes * static_cast<std::size_t>(p);

  // Near field: counting sort of the points into R x R cells (wider when the extent would need
  // more than ~16 cells per point: a cell of width >= R still holds every pair closer than R).
  cells_x_ = cells_y_ = 0;
  if (options_.near_radius > 0.0 && n > 0) {
    double cell = options_.near_radius;
    const double max_cells = 16.0 * static_cast<double>(n) + 1024.0;
    while (((hi_x - lo_x_) * kCellSplit / cell + 1.0) * ((hi_y - lo_y_) / cell + 1.0) > max_cells) cell *= 2.0;
    cell_width_ = cell;
    const double cell_x = cell / kCellSplit;
    cells_x_ = static_cast<std::size_t>((hi_x - lo_x_) / cell_x) + 1;
    cells_y_ = static_cast<std::size_t>((hi_y - lo_y_) / cell) + 1;
    const std::size_t cells = cells_x_ * cells_y_;
    cell_of_.resize(n);
    cell_start_.assign(cells + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t cx = std::min(static_cast<std::size_t>((y.x[i] - lo_x_) / cell_x), cells_x_ - 1);
      const std::size_t cy = std::min(static_cast<std::size_t>((y.y[i] - lo_y_) / cell), cells_y_ - 1);
      cell_of_[i] = static_cast<std::uint32_t>(cy * cells_x_ + cx);
      ++cell_start_[cell_of_[i] + 1];
    }
    for (std::size_t c = 0; c < cells; ++c) cell_start_[c + 1] += cell_start_[c];
    order_.resize(n);
    position_.resize(n);
    sorted_x_.assign(n + kPad, kFarAway);
    sorted_y_.assign(n + kPad, kFarAway);
    std::vector<std::size_t> next(cell_start_.begin(), cell_start_.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {  // stable: within a cell, points keep their order
      const std::size_t k = next[cell_of_[i]]++;
      order_[k] = static_cast<std::uint32_t>(i);
      position_[i] = static_cast<std::uint32_t>(k);
      sorted_x_[k] = static_cast<float>(y.x[i] - lo_x_);
      sorted_y_[k] = static_cast<float>(y.y[i] - lo_y_);
    }
    // Work estimate: every row against its cell's later points and its forward neighbours.
    double candidates = 0.0;
    auto count = [&](std::size_t cx, std::size_t cy) {
      return static_cast<double>(cell_start_[cy * cells_x_ + cx + 1] - cell_start_[cy * cells_x_ + cx]);
    };
    for (std::size_t cy = 0; cy < cells_y_; ++cy)
      for (std::size_t cx = 0; cx < cells_x_; ++cx) {
        const double own = count(cx, cy);
        if (own == 0.0) continue;
        double forward = 0.0;
        for (std::size_t nx = cx + 1; nx <= std::min(cx + kCellSplit, cells_x_ - 1); ++nx) forward += count(nx, cy);
        if (cy + 1 < cells_y_)
          for (std::size_t nx = cx < kCellSplit ? 0 : cx - kCellSplit; nx <= std::min(cx + kCellSplit, cells_x_ - 1); ++nx)
            forward += count(nx, cy + 1);
        candidates += own * (own - 1.0) / 2.0 + own * forward;
      }
    layout.near_candidates = candidates;
  }
  prepared_n_ = n;
  return layout;
}

double SplitRepulsion::gradient(const SparseMatrix& p_matrix, const Embedding2D& y, double exaggeration,
                                int num_threads, Embedding2D& gradient, WorkerTeam* team) {
  const std::size_t n = y.size();
  gradient.zero(n);
  if (n < 2) return 0.0;
  if (prepared_n_ != n) prepare(y, options_);
  const int p = options_.points_per_interval;
  const double h = options_.box_width, radius = options_.near_radius;
  const double spacing = h / p;
  const std::size_t n_grid = boxes_ * static_cast<std::size_t>(p);
  if (!fft_ || fft_->n_grid != n_grid) fft_ = std::make_unique<Fft>(n_grid);
  Fft& fft = *fft_;
  fft.prepare_kernels(spacing, radius);
  const std::size_t n_fft = fft.n_fft, n_half = fft.n_half;
  const bool near = radius > 0.0 && cells_x_ > 0;
  const bool vector_path = split_avx512_supported() && !options_.portable;
  const SofteningPolynomials poly(radius);

  // Self-interaction table for Z: K1_far between the p x p nodes of one box (offsets e, f).
  std::vector<double> self_table(static_cast<std::size_t>(p) * p);
  for (int e = 0; e < p; ++e)
    for (int f = 0; f < p; ++f) {
      const double de = e * spacing, df = f * spacing;
      self_table[e * p + f] = far_k1(de * de + df * df, radius, poly);
    }

  // Work lists. Fixed counts (they do not depend on the thread count), so every sum below
  // runs in the same order whatever the schedule: the result depends only on the input.
  const std::size_t spread_chunks = std::clamp<std::size_t>(n / 8192, 1, 8);
  const std::size_t attraction_chunks = 8;
  const std::size_t grid_cells = n_grid * n_grid;
  spread_.assign(spread_chunks * grid_cells, 0.0);
  std::vector<double> self_sum(spread_chunks, 0.0);
  if (near) {
    row_z_.assign(n + kPad, 0.0f), row_fx_.assign(n + kPad, 0.0f), row_fy_.assign(n + kPad, 0.0f);
    col_z_.assign(n + kPad, 0.0f), col_fx_.assign(n + kPad, 0.0f), col_fy_.assign(n + kPad, 0.0f);
  }
  const NearArrays arrays{sorted_x_.data(), sorted_y_.data(), row_z_.data(), row_fx_.data(),
                          row_fy_.data(),   col_z_.data(),    col_fx_.data(), col_fy_.data()};
  std::vector<double> attract_x(n), attract_y(n);
  const bool packed_attraction = attraction_vector_path(n);
  std::vector<float> packed;
  if (packed_attraction) packed = packed_coordinates(y);
  double z_grid = 0.0;

  const GridPlacement placement{lo_x_, lo_y_, 1.0 / h, boxes_, n_grid};
  auto spread_task = [&](std::size_t chunk) {
    const std::size_t i0 = n * chunk / spread_chunks, i1 = n * (chunk + 1) / spread_chunks;
    // The point's interpolated interaction with itself matters without a near field (K1 peaks
    // at 1 where the interpolation is least accurate: subtracting N instead raised the final KL
    // by 2.5% at N = 2000). With one, the far kernel is flat inside R and its interpolation at
    // zero offset is K1_far(0) to ~1e-5 relative: Z loses ~1e-8 of itself.
    const double* table = radius > 0.0 ? nullptr : self_table.data();
    double self = 0.0;
    with_points(p, [&](auto points) {
      self = spread_points<decltype(points)::value>(y.x.data(), y.y.data(), i0, i1, placement,
                                                    spread_.data() + chunk * grid_cells, table);
    });
    self_sum[chunk] = radius > 0.0 ? far_k1(0.0, radius, poly) * static_cast<double>(i1 - i0) : self;
  };
  auto forward_task = [&] {
    for (std::size_t chunk = 1; chunk < spread_chunks; ++chunk)
      for (std::size_t e = 0; e < grid_cells; ++e) spread_[e] += spread_[chunk * grid_cells + e];
    for (std::size_t a = 0; a < n_grid; ++a) {
      float* row = fft.real + a * n_fft;
      for (std::size_t b = 0; b < n_grid; ++b) row[b] = static_cast<float>(spread_[a * n_grid + b]);
      std::fill(row + n_grid, row + n_fft, 0.0f);
    }
    fftwf_execute_dft_r2c(fft.rows_forward, fft.real, fft.spectrum);
    std::memset(fft.spectrum + n_grid * n_half, 0, sizeof(fftwf_complex) * (n_fft - n_grid) * n_half);
    fftwf_execute_dft(fft.columns_forward, fft.spectrum, fft.spectrum);
    // Parseval: Σ_u c(u) (K1 * c)(u) = (1 / M) Σ_k |C_k|² K1_k over the full spectrum; the
    // half spectrum holds columns 1 .. n_fft/2 - 1 once for two conjugate columns.
    double total = 0.0;
    for (std::size_t m1 = 0; m1 < n_fft; ++m1) {
      const fftwf_complex* s = fft.spectrum + m1 * n_half;
      const float* k = fft.k1_hat.data() + m1 * n_half;
      double row = 0.0;
      for (std::size_t m2 = 0; m2 < n_half; ++m2) {
        const double power = static_cast<double>(s[m2][0]) * s[m2][0] + static_cast<double>(s[m2][1]) * s[m2][1];
        row += (m2 == 0 || m2 == n_half - 1 ? 1.0 : 2.0) * power * k[m2];
      }
      total += row;
    }
    z_grid = total / (static_cast<double>(n_fft) * static_cast<double>(n_fft));
  };
  auto inverse_task = [&](int axis) {
    fftwf_complex* out = axis == 0 ? fft.spectrum_x : fft.spectrum_y;
    const fftwf_complex* kernel = axis == 0 ? fft.gx_hat : fft.gy_hat;
    for (std::size_t k = 0; k < n_fft * n_half; ++k) {
      const float re = fft.spectrum[k][0], im = fft.spectrum[k][1];
      out[k][0] = re * kernel[k][0] - im * kernel[k][1];
      out[k][1] = re * kernel[k][1] + im * kernel[k][0];
    }
    fftwf_execute_dft(fft.columns_backward, out, out);
    fftwf_execute_dft_c2r(fft.rows_backward, out, axis == 0 ? fft.real : fft.real_y);
  };
  auto near_task = [&](std::size_t cy) {
    for (std::size_t cx = 0; cx < cells_x_; ++cx) {
      const std::size_t c = cy * cells_x_ + cx;
      const std::size_t s = cell_start_[c], e = cell_start_[c + 1];
      if (s == e) continue;
      // This cell and the kCellSplit cells to its right; the row above from kCellSplit cells to
      // the left to kCellSplit to the right: every cell within R of this one, half of them.
      const std::size_t same_end = cell_start_[cy * cells_x_ + std::min(cx + kCellSplit, cells_x_ - 1) + 1];
      std::size_t below_begin = 0, below_end = 0;
      if (cy + 1 < cells_y_) {
        const std::size_t row = (cy + 1) * cells_x_;
        below_begin = cell_start_[row + (cx < kCellSplit ? 0 : cx - kCellSplit)];
        below_end = cell_start_[row + std::min(cx + kCellSplit, cells_x_ - 1) + 1];
      }
#ifdef PHOTOATLAS_SPLIT_AVX512
      if (vector_path) {
        near_rows_avx512(arrays, s, e, s, same_end, true, radius, poly);
        if (below_end > below_begin) near_rows_avx512(arrays, s, e, below_begin, below_end, false, radius, poly);
        continue;
      }
#endif
      near_rows_portable(arrays, s, e, s, same_end, true, radius, poly);
      if (below_end > below_begin) near_rows_portable(arrays, s, e, below_begin, below_end, false, radius, poly);
    }
  };
  auto attraction_task = [&](std::size_t chunk) {
    const std::size_t r0 = n * chunk / attraction_chunks, r1 = n * (chunk + 1) / attraction_chunks;
    if (packed_attraction) {
      attraction_rows(p_matrix, packed.data(), r0, r1, attract_x.data(), attract_y.data());
    } else {
      attraction_rows_double(p_matrix, y, 1.0, r0, r1, attract_x.data(), attract_y.data());
    }
  };

  // Stages, separated by barriers, in one parallel region (starting threads costs ~0.1 ms, a
  // tenth of a whole 5k-point iteration). Cell rows of one parity touch disjoint column ranges
  // (a row's own cell row and the next), so each parity's rows run in parallel on one set of
  // column sums; even rows before odd ones fixes the order in which a column's sums arrive.
  const std::size_t even_rows = near ? (cells_y_ + 1) / 2 : 0, odd_rows = near ? cells_y_ / 2 : 0;
  std::vector<std::function<void()>> stage1, stage2, stage3;
  // The charges' transform follows the spreading at once when one task spreads them all (it
  // then overlaps the near field instead of waiting for a barrier).
  if (spread_chunks == 1) {
    stage1.emplace_back([&] {
      spread_task(0);
      forward_task();
    });
  } else {
    for (std::size_t c = 0; c < spread_chunks; ++c) stage1.emplace_back([&, c] { spread_task(c); });
    stage2.emplace_back(forward_task);
  }
  for (std::size_t r = 0; r < even_rows; ++r) stage1.emplace_back([&, r] { near_task(2 * r); });
  for (std::size_t c = 0; c < attraction_chunks / 2; ++c) stage1.emplace_back([&, c] { attraction_task(c); });
  for (std::size_t r = 0; r < odd_rows; ++r) stage2.emplace_back([&, r] { near_task(2 * r + 1); });
  for (std::size_t c = attraction_chunks / 2; c < attraction_chunks; ++c) stage2.emplace_back([&, c] { attraction_task(c); });
  stage3.emplace_back([&] { inverse_task(0); });
  stage3.emplace_back([&] { inverse_task(1); });

  std::unique_ptr<WorkerTeam> own_team;
  if (!team) {
    own_team = std::make_unique<WorkerTeam>(std::min(resolve_threads(num_threads), 8));
    team = own_team.get();
  }
  const int workers = team->size();
  std::atomic<std::size_t> next1{0}, next2{0}, next3{0};
  auto drain = [](std::vector<std::function<void()>>& tasks, std::atomic<std::size_t>& next) {
    for (std::size_t t = next.fetch_add(1); t < tasks.size(); t = next.fetch_add(1)) tasks[t]();
  };
  std::vector<double> far_x(n), far_y(n);
  const double norm = 1.0 / (static_cast<double>(n_fft) * static_cast<double>(n_fft));
  team->run([&](int worker_index) {
    const auto worker = static_cast<std::size_t>(worker_index);
    drain(stage1, next1);
    team->barrier();
    drain(stage2, next2);
    team->barrier();
    drain(stage3, next3);
    team->barrier();
    // Gather: each point reads the two force grids at its box's nodes.
    const std::size_t i0 = n * worker / workers, i1 = n * (worker + 1) / workers;
    with_points(p, [&](auto points) {
      gather_points<decltype(points)::value>(y.x.data(), y.y.data(), i0, i1, placement, fft.real, fft.real_y, n_fft,
                                             norm, far_x.data(), far_y.data());
    });
  });

  double z = z_grid;
  for (double s : self_sum) z -= s;
  if (near) {
    double near_z = 0.0;
    for (std::size_t k = 0; k < n; ++k) near_z += static_cast<double>(row_z_[k]) + static_cast<double>(col_z_[k]);
    z += near_z;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = position_[i];
      far_x[i] += static_cast<double>(row_fx_[k]) + static_cast<double>(col_fx_[k]);
      far_y[i] += static_cast<double>(row_fy_[k]) + static_cast<double>(col_fy_[k]);
    }
  }
  last_z_ = z;
  const double inv_z = z > 0.0 ? 1.0 / z : 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    gradient.x[i] = 4.0 * (exaggeration * attract_x[i] - far_x[i] * inv_z);
    gradient.y[i] = 4.0 * (exaggeration * attract_y[i] - far_y[i] * inv_z);
  }
  return z;
}

}  // namespace photoatlas::embed::detail
