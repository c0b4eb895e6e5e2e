#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>

#include "features/compute.h"
#include "features/raw_pixels.h"
#include "image_fixtures.h"
#include "ingest/discover.h"
#include "store/sqlite_cache.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

// An extractor that counts its calls, so tests can see what a re-run recomputes.
class CountingExtractor final : public features::Extractor {
 public:
  mutable std::atomic<int> calls{0};
  std::string id() const override { return "counting@1"; }
  std::string short_name() const override { return "count"; }
  std::size_t dims() const override { return 4; }
  int min_input_side() const override { return 8; }
  void extract(const ingest::RgbImage& image, std::span<float> out) const override {
    ++calls;
    out[0] = static_cast<float>(image.width);
    out[1] = static_cast<float>(image.height);
    out[2] = image.pixels[0] / 3.0f;  // not a multiple of 1/255: stored as float32
    out[3] = 0.125f;
  }
};

features::ComputedFeatures run_pass(const fs::path& photos, features::ImageCache* cache,
                                    const std::vector<const features::Extractor*>& extractors) {
  const Collection collection = ingest::discover({photos}, {});
  features::ComputeOptions options;
  options.cache = cache;
  options.thumbnail_size = 64;
  return features::compute_features(collection, extractors, options);
}

}  // namespace

TEST(SqliteCache, ReRunDecodesOnlyNewPhotosAndRestoresExactValues) {
  TempDir dir;
  write_colour_families(dir / "photos", 4, 3);  // 12 photos
  const fs::path db = dir / "cache" / "cache.sqlite";
  features::RawPixelExtractor raw({16});
  CountingExtractor counting;

  features::ComputedFeatures first;
  {
    store::SqliteCache cache(db);
    first = run_pass(dir / "photos", &cache, {&raw, &counting});
    EXPECT_EQ(first.decoded, 12u);
    EXPECT_EQ(counting.calls.load(), 12);
    EXPECT_EQ(cache.product_count(), 12u);
    EXPECT_EQ(cache.feature_count(), 24u);
  }
  // Ten photos more... two here: only those are decoded and extracted.
  write_colour_families(dir / "more", 1, 99);  // 3 new photos
  for (const auto& e : fs::directory_iterator(dir / "more")) fs::copy_file(e.path(), dir / "photos" / ("new_" + e.path().filename().string()));
  counting.calls = 0;
  store::SqliteCache cache(db);
  const auto second = run_pass(dir / "photos", &cache, {&raw, &counting});
  EXPECT_EQ(second.decoded, 3u);
  EXPECT_EQ(counting.calls.load(), 3);
  ASSERT_EQ(second.matrices[0].values.rows, 15u);
  // Cached rows are bit-identical to the first computation (raw pixels stored as bytes, others as float32).
  for (std::size_t r = 0; r < first.matrices[0].ids.size(); ++r) {
    const auto& id = first.matrices[0].ids[r];
    const auto it = std::find(second.matrices[0].ids.begin(), second.matrices[0].ids.end(), id);
    ASSERT_NE(it, second.matrices[0].ids.end());
    const std::size_t r2 = static_cast<std::size_t>(it - second.matrices[0].ids.begin());
    for (std::size_t m = 0; m < 2; ++m) {
      const auto& a = first.matrices[m].values;
      const auto& b = second.matrices[m].values;
      EXPECT_EQ(0, std::memcmp(a.row(r), b.row(r2), a.cols * sizeof(float))) << "matrix " << m << " row " << r;
    }
    EXPECT_EQ(first.info[r].width, second.info[r2].width);
  }
  // A new extractor on an old collection: decoded again only for what is missing.
  features::RawPixelExtractor raw8({8});
  const auto third = run_pass(dir / "photos", &cache, {&raw, &raw8});
  EXPECT_EQ(third.decoded, 15u);
  const auto fourth = run_pass(dir / "photos", &cache, {&raw, &raw8});
  EXPECT_EQ(fourth.decoded, 0u);
}

TEST(SqliteCache, RenamedFilesAreRecognisedByContent) {
  TempDir dir;
  write_colour_families(dir / "photos", 2, 5);
  const fs::path db = dir / "cache.sqlite";
  features::RawPixelExtractor raw({8});
  store::SqliteCache cache(db);
  EXPECT_EQ(run_pass(dir / "photos", &cache, {&raw}).decoded, 6u);
  fs::create_directories(dir / "moved" / "deeper");
  for (const auto& e : fs::directory_iterator(dir / "photos"))
    fs::rename(e.path(), dir / "moved" / "deeper" / ("renamed_" + e.path().filename().string()));
  EXPECT_EQ(run_pass(dir / "moved", &cache, {&raw}).decoded, 0u);
}

TEST(SqliteCache, BadCacheFilesAreClearErrors) {
  TempDir dir;
  std::ofstream(dir / "not-a-db.sqlite") << std::string(4096, 'x');
  try {
    store::SqliteCache cache(dir / "not-a-db.sqlite");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not-a-db.sqlite"), std::string::npos) << e.what();
  }
}

TEST(SqliteCache, SecondWriterWaitsOrSaysBusy) {
  TempDir dir;
  const fs::path db = dir / "cache.sqlite";
  store::SqliteCache first(db);
  // Another process holding the write lock: a second cache with a short timeout reports busy on flush.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  store::CacheOptions options;
  options.busy_timeout_ms = 200;
  options.batch_size = 1;
  store::SqliteCache second(db, options);
  features::ImageProducts products;
  products.thumbnail_jpeg = "jpeg";
  EXPECT_THROW(second.save_products(1, 64, products), std::runtime_error);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  // Once free, it works and both see the row.
  second.save_products(2, 64, products);
  EXPECT_TRUE(first.load_products(2, 64).has_value());
}
