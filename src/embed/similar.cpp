#include "embed/similar.h"

#include <Eigen/Dense>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

#include "core/parallel.h"

namespace photoatlas::embed {

std::vector<std::uint32_t> similar_images(const FloatMatrix& features, const SimilarOptions& options,
                                          const ProgressCallback& progress) {
  const std::size_t n = features.rows;
  const std::size_t k = n == 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(std::max(options.k, 0)), n - 1);
  std::vector<std::uint32_t> out(n * k, 0);
  if (k == 0) return out;
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  // Unit rows: the dot product is then the cosine similarity.
  RowMatrix unit = Eigen::Map<const RowMatrix>(features.values.data(), n, features.cols);
  for (std::size_t i = 0; i < n; ++i) {
    const float norm = unit.row(i).norm();
    if (norm > 0) unit.row(i) /= norm;
  }
  // Blocks of rows keep the similarity tile near 64 MB whatever N is.
  const std::size_t block = std::clamp<std::size_t>((16u << 20) / n, 16, 1024);
  const std::size_t blocks = (n + block - 1) / block;
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  parallel_for_dynamic(blocks, options.num_threads, [&](std::size_t b) {
    const std::size_t begin = b * block, end = std::min(n, begin + block);
    const RowMatrix tile = unit.middleRows(begin, end - begin) * unit.transpose();
    std::vector<std::uint32_t> order(n);
    for (std::size_t i = begin; i < end; ++i) {
      const float* sim = tile.data() + (i - begin) * n;
      for (std::size_t j = 0; j < n; ++j) order[j] = static_cast<std::uint32_t>(j);
      auto more_similar = [&](std::uint32_t a, std::uint32_t c) {
        if (a == i) return false;  // itself last
        if (c == i) return true;
        return sim[a] > sim[c] || (sim[a] == sim[c] && a < c);
      };
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), more_similar);
      std::copy_n(order.begin(), k, out.begin() + static_cast<std::ptrdiff_t>(i * k));
    }
    const std::size_t now = done += end - begin;
    std::lock_guard lock(progress_mutex);
    report(progress, now, n);
  });
  return out;
}

}  // namespace photoatlas::embed
