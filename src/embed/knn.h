// k nearest neighbours for t-SNE affinities: exact brute force (BLAS) for small N, HNSW
// (Malkov & Yashunin 2018, Debian's header-only hnswlib) for large N, with a recall check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/matrix.h"

namespace photoatlas::embed {

// Each point's k nearest other points, nearest first (ties by lower index).
struct NeighbourGraph {
  std::size_t n = 0;
  std::size_t k = 0;
  std::vector<std::uint32_t> indices;  // n * k, row-major
  std::vector<double> sq_distances;    // n * k squared Euclidean distances, ascending per row
};

enum class NeighbourMethod {
  Auto,   // exact up to NeighbourOptions::exact_max_n points; beyond, exact when the partition prunes
          // well enough (see partition_max_scan), else HNSW
  Exact,  // brute force: O(N² d) through single-precision GEMM, distances of the winners recomputed in
          // double; beyond 20k points pruned by a k-means partition (still exact, see knn.cpp)
  Hnsw,   // approximate: hierarchical navigable small-world graphs
};

struct NeighbourOptions {
  NeighbourMethod method = NeighbourMethod::Auto;
  // Auto: exact up to exact_max_n points (brute force up to 20k, partitioned beyond); beyond
  // exact_max_n exact as well when a sample shows the partition prunes enough (see
  // partition_max_scan), else HNSW. Measured on this project's 2-core AVX-512 machine with
  // 10-cluster 50-D Gaussian mixtures (a hard case for graph search: intrinsic dimension 50),
  // k = 90, CPU s: N = 100000: partitioned exact ~5 (whole affinity stage 7.0), brute force 35,
  // HNSW 53 at recall 0.953 (M 16, ef 151) or 123 at recall 0.9995 (M 24, construction 200,
  // ef 400). On unclustered data the partition skips nothing and costs what brute force does.
  std::size_t exact_max_n = 200000;
  // Auto beyond exact_max_n: the exact partitioned search is kept when a sample says a query
  // scans at most this many points. Equivalence from the 100k measurements: HNSW at recall
  // 0.9995 cost 1.23 ms per query, brute force 0.35 ms per 100k points scanned, so HNSW pays
  // off only beyond ~350k scanned points per query.
  double partition_max_scan = 350000;
  int hnsw_m = 24;                  // graph degree (hnswlib's M; level 0 keeps 2M links)
  int hnsw_ef_construction = 200;   // candidate list while building
  // Candidate list while searching; 0 = auto: max(4k + 40, 100) (400 for k = 90: recall 0.9995 at
  // 100k 50-D mixture points with the M and construction list above; ef 151 with M 16 gave 0.953).
  int hnsw_ef_search = 0;
  int hnsw_shards = 0;              // independent indexes built in parallel, each by one thread; queries search
                                    // all. 0 = auto: 1 below 200k points, one per thread beyond
  std::uint64_t seed = 0;           // HNSW level assignment
  int num_threads = 0;              // 0 = all cores. Each HNSW shard is built by one thread (in
                                    // index order, hence deterministic) and queries run in parallel:
                                    // results depend on seed and shard count only.
};

// Brute-force exact kNN on squared Euclidean distance, threaded over rows.
NeighbourGraph exact_neighbours(const FloatMatrix& data, std::size_t k, int num_threads);

// The same result as exact_neighbours through a k-means partition of about `points_per_cell`
// points per cell, whose cells are skipped where the triangle inequality proves they hold no
// neighbour (exact_neighbours does this beyond 20k points with 4096 per cell; exposed for tests).
NeighbourGraph partitioned_neighbours(const FloatMatrix& data, std::size_t k, std::size_t points_per_cell,
                                      int num_threads);

// Each point's k nearest other points by the chosen method.
NeighbourGraph nearest_neighbours(const FloatMatrix& data, std::size_t k, const NeighbourOptions& options);

// For each query row, its k nearest rows of `reference` (a query is not excluded from its own
// reference set: it is a different point). Exact or HNSW by the same rule on reference.rows.
NeighbourGraph query_neighbours(const FloatMatrix& reference, const FloatMatrix& queries, std::size_t k,
                                const NeighbourOptions& options);

// Recall of `graph` against exact neighbours on `sample` points drawn with `seed`: the mean
// fraction of each sampled point's true k neighbours that the graph holds.
double neighbour_recall(const NeighbourGraph& graph, const FloatMatrix& data, std::size_t sample,
                        std::uint64_t seed, int num_threads);

}  // namespace photoatlas::embed
