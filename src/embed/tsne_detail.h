// t-SNE building blocks behind the Tsne class, exposed for tests and for other gradient
// engines (an FFT-accelerated one reuses the initialisation and the optimiser step, and
// swaps only the gradient).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/matrix.h"
#include "embed/affinity.h"
#include "embed/tsne.h"

namespace photoatlas {
class WorkerTeam;
}

namespace photoatlas::embed::detail {

// A 2-D embedding as two coordinate arrays (structure of arrays), so the O(N²) loops vectorise.
struct Embedding2D {
  std::vector<double> x, y;
  std::size_t size() const { return x.size(); }
  void zero(std::size_t n) {  // n points at the origin
    x.assign(n, 0.0);
    y.assign(n, 0.0);
  }
};

// Initial layout: PCA of `data` to 2-D scaled so the first coordinate has std 1e-4
// (Kobak & Berens 2019), or Gaussian noise with std 1e-4 from options.seed. PCA falls back to
// the random layout when the data has no spread to project.
Embedding2D initial_embedding(const FloatMatrix& data, const TsneOptions& options);

// Student-t similarity with α degrees of freedom: w(d²) = (1 + d²/α)^-α (α = 1: the Cauchy
// kernel 1 / (1 + d²) of standard t-SNE; smaller α = heavier tails, Kobak et al. 2019).
// The gradient of KL(P || Q), q_ij = w_ij / Z, is
//   dC/dy_i = 4 Σ_j (a p_ij w_ij^(1/α) - w_ij^((α+1)/α) / Z) (y_i - y_j)
// where the exaggeration a multiplies P (a = 1: the true gradient).

// Exact gradient, O(N²). From 512 points (AVX-512 CPUs, α = 1) each pair is visited once in
// single precision (see tsne_gradient.cpp), below in double row by row. Every sum runs in a
// fixed order, so the result does not depend on the thread count.
void exact_gradient(const SparseMatrix& p, const Embedding2D& y, double exaggeration, int num_threads,
                    Embedding2D& gradient, double dof = 1.0);

// KL(P || Q) of the embedding, exact (O(N²)). P must sum to 1.
double exact_kl_divergence(const SparseMatrix& p, const Embedding2D& y, int num_threads, double dof = 1.0);

// Attractive part of the gradient over sparse P: out_i = Σ_j p_ij w_ij^(1/α) (y_i - y_j),
// threaded over rows (row-wise sums: independent of the thread count). Returns
// Σ_ij p_ij log(p_ij / w_ij), the part of the KL that needs only P (KL = that + Σp log Z).
// Null outputs: only the KL part.
double attractive_forces(const SparseMatrix& p, const Embedding2D& y, double dof, int num_threads,
                         std::vector<double>* out_x, std::vector<double>* out_y);

// Exact repulsive sums of every target over all sources (same outputs as FftRepulsion::compute).
void exact_repulsion(const double* sx, const double* sy, std::size_t ns, const double* tx, const double* ty,
                     std::size_t nt, double dof, int num_threads, double* z, double* fx, double* fy);

// The FFTW planner is not thread-safe: every plan of both interpolating engines is made and
// destroyed under this one lock (executing plans is safe).
std::mutex& fftw_planner_mutex();
// Whether n factors into 2, 3, 5 and 7 (transform lengths FFTW is fast at).
bool fft_friendly(std::size_t n);

struct InterpolationOptions {
  int points_per_interval = 3;     // Lagrange nodes per interval and axis (FIt-SNE's default p = 3)
  int min_intervals = 50;          // floor on the intervals per axis (FIt-SNE, openTSNE: 50)
  double intervals_per_unit = 1.0; // intervals per unit of embedding extent (FIt-SNE, openTSNE: 1)
};

// FFT-accelerated interpolation of the repulsive sums (see tsne_fft.cpp for the method). For
// each target i: z_i = Σ_j K1(y_i, s_j), (fx_i, fy_i) = Σ_j K2(y_i, s_j) (y_i - s_j), with
// K1 = w, K2 = w^((α+1)/α). When sources and targets are the same arrays, each point's
// interaction with itself is removed (its interpolated value, see tsne_fft.cpp). fx = fy = nullptr: only z. Keeps its FFTW
// plans and buffers between calls. Deterministic for a given thread count.
class FftRepulsion {
 public:
  FftRepulsion();
  ~FftRepulsion();
  FftRepulsion(FftRepulsion&&) noexcept;
  FftRepulsion& operator=(FftRepulsion&&) noexcept;
  explicit FftRepulsion(const InterpolationOptions& options);

  void compute(const double* sx, const double* sy, std::size_t ns, const double* tx, const double* ty,
               std::size_t nt, double dof, int num_threads, double* z, double* fx, double* fy);
  // Intervals per axis for an embedding extent (FFT-friendly rounding included).
  std::size_t interval_count(double extent) const;
  std::size_t last_intervals() const { return last_intervals_; }

 private:
  struct Plans;
  struct FftwFree {
    void operator()(void* p) const;
  };
  InterpolationOptions options_;
  std::unique_ptr<Plans> plans_;
  std::size_t fft_size_ = 0;
  std::size_t last_intervals_ = 0;
  std::vector<std::uint32_t> src_cell_, tgt_cell_;
  std::vector<double> src_weights_, tgt_weights_;
  std::vector<double> spread_, potentials_;
  std::vector<std::unique_ptr<float, FftwFree>> real_;
  std::vector<std::unique_ptr<void, FftwFree>> spectra_;
};

// Gradient through FFT interpolation for the repulsion and sparse P for the attraction.
// Returns Z (approximate, self-pairs excluded).
double fft_gradient(const SparseMatrix& p, const Embedding2D& y, double exaggeration, double dof, int num_threads,
                    FftRepulsion& engine, Embedding2D& gradient);

// KL(P || Q) with Z from the interpolation (O(N) + FFT): approximate, relative error ~1e-4.
double fft_kl_divergence(const SparseMatrix& p, const Embedding2D& y, double dof, int num_threads,
                         FftRepulsion& engine);

// Attraction of rows [begin, end) over sparse P: out_i = Σ_j p_ij w_ij^(1/α) (y_i - y_j).
// `packed` = packed_coordinates(y), single precision with AVX-512 (attraction_vector_path(n)),
// α = 1; the double version runs anywhere (inv_dof = 1/α). Row sums in a fixed order.
bool attraction_vector_path(std::size_t n);
std::vector<float> packed_coordinates(const Embedding2D& y);
void attraction_rows(const SparseMatrix& p, const float* packed, std::size_t begin, std::size_t end, double* out_x,
                     double* out_y);
void attraction_rows_double(const SparseMatrix& p, const Embedding2D& y, double inv_dof, std::size_t begin,
                            std::size_t end, double* out_x, double* out_y);

// KL(P || Q) for a normalisation Z = Σ_{i≠j} w_ij computed by any engine: Σ p log(p / w) over
// sparse P plus Σ p log Z. 0 when Z is not positive.
double kl_divergence_given_z(const SparseMatrix& p, const Embedding2D& y, double dof, int num_threads, double z);

// The repulsion by kernel splitting, α = 1 (see tsne_split.cpp): pairs closer than
// near_radius summed exactly (minus the smooth far kernel), the smooth far kernel
// interpolated on a grid of box_width intervals and convolved by FFT. near_radius = 0: plain
// FFT interpolation (no near field).
struct SplitRepulsionOptions {
  double near_radius = 0.0;      // R (embedding units)
  double box_width = 1.0;        // h, interpolation interval width
  int points_per_interval = 4;   // p, Lagrange nodes per interval and axis
  bool portable = false;         // tests: the portable near-field loop even where AVX-512 exists
};

// What an iteration under given options costs (for choosing the engine).
struct SplitLayout {
  std::size_t intervals = 0;     // per axis
  std::size_t fft_size = 0;      // transform length per axis (2 x intervals x p)
  double near_candidates = 0.0;  // pairs the near field visits (cell-list upper bound)
};

// Whether the near field runs the AVX-512 loop on this CPU.
bool split_vector_path();

class SplitRepulsion {
 public:
  SplitRepulsion();
  ~SplitRepulsion();
  SplitRepulsion(SplitRepulsion&&) noexcept;
  SplitRepulsion& operator=(SplitRepulsion&&) noexcept;

  // Bins the points and sizes the grid for `y` under `options` (call before gradient()).
  SplitLayout prepare(const Embedding2D& y, const SplitRepulsionOptions& options);
  // The full gradient (attraction over P times `exaggeration`, repulsion from the split
  // kernels) of the prepared embedding `y`; returns Z = Σ_{i≠j} w_ij. Deterministic: the
  // result depends on neither the thread count nor the schedule. `team`: threads to run on
  // (kept across calls by the caller); none: up to num_threads threads started for this call.
  double gradient(const SparseMatrix& p, const Embedding2D& y, double exaggeration, int num_threads,
                  Embedding2D& gradient, WorkerTeam* team = nullptr);
  double last_z() const { return last_z_; }

 private:
  struct Fft;
  SplitRepulsionOptions options_;
  double lo_x_ = 0.0, lo_y_ = 0.0;
  std::size_t boxes_ = 0;
  double grid_box_width_ = 0.0;
  int grid_points_ = 0;
  std::size_t prepared_n_ = 0;
  std::unique_ptr<Fft> fft_;
  std::vector<double> spread_;
  // Near field: cells, points sorted by cell (float, relative to the lower corner), sums.
  double cell_width_ = 0.0;
  std::size_t cells_x_ = 0, cells_y_ = 0;
  std::vector<std::uint32_t> cell_of_, order_, position_;
  std::vector<std::size_t> cell_start_;
  std::vector<float> sorted_x_, sorted_y_;
  std::vector<float> row_z_, row_fx_, row_fy_, col_z_, col_fx_, col_fy_;
  double last_z_ = 0.0;
};

// Memory order for the optimisation: a breadth-first order of P's graph, so that each point's
// affinity neighbours sit near it in the coordinate arrays (the attraction loads them by index:
// on a 5k-point run in input order they missed the 32 KB L1 cache, and the attraction was a
// third of the run). order[k] = the input index of internal point k.
std::vector<std::uint32_t> locality_order(const SparseMatrix& p);
// P with rows and columns renumbered: new index k is old index order[k] (columns ascending).
SparseMatrix permuted(const SparseMatrix& p, const std::vector<std::uint32_t>& order);

// Delta-bar-delta gradient descent with momentum (Jacobs 1988), as in openTSNE and sklearn.
struct GradientDescent {
  double learning_rate = 200.0;  // applied to ¼ of the KL gradient (openTSNE's scale)
  double min_gain = 0.01;        // floor of the per-coordinate gains
  double max_step_norm = 5.0;    // per-point step length cap; <= 0 disables

  Embedding2D gains;   // per coordinate, start at 1
  Embedding2D update;  // velocity, starts at 0

  void reset(std::size_t n);       // gains to 1, velocity to 0
  void reset_velocity();           // openTSNE starts each phase from rest; gains carry over
  // One step with the given momentum, then re-centres the embedding on the origin.
  void step(const Embedding2D& gradient, double momentum, Embedding2D& y);
};

}  // namespace photoatlas::embed::detail
