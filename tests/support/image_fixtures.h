// Generated photos for tests: written with libvips so tests need no data files.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

namespace photoatlas::testing {

struct SyntheticImage {
  int width = 64;
  int height = 48;
  std::array<int, 3> base_rgb = {128, 128, 128};  // dominant colour
  int noise = 20;                                  // +- per-pixel uniform noise
  std::uint64_t seed = 0;                          // noise and shape placement
  bool shapes = true;                              // a few rectangles in lighter/darker shades
};

// Writes an 8-bit RGB image; the format follows the file extension (.jpg, .png, .webp, .tif, .gif).
void write_synthetic_image(const std::filesystem::path& file, const SyntheticImage& spec);

// Writes an image whose left half is `left` and right half `right`, with the given EXIF orientation (1-8).
// JPEG only (orientation lives in EXIF).
void write_two_tone_jpeg(const std::filesystem::path& file, int width, int height, std::array<int, 3> left,
                         std::array<int, 3> right, int orientation);

// Writes a 1-band grey PNG, or an RGBA PNG whose alpha is 0 on the left half (transparent) and 255 on the right.
void write_grey_png(const std::filesystem::path& file, int width, int height, int grey);
void write_half_transparent_png(const std::filesystem::path& file, int width, int height, std::array<int, 3> rgb);

// Three colour families (reds, greens, blues), `per_family` images each, varied sizes and formats.
// Returns the folder; files are named <family>_<i>.<ext>.
void write_colour_families(const std::filesystem::path& folder, int per_family, std::uint64_t seed);

}  // namespace photoatlas::testing

namespace photoatlas::testing {
// Writes a JPEG with EXIF DateTimeOriginal ("YYYY:MM:DD HH:MM:SS"), camera make/model and GPS position.
void write_jpeg_with_exif(const std::filesystem::path& file, const std::string& datetime, const std::string& make,
                          const std::string& model, double latitude, double longitude);
}  // namespace photoatlas::testing
