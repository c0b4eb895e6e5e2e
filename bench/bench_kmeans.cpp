// K-Means benchmark helper, driven by bench/kmeans_bench.py (which runs scikit-learn's KMeans as the
// peer in the same run and computes both inertias the same way). Subcommand:
//   run DATA LABELS CENTROIDS [--k 10] [--restarts 10] [--max-iter 300] [--tol 1e-4] [--threads 2] [--seed 0]
//       clusters DATA, writes the labels (N x 1) and centroids (k x D), and prints one JSON line:
//       fit wall/CPU seconds (reading the file excluded), inertia, iterations of the kept restart.
// Files: uint64 rows, uint64 cols, then rows * cols float32.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "cluster/kmeans.h"

using namespace photoatlas;

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

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 0; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

int cmd_run(int argc, char** argv) {
  const FloatMatrix data = read_matrix(argv[2]);
  cluster::KMeansOptions options;
  options.k = std::stoi(arg(argc, argv, "--k", "10"));
  options.restarts = std::stoi(arg(argc, argv, "--restarts", "10"));
  options.max_iterations = std::stoi(arg(argc, argv, "--max-iter", "300"));
  options.tolerance = std::stod(arg(argc, argv, "--tol", "1e-4"));
  options.num_threads = std::stoi(arg(argc, argv, "--threads", "2"));
  options.seed = std::stoull(arg(argc, argv, "--seed", "0"));
  const double t0 = now(), c0 = cpu_seconds();
  const cluster::Clustering result = cluster::kmeans(data, options);
  const double wall = now() - t0, cpu = cpu_seconds() - c0;
  FloatMatrix labels(result.labels.size(), 1);
  for (std::size_t i = 0; i < result.labels.size(); ++i) labels.values[i] = static_cast<float>(result.labels[i]);
  write_matrix(argv[3], labels);
  write_matrix(argv[4], result.centroids);
  std::printf("{\"fit_wall_s\": %.4f, \"fit_cpu_s\": %.4f, \"inertia\": %.6f, \"iterations\": %d}\n", wall, cpu,
              result.inertia, result.iterations);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && std::string(argv[1]) == "run") return cmd_run(argc, argv);
  std::fprintf(stderr, "usage: bench_kmeans run DATA LABELS CENTROIDS [--k K] [--restarts R] [--max-iter N] [--tol T] "
                       "[--threads T] [--seed S]\n");
  return 2;
}
