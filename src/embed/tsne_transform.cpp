// Adding new points to a fixed t-SNE embedding (openTSNE's transform; see tsne.h).
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/parallel.h"
#include "embed/affinity.h"
#include "embed/tsne.h"
#include "embed/tsne_detail.h"

namespace photoatlas::embed {

FloatMatrix tsne_transform(const FloatMatrix& reference_data, const FloatMatrix& reference_embedding,
                           const FloatMatrix& new_data, const TsneTransformOptions& options) {
  const std::size_t m = new_data.rows, n = reference_data.rows;
  FloatMatrix out(m, 2);
  if (m == 0 || n == 0) return out;
  if (reference_embedding.rows != n || reference_embedding.cols < 2 || new_data.cols != reference_data.cols)
    throw std::invalid_argument("tsne_transform: reference embedding / data shapes do not match");
  const int threads = resolve_threads(options.num_threads);
  const double dof = options.degrees_of_freedom > 0.0 ? options.degrees_of_freedom : 1.0;

  // Affinities of each new point to its nearest reference points: p(j|i), rows sum to 1.
  const double perplexity = std::min(options.perplexity, static_cast<double>(n) / 3.0);
  const std::size_t k = std::clamp<std::size_t>(static_cast<std::size_t>(std::floor(3.0 * perplexity)), 1, n);
  NeighbourOptions neighbour_options = options.neighbours;
  neighbour_options.num_threads = threads;
  const NeighbourGraph graph = query_neighbours(reference_data, new_data, k, neighbour_options);
  const std::vector<double> p = calibrate_conditionals(graph, std::max(perplexity, 1e-3), 1e-5, 200, threads);

  std::vector<double> rx(n), ry(n);
  for (std::size_t j = 0; j < n; ++j) {
    rx[j] = reference_embedding.at(j, 0);
    ry[j] = reference_embedding.at(j, 1);
  }
  // Start at the p-weighted mean of the neighbours' positions.
  std::vector<double> x(m, 0.0), y(m, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t t = 0; t < graph.k; ++t) {
      const std::uint32_t j = graph.indices[i * graph.k + t];
      x[i] += p[i * graph.k + t] * rx[j];
      y[i] += p[i * graph.k + t] * ry[j];
    }

  detail::InterpolationOptions interpolation;
  interpolation.points_per_interval = std::max(1, options.interpolation_points);
  interpolation.min_intervals = std::max(1, options.min_intervals);
  interpolation.intervals_per_unit = options.intervals_per_unit;
  detail::FftRepulsion engine(interpolation);
  const bool exact = static_cast<double>(m) * static_cast<double>(n) <= static_cast<double>(options.exact_max_pairs);

  std::vector<double> z(m), fx(m), fy(m), gain_x(m, 1.0), gain_y(m, 1.0), up_x(m, 0.0), up_y(m, 0.0);
  const double inv_dof = 1.0 / dof;
  for (int it = 0; it < options.iterations; ++it) {
    if (exact) {
      detail::exact_repulsion(rx.data(), ry.data(), n, x.data(), y.data(), m, dof, threads, z.data(), fx.data(), fy.data());
    } else {
      engine.compute(rx.data(), ry.data(), n, x.data(), y.data(), m, dof, threads, z.data(), fx.data(), fy.data());
    }
    // Every point on its own: the result for a point does not depend on the thread split.
    parallel_for_chunks(m, threads, [&](std::size_t begin, std::size_t end, int) {
      for (std::size_t i = begin; i < end; ++i) {
        double ax = 0.0, ay = 0.0;
        for (std::size_t t = 0; t < graph.k; ++t) {
          const std::uint32_t j = graph.indices[i * graph.k + t];
          const double dx = x[i] - rx[j], dy = y[i] - ry[j];
          const double pw = p[i * graph.k + t] / (1.0 + (dx * dx + dy * dy) * inv_dof);
          ax += pw * dx;
          ay += pw * dy;
        }
        const double inv_z = z[i] > 0.0 ? 1.0 / z[i] : 0.0;
        // ¼ of dC/dy (the optimiser's scale, as in TsneOptions).
        double gx = options.exaggeration * ax - fx[i] * inv_z;
        double gy = options.exaggeration * ay - fy[i] * inv_z;
        if (options.max_gradient_norm > 0.0) {
          const double norm = std::hypot(gx, gy);
          if (norm > options.max_gradient_norm) {
            gx *= options.max_gradient_norm / norm;
            gy *= options.max_gradient_norm / norm;
          }
        }
        auto descend = [&](double g, double& gain, double& update, double& coord) {
          gain = (update * g < 0.0) ? gain + 0.2 : gain * 0.8;
          gain = std::max(gain, options.min_gain);
          update = options.momentum * update - options.learning_rate * gain * g;
          coord += update;
        };
        descend(gx, gain_x[i], up_x[i], x[i]);
        descend(gy, gain_y[i], up_y[i], y[i]);
      }
    });
  }
  for (std::size_t i = 0; i < m; ++i) {
    out.at(i, 0) = static_cast<float>(x[i]);
    out.at(i, 1) = static_cast<float>(y[i]);
  }
  return out;
}

}  // namespace photoatlas::embed
