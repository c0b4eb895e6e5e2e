#include "image_fixtures.h"

#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "core/rng.h"

using vips::VImage;

namespace photoatlas::testing {

namespace {

void start_vips() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (VIPS_INIT("photoatlas-tests") != 0) throw std::runtime_error("libvips failed to start");
  });
}

VImage from_pixels(std::vector<std::uint8_t>& pixels, int width, int height, int bands) {
  return VImage::new_from_memory(pixels.data(), pixels.size(), width, height, bands, VIPS_FORMAT_UCHAR)
      .copy_memory();
}

std::uint8_t clamp_byte(int v) { return static_cast<std::uint8_t>(std::clamp(v, 0, 255)); }

}  // namespace

void write_synthetic_image(const std::filesystem::path& file, const SyntheticImage& spec) {
  start_vips();
  Rng rng(spec.seed);
  std::vector<int> shade(static_cast<std::size_t>(spec.width) * spec.height, 0);
  if (spec.shapes) {
    for (int s = 0; s < 3; ++s) {
      const int x0 = static_cast<int>(uniform01(rng) * spec.width * 0.7);
      const int y0 = static_cast<int>(uniform01(rng) * spec.height * 0.7);
      const int w = 1 + static_cast<int>(uniform01(rng) * spec.width * 0.3);
      const int h = 1 + static_cast<int>(uniform01(rng) * spec.height * 0.3);
      const int delta = uniform01(rng) < 0.5 ? -40 : 40;
      for (int y = y0; y < std::min(spec.height, y0 + h); ++y)
        for (int x = x0; x < std::min(spec.width, x0 + w); ++x) shade[static_cast<std::size_t>(y) * spec.width + x] += delta;
    }
  }
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(spec.width) * spec.height * 3);
  for (int y = 0; y < spec.height; ++y)
    for (int x = 0; x < spec.width; ++x)
      for (int c = 0; c < 3; ++c) {
        const int noise = spec.noise > 0 ? static_cast<int>((uniform01(rng) * 2 - 1) * spec.noise) : 0;
        pixels[(static_cast<std::size_t>(y) * spec.width + x) * 3 + c] =
            clamp_byte(spec.base_rgb[c] + shade[static_cast<std::size_t>(y) * spec.width + x] + noise);
      }
  from_pixels(pixels, spec.width, spec.height, 3).write_to_file(file.c_str());
}

void write_two_tone_jpeg(const std::filesystem::path& file, int width, int height, std::array<int, 3> left,
                         std::array<int, 3> right, int orientation) {
  start_vips();
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        pixels[(static_cast<std::size_t>(y) * width + x) * 3 + c] = clamp_byte(x < width / 2 ? left[c] : right[c]);
  VImage image = from_pixels(pixels, width, height, 3);
  image.set(VIPS_META_ORIENTATION, orientation);
  image.write_to_file(file.c_str(), VImage::option()->set("Q", 95));
}

void write_grey_png(const std::filesystem::path& file, int width, int height, int grey) {
  start_vips();
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height, clamp_byte(grey));
  from_pixels(pixels, width, height, 1).write_to_file(file.c_str());
}

void write_half_transparent_png(const std::filesystem::path& file, int width, int height, std::array<int, 3> rgb) {
  start_vips();
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height * 4);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      std::uint8_t* p = &pixels[(static_cast<std::size_t>(y) * width + x) * 4];
      for (int c = 0; c < 3; ++c) p[c] = clamp_byte(rgb[c]);
      p[3] = x < width / 2 ? 0 : 255;
    }
  VImage image = from_pixels(pixels, width, height, 4);
  image = image.copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  image.write_to_file(file.c_str());
}

void write_colour_families(const std::filesystem::path& folder, int per_family, std::uint64_t seed) {
  std::filesystem::create_directories(folder);
  const char* names[3] = {"red", "green", "blue"};
  const char* extensions[4] = {".jpg", ".png", ".webp", ".jpg"};
  Rng rng(seed);
  for (int family = 0; family < 3; ++family) {
    for (int i = 0; i < per_family; ++i) {
      SyntheticImage spec;
      spec.width = 48 + static_cast<int>(uniform01(rng) * 80);
      spec.height = 48 + static_cast<int>(uniform01(rng) * 80);
      std::array<int, 3> rgb = {40, 40, 40};
      rgb[family] = 170 + static_cast<int>(uniform01(rng) * 70);
      for (int c = 0; c < 3; ++c)
        if (c != family) rgb[c] += static_cast<int>(uniform01(rng) * 50);
      spec.base_rgb = rgb;
      spec.seed = derive_seed(seed, static_cast<std::uint64_t>(family * 1000 + i));
      const auto file = folder / (std::string(names[family]) + "_" + std::to_string(i) + extensions[i % 4]);
      write_synthetic_image(file, spec);
    }
  }
}

}  // namespace photoatlas::testing

namespace photoatlas::testing {

void write_jpeg_with_exif(const std::filesystem::path& file, const std::string& datetime, const std::string& make,
                          const std::string& model, double latitude, double longitude) {
  start_vips();
  std::vector<std::uint8_t> pixels(32 * 24 * 3, 120);
  VImage image = from_pixels(pixels, 32, 24, 3);
  // libvips rebuilds the EXIF block from these fields when saving.
  auto rational = [](double v) {
    v = std::abs(v);
    const int deg = static_cast<int>(v);
    const double min_full = (v - deg) * 60.0;
    const int min = static_cast<int>(min_full);
    const int sec100 = static_cast<int>((min_full - min) * 60.0 * 100.0 + 0.5);
    return std::to_string(deg) + "/1 " + std::to_string(min) + "/1 " + std::to_string(sec100) + "/100";
  };
  image.set("exif-ifd2-DateTimeOriginal", datetime.c_str());
  image.set("exif-ifd0-Make", make.c_str());
  image.set("exif-ifd0-Model", model.c_str());
  image.set("exif-ifd3-GPSLatitude", rational(latitude).c_str());
  image.set("exif-ifd3-GPSLatitudeRef", latitude < 0 ? "S" : "N");
  image.set("exif-ifd3-GPSLongitude", rational(longitude).c_str());
  image.set("exif-ifd3-GPSLongitudeRef", longitude < 0 ? "W" : "E");
  image.write_to_file(file.c_str());
}

}  // namespace photoatlas::testing
