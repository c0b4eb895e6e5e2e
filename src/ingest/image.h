// Decoded images: 8-bit sRGB, 3 channels, row-major, interleaved. The one pixel format every
// later stage (raw-pixel features, CNN input, thumbnails) starts from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace photoatlas::ingest {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width * height * 3

  bool empty() const { return width == 0 || height == 0; }
  const std::uint8_t* at(int x, int y) const { return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
};

// Resampling with libvips (Lanczos3 when shrinking, bicubic-like when enlarging).
// Exact size: the aspect ratio is not kept (the study stretched photos to 150x150).
RgbImage resize_exact(const RgbImage& image, int width, int height);
// Longest side at most `max_side`, aspect kept; never enlarges.
RgbImage resize_to_fit(const RgbImage& image, int max_side);
// JPEG bytes of the image (for thumbnails).
std::string encode_jpeg(const RgbImage& image, int quality = 82);

}  // namespace photoatlas::ingest
