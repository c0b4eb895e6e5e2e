#include "embed/knn.h"

#include <cblas.h>
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <utility>

#include "core/parallel.h"
#include "core/rng.h"

extern "C" void openblas_set_num_threads(int);

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PHOTOATLAS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PHOTOATLAS_CLONES
#endif

namespace photoatlas::embed {
namespace {

using Candidate = std::pair<double, std::uint32_t>;  // (squared distance, index): ties by lower index

double exact_sq_distance(const float* a, const float* b, std::size_t dims) {
  double s = 0.0;
  for (std::size_t t = 0; t < dims; ++t) {
    const double diff = static_cast<double>(a[t]) - b[t];
    s += diff * diff;
  }
  return s;
}

// Keeps the `capacity` smallest candidates seen (a max-heap on (distance, index)).
struct TopK {
  std::vector<std::pair<float, std::uint32_t>> heap;
  std::size_t capacity = 0;
  float bound() const { return heap.size() < capacity ? INFINITY : heap.front().first; }
  void offer(float d, std::uint32_t j) {
    if (heap.size() < capacity) {
      heap.emplace_back(d, j);
      std::push_heap(heap.begin(), heap.end());
    } else if (std::make_pair(d, j) < heap.front()) {
      std::pop_heap(heap.begin(), heap.end());
      heap.back() = {d, j};
      std::push_heap(heap.begin(), heap.end());
    }
  }
};

// Final ranking of a row's candidates: exact double distances, nearest first, then the k best.
void finish_row(const FloatMatrix& reference, const float* query, std::vector<Candidate>& candidates, std::size_t k,
                std::uint32_t* out_idx, double* out_d2) {
  for (auto& [d2, j] : candidates) d2 = exact_sq_distance(query, reference.row(j), reference.cols);
  std::sort(candidates.begin(), candidates.end());
  for (std::size_t t = 0; t < k; ++t) {
    out_idx[t] = t < candidates.size() ? candidates[t].second : 0;
    out_d2[t] = t < candidates.size() ? candidates[t].first : INFINITY;
  }
}

// Brute force through SGEMM: |q - r|² = |q|² + |r|² - 2 q·r on centred data ranks the
// candidates (k + a margin of 8 kept, so float rounding cannot push a true neighbour out), the
// survivors get their distance recomputed in double.
NeighbourGraph brute_force(const FloatMatrix& reference, const FloatMatrix& queries, std::size_t k, bool self,
                           int num_threads) {
  const std::size_t n = reference.rows, m = queries.rows, dims = reference.cols;
  NeighbourGraph graph;
  graph.n = m;
  const std::size_t available = self ? (n > 0 ? n - 1 : 0) : n;
  graph.k = std::min(k, available);
  if (graph.k == 0 || m == 0) return graph;
  graph.indices.resize(m * graph.k);
  graph.sq_distances.resize(m * graph.k);
  const std::size_t keep = std::min(graph.k + 8, available);

  // Centre both on the reference mean (distances are translation invariant; smaller norms, less cancellation).
  std::vector<double> mean(dims, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < dims; ++t) mean[t] += reference.at(i, t);
  for (double& v : mean) v /= static_cast<double>(std::max<std::size_t>(n, 1));
  auto centred = [&](const FloatMatrix& a) {
    std::vector<float> out(a.values.size());
    for (std::size_t i = 0; i < a.rows; ++i)
      for (std::size_t t = 0; t < dims; ++t) out[i * dims + t] = static_cast<float>(a.at(i, t) - mean[t]);
    return out;
  };
  const std::vector<float> ref = centred(reference);
  const std::vector<float> qry = self ? std::vector<float>() : centred(queries);
  const float* qdata = self ? ref.data() : qry.data();
  auto norms = [&](const float* a, std::size_t rows) {
    std::vector<float> out(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      float s = 0.0f;
      for (std::size_t t = 0; t < dims; ++t) s += a[i * dims + t] * a[i * dims + t];
      out[i] = s;
    }
    return out;
  };
  const std::vector<float> ref_norms = norms(ref.data(), n);
  const std::vector<float> q_norms = self ? ref_norms : norms(qdata, m);

  // Each task: a block of queries against all references, in reference chunks; one GEMM per chunk.
  constexpr std::size_t kQueryBlock = 256, kRefBlock = 2048;
  const std::size_t blocks = (m + kQueryBlock - 1) / kQueryBlock;
  openblas_set_num_threads(1);  // our threads parallelise; every GEMM call is single-threaded
  parallel_for_dynamic(blocks, num_threads, [&](std::size_t b) {
    const std::size_t q0 = b * kQueryBlock, rows = std::min(kQueryBlock, m - q0);
    std::vector<float> dots(rows * kRefBlock);
    std::vector<TopK> tops(rows);
    for (auto& t : tops) {
      t.capacity = keep;
      t.heap.reserve(keep);
    }
    for (std::size_t r0 = 0; r0 < n; r0 += kRefBlock) {
      const std::size_t cols = std::min(kRefBlock, n - r0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(cols),
                  static_cast<int>(dims), 1.0f, qdata + q0 * dims, static_cast<int>(dims), ref.data() + r0 * dims,
                  static_cast<int>(dims), 0.0f, dots.data(), static_cast<int>(cols));
      for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t i = q0 + r;
        TopK& top = tops[r];
        const float qn = q_norms[i];
        float* drow = dots.data() + r * cols;
        const float* rn = ref_norms.data() + r0;
        // Distances for the whole chunk first (a plain vectorisable loop), then a 16-wide
        // screen against the current k-th distance: once the heap is warm, almost every group
        // of 16 is rejected by one comparison.
        for (std::size_t c = 0; c < cols; ++c) drow[c] = qn + rn[c] - 2.0f * drow[c];
        float bound = top.bound();
        for (std::size_t c0 = 0; c0 < cols; c0 += 16) {
          const std::size_t c1 = std::min(cols, c0 + 16);
          bool any = false;
          for (std::size_t c = c0; c < c1; ++c) any |= drow[c] <= bound;
          if (!any) continue;
          for (std::size_t c = c0; c < c1; ++c) {
            const float d2 = drow[c];
            if (d2 > bound) continue;
            const std::size_t j = r0 + c;
            if (self && j == i) continue;
            top.offer(d2, static_cast<std::uint32_t>(j));
            bound = top.bound();
          }
        }
      }
    }
    std::vector<Candidate> candidates;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t i = q0 + r;
      candidates.clear();
      for (const auto& [d, j] : tops[r].heap) candidates.emplace_back(d, j);
      finish_row(reference, queries.row(i), candidates, graph.k, &graph.indices[i * graph.k],
                 &graph.sq_distances[i * graph.k]);
    }
  });
  return graph;
}

// ---- HNSW ----

constexpr std::size_t kPad = 16;  // floats per AVX-512 register

using v16f = float __attribute__((vector_size(64)));

// Squared L2 over zero-padded rows (length a multiple of 16); the clones give AVX-512/AVX2 code.
PHOTOATLAS_CLONES
float padded_l2(const void* a, const void* b, const void* param) {
  const std::size_t dims = *static_cast<const std::size_t*>(param);
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  v16f acc = {};
  for (std::size_t t = 0; t < dims; t += kPad) {
    v16f va, vb;
    std::memcpy(&va, x + t, sizeof va);
    std::memcpy(&vb, y + t, sizeof vb);
    const v16f d = va - vb;
    acc += d * d;
  }
  float s = 0.0f;
  for (std::size_t l = 0; l < kPad; ++l) s += acc[l];
  return s;
}

class PaddedL2Space : public hnswlib::SpaceInterface<float> {
 public:
  explicit PaddedL2Space(std::size_t padded_dims) : dims_(padded_dims) {}
  size_t get_data_size() override { return dims_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &padded_l2; }
  void* get_dist_func_param() override { return &dims_; }

 private:
  std::size_t dims_;
};

struct ShardedHnsw {
  std::size_t padded = 0;
  std::unique_ptr<PaddedL2Space> space;
  std::vector<std::unique_ptr<hnswlib::HierarchicalNSW<float>>> shards;
  std::vector<float> rows;  // all reference rows, padded, centred

  static std::vector<float> pad(const FloatMatrix& a, std::size_t padded, const std::vector<double>& mean) {
    std::vector<float> out(a.rows * padded, 0.0f);
    for (std::size_t i = 0; i < a.rows; ++i)
      for (std::size_t t = 0; t < a.cols; ++t) out[i * padded + t] = static_cast<float>(a.at(i, t) - mean[t]);
    return out;
  }
};

std::vector<double> column_mean(const FloatMatrix& a) {
  std::vector<double> mean(a.cols, 0.0);
  for (std::size_t i = 0; i < a.rows; ++i)
    for (std::size_t t = 0; t < a.cols; ++t) mean[t] += a.at(i, t);
  for (double& v : mean) v /= static_cast<double>(std::max<std::size_t>(a.rows, 1));
  return mean;
}

// Shard s holds the points i with i % shards == s; each shard is built by one thread, in index
// order, so the graphs (and hence the answers) are reproducible.
ShardedHnsw build_hnsw(const FloatMatrix& reference, const std::vector<double>& mean, const NeighbourOptions& options,
                       int threads) {
  ShardedHnsw index;
  const std::size_t n = reference.rows;
  index.padded = (reference.cols + kPad - 1) / kPad * kPad;
  index.space = std::make_unique<PaddedL2Space>(index.padded);
  index.rows = ShardedHnsw::pad(reference, index.padded, mean);
  // One index below 200k points: queries then search one graph instead of one per shard (measured
  // at 20k, 50-D: 4.8 vs 6.1 CPU s for the same recall), and the result does not even depend on
  // the thread count. Beyond, the sequential build would dominate the wall time, so one shard per thread.
  const std::size_t shards = options.hnsw_shards > 0 ? static_cast<std::size_t>(options.hnsw_shards)
                             : n < 200000 ? 1
                                          : std::max<std::size_t>(1, static_cast<std::size_t>(threads));
  index.shards.resize(shards);
  parallel_for_dynamic(shards, threads, [&](std::size_t s) {
    const std::size_t size = (n - s + shards - 1) / shards;
    auto h = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        index.space.get(), std::max<std::size_t>(size, 1), static_cast<std::size_t>(std::max(options.hnsw_m, 2)),
        static_cast<std::size_t>(std::max(options.hnsw_ef_construction, 1)),
        static_cast<std::size_t>(derive_seed(options.seed, 100 + s) & 0x7fffffff));
    for (std::size_t i = s; i < n; i += shards) h->addPoint(index.rows.data() + i * index.padded, i);
    index.shards[s] = std::move(h);
  });
  return index;
}

NeighbourGraph hnsw_neighbours(const FloatMatrix& reference, const FloatMatrix* queries, std::size_t k,
                               const NeighbourOptions& options) {
  const int threads = resolve_threads(options.num_threads);
  const bool self = queries == nullptr;
  const FloatMatrix& q = self ? reference : *queries;
  const std::size_t n = reference.rows, m = q.rows;
  NeighbourGraph graph;
  graph.n = m;
  graph.k = std::min(k, self ? (n > 0 ? n - 1 : 0) : n);
  if (graph.k == 0 || m == 0) return graph;
  graph.indices.resize(m * graph.k);
  graph.sq_distances.resize(m * graph.k);

  const std::vector<double> mean = column_mean(reference);
  ShardedHnsw index = build_hnsw(reference, mean, options, threads);
  const std::vector<float> qrows = self ? std::vector<float>() : ShardedHnsw::pad(q, index.padded, mean);
  const float* qdata = self ? index.rows.data() : qrows.data();
  const std::size_t want = graph.k + (self ? 1 : 0);
  const std::size_t ef = options.hnsw_ef_search > 0
                             ? static_cast<std::size_t>(options.hnsw_ef_search)
                             : std::max<std::size_t>(4 * graph.k + 40, 100);
  for (auto& h : index.shards) h->setEf(std::max(ef, want));

  constexpr std::size_t kBlock = 64;
  parallel_for_dynamic((m + kBlock - 1) / kBlock, threads, [&](std::size_t b) {
    std::vector<Candidate> candidates;
    for (std::size_t i = b * kBlock; i < std::min(m, (b + 1) * kBlock); ++i) {
      candidates.clear();
      for (auto& h : index.shards) {
        auto result = h->searchKnn(qdata + i * index.padded, want);
        while (!result.empty()) {
          const auto [d, label] = result.top();
          result.pop();
          if (self && label == i) continue;
          candidates.emplace_back(d, static_cast<std::uint32_t>(label));
        }
      }
      // Keep the best k + 8 by the index's float distances, then rank exactly in double.
      std::sort(candidates.begin(), candidates.end());
      if (candidates.size() > graph.k + 8) candidates.resize(graph.k + 8);
      finish_row(reference, q.row(i), candidates, graph.k, &graph.indices[i * graph.k],
                 &graph.sq_distances[i * graph.k]);
    }
  });
  return graph;
}

bool use_exact(std::size_t reference_rows, const NeighbourOptions& options) {
  switch (options.method) {
    case NeighbourMethod::Exact: return true;
    case NeighbourMethod::Hnsw: return false;
    case NeighbourMethod::Auto: break;
  }
  return reference_rows <= options.exact_max_n;
}

}  // namespace

NeighbourGraph exact_neighbours(const FloatMatrix& data, std::size_t k, int num_threads) {
  return brute_force(data, data, k, true, resolve_threads(num_threads));
}

NeighbourGraph nearest_neighbours(const FloatMatrix& data, std::size_t k, const NeighbourOptions& options) {
  if (use_exact(data.rows, options)) return exact_neighbours(data, k, options.num_threads);
  return hnsw_neighbours(data, nullptr, k, options);
}

NeighbourGraph query_neighbours(const FloatMatrix& reference, const FloatMatrix& queries, std::size_t k,
                                const NeighbourOptions& options) {
  if (use_exact(reference.rows, options))
    return brute_force(reference, queries, k, false, resolve_threads(options.num_threads));
  return hnsw_neighbours(reference, &queries, k, options);
}

double neighbour_recall(const NeighbourGraph& graph, const FloatMatrix& data, std::size_t sample, std::uint64_t seed,
                        int num_threads) {
  const std::size_t n = data.rows, k = graph.k;
  if (n == 0 || k == 0) return 1.0;
  sample = std::min(sample, n);
  // A seeded sample of distinct rows (partial Fisher-Yates).
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(seed);
  for (std::size_t t = 0; t < sample; ++t) {
    const std::size_t r = t + static_cast<std::size_t>(uniform01(rng) * static_cast<double>(n - t));
    std::swap(order[t], order[std::min(r, n - 1)]);
  }
  FloatMatrix queries(sample, data.cols);
  for (std::size_t t = 0; t < sample; ++t)
    std::memcpy(queries.row(t), data.row(order[t]), sizeof(float) * data.cols);
  // k + 1 exact neighbours among all rows; the sampled point itself is dropped.
  const NeighbourGraph truth = brute_force(data, queries, k + 1, false, resolve_threads(num_threads));
  std::size_t found = 0, total = 0;
  for (std::size_t t = 0; t < sample; ++t) {
    const std::uint32_t i = order[t];
    std::vector<std::uint32_t> want;
    for (std::size_t c = 0; c < truth.k && want.size() < k; ++c)
      if (truth.indices[t * truth.k + c] != i) want.push_back(truth.indices[t * truth.k + c]);
    std::vector<std::uint32_t> got(graph.indices.begin() + static_cast<std::ptrdiff_t>(i * k),
                                   graph.indices.begin() + static_cast<std::ptrdiff_t>((i + 1) * k));
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    std::vector<std::uint32_t> common;
    std::set_intersection(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(common));
    found += common.size();
    total += want.size();
  }
  return total ? static_cast<double>(found) / static_cast<double>(total) : 1.0;
}

}  // namespace photoatlas::embed
