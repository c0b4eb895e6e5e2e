#include "embed/knn.h"

#include <cblas.h>
#include <hnswlib/hnswlib.h>
#include <immintrin.h>

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

using v8d = double __attribute__((vector_size(64)));

// In double, eight lanes summed in a fixed order (a plain loop stays scalar: the compiler may
// not reorder the reduction), so re-ranking the candidates costs little next to the search.
PHOTOATLAS_CLONES
double exact_sq_distance(const float* a, const float* b, std::size_t dims) {
  v8d acc = {};
  std::size_t t = 0;
  for (; t + 8 <= dims; t += 8) {
    v8d va, vb;
    for (std::size_t l = 0; l < 8; ++l) va[l] = a[t + l], vb[l] = b[t + l];
    const v8d d = va - vb;
    acc += d * d;
  }
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; t < dims; ++t) {
    const double diff = static_cast<double>(a[t]) - b[t];
    s += diff * diff;
  }
  return s;
}

// Keeps the `capacity` smallest candidates seen by (distance, index). Candidates collect in a
// buffer that is cut back to the best `capacity` (nth_element) once it holds 4 x capacity: O(1)
// amortised per candidate, where a heap paid ~log(capacity) swaps for each of the many early ones.
struct TopK {
  // (distance, index) packed as one integer key: the float bits of a distance >= 0 order like
  // the distance, so keys order like the pairs and nth_element compares integers.
  std::vector<std::uint64_t> items;
  static std::uint64_t key(float d, std::uint32_t j) {
    std::uint32_t bits;
    d = std::max(d, 0.0f);  // the float expansion can round a tiny distance below 0
    std::memcpy(&bits, &d, sizeof bits);
    return (static_cast<std::uint64_t>(bits) << 32) | j;
  }
  static float distance(std::uint64_t k) {
    const auto bits = static_cast<std::uint32_t>(k >> 32);
    float d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  std::size_t capacity = 0;
  float limit = INFINITY;  // the capacity-th smallest distance after the last cut
  void reserve() { items.reserve(4 * capacity + 1); }
  float bound() const { return limit; }
  void cut() {
    if (items.size() <= capacity || capacity == 0) return;
    std::nth_element(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(capacity - 1), items.end());
    items.resize(capacity);
    limit = distance(items[capacity - 1]);
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

// Centred single-precision copy of `a` (rows x dims) and its squared row norms: the operands
// of the |q - r|² = |q|² + |r|² - 2 q·r expansion (centring shrinks the norms, so less cancellation).
struct CentredRows {
  std::vector<float> values, norms;
};

CentredRows centre_rows(const FloatMatrix& a, const std::vector<double>& mean) {
  const std::size_t dims = a.cols;
  CentredRows out;
  out.values.resize(a.values.size());
  out.norms.resize(a.rows);
  for (std::size_t i = 0; i < a.rows; ++i) {
    float s = 0.0f;
    for (std::size_t t = 0; t < dims; ++t) {
      const float v = static_cast<float>(a.at(i, t) - mean[t]);
      out.values[i * dims + t] = v;
      s += v * v;
    }
    out.norms[i] = s;
  }
  return out;
}

std::vector<double> column_mean(const FloatMatrix& a) {
  std::vector<double> mean(a.cols, 0.0);
  for (std::size_t i = 0; i < a.rows; ++i)
    for (std::size_t t = 0; t < a.cols; ++t) mean[t] += a.at(i, t);
  for (double& v : mean) v /= static_cast<double>(std::max<std::size_t>(a.rows, 1));
  return mean;
}

// Turns a row of dot products into squared distances |q|² + |r|² - 2 q·r and lists the
// columns within `bound`; returns how many. AVX-512: 16 columns per step, the hits compressed
// out of a comparison mask (the plain loop compiled for the baseline target ran scalar and was
// the biggest cost of the search).
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx512f"))) std::size_t screen_avx512(float* drow, const float* rn, float qn,
                                                              std::size_t cols, float bound, std::uint32_t* hits) {
  const __m512 vq = _mm512_set1_ps(qn), vbound = _mm512_set1_ps(bound), two = _mm512_set1_ps(2.0f);
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  std::size_t count = 0, c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m512 d = _mm512_fnmadd_ps(two, _mm512_loadu_ps(drow + c), _mm512_add_ps(vq, _mm512_loadu_ps(rn + c)));
    _mm512_storeu_ps(drow + c, d);
    const __mmask16 m = _mm512_cmp_ps_mask(d, vbound, _CMP_LE_OQ);
    if (m) {
      const __m512i idx = _mm512_add_epi32(lanes, _mm512_set1_epi32(static_cast<int>(c)));
      _mm512_storeu_si512(hits + count, _mm512_maskz_compress_epi32(m, idx));
      count += static_cast<std::size_t>(__builtin_popcount(m));
    }
  }
  for (; c < cols; ++c) {
    drow[c] = qn + rn[c] - 2.0f * drow[c];
    hits[count] = static_cast<std::uint32_t>(c);
    count += drow[c] <= bound;
  }
  return count;
}
#endif

std::size_t screen_distances(float* drow, const float* rn, float qn, std::size_t cols, float bound,
                             std::uint32_t* hits) {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) return screen_avx512(drow, rn, qn, cols, bound, hits);
#endif
  std::size_t count = 0;
  for (std::size_t c = 0; c < cols; ++c) {
    drow[c] = qn + rn[c] - 2.0f * drow[c];
    hits[count] = static_cast<std::uint32_t>(c);
    count += drow[c] <= bound;
  }
  return count;
}

// A block of queries against `count` consecutive reference rows, one single-threaded SGEMM per
// 2048 references. Candidates go to each query's TopK (k + a margin of 8 kept, so float
// rounding cannot push a true neighbour out); `q_ids` / `ref_ids` give the rows' original
// indices (nullptr: q_base + r, ref_base + c), used to skip a query's own row when `self`.
void scan_references(const float* q, const float* q_norms, std::size_t rows, const std::uint32_t* q_ids,
                     std::size_t q_base, const float* ref, const float* ref_norms, const std::uint32_t* ref_ids,
                     std::size_t ref_base, std::size_t count, std::size_t dims, bool self, std::vector<TopK>& tops,
                     std::vector<float>& dots) {
  constexpr std::size_t kRefBlock = 2048;
  dots.resize(rows * kRefBlock);
  std::vector<std::uint32_t> hits(kRefBlock + 16);
  for (std::size_t r0 = 0; r0 < count; r0 += kRefBlock) {
    const std::size_t cols = std::min(kRefBlock, count - r0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(cols),
                static_cast<int>(dims), 1.0f, q, static_cast<int>(dims), ref + r0 * dims, static_cast<int>(dims), 0.0f,
                dots.data(), static_cast<int>(cols));
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t i = q_ids ? q_ids[r] : q_base + r;
      TopK& top = tops[r];
      float* drow = dots.data() + r * cols;
      // A query without a bound yet takes its first 4 x capacity columns unscreened and cuts
      // them to get one, then screens the rest of the chunk.
      std::size_t c0 = 0;
      while (c0 < cols) {
        const std::size_t c1 = top.limit == INFINITY ? std::min(cols, c0 + 4 * top.capacity) : cols;
        const std::size_t found =
            screen_distances(drow + c0, ref_norms + r0 + c0, q_norms[r], c1 - c0, top.bound(), hits.data());
        for (std::size_t h = 0; h < found; ++h) {
          const std::size_t c = c0 + hits[h];
          const std::size_t j = ref_ids ? ref_ids[r0 + c] : ref_base + r0 + c;
          if (self && j == i) continue;
          top.items.push_back(TopK::key(drow[c], static_cast<std::uint32_t>(j)));
        }
        if (top.items.size() >= 4 * top.capacity || (top.limit == INFINITY && top.items.size() > top.capacity))
          top.cut();
        c0 = c1;
      }
    }
  }
}

std::vector<TopK> empty_tops(std::size_t rows, std::size_t keep) {
  std::vector<TopK> tops(rows);
  for (auto& t : tops) {
    t.capacity = keep;
    t.reserve();
  }
  return tops;
}

// Brute force through SGEMM over all reference rows; the survivors of the float screen get
// their distance recomputed in double.
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

  const std::vector<double> mean = column_mean(reference);
  const CentredRows ref = centre_rows(reference, mean);
  const CentredRows qry = self ? CentredRows() : centre_rows(queries, mean);
  const CentredRows& q = self ? ref : qry;

  // Each task: a block of queries against all references.
  constexpr std::size_t kQueryBlock = 256;
  const std::size_t blocks = (m + kQueryBlock - 1) / kQueryBlock;
  openblas_set_num_threads(1);  // our threads parallelise; every GEMM call is single-threaded
  parallel_for_dynamic(blocks, num_threads, [&](std::size_t b) {
    const std::size_t q0 = b * kQueryBlock, rows = std::min(kQueryBlock, m - q0);
    std::vector<float> dots;
    std::vector<TopK> tops = empty_tops(rows, keep);
    scan_references(q.values.data() + q0 * dims, q.norms.data() + q0, rows, nullptr, q0, ref.values.data(),
                    ref.norms.data(), nullptr, 0, n, dims, self, tops, dots);
    std::vector<Candidate> candidates;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t i = q0 + r;
      candidates.clear();
      tops[r].cut();
      for (const std::uint64_t item : tops[r].items)
        candidates.emplace_back(TopK::distance(item), static_cast<std::uint32_t>(item));
      finish_row(reference, queries.row(i), candidates, graph.k, &graph.indices[i * graph.k],
                 &graph.sq_distances[i * graph.k]);
    }
  });
  return graph;
}

// ---- Exact search pruned by a partition ----
//
// Brute force costs N² distances; on clustered data (photo features, the benchmark mixtures)
// most of them are between points that cannot be neighbours. The data is cut into cells by a
// few k-means (Lloyd) rounds; each cell keeps its centre μ and radius r = max |x - μ| over its
// points. By the triangle inequality no point of cell c is closer to q than |q - μ_c| - r_c, so
// a block of queries scans the cells in order of centre distance and skips every cell whose
// bound exceeds the current k-th distance of all its queries. Nothing is approximated: the
// result is the brute-force one (same screen, same double re-ranking), only the work shrinks
// (on 10 well-separated clusters to ~1/10; on unclustered data nothing is skipped).
// (FAISS's IVF does the cell scan approximately, with a fixed number of probed cells; hnswlib
// has no exact mode; hence this small exact variant by hand.)
struct Partition {
  std::size_t cells = 0;
  std::vector<std::uint32_t> order;       // point indices grouped by cell
  std::vector<std::size_t> cell_start;    // cells + 1 offsets into order
  std::vector<float> centres;             // cells x dims, in the centred coordinates
  std::vector<double> radius;             // per cell
  CentredRows sorted;                     // centred rows in `order`
};

// Squared distances of `rows` centred rows to every centre (float, by GEMM).
void centre_distances(const float* x, const float* x_norms, std::size_t rows, const std::vector<float>& centres,
                      const std::vector<float>& centre_norms, std::size_t dims, std::vector<float>& out) {
  const std::size_t cells = centre_norms.size();
  out.resize(rows * cells);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(cells),
              static_cast<int>(dims), 1.0f, x, static_cast<int>(dims), centres.data(), static_cast<int>(dims), 0.0f,
              out.data(), static_cast<int>(cells));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cells; ++c)
      out[r * cells + c] = std::max(0.0f, x_norms[r] + centre_norms[c] - 2.0f * out[r * cells + c]);
}

std::vector<float> row_norms(const std::vector<float>& a, std::size_t dims) {
  std::vector<float> out(a.size() / std::max<std::size_t>(dims, 1));
  for (std::size_t i = 0; i < out.size(); ++i) {
    float s = 0.0f;
    for (std::size_t t = 0; t < dims; ++t) s += a[i * dims + t] * a[i * dims + t];
    out[i] = s;
  }
  return out;
}

// Cell of every row: the nearest centre (ties to the lower cell), in blocks, threaded.
std::vector<std::uint32_t> assign_cells(const CentredRows& x, std::size_t n, std::size_t dims,
                                        const std::vector<float>& centres, int threads) {
  const std::vector<float> centre_norms = row_norms(centres, dims);
  const std::size_t cells = centre_norms.size();
  std::vector<std::uint32_t> cell(n);
  constexpr std::size_t kBlock = 1024;
  parallel_for_dynamic((n + kBlock - 1) / kBlock, threads, [&](std::size_t b) {
    const std::size_t r0 = b * kBlock, rows = std::min(kBlock, n - r0);
    std::vector<float> d;
    centre_distances(x.values.data() + r0 * dims, x.norms.data() + r0, rows, centres, centre_norms, dims, d);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* row = d.data() + r * cells;
      cell[r0 + r] = static_cast<std::uint32_t>(std::min_element(row, row + cells) - row);
    }
  });
  return cell;
}

Partition build_partition(const CentredRows& x, std::size_t n, std::size_t dims, std::size_t points_per_cell,
                          std::uint64_t seed, int threads) {
  // 8 Lloyd rounds on a sample: the cells need not be optimal, only compact.
  const std::size_t cells = std::clamp<std::size_t>(n / std::max<std::size_t>(points_per_cell, 1), 1, 512);
  Rng rng(derive_seed(seed, 7));
  std::vector<std::uint32_t> pick(n);
  std::iota(pick.begin(), pick.end(), 0u);
  const std::size_t sample = std::min(n, cells * 64);
  for (std::size_t t = 0; t < sample; ++t)
    std::swap(pick[t], pick[t + static_cast<std::size_t>(uniform01(rng) * static_cast<double>(n - t))]);
  pick.resize(sample);
  std::sort(pick.begin(), pick.end());
  CentredRows train;
  train.values.resize(sample * dims);
  train.norms.resize(sample);
  for (std::size_t t = 0; t < sample; ++t) {
    std::memcpy(train.values.data() + t * dims, x.values.data() + std::size_t{pick[t]} * dims, dims * sizeof(float));
    train.norms[t] = x.norms[pick[t]];
  }
  std::vector<float> centres(cells * dims);
  for (std::size_t c = 0; c < cells; ++c)  // the first `cells` sampled rows (a random subset)
    std::memcpy(centres.data() + c * dims, train.values.data() + (c * sample / cells) * dims, dims * sizeof(float));
  auto recentre = [&](const CentredRows& rows, std::size_t count, const std::vector<std::uint32_t>& cell) {
    std::vector<double> sum(cells * dims, 0.0);
    std::vector<std::size_t> size(cells, 0);
    for (std::size_t i = 0; i < count; ++i) {
      ++size[cell[i]];
      for (std::size_t t = 0; t < dims; ++t) sum[cell[i] * dims + t] += rows.values[i * dims + t];
    }
    for (std::size_t c = 0; c < cells; ++c)
      if (size[c] > 0)  // an empty cell keeps its centre (it stays empty and is never scanned)
        for (std::size_t t = 0; t < dims; ++t)
          centres[c * dims + t] = static_cast<float>(sum[c * dims + t] / static_cast<double>(size[c]));
  };
  for (int round = 0; round < 8; ++round) recentre(train, sample, assign_cells(train, sample, dims, centres, threads));
  std::vector<std::uint32_t> cell = assign_cells(x, n, dims, centres, threads);
  recentre(x, n, cell);
  cell = assign_cells(x, n, dims, centres, threads);  // members and centres consistent for the radii

  Partition part;
  part.cells = cells;
  part.centres = centres;
  part.cell_start.assign(cells + 1, 0);
  for (std::size_t i = 0; i < n; ++i) ++part.cell_start[cell[i] + 1];
  for (std::size_t c = 0; c < cells; ++c) part.cell_start[c + 1] += part.cell_start[c];
  part.order.resize(n);
  {
    std::vector<std::size_t> cursor(part.cell_start.begin(), part.cell_start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) part.order[cursor[cell[i]]++] = static_cast<std::uint32_t>(i);
  }
  part.sorted.values.resize(n * dims);
  part.sorted.norms.resize(n);
  part.radius.assign(cells, 0.0);
  for (std::size_t s = 0; s < n; ++s) {
    const std::size_t i = part.order[s];
    std::memcpy(part.sorted.values.data() + s * dims, x.values.data() + i * dims, dims * sizeof(float));
    part.sorted.norms[s] = x.norms[i];
    const std::size_t c = cell[i];
    double d2 = 0.0;
    for (std::size_t t = 0; t < dims; ++t) {
      const double diff = static_cast<double>(x.values[i * dims + t]) - centres[c * dims + t];
      d2 += diff * diff;
    }
    part.radius[c] = std::max(part.radius[c], std::sqrt(d2));
  }
  return part;
}

// Whether the triangle bound lets a block skip cell c: no query can have a neighbour there.
// `dq` = the queries' distances to the cell's centre; the bound compares with the float
// screen's k-th squared distance, with a margin for its rounding.
bool cell_needed(const std::vector<float>& dq2, std::size_t rows, std::size_t cells, std::size_t c, double radius,
                 const std::vector<TopK>& tops) {
  for (std::size_t r = 0; r < rows; ++r) {
    const double lower = std::sqrt(static_cast<double>(dq2[r * cells + c])) - radius;
    if (lower <= 0.0) return true;
    const double bound = tops[r].bound();
    if (lower * lower <= bound * 1.001 + 1e-6) return true;
  }
  return false;
}

// Mean number of reference points a query would scan: from a sample of queries, each bounded
// by its k-th distance within its own cell (never below the true k-th distance, so this
// over-estimates the scan a little).
double estimated_scan(const Partition& part, std::size_t n, std::size_t dims, std::size_t k, std::uint64_t seed) {
  const std::size_t cells = part.cells;
  const std::vector<float> centre_norms = row_norms(part.centres, dims);
  Rng rng(derive_seed(seed, 8));
  const std::size_t sample = std::min<std::size_t>(n, 200);
  double total = 0.0;
  std::vector<float> dq2;
  std::vector<double> own;
  for (std::size_t t = 0; t < sample; ++t) {
    const std::size_t s = std::min(n - 1, static_cast<std::size_t>(uniform01(rng) * static_cast<double>(n)));
    const float* q = part.sorted.values.data() + s * dims;
    const std::size_t c = static_cast<std::size_t>(
        std::upper_bound(part.cell_start.begin(), part.cell_start.end(), s) - part.cell_start.begin() - 1);
    own.clear();
    for (std::size_t u = part.cell_start[c]; u < part.cell_start[c + 1]; ++u) {
      if (u == s) continue;
      double d2 = 0.0;
      for (std::size_t d = 0; d < dims; ++d) {
        const double diff = static_cast<double>(q[d]) - part.sorted.values[u * dims + d];
        d2 += diff * diff;
      }
      own.push_back(d2);
    }
    double kth = INFINITY;
    if (own.size() >= k) {
      std::nth_element(own.begin(), own.begin() + static_cast<std::ptrdiff_t>(k - 1), own.end());
      kth = std::sqrt(own[k - 1]);
    }
    centre_distances(q, part.sorted.norms.data() + s, 1, part.centres, centre_norms, dims, dq2);
    for (std::size_t b = 0; b < cells; ++b)
      if (std::sqrt(static_cast<double>(dq2[b])) - part.radius[b] <= kth)
        total += static_cast<double>(part.cell_start[b + 1] - part.cell_start[b]);
  }
  return total / static_cast<double>(std::max<std::size_t>(sample, 1));
}

NeighbourGraph partitioned_search(const FloatMatrix& data, const Partition& part, std::size_t k, int threads) {
  const std::size_t n = data.rows, dims = data.cols, cells = part.cells;
  NeighbourGraph graph;
  graph.n = n;
  graph.k = std::min(k, n - 1);
  graph.indices.resize(n * graph.k);
  graph.sq_distances.resize(n * graph.k);
  const std::size_t keep = std::min(graph.k + 8, n - 1);
  const std::vector<float> centre_norms = row_norms(part.centres, dims);
  // Each cell's scan order: cells by distance between centres, its own first.
  std::vector<std::vector<std::uint32_t>> scan_order(cells);
  {
    std::vector<float> d2;
    centre_distances(part.centres.data(), centre_norms.data(), cells, part.centres, centre_norms, dims, d2);
    for (std::size_t a = 0; a < cells; ++a) {
      auto& o = scan_order[a];
      o.resize(cells);
      std::iota(o.begin(), o.end(), 0u);
      std::stable_sort(o.begin(), o.end(), [&](std::uint32_t u, std::uint32_t v) {
        if ((u == a) != (v == a)) return u == a;
        return d2[a * cells + u] < d2[a * cells + v];
      });
    }
  }
  // Tasks: blocks of up to 256 queries of one cell (they share a scan order and mostly its bounds).
  constexpr std::size_t kQueryBlock = 256;
  std::vector<std::pair<std::size_t, std::size_t>> tasks;  // (cell, first sorted row)
  for (std::size_t c = 0; c < cells; ++c)
    for (std::size_t s = part.cell_start[c]; s < part.cell_start[c + 1]; s += kQueryBlock) tasks.emplace_back(c, s);
  openblas_set_num_threads(1);
  parallel_for_dynamic(tasks.size(), threads, [&](std::size_t t) {
    const auto [a, s0] = tasks[t];
    const std::size_t rows = std::min(kQueryBlock, part.cell_start[a + 1] - s0);
    const float* q = part.sorted.values.data() + s0 * dims;
    const float* qn = part.sorted.norms.data() + s0;
    const std::uint32_t* q_ids = part.order.data() + s0;
    std::vector<float> dq2, dots;
    centre_distances(q, qn, rows, part.centres, centre_norms, dims, dq2);
    std::vector<TopK> tops = empty_tops(rows, keep);
    for (const std::uint32_t c : scan_order[a]) {
      const std::size_t b0 = part.cell_start[c], b1 = part.cell_start[c + 1];
      if (b0 == b1 || !cell_needed(dq2, rows, cells, c, part.radius[c], tops)) continue;
      scan_references(q, qn, rows, q_ids, 0, part.sorted.values.data() + b0 * dims, part.sorted.norms.data() + b0,
                      part.order.data() + b0, 0, b1 - b0, dims, true, tops, dots);
    }
    std::vector<Candidate> candidates;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t i = q_ids[r];
      candidates.clear();
      tops[r].cut();
      for (const std::uint64_t item : tops[r].items)
        candidates.emplace_back(TopK::distance(item), static_cast<std::uint32_t>(item));
      finish_row(data, data.row(i), candidates, graph.k, &graph.indices[i * graph.k],
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

// Below this many points the partition's set-up (k-means, sorting) outweighs what it saves.
constexpr std::size_t kPartitionMinN = 20000;
// ~4096 points per cell: big enough for efficient GEMM blocks, small enough to prune at cluster boundaries.
constexpr std::size_t kPointsPerCell = 4096;

// Exact self-neighbours of `data` through a partition. When `max_scan` > 0 and the estimated
// scan per query exceeds it, returns an empty graph (the caller switches to HNSW) instead.
NeighbourGraph partitioned_or_nothing(const FloatMatrix& data, std::size_t k, std::size_t points_per_cell,
                                      double max_scan, std::uint64_t seed, int threads) {
  const CentredRows x = centre_rows(data, column_mean(data));
  const Partition part = build_partition(x, data.rows, data.cols, points_per_cell, seed, threads);
  if (max_scan > 0.0 && estimated_scan(part, data.rows, data.cols, std::min(k, data.rows - 1), seed) > max_scan)
    return NeighbourGraph{};
  return partitioned_search(data, part, k, threads);
}

}  // namespace

NeighbourGraph partitioned_neighbours(const FloatMatrix& data, std::size_t k, std::size_t points_per_cell,
                                      int num_threads) {
  if (data.rows < 2 || k == 0) return brute_force(data, data, k, true, resolve_threads(num_threads));
  return partitioned_or_nothing(data, k, points_per_cell, 0.0, 0, resolve_threads(num_threads));
}

NeighbourGraph exact_neighbours(const FloatMatrix& data, std::size_t k, int num_threads) {
  const int threads = resolve_threads(num_threads);
  if (data.rows > kPartitionMinN && k > 0) return partitioned_or_nothing(data, k, kPointsPerCell, 0.0, 0, threads);
  return brute_force(data, data, k, true, threads);
}

NeighbourGraph nearest_neighbours(const FloatMatrix& data, std::size_t k, const NeighbourOptions& options) {
  if (options.method == NeighbourMethod::Hnsw) return hnsw_neighbours(data, nullptr, k, options);
  const int threads = resolve_threads(options.num_threads);
  if (data.rows <= kPartitionMinN || k == 0) return brute_force(data, data, k, true, threads);
  // Auto beyond exact_max_n: exact when the partition prunes well enough to cost less than HNSW.
  const double max_scan = options.method == NeighbourMethod::Exact || data.rows <= options.exact_max_n
                              ? 0.0
                              : options.partition_max_scan;
  NeighbourGraph graph = partitioned_or_nothing(data, k, kPointsPerCell, max_scan, options.seed, threads);
  if (graph.n == data.rows) return graph;
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
