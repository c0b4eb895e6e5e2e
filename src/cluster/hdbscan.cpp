#include "cluster/hdbscan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "core/parallel.h"

// Hand-written: Debian ships no C++ HDBSCAN (the reference implementation is the Python `hdbscan`
// package). The steps below follow its conventions (core distance counts the point itself, the root is
// not selectable by default, excess-of-mass selection), so results compare with it.

namespace photoatlas::cluster {
namespace {

double sq_dist(const float* a, const float* b, std::size_t d) {
  double s = 0.0;
  for (std::size_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(a[j]) - b[j];
    s += diff * diff;
  }
  return s;
}

// Distance to the min_samples-th nearest point, the point itself being the first (as `hdbscan` does):
// the (min_samples - 1)-th nearest other point. Exact: points are visited outwards from i in the
// order of their first coordinate, and the scan on a side stops once that coordinate alone is
// farther than the current k-th distance (on a 2-D map this looks at a narrow strip, not all N).
std::vector<double> core_distances(const FloatMatrix& x, std::size_t min_samples, int threads) {
  const std::size_t n = x.rows, d = x.cols;
  std::vector<double> core(n, 0.0);
  const std::size_t others = std::min(min_samples - 1, n - 1);
  if (others == 0) return core;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x.at(a, 0) < x.at(b, 0); });
  parallel_for_chunks(n, threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<double> nearest;  // the `others` smallest squared distances so far, ascending
    nearest.reserve(others + 1);
    for (std::size_t r = begin; r < end; ++r) {
      const std::size_t i = order[r];
      const double xi = x.at(i, 0);
      nearest.clear();
      auto visit = [&](std::size_t j) {
        const double dx = static_cast<double>(x.at(j, 0)) - xi;
        if (nearest.size() == others && dx * dx > nearest.back()) return false;  // all beyond are farther
        const double d2 = sq_dist(x.row(i), x.row(j), d);
        if (nearest.size() < others || d2 < nearest.back()) {
          nearest.insert(std::upper_bound(nearest.begin(), nearest.end(), d2), d2);
          if (nearest.size() > others) nearest.pop_back();
        }
        return true;
      };
      bool up = true, down = true;
      for (std::size_t step = 1; up || down; ++step) {
        if (up) up = r + step < n && visit(order[r + step]);
        if (down) down = step <= r && visit(order[r - step]);
      }
      core[i] = std::sqrt(nearest.back());
    }
  });
  return core;
}

struct Edge {
  std::size_t a = 0, b = 0;
  double weight = 0.0;
};

// Prim's algorithm on the complete mutual-reachability graph: O(N^2) time, O(N) memory, no edge list.
// Squared weights (max of squares = square of max) spare the square roots; the vertices not yet in
// the tree are kept in a compact list. Ties go to the vertex listed first, so the tree depends on
// nothing but the data.
std::vector<Edge> mutual_reachability_mst(const FloatMatrix& x, const std::vector<double>& core,
                                          const ProgressCallback& progress) {
  const std::size_t n = x.rows, d = x.cols;
  std::vector<Edge> edges;
  edges.reserve(n - 1);
  std::vector<double> core2(n);
  for (std::size_t i = 0; i < n; ++i) core2[i] = core[i] * core[i];
  // Outside the tree: vertex ids, their best squared weight so far and the tree vertex giving it.
  std::vector<std::size_t> rest(n - 1), from(n - 1, 0);
  std::iota(rest.begin(), rest.end(), std::size_t{1});
  std::vector<double> best(n - 1, std::numeric_limits<double>::infinity());
  std::size_t current = 0;
  for (std::size_t step = 1; step < n; ++step) {
    const float* xc = x.row(current);
    const double cc = core2[current];
    std::size_t next = 0;
    double next_weight = std::numeric_limits<double>::infinity();
    const std::size_t m = rest.size();
    for (std::size_t t = 0; t < m; ++t) {
      const std::size_t j = rest[t];
      const double w = std::max({sq_dist(xc, x.row(j), d), cc, core2[j]});
      if (w < best[t]) {
        best[t] = w;
        from[t] = current;
      }
      if (best[t] < next_weight) {
        next_weight = best[t];
        next = t;
      }
    }
    current = rest[next];
    edges.push_back({from[next], current, std::sqrt(next_weight)});
    // Order-preserving removal keeps "first listed" = "smallest index" for the tie rule.
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(next));
    best.erase(best.begin() + static_cast<std::ptrdiff_t>(next));
    from.erase(from.begin() + static_cast<std::ptrdiff_t>(next));
    if (step % 1024 == 0) report(progress, step, n);
  }
  return edges;
}

// Single-linkage tree from the MST: node i < n is point i, node n + m the m-th merge.
struct Merge {
  std::size_t left = 0, right = 0;
  double distance = 0.0;
  std::size_t size = 0;
};

std::vector<Merge> single_linkage(std::vector<Edge> edges, std::size_t n) {
  std::stable_sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.weight < b.weight; });
  std::vector<std::size_t> parent(2 * n - 1), size(2 * n - 1, 1);
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  auto find = [&](std::size_t v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
  };
  std::vector<Merge> merges;
  merges.reserve(n - 1);
  for (const Edge& e : edges) {
    const std::size_t ra = find(e.a), rb = find(e.b);
    const std::size_t node = n + merges.size();
    merges.push_back({ra, rb, e.weight, size[ra] + size[rb]});
    parent[ra] = parent[rb] = node;
    size[node] = size[ra] + size[rb];
  }
  return merges;
}

// The condensed tree, kept as what the selection needs: per cluster its parent, birth lambda and
// stability; per point the cluster it finally fell out of.
struct Condensed {
  std::vector<std::ptrdiff_t> parent;  // per cluster; -1 for the root (cluster 0)
  std::vector<double> birth;           // lambda at which the cluster appeared
  std::vector<double> stability;       // sum over its points of (lambda they left - birth)
  std::vector<std::size_t> point_cluster;  // per point
};

Condensed condense(const std::vector<Merge>& merges, std::size_t n, std::size_t min_size) {
  // lambda = 1 / distance; duplicates (distance 0) would give infinity, which the stability sums
  // cannot carry, so distances are floored at a tiny fraction of the largest one (of 1 when all
  // points coincide).
  const double floor = 1e-12 * (merges.back().distance > 0.0 ? merges.back().distance : 1.0);
  auto lambda_of = [&](double distance) { return 1.0 / std::max(distance, floor); };
  auto node_size = [&](std::size_t node) { return node < n ? std::size_t{1} : merges[node - n].size; };

  Condensed tree;
  tree.point_cluster.assign(n, 0);
  tree.parent.push_back(-1);
  tree.birth.push_back(0.0);
  tree.stability.push_back(0.0);

  // Every point of a subtree leaves `cluster` at `lambda`.
  std::vector<std::size_t> stack;
  auto fall_out = [&](std::size_t node, std::size_t cluster, double lambda) {
    stack.assign(1, node);
    while (!stack.empty()) {
      const std::size_t v = stack.back();
      stack.pop_back();
      if (v < n) {
        tree.point_cluster[v] = cluster;
        tree.stability[cluster] += lambda - tree.birth[cluster];
      } else {
        stack.push_back(merges[v - n].left);
        stack.push_back(merges[v - n].right);
      }
    }
  };

  // (dendrogram node, the condensed cluster it belongs to), top-down from the root.
  std::vector<std::pair<std::size_t, std::size_t>> work = {{2 * n - 2, 0}};
  while (!work.empty()) {
    const auto [node, cluster] = work.back();
    work.pop_back();
    if (node < n) {  // a lone point still in its cluster at the end (min_size 1 only; kept for safety)
      fall_out(node, cluster, tree.birth[cluster]);
      continue;
    }
    const Merge& m = merges[node - n];
    const double lambda = lambda_of(m.distance);
    const bool left_big = node_size(m.left) >= min_size, right_big = node_size(m.right) >= min_size;
    if (left_big && right_big) {
      for (std::size_t child : {m.left, m.right}) {
        const std::size_t id = tree.parent.size();
        tree.parent.push_back(static_cast<std::ptrdiff_t>(cluster));
        tree.birth.push_back(lambda);
        tree.stability.push_back(0.0);
        // The parent loses these points at its split.
        tree.stability[cluster] += static_cast<double>(node_size(child)) * (lambda - tree.birth[cluster]);
        work.push_back({child, id});
      }
    } else {
      // The small side's points drop out; the big side (if any) carries on as the same cluster.
      if (!left_big) fall_out(m.left, cluster, lambda);
      if (!right_big) fall_out(m.right, cluster, lambda);
      if (left_big) work.push_back({m.left, cluster});
      if (right_big) work.push_back({m.right, cluster});
    }
  }
  return tree;
}

// Excess of mass: a cluster is kept when its own stability is at least that of the best selection
// among its descendants. Children always have larger ids than their parents, so one backwards pass works.
std::vector<char> select_clusters(const Condensed& tree, bool allow_root) {
  const std::size_t m = tree.parent.size();
  std::vector<char> selected(m, 0);
  std::vector<double> best(tree.stability);  // best achievable stability within each subtree
  std::vector<double> children_best(m, 0.0);
  std::vector<char> has_children(m, 0);
  for (std::size_t c = m; c-- > 1;) {
    const std::size_t p = static_cast<std::size_t>(tree.parent[c]);
    if (has_children[c] && children_best[c] > tree.stability[c]) {
      best[c] = children_best[c];
    } else {
      best[c] = tree.stability[c];
      selected[c] = 1;
    }
    children_best[p] += best[c];
    has_children[p] = 1;
  }
  if (allow_root && (!has_children[0] || tree.stability[0] >= children_best[0])) selected[0] = 1;
  // A selected cluster supersedes every selected descendant.
  for (std::size_t c = 1; c < m; ++c) {
    for (std::ptrdiff_t a = tree.parent[c]; a >= 0; a = tree.parent[static_cast<std::size_t>(a)])
      if (selected[static_cast<std::size_t>(a)]) {
        selected[c] = 0;
        break;
      }
  }
  return selected;
}

}  // namespace

HdbscanResult hdbscan(const FloatMatrix& points, const HdbscanOptions& options, const ProgressCallback& progress) {
  if (options.min_cluster_size < 2)
    throw std::invalid_argument("hdbscan: min_cluster_size must be at least 2, got " +
                                std::to_string(options.min_cluster_size));
  if (options.min_samples < 0)
    throw std::invalid_argument("hdbscan: min_samples must be >= 0, got " + std::to_string(options.min_samples));
  HdbscanResult result;
  const std::size_t n = points.rows;
  result.labels.assign(n, -1);
  result.noise = n;
  if (n < 2) return result;

  const std::size_t min_size = static_cast<std::size_t>(options.min_cluster_size);
  const std::size_t min_samples =
      static_cast<std::size_t>(options.min_samples > 0 ? options.min_samples : options.min_cluster_size);
  const int threads = resolve_threads(options.num_threads);
  const std::vector<double> core = core_distances(points, min_samples, threads);
  const std::vector<Merge> merges = single_linkage(mutual_reachability_mst(points, core, progress), n);
  const Condensed tree = condense(merges, n, min_size);
  const std::vector<char> selected = select_clusters(tree, options.allow_single_cluster);

  // Each point joins the selected cluster among its condensed-tree ancestors (at most one), else noise.
  const std::size_t m = tree.parent.size();
  std::vector<std::ptrdiff_t> owner(m, -1);
  for (std::size_t c = 0; c < m; ++c) {
    if (selected[c]) owner[c] = static_cast<std::ptrdiff_t>(c);
    else if (c > 0) owner[c] = owner[static_cast<std::size_t>(tree.parent[c])];  // parents come first
  }
  std::vector<std::ptrdiff_t> raw(n, -1);
  for (std::size_t i = 0; i < n; ++i) raw[i] = owner[tree.point_cluster[i]];

  // Largest first, ties by first member: the legend order, as for K-Means.
  std::vector<std::size_t> size(m, 0), first(m, n);
  for (std::size_t i = n; i-- > 0;)
    if (raw[i] >= 0) {
      ++size[static_cast<std::size_t>(raw[i])];
      first[static_cast<std::size_t>(raw[i])] = i;
    }
  std::vector<std::size_t> order;
  for (std::size_t c = 0; c < m; ++c)
    if (selected[c] && size[c] > 0) order.push_back(c);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return size[a] != size[b] ? size[a] > size[b] : first[a] < first[b];
  });
  std::vector<int> label_of(m, -1);
  for (std::size_t r = 0; r < order.size(); ++r) {
    label_of[order[r]] = static_cast<int>(r);
    result.sizes.push_back(size[order[r]]);
    result.stability.push_back(tree.stability[order[r]]);
  }
  result.clusters = static_cast<int>(order.size());
  result.noise = 0;
  for (std::size_t i = 0; i < n; ++i) {
    result.labels[i] = raw[i] >= 0 ? label_of[static_cast<std::size_t>(raw[i])] : -1;
    result.noise += result.labels[i] < 0;
  }
  report(progress, n, n);
  return result;
}

}  // namespace photoatlas::cluster
