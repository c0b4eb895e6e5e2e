#include "features/resize_bilinear.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace photoatlas::features {
namespace {

// One axis of the sampling grid (TF.js's ResizeBilinear CPU kernel).
struct Tap {
  int lo, hi;
  double frac;
};

std::vector<Tap> taps(int in, int out, BilinearGrid grid) {
  const double scale = grid == BilinearGrid::AlignCorners && out > 1 ? static_cast<double>(in - 1) / (out - 1)
                                                                      : static_cast<double>(in) / out;
  std::vector<Tap> result(static_cast<std::size_t>(out));
  for (int i = 0; i < out; ++i) {
    const double f = scale * i;
    const int lo = std::max(0, static_cast<int>(std::floor(f)));
    result[static_cast<std::size_t>(i)] = {lo, std::min(in - 1, static_cast<int>(std::ceil(f))), f - lo};
  }
  return result;
}

}  // namespace

void resize_bilinear_planes(const ingest::RgbImage& image, int width, int height, BilinearGrid grid,
                            const float* levels, float* planes) {
  if (image.empty() || image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw std::invalid_argument("empty or inconsistent image");
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  const std::vector<Tap> ys = taps(image.height, height, grid);
  const std::vector<Tap> xs = taps(image.width, width, grid);
  for (int r = 0; r < height; ++r) {
    const Tap& ty = ys[static_cast<std::size_t>(r)];
    for (int col = 0; col < width; ++col) {
      const Tap& tx = xs[static_cast<std::size_t>(col)];
      const std::uint8_t* p00 = image.at(tx.lo, ty.lo);
      const std::uint8_t* p01 = image.at(tx.hi, ty.lo);
      const std::uint8_t* p10 = image.at(tx.lo, ty.hi);
      const std::uint8_t* p11 = image.at(tx.hi, ty.hi);
      for (int c = 0; c < 3; ++c) {
        const double v00 = levels[p00[c]], v01 = levels[p01[c]], v10 = levels[p10[c]], v11 = levels[p11[c]];
        const double top = v00 + (v01 - v00) * tx.frac;
        const double bottom = v10 + (v11 - v10) * tx.frac;
        planes[c * plane + static_cast<std::size_t>(r) * width + col] = static_cast<float>(top + (bottom - top) * ty.frac);
      }
    }
  }
}

}  // namespace photoatlas::features
