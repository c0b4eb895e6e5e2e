// t-SNE benchmark helper, driven by bench/tsne_bench.py (which also runs scikit-learn's TSNE as
// the peer, in the same run). Subcommands:
//   run  DATA OUT [--threads T] [--gradient auto|exact|fft|split] [--neighbours auto|exact|hnsw] [--iterations N]
//        [--near-radius R] [--near-box H] [--plain-box H]
//        PCA to 50 dims when DATA is wider (as the pipeline does, timed), then t-SNE; writes the
//        N x 2 embedding to OUT and one JSON line of phase timings.
//   eval DATA LABELS EMB...   the same P for every embedding (PCA-50, perplexity 30): KL
//        divergence (exact Z up to 20k points, else Z estimated from 4000 sampled rows; not
//        computed beyond 200k points, where the driver reports the run's own estimate), 10-NN
//        preservation and 10-NN label accuracy in 2-D on up to 10000 sampled points; JSON per embedding.
//   knn  DATA [K] [--methods exact,hnsw,brute]  neighbour searches side by side: CPU s and recall.
//   grad DATA [--threads T] [--reps N] [--engines exact,fitsne,R0_h0.75,R4_h3,...]
//                             CPU ms per gradient call of each engine on the layouts a run passes
//                             through (iterations 50 .. 1000), with grid sizes and near-field
//                             candidate pairs (the figures behind TsneOptions' cost model).
// Files: uint64 rows, uint64 cols, then rows * cols float32 (labels: float32 too).
#include <sys/resource.h>

#include <algorithm>
#include <functional>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/rng.h"
#include "embed/affinity.h"
#include "embed/knn.h"
#include "embed/pca.h"
#include "embed/tsne.h"
#include "embed/tsne_detail.h"

using namespace photoatlas;
using namespace photoatlas::embed;

namespace {

FloatMatrix read_matrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::uint64_t rows = 0, cols = 0;
  in.read(reinterpret_cast<char*>(&rows), 8);
  in.read(reinterpret_cast<char*>(&cols), 8);
  FloatMatrix m(rows, cols);
  in.read(reinterpret_cast<char*>(m.values.data()), static_cast<std::streamsize>(m.values.size() * 4));
  if (!in) throw std::runtime_error("short file " + path);
  return m;
}

void write_matrix(const std::string& path, const FloatMatrix& m) {
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t rows = m.rows, cols = m.cols;
  out.write(reinterpret_cast<const char*>(&rows), 8);
  out.write(reinterpret_cast<const char*>(&cols), 8);
  out.write(reinterpret_cast<const char*>(m.values.data()), static_cast<std::streamsize>(m.values.size() * 4));
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Peak resident memory of this program in MB (VmHWM: reset by exec, unlike getrusage's maxrss,
// which also remembers the forking parent's footprint).
double peak_mb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kb = 0.0;
      status >> kb;
      return kb / 1024.0;
    }
  }
  return -1.0;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

FloatMatrix reduce(const FloatMatrix& data, int threads) {
  if (data.cols <= 50) return data;
  PcaOptions options;
  options.components = 50;
  options.num_threads = threads;
  return pca(data, options).projected;
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 0; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

int cmd_run(int argc, char** argv) {
  const int threads = std::stoi(arg(argc, argv, "--threads", "2"));
  const FloatMatrix raw = read_matrix(argv[2]);
  const double t0 = now(), c0 = cpu_seconds();
  const FloatMatrix data = reduce(raw, threads);
  const double t1 = now();
  TsneOptions options;
  options.num_threads = threads;
  options.iterations = std::stoi(arg(argc, argv, "--iterations", "1000"));
  const std::string gradient = arg(argc, argv, "--gradient", "auto");
  options.gradient = gradient == "exact"   ? TsneGradient::Exact
                     : gradient == "fft"   ? TsneGradient::Fft
                     : gradient == "split" ? TsneGradient::Split
                                           : TsneGradient::Auto;
  options.near_radius = std::stod(arg(argc, argv, "--near-radius", std::to_string(options.near_radius)));
  options.near_box_width = std::stod(arg(argc, argv, "--near-box", std::to_string(options.near_box_width)));
  options.plain_box_width = std::stod(arg(argc, argv, "--plain-box", std::to_string(options.plain_box_width)));
  const std::string nn = arg(argc, argv, "--neighbours", "auto");
  options.neighbours.method = nn == "exact" ? NeighbourMethod::Exact : nn == "hnsw" ? NeighbourMethod::Hnsw : NeighbourMethod::Auto;
  Tsne state(data, options);
  const double t2 = now();
  while (!state.finished()) state.run(50);
  const double t3 = now(), c3 = cpu_seconds();
  const FloatMatrix embedding = state.embedding();
  const double kl = state.kl_divergence();
  write_matrix(argv[3], embedding);
  std::printf(
      "{\"n\": %zu, \"pca_s\": %.3f, \"affinity_s\": %.3f, \"optimise_s\": %.3f, \"total_wall_s\": %.3f, "
      "\"total_cpu_s\": %.3f, \"fft\": %s, \"engines\": \"%s\", \"kl_internal\": %.5f, \"peak_mb\": %.1f}\n",
      data.rows, t1 - t0, t2 - t1, t3 - t2, t3 - t0, c3 - c0, state.uses_fft() ? "true" : "false",
      state.engine_summary().c_str(), kl, peak_mb());
  return 0;
}

// Z = Σ_{i≠j} w_ij: exact, or estimated from `sample` rows (each row's sum is exact over all points).
double normalisation(const detail::Embedding2D& y, std::size_t sample, int threads) {
  const std::size_t n = y.size();
  std::vector<std::size_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0);
  if (sample < n) {
    Rng rng(99);
    for (std::size_t t = 0; t < sample; ++t) std::swap(rows[t], rows[t + static_cast<std::size_t>(uniform01(rng) * (n - t))]);
    rows.resize(sample);
  }
  std::vector<double> tx(rows.size()), ty(rows.size()), z(rows.size());
  for (std::size_t t = 0; t < rows.size(); ++t) tx[t] = y.x[rows[t]], ty[t] = y.y[rows[t]];
  detail::exact_repulsion(y.x.data(), y.y.data(), n, tx.data(), ty.data(), rows.size(), 1.0, threads, z.data(), nullptr,
                          nullptr);
  double s = 0.0;
  for (double v : z) s += v - 1.0;  // each row includes the point itself
  return s * static_cast<double>(n) / static_cast<double>(rows.size());
}

int cmd_eval(int argc, char** argv) {
  const int threads = 2;
  const FloatMatrix data = reduce(read_matrix(argv[2]), threads);
  const std::string labels_path = argv[3];
  std::vector<int> labels;
  if (labels_path != "-") {
    const FloatMatrix l = read_matrix(labels_path);
    for (float v : l.values) labels.push_back(static_cast<int>(v));
  }
  const std::size_t n = data.rows;
  // Beyond 200k points P would cost another full neighbour search (minutes on 2 cores): the KL
  // is then left to the run's own estimate (kl_internal, same P, Z interpolated) and printed as -1.
  const bool with_kl = data.rows <= 200000;
  SparseMatrix p;
  if (with_kl) {
    AffinityOptions affinity;
    affinity.num_threads = threads;
    p = compute_affinities(data, affinity);
  }
  // Sampled points for the neighbourhood figures, and their 10 input-space neighbours (exact).
  const std::size_t sample = std::min<std::size_t>(n, 10000);
  std::vector<std::size_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0);
  Rng rng(7);
  for (std::size_t t = 0; t < sample && sample < n; ++t)
    std::swap(rows[t], rows[t + static_cast<std::size_t>(uniform01(rng) * (n - t))]);
  rows.resize(sample);
  FloatMatrix queries(sample, data.cols);
  for (std::size_t t = 0; t < sample; ++t) std::memcpy(queries.row(t), data.row(rows[t]), data.cols * 4);
  NeighbourOptions exact;
  exact.method = NeighbourMethod::Exact;
  exact.num_threads = threads;
  const NeighbourGraph high = query_neighbours(data, queries, 11, exact);

  for (int a = 4; a < argc; ++a) {
    const FloatMatrix e = read_matrix(argv[a]);
    detail::Embedding2D y;
    y.zero(n);
    for (std::size_t i = 0; i < n; ++i) y.x[i] = e.at(i, 0), y.y[i] = e.at(i, 1);
    double kl = -1.0;
    if (with_kl) {
      const double kl_p = detail::attractive_forces(p, y, 1.0, threads, nullptr, nullptr);
      kl = kl_p + std::log(normalisation(y, n <= 20000 ? n : 4000, threads));
    }
    FloatMatrix q2(sample, 2);
    for (std::size_t t = 0; t < sample; ++t) q2.at(t, 0) = e.at(rows[t], 0), q2.at(t, 1) = e.at(rows[t], 1);
    const NeighbourGraph low = query_neighbours(e, q2, 11, exact);
    std::size_t kept = 0, correct = 0;
    for (std::size_t t = 0; t < sample; ++t) {
      std::vector<std::uint32_t> hi, lo;
      for (std::size_t c = 0; c < 11 && hi.size() < 10; ++c)
        if (high.indices[t * 11 + c] != rows[t]) hi.push_back(high.indices[t * 11 + c]);
      for (std::size_t c = 0; c < 11 && lo.size() < 10; ++c)
        if (low.indices[t * 11 + c] != rows[t]) lo.push_back(low.indices[t * 11 + c]);
      for (auto j : lo) kept += std::count(hi.begin(), hi.end(), j);
      if (!labels.empty()) {
        std::map<int, int> votes;
        for (auto j : lo) ++votes[labels[j]];
        int best = -1, best_votes = -1;
        for (const auto& [label, count] : votes)
          if (count > best_votes) best = label, best_votes = count;
        correct += best == labels[rows[t]];
      }
    }
    std::printf("{\"embedding\": \"%s\", \"kl\": %.5f, \"knn_preservation\": %.4f, \"knn_accuracy\": %.4f}\n", argv[a], kl,
                static_cast<double>(kept) / (10.0 * sample),
                labels.empty() ? -1.0 : static_cast<double>(correct) / sample);
  }
  return 0;
}

// Neighbour search side by side: the exact search (partitioned beyond 20k points), HNSW at
// three search lists, and plain brute force (up to 200k points); CPU seconds of each and the
// recall against brute force on 1000 sampled points.
int cmd_knn(int argc, char** argv) {
  const FloatMatrix data = reduce(read_matrix(argv[2]), 2);
  const std::size_t k = argc > 3 && argv[3][0] != '-' ? std::stoul(argv[3]) : 90;
  const std::string methods = arg(argc, argv, "--methods", "exact,hnsw,brute");
  auto report_graph = [&](const char* method, int ef, double c0, const NeighbourGraph& g) {
    const double cpu = cpu_seconds() - c0;
    std::printf("{\"n\": %zu, \"method\": \"%s\", \"ef\": %d, \"cpu_s\": %.3f, \"recall\": %.4f}\n", data.rows,
                method, ef, cpu, neighbour_recall(g, data, 1000, 5, 2));
    std::fflush(stdout);
  };
  if (methods.find("exact") != std::string::npos) {
    const double c0 = cpu_seconds();
    report_graph("exact", 0, c0, exact_neighbours(data, k, 2));
  }
  if (methods.find("hnsw") != std::string::npos) {
    for (int ef : {0, 100, 200}) {
      NeighbourOptions options;
      options.num_threads = 2;
      options.method = NeighbourMethod::Hnsw;
      options.hnsw_ef_search = ef;
      const double c0 = cpu_seconds();
      report_graph("hnsw", ef, c0, nearest_neighbours(data, k, options));
    }
  }
  if (methods.find("brute") != std::string::npos && data.rows <= 200000) {
    // Brute force over all rows: queries against a copy of the data (query_neighbours never
    // partitions), k + 1 neighbours with each point itself dropped.
    const double c0 = cpu_seconds();
    NeighbourOptions exact;
    exact.method = NeighbourMethod::Exact;
    exact.num_threads = 2;
    const NeighbourGraph with_self = query_neighbours(data, data, k + 1, exact);
    NeighbourGraph g;
    g.n = data.rows;
    g.k = k;
    for (std::size_t i = 0; i < data.rows; ++i) {
      std::size_t kept = 0;
      for (std::size_t t = 0; t < k + 1 && kept < k; ++t) {
        const std::uint32_t j = with_self.indices[i * (k + 1) + t];
        if (j == i) continue;
        g.indices.push_back(j);
        ++kept;
      }
    }
    report_graph("brute", 0, c0, g);
  }
  return 0;
}

// Gradient engines side by side on the layouts one optimisation passes through (snapshots at
// several iterations): CPU milliseconds per call of the exact, the FIt-SNE and the split-kernel
// engines (plain interpolation and near radius R), with each call's work measures (grid size,
// near-field candidate pairs): the figures behind TsneOptions' cost model.
int cmd_grad(int argc, char** argv) {
  const FloatMatrix data = reduce(read_matrix(argv[2]), 2);
  const int threads = std::stoi(arg(argc, argv, "--threads", "2"));
  TsneOptions options;
  options.num_threads = threads;
  options.gradient = TsneGradient::Exact;
  if (data.rows > 20000) options.gradient = TsneGradient::Fft;
  Tsne state(data, options);
  AffinityOptions affinity;
  affinity.num_threads = threads;
  const SparseMatrix p = compute_affinities(data, affinity);
  const int reps = std::stoi(arg(argc, argv, "--reps", "10"));
  const std::string engines = "," + arg(argc, argv, "--engines", "exact,fitsne,R0_h0.75,R4_h3") + ",";
  auto wanted = [&](const std::string& name) { return engines.find("," + name + ",") != std::string::npos; };
  for (int stop : {50, 150, 250, 350, 500, 750, 1000}) {
    state.run(stop - state.iteration());
    const FloatMatrix e = state.embedding();
    detail::Embedding2D y, g;
    y.zero(e.rows);
    double lo = 1e300, hi = -1e300;
    for (std::size_t i = 0; i < e.rows; ++i) {
      y.x[i] = e.at(i, 0), y.y[i] = e.at(i, 1);
      lo = std::min({lo, y.x[i], y.y[i]}), hi = std::max({hi, y.x[i], y.y[i]});
    }
    auto time_ms = [&](const std::function<void()>& call) {
      call();  // warm: plans, buffers
      const double c0 = cpu_seconds();
      for (int r = 0; r < reps; ++r) call();
      return 1e3 * (cpu_seconds() - c0) / reps;
    };
    std::printf("{\"iteration\": %d, \"extent\": %.1f", stop, hi - lo);
    if (data.rows <= 50000 && wanted("exact")) std::printf(", \"exact_ms\": %.3f", time_ms([&] { detail::exact_gradient(p, y, 1.0, threads, g); }));
    detail::FftRepulsion fitsne;
    if (wanted("fitsne"))
      std::printf(", \"fitsne_ms\": %.3f", time_ms([&] { detail::fft_gradient(p, y, 1.0, 1.0, threads, fitsne, g); }));
    for (auto [radius, box] : {std::pair{0.0, 0.5}, std::pair{0.0, 0.75}, std::pair{0.0, 1.0}, std::pair{4.0, 4.0},
                               std::pair{4.0, 3.0}, std::pair{6.0, 6.0}}) {
      char name[64];
      std::snprintf(name, sizeof name, "R%g_h%g", radius, box);
      if (!wanted(name)) continue;
      detail::SplitRepulsion engine;
      detail::SplitRepulsionOptions o;
      o.near_radius = radius, o.box_width = box;
      detail::SplitLayout layout;
      const double ms = time_ms([&] {
        layout = engine.prepare(y, o);
        engine.gradient(p, y, 1.0, threads, g);
      });
      std::printf(", \"%s\": [%.3f, %zu, %.0f]", name, ms, layout.fft_size, layout.near_candidates);
    }
    std::printf("}\n");
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tsne run|eval|knn|grad DATA ...\n");
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "run" && argc >= 4) return cmd_run(argc, argv);
  if (cmd == "eval" && argc >= 5) return cmd_eval(argc, argv);
  if (cmd == "knn") return cmd_knn(argc, argv);
  if (cmd == "grad") return cmd_grad(argc, argv);
  std::fprintf(stderr, "bench_tsne: bad arguments\n");
  return 2;
}
