#include "cluster/duplicates.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <stdexcept>

#include "core/parallel.h"

namespace photoatlas::cluster {

namespace {

struct DisjointSets {
  std::vector<std::size_t> parent;
  explicit DisjointSets(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t find(std::size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void unite(std::size_t a, std::size_t b) {
    a = find(a);
    b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

double cosine(const float* a, const float* b, std::size_t dims) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t j = 0; j < dims; ++j) {
    dot += static_cast<double>(a[j]) * b[j];
    na += static_cast<double>(a[j]) * a[j];
    nb += static_cast<double>(b[j]) * b[j];
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
}

}  // namespace

std::vector<std::vector<std::size_t>> find_duplicate_groups(const std::vector<std::uint64_t>& hashes,
                                                            const FloatMatrix& features,
                                                            const DuplicateOptions& options) {
  const std::size_t n = hashes.size();
  if (!features.empty() && features.rows != n) throw std::invalid_argument("one feature row per hash is needed");
  if (n < 2 || n > options.max_images) return {};
  // All pairs by Hamming distance: 64-bit popcounts are cheap enough up to a few hundred thousand
  // photos on two cores; the feature check runs only on the few candidate pairs.
  // Rows are uneven (row i compares with n - i - 1 others): dynamic scheduling balances them.
  DisjointSets sets(n);
  std::mutex sets_mutex;
  parallel_for_dynamic(n, options.num_threads, [&](std::size_t i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const int distance = __builtin_popcountll(hashes[i] ^ hashes[j]);
      if (distance > options.strong_hamming) {
        if (features.empty() || distance > options.max_hamming) continue;
        if (cosine(features.row(i), features.row(j), features.cols) < options.min_cosine) continue;
      }
      std::lock_guard lock(sets_mutex);  // pairs are rare: the lock is not contended
      sets.unite(i, j);
    }
  });
  std::map<std::size_t, std::vector<std::size_t>> by_root;
  for (std::size_t i = 0; i < n; ++i) by_root[sets.find(i)].push_back(i);
  std::vector<std::vector<std::size_t>> groups;
  for (auto& [root, members] : by_root)
    if (members.size() > 1) groups.push_back(std::move(members));
  return groups;  // roots are the smallest members, so the map already orders groups by first member
}

}  // namespace photoatlas::cluster
