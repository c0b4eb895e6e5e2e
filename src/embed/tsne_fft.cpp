// FFT-accelerated interpolation for the t-SNE repulsive forces (Linderman, Rachh, Hoskins,
// Steinerberger & Kluger 2019, "Fast interpolation-based t-SNE", Nature Methods; FIt-SNE).
//
// The repulsion needs, for every target point i, sums over all source points j of the two
// kernels K1(d) = (1 + d²/α)^-α (the Student-t similarity w_ij, summing to Z) and
// K2(d) = (1 + d²/α)^-(α+1) (w_ij^((α+1)/α), which weighs the repulsive force). Both kernels
// are smooth, so their sums are well approximated by interpolation:
//   1. the embedding's bounding square is cut into B x B intervals ("boxes"), each holding
//      p x p equispaced interpolation nodes; every source spreads its charges (1, x_j, y_j)
//      onto the p x p nodes of its box with Lagrange weights (polynomial interpolation);
//   2. the kernel sums between all pairs of nodes are a discrete convolution on the regular
//      (B p) x (B p) grid, so they are computed exactly by FFT on the zero-padded
//      (2 B p)² grid in O(n_grid log n_grid);
//   3. every target reads its sums back from the p x p nodes of its box with the same weights.
// Cost O(N p²) + O((B p)² log(B p)) per iteration instead of O(N²).
//
// Interval count (the adaptive choice, as FIt-SNE and openTSNE): the interpolation error of a
// degree p-1 polynomial over an interval of width h is O(h^p max|K^(p)|), and the kernels vary
// on the scale of 1 embedding unit, so the interval width must stay ~1 unit whatever the
// embedding's extent: B = max(min_intervals, ceil(extent * intervals_per_unit)). The embedding
// grows from ~1e-4 to tens or hundreds of units during optimisation (extent ~ sqrt(N)), so B
// grows with it; the floor of 50 intervals keeps the early, tiny embedding finely resolved
// (FIt-SNE and openTSNE: p = 3, at least 50 intervals, 1 per unit). The error falls as h^p
// (measured on a converged 2000-point layout, relative error of the repulsive forces: p = 3:
// 2.7e-2, p = 4: 8.1e-3, p = 5: 2.5e-3 at h = 1; each halving of h divides them by ~2^p), which
// is why the t-SNE stage picks p = 4 below 200k points (see TsneOptions::interpolation_points).
// B is rounded up so that the FFT length 2 B p factors into 2, 3, 5, 7 (fast FFTW sizes).
#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "core/parallel.h"
#include "embed/tsne_detail.h"

namespace photoatlas::embed::detail {

std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

bool fft_friendly(std::size_t n) {
  for (std::size_t f : {2u, 3u, 5u, 7u})
    while (n % f == 0) n /= f;
  return n == 1;
}

namespace {

// Lagrange basis weights of the p nodes u_m = (m + 0.5) / p at local coordinate t in [0, 1].
inline void lagrange_weights(double t, int p, const double* nodes, const double* denominators, double* w) {
  for (int m = 0; m < p; ++m) {
    double num = 1.0;
    for (int l = 0; l < p; ++l)
      if (l != m) num *= t - nodes[l];
    w[m] = num * denominators[m];
  }
}

}  // namespace

// Pruned 2-D transforms on the (n_fft)² padded grid, in single precision (the interpolation
// error, ~1e-3, dwarfs float rounding): charges fill only the first n_grid rows and columns, and
// only the first n_grid rows and columns of the result are needed, so the row transforms run on
// n_grid rows only (forward: the others are zero; backward: the others are not wanted) and the
// column transforms on all n_fft / 2 + 1 complex columns: 3/4 of a full 2-D transform each way.
// The kernel is real and even in both axes, so its spectrum is real and comes from a DCT-I of
// the (n_grid + 1)² quarter instead of a full transform.
struct FftRepulsion::Plans {
  std::size_t n_fft = 0, n_grid = 0, n_half = 0;
  fftwf_plan rows_forward = nullptr, columns_forward = nullptr, columns_backward = nullptr, rows_backward = nullptr;
  fftwf_plan kernel = nullptr;
  float* real = nullptr;            // n_grid x n_fft (planning scratch)
  fftwf_complex* spectrum = nullptr;  // n_fft x n_half
  float* quarter = nullptr;         // (n_grid + 1)², kernel planning scratch
  float* quarter_out = nullptr;
  ~Plans() {
    std::lock_guard lock(fftw_planner_mutex());
    for (fftwf_plan p : {rows_forward, columns_forward, columns_backward, rows_backward, kernel})
      if (p) fftwf_destroy_plan(p);
    for (void* p : {static_cast<void*>(real), static_cast<void*>(spectrum), static_cast<void*>(quarter),
                    static_cast<void*>(quarter_out)})
      if (p) fftwf_free(p);
  }
};

void FftRepulsion::FftwFree::operator()(void* p) const { fftwf_free(p); }

FftRepulsion::FftRepulsion() = default;
FftRepulsion::FftRepulsion(const InterpolationOptions& options) : options_(options) {}
FftRepulsion::~FftRepulsion() = default;
FftRepulsion::FftRepulsion(FftRepulsion&&) noexcept = default;
FftRepulsion& FftRepulsion::operator=(FftRepulsion&&) noexcept = default;

std::size_t FftRepulsion::interval_count(double extent) const {
  const double wanted = std::ceil(std::max(extent, 0.0) * std::max(options_.intervals_per_unit, 1e-9));
  std::size_t b = static_cast<std::size_t>(std::max<double>(options_.min_intervals, std::min(wanted, 1e6)));
  b = std::max<std::size_t>(b, 1);
  const std::size_t p = static_cast<std::size_t>(options_.points_per_interval);
  while (!fft_friendly(2 * b * p)) ++b;
  return b;
}

void FftRepulsion::compute(const double* sx, const double* sy, std::size_t ns, const double* tx, const double* ty,
                           std::size_t nt, double dof, int num_threads, double* z, double* fx, double* fy) {
  if (nt == 0) return;
  if (ns == 0) {
    std::fill(z, z + nt, 0.0);
    if (fx) std::fill(fx, fx + nt, 0.0);
    if (fy) std::fill(fy, fy + nt, 0.0);
    return;
  }
  const bool forces = fx != nullptr;
  const int p = std::clamp(options_.points_per_interval, 1, 8);
  const int threads = std::max(1, num_threads);

  // Bounding square of sources and targets together.
  double lo_x = sx[0], hi_x = sx[0], lo_y = sy[0], hi_y = sy[0];
  for (std::size_t i = 0; i < ns; ++i) {
    lo_x = std::min(lo_x, sx[i]), hi_x = std::max(hi_x, sx[i]);
    lo_y = std::min(lo_y, sy[i]), hi_y = std::max(hi_y, sy[i]);
  }
  for (std::size_t i = 0; i < nt; ++i) {
    lo_x = std::min(lo_x, tx[i]), hi_x = std::max(hi_x, tx[i]);
    lo_y = std::min(lo_y, ty[i]), hi_y = std::max(hi_y, ty[i]);
  }
  double span = std::max(hi_x - lo_x, hi_y - lo_y);
  span = std::max(span, 1e-12) * (1.0 + 1e-9) + 1e-12;  // strictly inside, also for one point
  const std::size_t boxes = interval_count(span);
  const std::size_t n_grid = boxes * static_cast<std::size_t>(p);  // interpolation nodes per side
  const std::size_t n_fft = 2 * n_grid;
  const std::size_t n_half = n_fft / 2 + 1;
  const double box_width = span / static_cast<double>(boxes);
  const double spacing = box_width / p;
  last_intervals_ = boxes;

  // Interpolation nodes within the unit box and their Lagrange denominators.
  std::vector<double> nodes(p), denominators(p);
  for (int m = 0; m < p; ++m) nodes[m] = (m + 0.5) / p;
  for (int m = 0; m < p; ++m) {
    double d = 1.0;
    for (int l = 0; l < p; ++l)
      if (l != m) d *= nodes[m] - nodes[l];
    denominators[m] = 1.0 / d;
  }

  // Plans for this grid size (FFTW_ESTIMATE: no timing-dependent choice, so results are reproducible).
  if (!plans_ || plans_->n_fft != n_fft) {
    plans_.reset();
    auto plans = std::make_unique<Plans>();
    std::lock_guard lock(fftw_planner_mutex());
    plans->n_fft = n_fft, plans->n_grid = n_grid, plans->n_half = n_half;
    plans->real = fftwf_alloc_real(n_grid * n_fft);
    plans->spectrum = fftwf_alloc_complex(n_fft * n_half);
    plans->quarter = fftwf_alloc_real((n_grid + 1) * (n_grid + 1));
    plans->quarter_out = fftwf_alloc_real((n_grid + 1) * (n_grid + 1));
    const int n = static_cast<int>(n_fft), rows = static_cast<int>(n_grid), half = static_cast<int>(n_half);
    plans->rows_forward = fftwf_plan_many_dft_r2c(1, &n, rows, plans->real, nullptr, 1, n, plans->spectrum, nullptr, 1,
                                                  half, FFTW_ESTIMATE);
    plans->columns_forward = fftwf_plan_many_dft(1, &n, half, plans->spectrum, nullptr, half, 1, plans->spectrum,
                                                 nullptr, half, 1, FFTW_FORWARD, FFTW_ESTIMATE);
    plans->columns_backward = fftwf_plan_many_dft(1, &n, half, plans->spectrum, nullptr, half, 1, plans->spectrum,
                                                  nullptr, half, 1, FFTW_BACKWARD, FFTW_ESTIMATE);
    plans->rows_backward = fftwf_plan_many_dft_c2r(1, &n, rows, plans->spectrum, nullptr, 1, half, plans->real,
                                                   nullptr, 1, n, FFTW_ESTIMATE);
    const int q = static_cast<int>(n_grid + 1);
    plans->kernel = fftwf_plan_r2r_2d(q, q, plans->quarter, plans->quarter_out, FFTW_REDFT00, FFTW_REDFT00,
                                      FFTW_ESTIMATE);
    plans_ = std::move(plans);
  }

  // Per-point box and weights: computed once for sources and once for targets.
  auto locate = [&](const double* x, const double* y, std::size_t n, std::vector<std::uint32_t>& cell,
                    std::vector<double>& weights) {
    cell.resize(n);
    weights.resize(n * 2 * p);
    parallel_for_chunks(n, threads, [&](std::size_t begin, std::size_t end, int) {
      for (std::size_t i = begin; i < end; ++i) {
        const double ux = (x[i] - lo_x) / box_width, uy = (y[i] - lo_y) / box_width;
        const std::size_t bx = std::min(static_cast<std::size_t>(std::max(ux, 0.0)), boxes - 1);
        const std::size_t by = std::min(static_cast<std::size_t>(std::max(uy, 0.0)), boxes - 1);
        cell[i] = static_cast<std::uint32_t>(by * boxes + bx);
        lagrange_weights(ux - static_cast<double>(bx), p, nodes.data(), denominators.data(), &weights[i * 2 * p]);
        lagrange_weights(uy - static_cast<double>(by), p, nodes.data(), denominators.data(), &weights[i * 2 * p + p]);
      }
    });
  };
  locate(sx, sy, ns, src_cell_, src_weights_);
  const bool same = sx == tx && sy == ty && ns == nt;
  if (!same) locate(tx, ty, nt, tgt_cell_, tgt_weights_);
  const std::vector<std::uint32_t>& tgt_cell = same ? src_cell_ : tgt_cell_;
  const std::vector<double>& tgt_weights = same ? src_weights_ : tgt_weights_;

  // Source charges 1, x, y (one grid each); outputs K1 * 1 (for Z) and K2 * {1, x, y} (forces).
  const int charges = forces ? 3 : 1;
  const int outputs = forces ? 4 : 1;
  const std::size_t grid_cells = n_grid * n_grid;
  // Each thread spreads its contiguous chunk of sources into its own grids; the grids are then
  // added in thread order, so the result depends only on the thread count.
  const int spread_threads = static_cast<int>(std::min<std::size_t>(threads, std::max<std::size_t>(1, ns / 2048)));
  spread_.assign(static_cast<std::size_t>(spread_threads) * charges * grid_cells, 0.0);
  parallel_for_chunks(ns, spread_threads, [&](std::size_t begin, std::size_t end, int t) {
    double* g = spread_.data() + static_cast<std::size_t>(t) * charges * grid_cells;
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t bx = src_cell_[i] % boxes, by = src_cell_[i] / boxes;
      const double* wx = &src_weights_[i * 2 * p];
      const double* wy = wx + p;
      const double q[3] = {1.0, sx[i], sy[i]};
      for (int a = 0; a < p; ++a) {
        const std::size_t row = (by * p + a) * n_grid + bx * p;
        for (int b = 0; b < p; ++b) {
          const double w = wy[a] * wx[b];
          for (int c = 0; c < charges; ++c) g[c * grid_cells + row + b] += w * q[c];
        }
      }
    }
  });
  for (int t = 1; t < spread_threads; ++t) {
    const double* g = spread_.data() + static_cast<std::size_t>(t) * charges * grid_cells;
    for (std::size_t e = 0; e < static_cast<std::size_t>(charges) * grid_cells; ++e) spread_[e] += g[e];
  }

  // Buffers, kept between calls while the grid size stays: 4 real grids, 4 spectra, 2 kernel quarters.
  const std::size_t spec_size = n_fft * n_half, quarter_size = (n_grid + 1) * (n_grid + 1);
  if (fft_size_ != n_fft || real_.size() < 6) {
    real_.clear();
    spectra_.clear();
    for (int c = 0; c < 4; ++c) {
      real_.emplace_back(fftwf_alloc_real(n_grid * n_fft));
      spectra_.emplace_back(static_cast<void*>(fftwf_alloc_complex(spec_size)));
    }
    for (int c = 0; c < 2; ++c) {  // kernel input / output quarters
      real_.emplace_back(fftwf_alloc_real(quarter_size));
      spectra_.emplace_back(static_cast<void*>(fftwf_alloc_real(quarter_size)));
    }
    fft_size_ = n_fft;
  }
  auto spectrum = [&](std::size_t b) { return reinterpret_cast<fftwf_complex*>(spectra_[b].get()); };
  auto kernel_out = [&](std::size_t b) { return reinterpret_cast<float*>(spectra_[4 + b].get()); };

  // Kernel values at node offsets (a, c) in [0, n_grid]²; DCT-I = the DFT of their even extension.
  const double inv_dof = 1.0 / dof;
  auto kernel_spectrum = [&](double exponent, std::size_t b) {
    float* in = real_[4 + b].get();
    for (std::size_t a = 0; a <= n_grid; ++a) {
      const double da = static_cast<double>(a) * spacing;
      for (std::size_t c = 0; c <= n_grid; ++c) {
        const double dc = static_cast<double>(c) * spacing;
        const double base = 1.0 + (da * da + dc * dc) * inv_dof;
        in[a * (n_grid + 1) + c] = static_cast<float>(
            exponent == 1.0 ? 1.0 / base : exponent == 2.0 ? 1.0 / (base * base) : std::pow(base, -exponent));
      }
    }
    fftwf_execute_r2r(plans_->kernel, in, kernel_out(b));
  };
  auto forward = [&](std::size_t c) {
    float* r = real_[c].get();
    const double* g = spread_.data() + c * grid_cells;
    for (std::size_t a = 0; a < n_grid; ++a) {
      float* row = r + a * n_fft;
      for (std::size_t b = 0; b < n_grid; ++b) row[b] = static_cast<float>(g[a * n_grid + b]);
      std::fill(row + n_grid, row + n_fft, 0.0f);
    }
    fftwf_complex* sp = spectrum(c);
    fftwf_execute_dft_r2c(plans_->rows_forward, r, sp);
    std::memset(sp + n_grid * n_half, 0, sizeof(fftwf_complex) * (n_fft - n_grid) * n_half);
    fftwf_execute_dft(plans_->columns_forward, sp, sp);
  };

  // Forward transforms of the charges (spectra 0..2) and the kernels (K1, K2), in parallel.
  const int jobs = charges + (forces ? 2 : 1);
  parallel_for_dynamic(static_cast<std::size_t>(jobs), threads, [&](std::size_t job) {
    if (job < static_cast<std::size_t>(charges)) {
      forward(job);
    } else {
      kernel_spectrum(job == static_cast<std::size_t>(charges) ? dof : dof + 1.0, job - charges);
    }
  });
  // Output 0 = K1 * charge 1 (spectrum 0), output 1 = K2 * charge 1 (a copy of spectrum 0 in
  // buffer 3), outputs 2, 3 = K2 * x, K2 * y (spectra 1, 2): all in place, independent.
  if (forces) std::memcpy(spectrum(3), spectrum(0), sizeof(fftwf_complex) * spec_size);
  potentials_.assign(static_cast<std::size_t>(outputs) * grid_cells, 0.0);
  const double norm = 1.0 / (static_cast<double>(n_fft) * static_cast<double>(n_fft));
  parallel_for_dynamic(static_cast<std::size_t>(outputs), threads, [&](std::size_t o) {
    const std::size_t buffer = o == 0 ? 0 : o == 1 ? 3 : o - 1;
    fftwf_complex* sp = spectrum(buffer);
    const float* k = kernel_out(o == 0 ? 0 : 1);
    for (std::size_t m1 = 0; m1 < n_fft; ++m1) {
      const float* krow = k + (m1 <= n_grid ? m1 : n_fft - m1) * (n_grid + 1);
      fftwf_complex* srow = sp + m1 * n_half;
      for (std::size_t m2 = 0; m2 < n_half; ++m2) {
        srow[m2][0] *= krow[m2];
        srow[m2][1] *= krow[m2];
      }
    }
    fftwf_execute_dft(plans_->columns_backward, sp, sp);
    float* r = real_[buffer].get();
    fftwf_execute_dft_c2r(plans_->rows_backward, sp, r);
    double* out = potentials_.data() + o * grid_cells;
    for (std::size_t a = 0; a < n_grid; ++a)
      for (std::size_t b = 0; b < n_grid; ++b) out[a * n_grid + b] = static_cast<double>(r[a * n_fft + b]) * norm;
  });

  // When sources are the targets, each point's interaction with itself must go. Its exact value
  // K1(0) = 1 is not what the interpolation put in: the interpolated self-term is
  // Σ_ab Σ_cd w_a w_b K1(node_ab - node_cd) w_c w_d over the p² nodes of the point's own box, and
  // subtracting that instead of 1 removes a systematic bias. It matters: in a spread-out layout
  // Z = Σ_{i≠j} w_ij is itself O(N), as large as the N self-terms, and polynomial interpolation
  // misses the kernel's peak by a few per cent (measured: 2.5% higher final KL at N = 2000
  // when subtracting N). The forces need no correction: the self-term contributes
  // K̃(i,i) y_i - K̃(i,i) y_i = 0 exactly.
  std::vector<double> self_table;
  if (same) {
    self_table.resize(static_cast<std::size_t>(p) * p);
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b) {
        const double da = a * spacing, db = b * spacing;
        self_table[a * p + b] = std::pow(1.0 + (da * da + db * db) * inv_dof, -dof);
      }
  }

  // Interpolate back to the targets.
  parallel_for_chunks(nt, threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t bx = tgt_cell[i] % boxes, by = tgt_cell[i] / boxes;
      const double* wx = &tgt_weights[i * 2 * p];
      const double* wy = wx + p;
      double phi[4] = {0.0, 0.0, 0.0, 0.0};
      for (int a = 0; a < p; ++a) {
        const std::size_t row = (by * p + a) * n_grid + bx * p;
        for (int b = 0; b < p; ++b) {
          const double w = wy[a] * wx[b];
          for (int c = 0; c < outputs; ++c) phi[c] += w * potentials_[c * grid_cells + row + b];
        }
      }
      if (same) {
        // Σ_ac wy_a wy_c Σ_bd wx_b wx_d T(|a-c|, |b-d|): the inner sums depend on |a-c| only (p³ + p² terms, not p⁴).
        double inner[8];
        for (int e = 0; e < p; ++e) {
          double u = 0.0;
          for (int b = 0; b < p; ++b)
            for (int d = 0; d < p; ++d) u += wx[b] * wx[d] * self_table[e * p + std::abs(b - d)];
          inner[e] = u;
        }
        double self = 0.0;
        for (int a = 0; a < p; ++a)
          for (int c = 0; c < p; ++c) self += wy[a] * wy[c] * inner[std::abs(a - c)];
        phi[0] -= self;
      }
      z[i] = phi[0];
      if (forces) {
        // Σ_j K2 (y_i - y_j) = y_i Σ_j K2 - Σ_j K2 y_j
        fx[i] = tx[i] * phi[1] - phi[2];
        fy[i] = ty[i] * phi[1] - phi[3];
      }
    }
  });
}

}  // namespace photoatlas::embed::detail
