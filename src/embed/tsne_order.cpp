// Memory order of the points inside the t-SNE optimisation (see tsne_detail.h).
#include <algorithm>
#include <numeric>

#include "embed/tsne_detail.h"

namespace photoatlas::embed::detail {

std::vector<std::uint32_t> locality_order(const SparseMatrix& p) {
  const std::size_t n = p.n;
  std::vector<std::uint32_t> order;
  order.reserve(n);
  std::vector<char> seen(n, 0);
  // Breadth-first over the affinity graph, each component from its lowest unvisited index,
  // neighbours in column order: deterministic, and a point's neighbours end up a few hundred
  // positions away at most within a cluster.
  for (std::size_t root = 0; root < n; ++root) {
    if (seen[root]) continue;
    seen[root] = 1;
    std::size_t head = order.size();
    order.push_back(static_cast<std::uint32_t>(root));
    while (head < order.size()) {
      const std::uint32_t i = order[head++];
      for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
        const std::uint32_t j = p.cols[e];
        if (!seen[j]) {
          seen[j] = 1;
          order.push_back(j);
        }
      }
    }
  }
  return order;
}

SparseMatrix permuted(const SparseMatrix& p, const std::vector<std::uint32_t>& order) {
  const std::size_t n = p.n;
  std::vector<std::uint32_t> position(n);
  for (std::size_t k = 0; k < n; ++k) position[order[k]] = static_cast<std::uint32_t>(k);
  SparseMatrix out;
  out.n = n;
  out.row_start.assign(n + 1, 0);
  out.cols.resize(p.cols.size());
  out.values.resize(p.values.size());
  std::vector<std::pair<std::uint32_t, float>> row;
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t i = order[k];
    row.clear();
    for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) row.emplace_back(position[p.cols[e]], p.values[e]);
    std::sort(row.begin(), row.end());
    std::size_t at = out.row_start[k];
    for (const auto& [c, v] : row) out.cols[at] = c, out.values[at] = v, ++at;
    out.row_start[k + 1] = at;
  }
  return out;
}

}  // namespace photoatlas::embed::detail
