#include <gtest/gtest.h>

#include <fstream>

#include "image_fixtures.h"
#include "ingest/decode.h"
#include "ingest/image.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;

namespace {

std::array<int, 3> pixel(const ingest::RgbImage& image, int x, int y) {
  const std::uint8_t* p = image.at(x, y);
  return {p[0], p[1], p[2]};
}

void expect_close(std::array<int, 3> actual, std::array<int, 3> expected, int tolerance, const char* where) {
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(actual[c], expected[c], tolerance) << where << " channel " << c;
}

}  // namespace

TEST(Decode, PngKeepsSizeAndColour) {
  TempDir dir;
  SyntheticImage spec;
  spec.width = 40;
  spec.height = 30;
  spec.base_rgb = {200, 50, 10};
  spec.noise = 0;
  spec.shapes = false;
  write_synthetic_image(dir / "a.png", spec);
  ingest::DecodeOptions options;
  options.min_short_side = 256;
  const auto decoded = ingest::decode_file(dir / "a.png", options);
  EXPECT_EQ(decoded.image.width, 40);
  EXPECT_EQ(decoded.image.height, 30);
  EXPECT_EQ(decoded.original_width, 40);
  EXPECT_EQ(decoded.image.pixels.size(), 40u * 30u * 3u);
  expect_close(pixel(decoded.image, 20, 15), {200, 50, 10}, 0, "centre");
  EXPECT_EQ(decoded.format, "pngload");
}

TEST(Decode, ShrinksOnLoadToTheRequestedShortSide) {
  TempDir dir;
  SyntheticImage spec;
  spec.width = 1200;
  spec.height = 800;
  spec.noise = 0;
  write_synthetic_image(dir / "big.jpg", spec);
  ingest::DecodeOptions options;
  options.min_short_side = 100;
  const auto decoded = ingest::decode_file(dir / "big.jpg", options);
  EXPECT_EQ(decoded.original_width, 1200);
  EXPECT_EQ(decoded.original_height, 800);
  EXPECT_GE(std::min(decoded.image.width, decoded.image.height), 99);
  EXPECT_LE(decoded.image.height, 101);
  EXPECT_NEAR(static_cast<double>(decoded.image.width) / decoded.image.height, 1.5, 0.02);
}

TEST(Decode, AppliesExifOrientation) {
  TempDir dir;
  // Stored 80x40, left half red, right half blue; orientation 6 = rotate 90 degrees clockwise to display,
  // so the person sees a 40x80 picture with red on top and blue below.
  write_two_tone_jpeg(dir / "rotated.jpg", 80, 40, {230, 20, 20}, {20, 20, 230}, 6);
  const auto decoded = ingest::decode_file(dir / "rotated.jpg", {});
  EXPECT_EQ(decoded.image.width, 40);
  EXPECT_EQ(decoded.image.height, 80);
  EXPECT_EQ(decoded.original_width, 40);
  EXPECT_EQ(decoded.original_height, 80);
  expect_close(pixel(decoded.image, 20, 10), {230, 20, 20}, 12, "top");
  expect_close(pixel(decoded.image, 20, 70), {20, 20, 230}, 12, "bottom");

  // Orientation 1 leaves it as stored.
  write_two_tone_jpeg(dir / "upright.jpg", 80, 40, {230, 20, 20}, {20, 20, 230}, 1);
  const auto upright = ingest::decode_file(dir / "upright.jpg", {});
  EXPECT_EQ(upright.image.width, 80);
  expect_close(pixel(upright.image, 10, 20), {230, 20, 20}, 12, "left");
}

TEST(Decode, GreyBecomesThreeEqualChannels) {
  TempDir dir;
  write_grey_png(dir / "grey.png", 16, 16, 77);
  const auto decoded = ingest::decode_file(dir / "grey.png", {});
  ASSERT_EQ(decoded.image.pixels.size(), 16u * 16u * 3u);
  expect_close(pixel(decoded.image, 8, 8), {77, 77, 77}, 0, "grey");
}

TEST(Decode, AlphaIsFlattenedOnWhite) {
  TempDir dir;
  write_half_transparent_png(dir / "alpha.png", 20, 10, {10, 120, 10});
  const auto decoded = ingest::decode_file(dir / "alpha.png", {});
  ASSERT_EQ(decoded.image.pixels.size(), 20u * 10u * 3u);
  expect_close(pixel(decoded.image, 2, 5), {255, 255, 255}, 0, "transparent half");
  expect_close(pixel(decoded.image, 17, 5), {10, 120, 10}, 0, "opaque half");
}

TEST(Decode, OtherFormats) {
  TempDir dir;
  for (const char* name : {"a.webp", "a.tif", "a.gif"}) {
    SyntheticImage spec;
    spec.base_rgb = {30, 160, 90};
    spec.noise = 0;
    spec.shapes = false;
    write_synthetic_image(dir / name, spec);
    const auto decoded = ingest::decode_file(dir / name, {});
    EXPECT_EQ(decoded.image.width, 64) << name;
    EXPECT_EQ(decoded.image.height, 48) << name;
    // GIF is palette-quantised and WebP lossy by default: colour within a small tolerance.
    expect_close(pixel(decoded.image, 32, 24), {30, 160, 90}, 12, name);
  }
}

TEST(Decode, BadFilesGiveReadableReasons) {
  TempDir dir;
  { std::ofstream(dir / "empty.jpg"); }
  { std::ofstream(dir / "text.jpg") << "this is not an image at all, just words\n"; }
  SyntheticImage spec;
  spec.width = 300;
  spec.height = 300;
  write_synthetic_image(dir / "whole.jpg", spec);
  {
    std::ifstream in(dir / "whole.jpg", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir / "half.jpg", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  std::filesystem::create_directory(dir / "folder.jpg");

  auto reason_for = [&](const char* name) -> std::string {
    try {
      ingest::decode_file(dir / name, {});
    } catch (const ingest::DecodeError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(reason_for("empty.jpg"), "empty file (0 bytes)");
  EXPECT_EQ(reason_for("text.jpg"), "not an image in a format photoatlas can read");
  EXPECT_NE(reason_for("half.jpg").find("truncated"), std::string::npos) << reason_for("half.jpg");
  EXPECT_EQ(reason_for("folder.jpg"), "is a folder, not an image file");
  EXPECT_NE(reason_for("missing.jpg").find("cannot read"), std::string::npos);
}

TEST(Decode, PixelLimitRejectsBeforeDecoding) {
  TempDir dir;
  SyntheticImage spec;
  spec.width = 200;
  spec.height = 200;
  write_synthetic_image(dir / "a.png", spec);
  ingest::DecodeOptions options;
  options.max_pixels = 100 * 100;
  try {
    ingest::decode_file(dir / "a.png", options);
    FAIL() << "expected a DecodeError";
  } catch (const ingest::DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
  }
}

TEST(Decode, FromMemoryBuffer) {
  TempDir dir;
  SyntheticImage spec;
  spec.base_rgb = {10, 20, 240};
  spec.noise = 0;
  spec.shapes = false;
  write_synthetic_image(dir / "a.png", spec);
  std::ifstream in(dir / "a.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto decoded = ingest::decode_buffer(bytes, "a.png", {});
  EXPECT_EQ(decoded.image.width, 64);
  expect_close(pixel(decoded.image, 5, 5), {10, 20, 240}, 0, "buffer");
  EXPECT_THROW(ingest::decode_buffer("garbage", "x.png", {}), ingest::DecodeError);
}

TEST(Image, ResizeExactAndFit) {
  ingest::RgbImage image;
  image.width = 100;
  image.height = 50;
  image.pixels.assign(100 * 50 * 3, 90);
  const auto exact = ingest::resize_exact(image, 150, 150);
  EXPECT_EQ(exact.width, 150);
  EXPECT_EQ(exact.height, 150);
  EXPECT_EQ(exact.pixels.size(), 150u * 150u * 3u);
  EXPECT_NEAR(exact.pixels[150 * 75 * 3 + 75 * 3], 90, 1);
  const auto fit = ingest::resize_to_fit(image, 40);
  EXPECT_EQ(fit.width, 40);
  EXPECT_EQ(fit.height, 20);
  const auto same = ingest::resize_to_fit(image, 400);
  EXPECT_EQ(same.width, 100);
  const std::string jpeg = ingest::encode_jpeg(image);
  ASSERT_GT(jpeg.size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>(jpeg[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>(jpeg[1]), 0xD8);
}

TEST(Decode, ReadsExifDateCameraAndPosition) {
  TempDir dir;
  write_jpeg_with_exif(dir / "exif.jpg", "2019:06:01 10:00:00", "Canon", "Canon EOS 5D", 48.8584, -2.2945);
  const auto decoded = ingest::decode_file(dir / "exif.jpg", {});
  ASSERT_TRUE(decoded.taken_at.has_value());
  EXPECT_EQ(*decoded.taken_at, 1559383200);
  EXPECT_EQ(decoded.camera, "Canon EOS 5D");
  ASSERT_TRUE(decoded.latitude.has_value());
  EXPECT_NEAR(*decoded.latitude, 48.8584, 1e-4);
  EXPECT_NEAR(*decoded.longitude, -2.2945, 1e-4);

  SyntheticImage spec;
  write_synthetic_image(dir / "plain.png", spec);
  const auto plain = ingest::decode_file(dir / "plain.png", {});
  EXPECT_FALSE(plain.taken_at.has_value());
  EXPECT_TRUE(plain.camera.empty());
  EXPECT_FALSE(plain.latitude.has_value());
}
