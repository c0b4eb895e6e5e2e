// Sprite sheets (src/atlas/sprites.h) and binary layout arrays (src/atlas/binary.h).
#include <gtest/gtest.h>

#include <fstream>
#include <cstring>
#include <iterator>

#include "atlas/binary.h"
#include "atlas/sprites.h"
#include "atlas/writer.h"
#include "ingest/decode.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

ingest::RgbImage solid(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  ingest::RgbImage im;
  im.width = w;
  im.height = h;
  im.pixels.resize(static_cast<std::size_t>(w) * h * 3);
  for (std::size_t p = 0; p < im.pixels.size(); p += 3) {
    im.pixels[p] = r;
    im.pixels[p + 1] = g;
    im.pixels[p + 2] = b;
  }
  return im;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST(AtlasSprites, PacksInImageOrderIntoSheetsNoLargerThanTheLimit) {
  TempDir dir;
  atlas::SpriteOptions options;
  options.cell = 16;
  options.max_sheet_side = 64;  // 4 x 4 = 16 cells per sheet
  const std::size_t n = 37;     // 3 sheets: 16 + 16 + 5
  const auto sheets = atlas::write_sprite_sheets(
      dir.path(), n,
      [](std::size_t i) {
        if (i == 5) return ingest::RgbImage{};                 // missing
        if (i == 7) return solid(64, 32, 255, 0, 0);           // landscape, shrunk to 16 x 8
        if (i == 20) return solid(10, 40, 0, 255, 0);          // portrait, shrunk to 4 x 16
        return solid(8, 8, 0, 0, static_cast<std::uint8_t>(i * 6));  // small: never enlarged
      },
      options);
  EXPECT_EQ(sheets.cell, 16);
  EXPECT_EQ(sheets.columns, 4);
  EXPECT_EQ(sheets.per_sheet, 16u);
  ASSERT_EQ(sheets.sheets.size(), 3u);
  EXPECT_EQ(sheets.missing, 1u);
  EXPECT_EQ(sheets.sheets[0].width, 64);
  EXPECT_EQ(sheets.sheets[0].height, 64);
  EXPECT_EQ(sheets.sheets[2].first, 32u);
  EXPECT_EQ(sheets.sheets[2].count, 5u);
  EXPECT_EQ(sheets.sheets[2].width, 64);   // 4 columns used
  EXPECT_EQ(sheets.sheets[2].height, 32);  // 2 rows used
  EXPECT_EQ(sheets.sizes[2 * 5], 0);
  EXPECT_EQ(sheets.sizes[2 * 7], 16);
  EXPECT_EQ(sheets.sizes[2 * 7 + 1], 8);
  EXPECT_EQ(sheets.sizes[2 * 20], 4);
  EXPECT_EQ(sheets.sizes[2 * 20 + 1], 16);
  EXPECT_EQ(sheets.sizes[2 * 0], 8);

  for (const auto& s : sheets.sheets) {
    ASSERT_TRUE(fs::is_regular_file(dir.path() / s.file)) << s.file;
    const auto decoded = ingest::decode_file(dir.path() / s.file, {});
    EXPECT_EQ(decoded.image.width, s.width);
    EXPECT_EQ(decoded.image.height, s.height);
    EXPECT_LE(s.width, options.max_sheet_side);
    EXPECT_LE(s.height, options.max_sheet_side);
  }
  // Image 7 (red, 16 x 8) sits in sheet 0, slot 7 = column 3, row 1, centred vertically (offset 4).
  const auto sheet0 = ingest::decode_file(dir.path() / sheets.sheets[0].file, {}).image;
  const std::uint8_t* red = sheet0.at(3 * 16 + 8, 1 * 16 + 8);
  EXPECT_GT(red[0], 200);
  EXPECT_LT(red[1], 60);
  const std::uint8_t* above = sheet0.at(3 * 16 + 8, 1 * 16 + 1);  // letterbox: background, not red
  EXPECT_LT(above[0], 80);
  // Image 20 (green) is on sheet 1, slot 4 = column 0, row 1.
  const auto sheet1 = ingest::decode_file(dir.path() / sheets.sheets[1].file, {}).image;
  const std::uint8_t* green = sheet1.at(8, 16 + 8);
  EXPECT_GT(green[1], 200);

  const std::string sizes = slurp(dir.path() / sheets.sizes_file);
  ASSERT_EQ(sizes.size(), 2 * n);
  EXPECT_EQ(static_cast<std::uint8_t>(sizes[14]), 16);

  const auto j = atlas::sprites_json(sheets);
  EXPECT_EQ(j["cell"], 16);
  EXPECT_EQ(j["columns"], 4);
  EXPECT_EQ(j["sheets"].size(), 3u);
  EXPECT_EQ(j["sheets"][1]["file"], "data/sprites-1.jpg");
  EXPECT_EQ(j["sizes"]["file"], "data/sprite-sizes.u8");
  EXPECT_EQ(j["sizes"]["count"], 2 * n);
}

TEST(AtlasSprites, ReadsThePipelinesThumbnailsAndSkipsMissingOnes) {
  TempDir dir;
  atlas::write_thumbnail_file(dir.path(), "aaaa", ingest::encode_jpeg(ingest::resize_to_fit(solid(256, 192, 250, 250, 0), 256)));
  atlas::write_thumbnail_file(dir.path(), "cccc", ingest::encode_jpeg(ingest::resize_to_fit(solid(100, 200, 0, 0, 250), 256)));
  const auto sheets = atlas::write_sprite_sheets_from_thumbnails(dir.path(), {"aaaa", "bbbb", "cccc"});
  ASSERT_EQ(sheets.sheets.size(), 1u);
  EXPECT_EQ(sheets.cell, 32);
  EXPECT_EQ(sheets.columns, 128);
  EXPECT_EQ(sheets.sheets[0].width, 96);
  EXPECT_EQ(sheets.sheets[0].height, 32);
  EXPECT_EQ(sheets.missing, 1u);
  EXPECT_EQ(sheets.sizes[0], 32);
  EXPECT_EQ(sheets.sizes[1], 24);
  EXPECT_EQ(sheets.sizes[2], 0);
  EXPECT_EQ(sheets.sizes[4], 16);
  EXPECT_EQ(sheets.sizes[5], 32);
}

TEST(AtlasBinary, WritesLittleEndianArraysAndNarrowLabels) {
  TempDir dir;
  FloatMatrix xy(3, 2);
  xy.values = {-1.0f, 0.5f, 0.25f, -0.75f, 1.0f, 0.0f};
  const auto j = atlas::write_layout_arrays(dir.path(), 0, "raw/../x", xy, {0, 2, 1});
  EXPECT_EQ(j["x"]["file"], "data/layout0-raw____x.x.f32");
  EXPECT_EQ(j["x"]["dtype"], "float32");
  EXPECT_EQ(j["x"]["count"], 3);
  EXPECT_EQ(j["cluster"]["dtype"], "uint16");
  const std::string x = slurp(dir.path() / j["x"]["file"].get<std::string>());
  ASSERT_EQ(x.size(), 12u);
  float v[3];
  std::memcpy(v, x.data(), 12);
  EXPECT_EQ(v[0], -1.0f);
  EXPECT_EQ(v[1], 0.25f);
  EXPECT_EQ(v[2], 1.0f);
  const std::string c = slurp(dir.path() / j["cluster"]["file"].get<std::string>());
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(static_cast<unsigned char>(c[2]), 2);
  EXPECT_EQ(static_cast<unsigned char>(c[3]), 0);

  const auto wide = atlas::write_label_array(dir.path(), "data/wide", {0, 70000});
  EXPECT_EQ(wide["dtype"], "uint32");
  EXPECT_EQ(wide["file"], "data/wide.u32");
  EXPECT_EQ(fs::file_size(dir.path() / "data/wide.u32"), 8u);
  EXPECT_THROW(atlas::write_label_array(dir.path(), "data/bad", {-1}), std::invalid_argument);
}
