// t-SNE (van der Maaten & Hinton 2008) with the openTSNE defaults (Poličar et al.),
// run in chunks the umappp way: construct, then call run(n) until finished().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/progress.h"
#include "embed/knn.h"

namespace photoatlas::embed {

enum class TsneInit { Pca, Random };

// How the gradient's O(N²) repulsion is computed.
enum class TsneGradient {
  Auto,   // per iteration, the cheapest of Exact and Split by a cost model (see TsneOptions); Fft where Split cannot run
  Exact,  // all pairs, O(N²) per iteration: exact, fastest for small N
  Fft,    // FFT-accelerated interpolation (Linderman et al. 2019, FIt-SNE), O(N) + grid FFT per iteration
  Split,  // exact near field + FFT-interpolated smooth far field (embed/tsne_split.cpp), α = 1 only
};

struct TsneOptions {
  double perplexity = 30.0;              // effective number of neighbours (the study: 30); capped at (N - 1) / 3
  int iterations = 1000;                 // total, including early exaggeration
  int exaggeration_iterations = 250;     // early exaggeration phase length
  double early_exaggeration = 12.0;      // multiplies P during the early phase
  double late_exaggeration = 1.0;        // exaggeration after the early phase
  double learning_rate = 0.0;            // <= 0 means "auto" = max(N / early_exaggeration, 50), openTSNE's scale (¼ of dKL/dy)
  double initial_momentum = 0.5;         // during early exaggeration
  double final_momentum = 0.8;           // afterwards
  double min_gain = 0.01;                // floor of the per-parameter adaptive gains
  double max_step_norm = 5.0;            // cap on each point's step length per iteration (openTSNE); <= 0 disables
  TsneInit init = TsneInit::Pca;         // PCA init scaled to std 1e-4 (Kobak & Berens 2019)
  std::uint64_t seed = 0;                // random init and any random choice
  int num_threads = 0;                   // 0 = all cores; results depend only on seed and thread count
  // Student-t degrees of freedom α of the output kernel (1 + d²/α)^-α: 1 is standard t-SNE;
  // α < 1 gives heavier tails and finer clusters (Kobak, Linderman et al. 2019). Same cost in
  // FFT mode; in exact mode α != 1 takes a power per pair (several times slower).
  double degrees_of_freedom = 1.0;
  TsneGradient gradient = TsneGradient::Auto;
  // Auto's crossover between the exact and the FFT gradient, measured on this project's 2-core
  // AVX-512 machine (`bench_tsne run --gradient exact|fft`, 10-cluster 50-D mixtures, CPU
  // seconds of whole 1000-iteration runs, exact vs FFT, machine under load): N = 10000: 11.4 vs
  // 14.0; 12000: 15.2 vs 16.3; 15000: 22.0 vs 15.8; 20000: 38.1 vs 20.3 (same final KL within
  // 0.1%, exact lower). The exact engine visits each pair once in single precision (~0.17 ns of
  // CPU per pair); the FFT grid's fixed cost ((4 * extent)² log per iteration) wins beyond ~12.5k.
  std::size_t exact_max_n = 12500;
  // FFT interpolation (see embed/tsne_fft.cpp): Lagrange nodes per interval (0 = auto), floor on
  // the intervals per axis, intervals per unit of embedding extent (FIt-SNE's defaults: 3, 50, 1).
  // Auto = 4 nodes below 200k points, 3 beyond. Measured at N = 2000 (8 blobs): the repulsion's
  // relative error on a converged layout is 2.7% with 3 nodes, 0.8% with 4 (error ~ h^p), and the
  // final KL 2.4% (3 nodes) vs 0.6% (4 nodes) above the exact engine's, for 1.8x the grid cost.
  // At 1M points the grid FFT dominates the time, so FIt-SNE's 3 nodes are kept there.
  int interpolation_points = 0;
  int min_intervals = 50;
  double intervals_per_unit = 1.0;
  // Split-kernel engine (α = 1; embed/tsne_split.cpp): pairs closer than near_radius exactly,
  // the rest from a kernel interpolated on intervals of near_box_width; without the near field
  // (R = 0, for compact embeddings) the whole kernel on intervals of plain_box_width. Relative
  // error of the repulsive forces (p = 4 nodes per interval), on a converged 5k map and on the
  // same map shrunk to an early extent: R = 4, h = 3: 1.6e-3 / 1.7e-3; plain h = 0.75: 1.3e-3 /
  // 2.6e-3 (h = 0.5: 2.4e-4 / 5.3e-4 for 2x the grid; FIt-SNE's h = 1: 4.1e-3 / 8.9e-3). The two
  // are set to about the same error.
  double near_radius = 4.0;
  double near_box_width = 3.0;
  double plain_box_width = 0.75;
  // Auto picks, before each iteration, the engine with the lowest predicted CPU time from these
  // per-unit costs, measured on this project's 2-core AVX-512 machine (`bench_tsne grad`, CPU ms
  // per gradient call on the layouts of a 5k run): exact 0.164 ns per pair; split/plain: a fixed
  // 0.1 ms, 40 ns per point (60 without near field: the self-interaction term), 0.35 ns per
  // near-field candidate pair, 1 ns per n² log2 n of the n x n transforms. Beyond
  // split_max_n points Auto keeps the FIt-SNE engine (the 1M-point runs were measured with it).
  std::size_t split_max_n = 200000;
  // Input neighbours: exact (brute force, or pruned by a partition beyond 20k points); HNSW
  // (recall >= 0.99) only beyond neighbours.exact_max_n where the partition would not prune.
  NeighbourOptions neighbours;
};

// The optimisation state. Keeps P (sparse, symmetric), the embedding, gains and velocities.
class Tsne {
 public:
  // `data` rows are points (usually PCA-50). Computes affinities immediately.
  Tsne(const FloatMatrix& data, const TsneOptions& options);
  ~Tsne();
  Tsne(Tsne&&) noexcept;
  Tsne& operator=(Tsne&&) noexcept;

  // Runs up to `count` more iterations (never past options.iterations); returns how many ran.
  int run(int count);
  bool finished() const;
  int iteration() const;                 // iterations done so far
  int total_iterations() const;

  // KL(P || Q) of the current embedding, without exaggeration. The part over P is exact; Z is
  // exact (O(N²)) with the Exact gradient, and otherwise comes from the interpolating engine in
  // use (Split / Auto: the split kernel; Fft: FIt-SNE's; relative error ~1e-4).
  double kl_divergence() const;
  // KL with the exact O(N²) normalisation, whatever the mode (slow for large N: ~N² / 1e9 s).
  double exact_kl_divergence() const;
  bool uses_fft() const;                 // which gradient engine runs (FIt-SNE's; also the KL's Z)
  // Iterations run so far by each engine, e.g. "exact 0, plain 262, split 738, fitsne 0".
  std::string engine_summary() const;

  struct State;  // defined in tsne.cpp

  // Current embedding as N x 2 (float copy).
  FloatMatrix embedding() const;
  std::size_t size() const;

 private:
  State* state_;
};

struct TsneResult {
  FloatMatrix embedding;                 // N x 2
  double kl_divergence = 0.0;
  std::vector<double> kl_history;        // KL after each reported chunk
};

// One-call form: runs to the end, reporting progress in iterations.
TsneResult tsne(const FloatMatrix& data, const TsneOptions& options, const ProgressCallback& progress = {});

// Adding points to an existing embedding without moving it (openTSNE's `transform`, Poličar et
// al. 2019): each new point gets affinities p(j|i) to its 3 * perplexity nearest reference points
// (rows summing to 1, no symmetrisation: the reference keeps its own P), starts at the
// p-weighted mean of those neighbours' positions, and is optimised alone against the fixed
// reference: gradient 4 Σ_j (a p(j|i) w_ij^(1/α) - w_ij^((α+1)/α) / Z_i) (y_i - y_j) over the
// reference points j, with Z_i = Σ_j w_ij, i.e. each new point minimises KL(p(.|i) || q(.|i)).
// New points do not interact with each other: with the exact repulsion (the default up to
// exact_max_pairs) a point's result does not depend on which other points are added with it;
// with the FFT repulsion only through the interpolation grid, which spans all points.
// Per-point Z_i is our choice (each new point is its own small KL problem); the other
// defaults follow openTSNE's transform.
struct TsneTransformOptions {
  double perplexity = 5.0;          // openTSNE's default for transform: small neighbourhoods place a point sharply
  int iterations = 250;             // openTSNE: 250
  double exaggeration = 1.5;        // multiplies p (openTSNE: 1.5), pulls points into their neighbourhood
  double learning_rate = 0.1;       // on the same ¼-gradient scale as TsneOptions (openTSNE: 0.1)
  double momentum = 0.8;            // openTSNE: no early phase, final momentum throughout
  double max_gradient_norm = 0.25;  // per-point clip of the (¼) gradient (openTSNE: 0.25); <= 0 disables
  double min_gain = 0.01;
  double degrees_of_freedom = 1.0;  // must match the reference embedding's
  // Repulsion from the reference: exact (M x N per iteration) when M * N <= this, else FFT interpolation.
  std::size_t exact_max_pairs = 50'000'000;
  int interpolation_points = 4;     // FFT interpolation as in TsneOptions (nodes, floor, intervals per unit)
  int min_intervals = 50;
  double intervals_per_unit = 1.0;
  NeighbourOptions neighbours;      // neighbours of new points among the reference points
  int num_threads = 0;              // 0 = all cores; results depend only on the thread count
};

// Positions (M x 2) for `new_data` rows, given the reference rows (N x d, the data the reference
// embedding was computed from, same preprocessing) and their embedding (N x 2), which stays fixed.
FloatMatrix tsne_transform(const FloatMatrix& reference_data, const FloatMatrix& reference_embedding,
                           const FloatMatrix& new_data, const TsneTransformOptions& options = {});

}  // namespace photoatlas::embed
