// Helpers for tests: temporary folders, the optional ../shared data sets, synthetic data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/matrix.h"

namespace photoatlas::testing {

// A fresh empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// ../shared next to the project checkout (or $PHOTOATLAS_SHARED_DIR), when it exists.
std::optional<std::filesystem::path> shared_dir();

// Gaussian blobs: `clusters` centres drawn in [-center_box, center_box]^dims, `per_cluster` points each
// with standard deviation `stddev`. Labels returned in `labels` (may be null). Deterministic per seed.
FloatMatrix gaussian_blobs(int clusters, int per_cluster, int dims, double stddev, double center_box,
                           std::uint64_t seed, std::vector<int>* labels);

// Reads a CSV file into rows of fields (handles quoted fields with commas, quotes and newlines).
std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& file);

}  // namespace photoatlas::testing
