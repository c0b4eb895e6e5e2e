// Gradient descent for t-SNE, shared by every gradient engine.
#include <algorithm>
#include <cmath>

#include "embed/tsne_detail.h"

namespace photoatlas::embed::detail {

void GradientDescent::reset(std::size_t n) {
  gains.x.assign(n, 1.0);
  gains.y.assign(n, 1.0);
  update.zero(n);
}

void GradientDescent::reset_velocity() { update.zero(update.size()); }

namespace {

// Delta-bar-delta: grow the gain of a coordinate whose gradient keeps pointing the way it
// has been moving (update and gradient of opposite sign), shrink it when it flips.
void descend(const std::vector<double>& gradient, double momentum, double learning_rate, double min_gain,
             std::vector<double>& gains, std::vector<double>& update) {
  const std::size_t n = gradient.size();
  for (std::size_t i = 0; i < n; ++i) {
    // openTSNE's gradient omits the factor 4 of dKL/dy; its learning rates assume that scale.
    const double g = 0.25 * gradient[i];
    double gain = (update[i] * g < 0.0) ? gains[i] + 0.2 : gains[i] * 0.8;
    gain = std::max(gain, min_gain);
    gains[i] = gain;
    update[i] = momentum * update[i] - learning_rate * gain * g;
  }
}

}  // namespace

void GradientDescent::step(const Embedding2D& gradient, double momentum, Embedding2D& y) {
  const std::size_t n = y.size();
  if (gains.size() != n) reset(n);
  descend(gradient.x, momentum, learning_rate, min_gain, gains.x, update.x);
  descend(gradient.y, momentum, learning_rate, min_gain, gains.y, update.y);
  if (max_step_norm > 0.0) {
    // Keeps a point with a huge gradient (an outlier early on) from shooting off (openTSNE).
    // Squared lengths (steps are far from overflow): the square root only where a step is cut.
    const double limit2 = max_step_norm * max_step_norm;
    for (std::size_t i = 0; i < n; ++i) {
      const double norm2 = update.x[i] * update.x[i] + update.y[i] * update.y[i];
      if (norm2 > limit2) {
        const double scale = max_step_norm / std::sqrt(norm2);
        update.x[i] *= scale;
        update.y[i] *= scale;
      }
    }
  }
  double mean_x = 0.0, mean_y = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    y.x[i] += update.x[i];
    y.y[i] += update.y[i];
    mean_x += y.x[i];
    mean_y += y.y[i];
  }
  if (n == 0) return;
  // The KL is translation invariant; re-centring keeps the coordinates from drifting.
  mean_x /= static_cast<double>(n);
  mean_y /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    y.x[i] -= mean_x;
    y.y[i] -= mean_y;
  }
}

}  // namespace photoatlas::embed::detail
