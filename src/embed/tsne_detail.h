// t-SNE building blocks behind the Tsne class, exposed for tests and for other gradient
// engines (an FFT-accelerated one reuses the initialisation and the optimiser step, and
// swaps only the gradient).
#pragma once

#include <cstddef>
#include <vector>

#include "core/matrix.h"
#include "embed/affinity.h"
#include "embed/tsne.h"

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

// Exact gradient of KL(P || Q) with respect to the embedding, Student-t kernel with one degree
// of freedom: dC/dy_i = 4 Σ_j (a p_ij - q_ij) w_ij (y_i - y_j), w_ij = 1 / (1 + |y_i - y_j|²),
// where `exaggeration` a multiplies P (a = 1: the true gradient). O(N²), threaded over rows;
// every row sums in a fixed order, so the result does not depend on the thread count.
void exact_gradient(const SparseMatrix& p, const Embedding2D& y, double exaggeration, int num_threads,
                    Embedding2D& gradient);

// KL(P || Q) of the embedding, exact (O(N²)). P must sum to 1.
double exact_kl_divergence(const SparseMatrix& p, const Embedding2D& y, int num_threads);

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
