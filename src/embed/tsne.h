// t-SNE (van der Maaten & Hinton 2008) with the openTSNE defaults (Poličar et al.),
// run in chunks the umappp way: construct, then call run(n) until finished().
#pragma once

#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "core/progress.h"

namespace photoatlas::embed {

enum class TsneInit { Pca, Random };

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

  // KL(P || Q) of the current embedding, without exaggeration.
  double kl_divergence() const;

  // Current embedding as N x 2 (float copy).
  FloatMatrix embedding() const;
  std::size_t size() const;

 private:
  struct State;
  State* state_;
};

struct TsneResult {
  FloatMatrix embedding;                 // N x 2
  double kl_divergence = 0.0;
  std::vector<double> kl_history;        // KL after each reported chunk
};

// One-call form: runs to the end, reporting progress in iterations.
TsneResult tsne(const FloatMatrix& data, const TsneOptions& options, const ProgressCallback& progress = {});

}  // namespace photoatlas::embed
