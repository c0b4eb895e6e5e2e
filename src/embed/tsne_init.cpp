// Initial t-SNE layouts.
#include <cmath>

#include "core/rng.h"
#include "embed/pca.h"
#include "embed/tsne_detail.h"

namespace photoatlas::embed::detail {
namespace {

// Kobak & Berens (2019): a tiny initial scale keeps early exaggeration in its well-behaved
// regime, where the layout grows from the data's large-scale structure.
constexpr double kInitialStd = 1e-4;

Embedding2D random_embedding(std::size_t n, std::uint64_t seed) {
  Embedding2D y;
  y.zero(n);
  Rng rng(derive_seed(seed, 1));
  for (std::size_t i = 0; i < n; ++i) {
    y.x[i] = kInitialStd * standard_normal(rng);
    y.y[i] = kInitialStd * standard_normal(rng);
  }
  return y;
}

}  // namespace

Embedding2D initial_embedding(const FloatMatrix& data, const TsneOptions& options) {
  const std::size_t n = data.rows;
  if (options.init == TsneInit::Random || n < 2) return random_embedding(n, options.seed);

  PcaOptions pca_options;
  pca_options.components = 2;
  pca_options.seed = options.seed;
  pca_options.num_threads = options.num_threads;
  const PcaResult pca_result = pca(data, pca_options);
  const FloatMatrix& proj = pca_result.projected;
  double mean = 0.0, sq = 0.0;
  for (std::size_t i = 0; i < n && proj.cols > 0; ++i) mean += proj.at(i, 0);
  mean /= static_cast<double>(n);
  for (std::size_t i = 0; i < n && proj.cols > 0; ++i) sq += (proj.at(i, 0) - mean) * (proj.at(i, 0) - mean);
  const double std0 = std::sqrt(sq / static_cast<double>(n));  // population std, as numpy's default
  // No spread (all points equal) leaves nothing to project: fall back to noise so the points can separate.
  if (!(std0 > 0.0) || !std::isfinite(std0)) return random_embedding(n, options.seed);

  Embedding2D y;
  y.zero(n);
  const double scale = kInitialStd / std0;
  for (std::size_t i = 0; i < n; ++i) {
    y.x[i] = scale * proj.at(i, 0);
    y.y[i] = proj.cols > 1 ? scale * proj.at(i, 1) : 0.0;
  }
  return y;
}

}  // namespace photoatlas::embed::detail
