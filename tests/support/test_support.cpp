#include "test_support.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "core/csv.h"
#include "core/rng.h"

namespace fs = std::filesystem;

namespace photoatlas::testing {

TempDir::TempDir() {
  static std::uint64_t counter = 0;
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = fs::temp_directory_path() /
                         ("photoatlas-test-" + std::to_string(rd()) + "-" + std::to_string(counter++));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::optional<fs::path> shared_dir() {
  if (const char* env = std::getenv("PHOTOATLAS_SHARED_DIR")) {
    if (fs::is_directory(env)) return fs::path(env);
    return std::nullopt;
  }
  fs::path candidate = fs::path(PHOTOATLAS_SOURCE_DIR).parent_path() / "shared";
  if (fs::is_directory(candidate / "datasets")) return candidate;
  return std::nullopt;
}

FloatMatrix gaussian_blobs(int clusters, int per_cluster, int dims, double stddev, double center_box,
                           std::uint64_t seed, std::vector<int>* labels) {
  Rng rng(seed);
  std::vector<double> centres(static_cast<std::size_t>(clusters) * dims);
  for (auto& c : centres) c = (uniform01(rng) * 2.0 - 1.0) * center_box;
  FloatMatrix out(static_cast<std::size_t>(clusters) * per_cluster, dims);
  if (labels) labels->clear();
  std::size_t r = 0;
  for (int c = 0; c < clusters; ++c) {
    for (int p = 0; p < per_cluster; ++p, ++r) {
      for (int j = 0; j < dims; ++j)
        out.at(r, j) = static_cast<float>(centres[c * dims + j] + stddev * standard_normal(rng));
      if (labels) labels->push_back(c);
    }
  }
  return out;
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_csv(buffer.str());
}

}  // namespace photoatlas::testing
