// Photos and comparisons for the tests of sharded and MPI runs (test_e2e_shards.cpp): a subset of
// ../shared/datasets/intel_scenes when present, generated photos otherwise, and the feature rows
// of a cache or shard file read straight from SQLite.
#pragma once

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "image_fixtures.h"
#include "test_support.h"

namespace photoatlas::testing {

// Fills `folder` with about `count` photos: the first count/6 of each intel_scenes class (linked,
// not copied), or generated photos in six colour families when ../shared is absent. Returns a
// line saying which.
inline std::string write_scaling_photos(const std::filesystem::path& folder, int count) {
  namespace fs = std::filesystem;
  fs::create_directories(folder);
  if (const auto shared = shared_dir()) {
    const fs::path dataset = *shared / "datasets" / "intel_scenes";
    const auto labels = read_csv(dataset / "labels.csv");
    std::map<std::string, int> per_class;
    for (std::size_t r = 1; r < labels.size(); ++r) {
      if (per_class[labels[r][1]]++ >= count / 6) continue;
      fs::create_symlink(dataset / labels[r][0], folder / (labels[r][1] + "_" + fs::path(labels[r][0]).filename().string()));
    }
    if (!per_class.empty()) return "intel_scenes subset";
  }
  for (int i = 0; i < count; ++i) {
    SyntheticImage spec;
    spec.width = 320 + (i % 5) * 40;
    spec.height = 240;
    const int family = i % 6;
    spec.base_rgb = {40 + 40 * (family % 3), 60 + 50 * (family / 3), 200 - 30 * family};
    spec.seed = static_cast<std::uint64_t>(i) + 77;
    write_synthetic_image(folder / ("generated_" + std::to_string(i) + ".jpg"), spec);
  }
  return "generated photos (../shared is absent)";
}

// Feature rows of a cache or shard file: (content hash, extractor id) -> values.
using FeatureRows = std::map<std::pair<std::int64_t, std::string>, std::vector<float>>;

inline void read_feature_rows(const std::filesystem::path& file, FeatureRows& rows) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT hash, extractor, encoding, data FROM features", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* blob = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, 3));
      const std::size_t bytes = static_cast<std::size_t>(sqlite3_column_bytes(stmt, 3));
      std::vector<float> values;
      if (sqlite3_column_int(stmt, 2) == 1) {  // one byte per value (raw pixels)
        for (std::size_t i = 0; i < bytes; ++i) values.push_back(blob[i] / 255.0f);
      } else {
        values.resize(bytes / sizeof(float));
        std::memcpy(values.data(), blob, values.size() * sizeof(float));
      }
      rows[{sqlite3_column_int64(stmt, 0), reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1))}] =
          std::move(values);
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace photoatlas::testing
