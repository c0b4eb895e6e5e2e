#include "ingest/image.h"

#include <vips/vips8>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "ingest/decode.h"

namespace photoatlas::ingest {

using vips::VImage;

namespace {

VImage wrap(const RgbImage& image) {
  if (image.empty()) throw std::invalid_argument("empty image");
  // new_from_memory does not copy: the VImage must not outlive `image` (it never leaves this file).
  return VImage::new_from_memory(const_cast<std::uint8_t*>(image.pixels.data()), image.pixels.size(), image.width,
                                 image.height, 3, VIPS_FORMAT_UCHAR);
}

RgbImage unwrap(const VImage& image) {
  RgbImage out;
  out.width = image.width();
  out.height = image.height();
  std::size_t size = 0;
  void* memory = image.write_to_memory(&size);
  out.pixels.resize(size);
  std::memcpy(out.pixels.data(), memory, size);
  g_free(memory);
  return out;
}

}  // namespace

RgbImage resize_exact(const RgbImage& image, int width, int height) {
  ensure_vips_started();
  if (width == image.width && height == image.height) return image;
  VImage in = wrap(image);
  const double hscale = static_cast<double>(width) / image.width;
  const double vscale = static_cast<double>(height) / image.height;
  VImage out = in.resize(hscale, VImage::option()->set("vscale", vscale));
  // resize() rounds the output size; make it exact.
  if (out.width() != width || out.height() != height) {
    out = out.embed(0, 0, width, height, VImage::option()->set("extend", VIPS_EXTEND_COPY));
  }
  return unwrap(out);
}

RgbImage resize_to_fit(const RgbImage& image, int max_side) {
  const int longest = std::max(image.width, image.height);
  if (longest <= max_side) return image;
  const double scale = static_cast<double>(max_side) / longest;
  const int w = std::max(1, static_cast<int>(image.width * scale + 0.5));
  const int h = std::max(1, static_cast<int>(image.height * scale + 0.5));
  return resize_exact(image, w, h);
}

std::string encode_jpeg(const RgbImage& image, int quality) {
  ensure_vips_started();
  VImage in = wrap(image);
  void* buffer = nullptr;
  std::size_t size = 0;
  in.write_to_buffer(".jpg", &buffer, &size,
                     VImage::option()->set("Q", quality)->set("strip", true)->set("optimize_coding", true));
  std::string out(static_cast<const char*>(buffer), size);
  g_free(buffer);
  return out;
}

}  // namespace photoatlas::ingest
