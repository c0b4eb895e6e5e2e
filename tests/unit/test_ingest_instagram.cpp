#include <gtest/gtest.h>

#include <zip.h>

#include <fstream>
#include <map>
#include <set>

#include "image_fixtures.h"
#include "ingest/archive.h"
#include "ingest/discover.h"
#include "ingest/instagram.h"
#include "ingest/source.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

// Caption "Espresso ☕ #coffee @barista" as Instagram writes it: UTF-8 bytes escaped one by one.
const char* kEscapedCaption = R"(Espresso \u00e2\u0098\u0095 #coffee @barista.)";
// "Привет мир #путешествие" likewise (Cyrillic: two bytes per letter).
const char* kEscapedCyrillic =
    R"(\u00d0\u009f\u00d1\u0080\u00d0\u00b8\u00d0\u00b2\u00d0\u00b5\u00d1\u0082 #\u00d0\u00bf\u00d1\u0083\u00d1\u0082\u00d1\u008c)";

std::string posts_json() {
  return std::string(R"([
  {"media": [{"uri": "media/posts/201912/single.jpg", "creation_timestamp": 1575000000, "title": ")") +
         kEscapedCaption + R"("}]},
  {"title": ")" + kEscapedCyrillic + R"(", "creation_timestamp": 1600000000,
   "media": [{"uri": "media/posts/202009/c1.jpg", "creation_timestamp": 1600000000, "title": ""},
             {"uri": "media/posts/202009/c2.png", "creation_timestamp": 1600000001, "title": ""},
             {"uri": "media/posts/202009/clip.mp4", "creation_timestamp": 1600000002, "title": ""}]},
  {"media": [{"uri": "media/posts/202101/missing.jpg", "creation_timestamp": 1610000000, "title": "gone"}]}
])";
}

// Writes an export folder in the given layout: photos + posts file + an unreferenced photo.
void write_export_folder(const fs::path& root, const std::string& posts_path) {
  fs::create_directories(root / fs::path(posts_path).parent_path());
  std::ofstream(root / posts_path) << posts_json();
  SyntheticImage spec;
  for (const char* uri : {"media/posts/201912/single.jpg", "media/posts/202009/c1.jpg", "media/posts/202009/c2.png",
                          "media/other/unposted.jpg"}) {
    fs::create_directories((root / uri).parent_path());
    spec.seed += 1;
    spec.base_rgb[0] += 20;
    write_synthetic_image(root / uri, spec);
  }
  std::ofstream(root / "media/posts/202009/clip.mp4") << "not really a video";
}

void zip_folder(const fs::path& folder, const fs::path& zip_file, const std::vector<std::string>& extra_names = {}) {
  int error = 0;
  zip_t* zip = zip_open(zip_file.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(zip, nullptr);
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().lexically_relative(folder).generic_string();
    zip_source_t* source = zip_source_file(zip, entry.path().c_str(), 0, -1);
    ASSERT_GE(zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8), 0);
  }
  static const char kEvil[] = "evil";
  for (const auto& name : extra_names) {
    zip_source_t* source = zip_source_buffer(zip, kEvil, 4, 0);
    zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_GUESS);
  }
  ASSERT_EQ(zip_close(zip), 0);
}

void expect_export_read(const Collection& c, const std::string& posts_file) {
  std::map<std::string, const ImageRecord*> by_name;
  for (const auto& image : c.images) by_name[image.display_name] = &image;
  ASSERT_EQ(c.images.size(), 4u) << "three posted photos and one unposted";
  ASSERT_TRUE(by_name.count("single.jpg") && by_name.count("c1.jpg") && by_name.count("c2.png") &&
              by_name.count("unposted.jpg"));
  const ImageRecord& single = *by_name["single.jpg"];
  EXPECT_EQ(single.caption, "Espresso \u2615 #coffee @barista.");
  EXPECT_EQ(single.hashtags, std::vector<std::string>{"coffee"});
  EXPECT_EQ(single.mentions, std::vector<std::string>{"barista"});
  ASSERT_TRUE(single.taken_at.has_value());
  EXPECT_EQ(*single.taken_at, 1575000000);
  EXPECT_EQ(single.relative_path, "media/posts/201912/single.jpg");
  // A carousel: two photos of one post share its caption; the video is counted, not mapped.
  const ImageRecord& c1 = *by_name["c1.jpg"];
  const ImageRecord& c2 = *by_name["c2.png"];
  EXPECT_EQ(c1.caption, "Привет #путь");
  EXPECT_EQ(c1.hashtags, std::vector<std::string>{"путь"});
  EXPECT_EQ(c1.post_id, c2.post_id);
  EXPECT_NE(c1.post_id, single.post_id);
  EXPECT_EQ(*c2.taken_at, 1600000001);
  EXPECT_EQ(c.videos_skipped, 1u);
  EXPECT_EQ(c.posts, 3u);
  EXPECT_TRUE(by_name["unposted.jpg"]->post_id.empty());
  bool missing_reported = false;
  for (const auto& f : c.failures)
    if (f.path.find("missing.jpg") != std::string::npos && f.reason == "named by a post but missing from the export")
      missing_reported = true;
  EXPECT_TRUE(missing_reported);
  (void)posts_file;
}

}  // namespace

TEST(InstagramText, RepairsByteEscapedUtf8) {
  // "☕" arrives as the three code points U+00E2 U+0098 U+0095.
  EXPECT_EQ(ingest::repair_instagram_text("\u00e2\u0098\u0095"), "\u2615");
  EXPECT_EQ(ingest::repair_instagram_text("caf\u00c3\u00a9"), "café");
  // Already proper text stays as it is.
  EXPECT_EQ(ingest::repair_instagram_text("café ☕ 東京"), "café ☕ 東京");
  EXPECT_EQ(ingest::repair_instagram_text("plain"), "plain");
  // Latin-1-looking text that does not spell UTF-8 stays as it is.
  EXPECT_EQ(ingest::repair_instagram_text("\u00e9t\u00e9"), "\u00e9t\u00e9");
}

TEST(InstagramText, HashtagsAndMentions) {
  EXPECT_EQ(ingest::extract_hashtags("#a b#c #d_1, #d_1 #東京!"), (std::vector<std::string>{"a", "d_1", "東京"}));
  EXPECT_EQ(ingest::extract_mentions("hi @anna.b. and me@mail.com @x_y"), (std::vector<std::string>{"anna.b", "x_y"}));
}

TEST(InstagramExport, FolderInBothLayoutsAndZip) {
  for (const std::string posts_path : {"content/posts_1.json", "your_instagram_activity/content/posts_1.json"}) {
    TempDir dir;
    write_export_folder(dir / "export", posts_path);
    ASSERT_TRUE(ingest::looks_like_instagram_export(dir / "export"));
    expect_export_read(ingest::read_instagram_export(dir / "export"), posts_path);

    zip_folder(dir / "export", dir / "export.zip");
    const Collection zipped = ingest::read_instagram_export(dir / "export.zip");
    expect_export_read(zipped, posts_path);
    for (const auto& image : zipped.images) {
      EXPECT_EQ(image.archive, (dir / "export.zip").string());
      EXPECT_FALSE(image.member.empty());
    }
    // Bytes read straight from the archive decode like the originals.
    const auto decoded = ingest::decode_record(zipped.images[0], {});
    EXPECT_EQ(decoded.image.width, 64);
  }
}

TEST(InstagramExport, OlderMediaJson) {
  TempDir dir;
  fs::create_directories(dir / "export" / "photos" / "201805");
  write_synthetic_image(dir / "export" / "photos" / "201805" / "a.jpg", {});
  std::ofstream(dir / "export" / "media.json") << R"({"photos": [
      {"caption": "old \u00f0\u009f\u0098\u0080", "taken_at": "2018-05-06T10:41:12+02:00", "path": "photos/201805/a.jpg"}],
    "videos": [{"caption": "", "taken_at": "2018-05-07T10:00:00", "path": "videos/v.mp4"}]})";
  const Collection c = ingest::read_instagram_export(dir / "export");
  ASSERT_EQ(c.images.size(), 1u);
  EXPECT_EQ(c.images[0].caption, "old \U0001F600");
  EXPECT_EQ(*c.images[0].taken_at, 1525603272 - 2 * 3600);  // 10:41:12 at UTC+2
  EXPECT_EQ(c.videos_skipped, 1u);
}

TEST(InstagramExport, ThroughDiscoverWithHashes) {
  TempDir dir;
  write_export_folder(dir / "export", "content/posts_1.json");
  zip_folder(dir / "export", dir / "export.zip");
  const Collection c = ingest::discover({dir / "export.zip"}, {});
  ASSERT_EQ(c.images.size(), 4u);
  for (const auto& image : c.images) {
    EXPECT_EQ(image.id.size(), 16u);
    EXPECT_GT(image.file_size, 0u);
  }
  // Same photo bytes as the folder form: same ids.
  const Collection folder = ingest::discover({dir / "export"}, {});
  ASSERT_EQ(folder.images.size(), 4u);
  std::set<std::string> a, b;
  for (const auto& i : c.images) a.insert(i.id);
  for (const auto& i : folder.images) b.insert(i.id);
  EXPECT_EQ(a, b);
}

TEST(InstagramExport, HostileInputs) {
  TempDir dir;
  write_export_folder(dir / "export", "content/posts_1.json");
  zip_folder(dir / "export", dir / "evil.zip", {"../../escape.jpg", "/abs/path.jpg"});
  const Collection c = ingest::read_instagram_export(dir / "evil.zip");
  EXPECT_EQ(c.images.size(), 4u);
  int unsafe = 0;
  for (const auto& f : c.failures)
    if (f.reason.find("unsafe name") != std::string::npos) ++unsafe;
  EXPECT_EQ(unsafe, 2);
  EXPECT_FALSE(fs::exists(dir / "escape.jpg"));

  // A truncated ZIP (central directory cut off) is one failure, not a crash.
  {
    std::ifstream in(dir / "evil.zip", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir / "cut.zip", std::ios::binary) << bytes.substr(0, bytes.size() - 30);
  }
  const Collection cut = ingest::read_instagram_export(dir / "cut.zip");
  EXPECT_TRUE(cut.images.empty());
  ASSERT_EQ(cut.failures.size(), 1u);
  EXPECT_NE(cut.failures[0].reason.find("not a readable ZIP archive"), std::string::npos) << cut.failures[0].reason;

  // Malformed, deeply nested and wrong-shaped posts files: reported, the rest still read.
  fs::create_directories(dir / "bad" / "content");
  write_synthetic_image(dir / "bad" / "content" / "x.jpg", {});
  std::ofstream(dir / "bad" / "content" / "posts_1.json") << "[{\"media\": [";
  std::ofstream(dir / "bad" / "content" / "posts_2.json") << std::string(100000, '[') + std::string(100000, ']');
  std::ofstream(dir / "bad" / "content" / "posts_3.json") << "\"just a string\"";
  const Collection bad = ingest::read_instagram_export(dir / "bad");
  EXPECT_EQ(bad.images.size(), 1u) << "the unreferenced photo is still there";
  EXPECT_EQ(bad.failures.size(), 3u);
  for (const auto& f : bad.failures) EXPECT_EQ(f.reason.rfind("unreadable posts file", 0), 0u) << f.reason;
}

TEST(Archive, SafeMemberNames) {
  EXPECT_TRUE(ingest::is_safe_member_name("media/a.jpg"));
  EXPECT_TRUE(ingest::is_safe_member_name("a..b/c.jpg"));
  EXPECT_FALSE(ingest::is_safe_member_name("../a.jpg"));
  EXPECT_FALSE(ingest::is_safe_member_name("media/../../a.jpg"));
  EXPECT_FALSE(ingest::is_safe_member_name("/etc/passwd"));
  EXPECT_FALSE(ingest::is_safe_member_name("C:\\x.jpg"));
  EXPECT_FALSE(ingest::is_safe_member_name("a\\..\\b"));
  EXPECT_FALSE(ingest::is_safe_member_name(""));
}
