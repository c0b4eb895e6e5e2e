// The bad-input corpus: everything a messy photo folder or a stranger's Instagram export can
// hold, generated here (nothing downloaded), run through the real CLI once. No crash, no hang,
// exit 0, every bad file in failures.csv with a reason a person understands, every usable photo
// (odd formats included) in points.csv, captions kept as data.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <vips/vips8>
#include <zip.h>

#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <unistd.h>

#include "cli_process.h"
#include "hand_made_images.h"
#include "image_fixtures.h"
#include "ingest/decode.h"
#include "ingest/instagram.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;
using vips::VImage;

namespace {

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << bytes;
}

// A small photo as bytes, distinct per seed (identical bytes would be reported as duplicates).
std::string photo_bytes(const fs::path& scratch, std::uint64_t seed, const std::string& ext = ".jpg") {
  fs::create_directories(scratch);
  const fs::path file = scratch / ("photo_" + std::to_string(seed) + ext);
  SyntheticImage spec;
  spec.width = 80 + static_cast<int>(seed % 7) * 4;
  spec.height = 60;
  spec.base_rgb = {static_cast<int>(40 + seed * 37 % 180), static_cast<int>(60 + seed * 53 % 160),
                   static_cast<int>(30 + seed * 71 % 200)};
  spec.seed = seed;
  write_synthetic_image(file, spec);
  return read_bytes(file);
}

// An RGB test pattern as a libvips image (uchar), distinct per seed.
VImage pattern(int width, int height, int bands, std::uint64_t seed) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height * bands);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int b = 0; b < bands; ++b)
        pixels[(static_cast<std::size_t>(y) * width + x) * bands + b] =
            static_cast<std::uint8_t>((x * (3 + b) + y * (5 + b) + seed * 29) & 0xFF);
  // A copy: new_from_memory() would point at `pixels`, which dies here (copy_memory() does not
  // copy an image that is already in memory).
  VipsImage* image = vips_image_new_from_memory_copy(pixels.data(), pixels.size(), width, height, bands, VIPS_FORMAT_UCHAR);
  if (!image) throw std::runtime_error("vips_image_new_from_memory_copy failed");
  return VImage(image);
}

// An animated image (GIF or WebP): `pages` frames stacked vertically, with page-height set.
void write_animation(const fs::path& file, int width, int height, int pages, std::uint64_t seed) {
  VImage frames = pattern(width, height * pages, 3, seed);
  frames = frames.copy();
  frames.set("page-height", height);
  frames.set("delay", std::vector<int>(pages, 100));
  frames.set("loop", 0);
  frames.write_to_file(file.c_str());
}

struct ZipMember {
  std::string name;
  std::string bytes;
};

void write_zip(const fs::path& file, const std::vector<ZipMember>& members) {
  int error = 0;
  zip_t* zip = zip_open(file.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(zip, nullptr);
  for (const auto& m : members) {
    zip_source_t* source = zip_source_buffer(zip, m.bytes.data(), m.bytes.size(), 0);
    ASSERT_NE(source, nullptr);
    ASSERT_GE(zip_file_add(zip, m.name.c_str(), source, ZIP_FL_ENC_UTF_8), 0) << m.name << ": " << zip_strerror(zip);
  }
  ASSERT_EQ(zip_close(zip), 0);
}

std::string posts_json(const std::vector<std::pair<std::string, std::string>>& uri_caption) {
  nlohmann::json posts = nlohmann::json::array();
  std::int64_t t = 1600000000;
  for (const auto& [uri, caption] : uri_caption)
    posts.push_back({{"media", {{{"uri", uri}, {"creation_timestamp", t++}, {"title", caption}}}}});
  return posts.dump();
}

// An unpacked export: content/posts_1.json (given text) and one photo in media/posts/.
void write_folder_export(const fs::path& root, const std::string& posts_text, const std::string& photo) {
  write_bytes(root / "content" / "posts_1.json", posts_text);
  write_bytes(root / "media" / "posts" / "202001" / "a.jpg", photo);
}

// The bytes of what a stranger can write in a caption.
const std::string kHostileCaption =
    "<script>alert('pwned')</script> \"double\" 'single' </title><img src=x onerror=alert(1)> a\x01" "b\x1f" "c\x7f"
    " & #tag";

struct Corpus {
  fs::path root;
  // Bad inputs: path as the CLI will report it -> substring the reason must contain.
  std::map<std::string, std::string> bad;
  // File names (last path component) that must be in points.csv.
  std::set<std::string> good;
};

Corpus make_corpus(const fs::path& root, const fs::path& scratch) {
  Corpus c;
  c.root = root;
  const fs::path photos = root / "photos";
  fs::create_directories(photos);
  std::uint64_t seed = 1;
  auto good_file = [&](const fs::path& file) {
    write_bytes(file, photo_bytes(scratch, seed++, file.extension().string()));
    c.good.insert(file.filename().string());
  };
  auto bad_file = [&](const fs::path& file, const std::string& bytes, const std::string& reason) {
    write_bytes(file, bytes);
    c.bad[file.string()] = reason;
  };

  // Good photos, some with awkward names.
  for (int i = 0; i < 6; ++i) good_file(photos / ("good_" + std::to_string(i) + ".jpg"));
  good_file(photos / "with spaces in the name.jpg");
  good_file(photos / "sunset \xF0\x9F\x8C\x85 beach.png");  // emoji
  good_file(photos / "latin1 caf\xE9 \xFF\xFE.jpg");          // not valid UTF-8
  good_file(photos / "album.jpg" / "inside a folder named like a photo.jpg");

  // Broken files.
  bad_file(photos / "empty.jpg", "", "empty file");
  const std::string whole = photo_bytes(scratch, seed++);
  bad_file(photos / "cut in half.jpg", whole.substr(0, whole.size() / 2), "truncated");
  bad_file(photos / "broken crc.png", png_with_broken_crc(photo_bytes(scratch, seed++, ".png")), "damaged");
  bad_file(photos / "notes.jpg", "This is a shopping list, not a photo.\nmilk\neggs\n", "not an image");
  bad_file(photos / "huge.jpg", jpeg_claiming_size(photo_bytes(scratch, seed++), 65000, 65000),
           "image too large: 65000x65000");
  bad_file(photos / "huge.png", png_claiming_size(65000, 65000), "image too large: 65000x65000");

  // Decodable odd formats.
  {
    VImage rgb16 = (pattern(70, 50, 3, seed++).cast(VIPS_FORMAT_USHORT) * 257).cast(VIPS_FORMAT_USHORT);
    rgb16 = rgb16.copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_RGB16));
    rgb16.write_to_file((photos / "sixteen bit.png").c_str());
    c.good.insert("sixteen bit.png");
    VImage check = VImage::new_from_file((photos / "sixteen bit.png").c_str());
    EXPECT_EQ(check.format(), VIPS_FORMAT_USHORT) << "the corpus must hold a real 16-bit PNG";
  }
  {
    VImage cmyk = pattern(72, 54, 4, seed++).copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_CMYK));
    cmyk.write_to_file((photos / "print cmyk.jpg").c_str());
    c.good.insert("print cmyk.jpg");
    VImage check = VImage::new_from_file((photos / "print cmyk.jpg").c_str());
    EXPECT_EQ(check.bands(), 4) << "the corpus must hold a real CMYK JPEG";
    EXPECT_EQ(check.interpretation(), VIPS_INTERPRETATION_CMYK);
  }
  write_grey_png(photos / "grey.png", 64, 40, 90);
  c.good.insert("grey.png");
  pattern(66, 44, 1, seed++).write_to_file((photos / "grey.jpg").c_str());
  c.good.insert("grey.jpg");
  {
    std::vector<std::uint8_t> indices(60 * 40);
    for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<std::uint8_t>((i / 7 + i % 60 / 13) % 4);
    write_bytes(photos / "palette transparent.png",
                palette_png(60, 40, {{{200, 30, 30}}, {{30, 200, 30}}, {{30, 30, 200}}, {{250, 250, 0}}},
                            {0, 128, 255, 255}, indices));
    c.good.insert("palette transparent.png");
  }
  write_animation(photos / "animated.gif", 48, 36, 3, seed++);
  c.good.insert("animated.gif");
  write_animation(photos / "animated.webp", 48, 36, 3, seed++);
  c.good.insert("animated.webp");

  // File-system oddities.
  fs::create_symlink("loop.jpg", photos / "loop.jpg");  // a link to itself
  c.bad[(photos / "loop.jpg").string()] = "cannot open";
  fs::create_directories(photos / "nested");
  fs::create_directory_symlink("..", photos / "nested" / "back up");  // a folder loop: walked once
  if (geteuid() != 0) {  // root reads anything: the case means nothing then
    write_bytes(photos / "no access.jpg", photo_bytes(scratch, seed++));
    fs::permissions(photos / "no access.jpg", fs::perms::none);
    c.bad[(photos / "no access.jpg").string()] = "ermission denied";
  }

  // Instagram exports.
  const fs::path exports = root / "exports";
  fs::create_directories(exports);
  {  // zip slip: names that would write outside a folder if extracted; the good photo still counts
    const std::string good = photo_bytes(scratch, seed++);
    write_zip(exports / "zip slip.zip", {{"content/posts_1.json", posts_json({{"media/posts/1.jpg", "fine"}})},
                                          {"media/posts/1.jpg", good},
                                          {"../../evil.jpg", photo_bytes(scratch, seed++)},
                                          {"/tmp/evil_absolute.jpg", photo_bytes(scratch, seed++)}});
    c.good.insert("1.jpg");
    c.bad[(exports / "zip slip.zip").string() + "/../../evil.jpg"] = "unsafe name in archive";
    c.bad[(exports / "zip slip.zip").string() + "//tmp/evil_absolute.jpg"] = "unsafe name in archive";
  }
  {  // a corrupt central directory
    const fs::path file = exports / "corrupt directory.zip";
    write_zip(file, {{"content/posts_1.json", posts_json({{"media/posts/2.jpg", ""}})},
                     {"media/posts/2.jpg", photo_bytes(scratch, seed++)}});
    std::string bytes = read_bytes(file);
    const auto central = bytes.find("PK\x01\x02");
    EXPECT_NE(central, std::string::npos);
    for (std::size_t i = central; i < central + 30 && i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xA5);
    write_bytes(file, bytes);
    c.bad[file.string()] = "not a readable ZIP archive";
  }
  {  // posts files that are not what they should be; the export's photos are still mapped
    const std::string valid = posts_json({{"media/posts/202001/a.jpg", "caption"}});
    write_folder_export(exports / "malformed", "[{\"media\": [{\"uri\": }]", photo_bytes(scratch, seed++));
    write_folder_export(exports / "truncated", valid.substr(0, valid.size() / 2), photo_bytes(scratch, seed++));
    write_folder_export(exports / "nested", std::string(100000, '[') + std::string(100000, ']'),
                        photo_bytes(scratch, seed++));
    write_folder_export(exports / "large", "", photo_bytes(scratch, seed++));
    // 300 MB without using the disk: a sparse file, refused by its size before it is read.
    fs::resize_file(exports / "large" / "content" / "posts_1.json", 300ull << 20);
    c.bad[(exports / "malformed").string() + "/content/posts_1.json"] = "unreadable posts file: not valid JSON (parse error";
    c.bad[(exports / "truncated").string() + "/content/posts_1.json"] = "unreadable posts file: not valid JSON (parse error";
    c.bad[(exports / "nested").string() + "/content/posts_1.json"] = "unreadable posts file: nested more than 64";
    c.bad[(exports / "large").string() + "/content/posts_1.json"] = "unreadable posts file: file too large";
    c.good.insert("a.jpg");  // four times, one per export (distinct bytes)
  }
  {  // hostile captions, and a post naming a photo the export lacks
    write_bytes(exports / "captions" / "content" / "posts_1.json",
                posts_json({{"media/posts/202002/b.jpg", kHostileCaption}, {"media/posts/202002/gone.jpg", "x"}}));
    write_bytes(exports / "captions" / "media" / "posts" / "202002" / "b.jpg", photo_bytes(scratch, seed++));
    c.good.insert("b.jpg");
    c.bad[(exports / "captions").string() + "/media/posts/202002/gone.jpg"] = "missing from the export";
  }
  return c;
}

std::map<std::string, std::size_t> column_index(const std::vector<std::string>& header) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < header.size(); ++i) index[header[i]] = i;
  return index;
}

}  // namespace

TEST(BadInputs, TheCorpusRunsCleanly) {
  TempDir dir;
  const Corpus corpus = make_corpus(dir / "corpus", dir / "scratch");
  fs::create_directories(dir / "cache");
  const std::vector<std::string> argv = {PHOTOATLAS_BINARY, "run",          (corpus.root / "photos").string(),
                                         (corpus.root / "exports" / "zip slip.zip").string(),
                                         (corpus.root / "exports" / "corrupt directory.zip").string(),
                                         (corpus.root / "exports" / "malformed").string(),
                                         (corpus.root / "exports" / "truncated").string(),
                                         (corpus.root / "exports" / "nested").string(),
                                         (corpus.root / "exports" / "large").string(),
                                         (corpus.root / "exports" / "captions").string(),
                                         "-o",
                                         (dir / "atlas").string(),
                                         "--model",
                                         "none",
                                         "-k",
                                         "3",
                                         "--perplexity",
                                         "5",
                                         "--threads",
                                         "2"};
  const auto result = run_cli(argv, {"PHOTOATLAS_CACHE_DIR=" + (dir / "cache").string()}, (dir / "log.txt").string(),
                              std::chrono::seconds(300));
  if (std::getenv("PHOTOATLAS_TEST_SHOW_OUTPUT")) std::cout << result.output << read_bytes(dir / "atlas" / "failures.csv");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("skipped (see failures.csv)"), std::string::npos) << result.output;

  // Every bad input is listed with its reason.
  const auto failures = read_csv(dir / "atlas" / "failures.csv");
  ASSERT_FALSE(failures.empty());
  ASSERT_EQ(failures[0], (std::vector<std::string>{"path", "reason"}));
  std::map<std::string, std::string> reasons;
  for (std::size_t r = 1; r < failures.size(); ++r) {
    ASSERT_EQ(failures[r].size(), 2u);
    reasons[failures[r][0]] = failures[r][1];
    const std::string& reason = failures[r][1];
    EXPECT_FALSE(reason.empty()) << failures[r][0];
    EXPECT_EQ(reason.find("std::"), std::string::npos) << reason;
    EXPECT_EQ(reason.find("basic_string"), std::string::npos) << reason;
    EXPECT_EQ(reason.find("json.exception"), std::string::npos) << reason;
    EXPECT_EQ(reason.find("\n"), std::string::npos) << reason;
  }
  for (const auto& [path, expected] : corpus.bad) {
    auto it = reasons.find(path);
    ASSERT_NE(it, reasons.end()) << path << " is not in failures.csv:\n" << result.output;
    EXPECT_NE(it->second.find(expected), std::string::npos) << path << ": " << it->second;
  }
  EXPECT_EQ(reasons.size(), corpus.bad.size()) << "nothing good should be listed as a failure:\n" << result.output;

  // Every usable photo is in the atlas.
  const auto points = read_csv(dir / "atlas" / "points.csv");
  ASSERT_GE(points.size(), 2u);
  auto col = column_index(points[0]);
  std::multiset<std::string> names;
  for (std::size_t r = 1; r < points.size(); ++r) names.insert(fs::path(points[r][col["path"]]).filename().string());
  for (const auto& name : corpus.good) EXPECT_TRUE(names.count(name)) << name << " is missing from points.csv";
  EXPECT_EQ(names.count("a.jpg"), 4u) << "each export with a bad posts file still has its photo mapped";
  EXPECT_EQ(points.size() - 1, corpus.good.size() + 3);
  EXPECT_NE(result.output.find(std::to_string(points.size() - 1) + " images in the atlas"), std::string::npos);

  // Captions are data: kept in atlas.json (escaped by JSON), never in the page's markup.
  std::ifstream in(dir / "atlas" / "data" / "atlas.json");
  const auto doc = nlohmann::json::parse(in);
  bool found = false;
  for (const auto& image : doc["images"])
    if (image.contains("caption") && image["caption"].get<std::string>().find("<script>alert('pwned')") != std::string::npos)
      found = true;
  EXPECT_TRUE(found) << "the hostile caption is kept as text";
  EXPECT_EQ(read_bytes(dir / "atlas" / "index.html").find("pwned"), std::string::npos)
      << "atlas data is fetched as JSON, never written into the page";
}

// The per-image time limit: a decode that runs past it is abandoned with a readable reason.
TEST(BadInputs, SlowDecodeIsAbandoned) {
  TempDir dir;
  const fs::path file = dir / "big.png";
  pattern(1600, 1600, 3, 7).write_to_file(file.c_str(), VImage::option()->set("compression", 9));
  ingest::DecodeOptions options;
  options.min_short_side = 1600;  // no shrinking: the decode is the whole image
  options.max_seconds = 1e-6;
  try {
    ingest::decode_file(file, options);
    FAIL() << "the decode should have been abandoned";
  } catch (const ingest::DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("took longer than the limit"), std::string::npos) << e.what();
  }
  options.max_seconds = 60;
  EXPECT_EQ(ingest::decode_file(file, options).image.width, 1600);
  options.max_seconds = 0;  // no limit
  EXPECT_EQ(ingest::decode_file(file, options).image.width, 1600);
}

// The limits of the posts reader, with small numbers.
TEST(BadInputs, PostsFileLimits) {
  TempDir dir;
  const fs::path root = dir / "export";
  write_bytes(root / "content" / "posts_1.json", posts_json({{"media/posts/1.jpg", std::string(5000, 'x')}}));
  write_bytes(root / "media" / "posts" / "1.jpg", "not read here");
  ingest::InstagramOptions options;
  options.max_json_bytes = 1000;
  auto collection = ingest::read_instagram_export(root, options);
  ASSERT_EQ(collection.failures.size(), 1u);
  EXPECT_NE(collection.failures[0].reason.find("too large"), std::string::npos) << collection.failures[0].reason;
  options = {};
  options.max_json_depth = 3;
  collection = ingest::read_instagram_export(root, options);
  ASSERT_EQ(collection.failures.size(), 1u);
  EXPECT_NE(collection.failures[0].reason.find("nested more than 3"), std::string::npos) << collection.failures[0].reason;
  collection = ingest::read_instagram_export(root, {});
  EXPECT_TRUE(collection.failures.empty());
  ASSERT_EQ(collection.images.size(), 1u);
  EXPECT_EQ(collection.images[0].caption, std::string(5000, 'x'));
}
