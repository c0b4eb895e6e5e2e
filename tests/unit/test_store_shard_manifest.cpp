// The manifest that marks a shard file complete: what is written is read back whole, a shard
// without one (still running, or killed) reads as incomplete, and a file that is not a shard is a
// clear error naming it.
#include <gtest/gtest.h>

#include <fstream>

#include "store/shard_manifest.h"
#include "store/sqlite_cache.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

store::ShardManifest sample_manifest() {
  store::ShardManifest m;
  m.index = 2;
  m.count = 5;
  m.feature_settings = R"({"raw_size":150,"cnn_model":"none"})";
  m.posts = 7;
  m.videos_skipped = 1;
  for (std::size_t i = 0; i < 3; ++i) {
    ImageRecord r;
    r.content_hash = 0xfedcba9876543210ULL + i;  // above 2^63: stored bit-cast
    r.id = "id" + std::to_string(i);
    r.path = "photos/caf\xc3\xa9 " + std::to_string(i) + ".jpg";
    r.relative_path = "caf\xc3\xa9 " + std::to_string(i) + ".jpg";
    r.display_name = r.relative_path;
    r.file_size = 1000 + i;
    if (i == 1) r.taken_at = 1700000000 + static_cast<std::int64_t>(i);
    r.caption = i == 2 ? "a caption with \"quotes\", commas\nand a newline" : "";
    r.archive = i == 2 ? "export.zip" : "";
    r.member = i == 2 ? "media/posts/x.jpg" : "";
    r.post_id = i == 2 ? "post-9" : "";
    r.hashtags = {"sea", "summer"};
    r.mentions = {"someone"};
    m.images.push_back({10 * i + 3, r});
  }
  m.failures = {{"photos/broken.jpg", "not an image in a format photoatlas can read"}};
  return m;
}

}  // namespace

TEST(ShardManifest, WrittenManifestIsReadBackWhole) {
  TempDir dir;
  const fs::path file = dir / "shard.sqlite";
  { store::SqliteCache cache(file); }  // a shard is a cache first
  const store::ShardManifest written = sample_manifest();
  store::write_shard_manifest(file, written);
  const auto read = store::read_shard_manifest(file);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->index, 2);
  EXPECT_EQ(read->count, 5);
  EXPECT_EQ(read->feature_settings, written.feature_settings);
  EXPECT_EQ(read->posts, 7u);
  EXPECT_EQ(read->videos_skipped, 1u);
  ASSERT_EQ(read->images.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const ImageRecord& a = written.images[i].record;
    const ImageRecord& b = read->images[i].record;
    EXPECT_EQ(read->images[i].position, written.images[i].position);
    EXPECT_EQ(b.content_hash, a.content_hash);
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.path, a.path);
    EXPECT_EQ(b.relative_path, a.relative_path);
    EXPECT_EQ(b.file_size, a.file_size);
    EXPECT_EQ(b.taken_at, a.taken_at);
    EXPECT_EQ(b.caption, a.caption);
    EXPECT_EQ(b.archive, a.archive);
    EXPECT_EQ(b.member, a.member);
    EXPECT_EQ(b.post_id, a.post_id);
    EXPECT_EQ(b.hashtags, a.hashtags);
    EXPECT_EQ(b.mentions, a.mentions);
  }
  ASSERT_EQ(read->failures.size(), 1u);
  EXPECT_EQ(read->failures[0].path, "photos/broken.jpg");

  // Written again (a re-run that had to recompute): replaced, not appended to.
  store::ShardManifest fewer = written;
  fewer.images.pop_back();
  fewer.failures.clear();
  store::write_shard_manifest(file, fewer);
  const auto again = store::read_shard_manifest(file);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->images.size(), 2u);
  EXPECT_TRUE(again->failures.empty());
}

TEST(ShardManifest, ShardWithoutManifestIsIncomplete) {
  TempDir dir;
  EXPECT_FALSE(store::read_shard_manifest(dir / "missing.sqlite").has_value());
  const fs::path file = dir / "running.sqlite";
  { store::SqliteCache cache(file); }  // results may be there, the manifest is not yet
  EXPECT_FALSE(store::read_shard_manifest(file).has_value());
}

TEST(ShardManifest, NotADatabaseIsAClearError) {
  TempDir dir;
  const fs::path file = dir / "notes.sqlite";
  std::ofstream(file) << "this is a text file, not a shard, and long enough to have a header page";
  try {
    store::read_shard_manifest(file);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
}
