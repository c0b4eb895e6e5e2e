// The result cache: image products (size, EXIF, thumbnail) and feature vectors keyed by the
// content hash of each file, in one SQLite database. A re-run decodes only what is new; a killed
// run loses at most the last small batch; several runs may share one cache.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "features/compute.h"

struct sqlite3;

namespace photoatlas::store {

struct CacheOptions {
  int batch_size = 16;          // results written per transaction (what a SIGKILL can lose at most)
  int busy_timeout_ms = 10000;  // wait this long for another run holding the write lock
};

class SqliteCache final : public features::ImageCache {
 public:
  // Opens or creates `file` (its folder is created). Throws std::runtime_error naming the file
  // when it cannot be opened, is not a photoatlas cache, or is locked beyond the timeout.
  explicit SqliteCache(const std::filesystem::path& file, CacheOptions options = {});
  ~SqliteCache() override;

  std::optional<features::ImageProducts> load_products(std::uint64_t hash, int thumbnail_size) override;
  bool load_features(std::uint64_t hash, const features::Extractor& extractor, std::span<float> out) override;
  void save_products(std::uint64_t hash, int thumbnail_size, const features::ImageProducts& products) override;
  void save_features(std::uint64_t hash, const features::Extractor& extractor, std::span<const float> values) override;
  void flush() override;

  // Rows in each table (for tests and the summary).
  std::size_t product_count();
  std::size_t feature_count();

 private:
  struct Pending;
  void flush_locked();
  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
  CacheOptions options_;
  std::mutex mutex_;
  std::unique_ptr<Pending> pending_;
};

// The default cache file: $PHOTOATLAS_CACHE_DIR, else $XDG_CACHE_HOME/photoatlas, else
// ~/.cache/photoatlas, with "cache.sqlite" inside. Empty when none of those can be found.
std::filesystem::path default_cache_file();

}  // namespace photoatlas::store
