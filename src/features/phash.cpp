#include "features/phash.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace photoatlas::features {

namespace {

constexpr int kSide = 32;  // luminance grid the DCT runs on
constexpr int kLow = 8;    // low-frequency block kept

// DCT-II basis for 32 samples; a 32x32 transform is a pair of tiny matrix products, so no FFT
// library is warranted here.
const std::array<double, kSide * kSide>& dct_basis() {
  static const std::array<double, kSide * kSide> basis = [] {
    std::array<double, kSide * kSide> b{};
    for (int k = 0; k < kSide; ++k)
      for (int n = 0; n < kSide; ++n) b[k * kSide + n] = std::cos(M_PI / kSide * (n + 0.5) * k);
    return b;
  }();
  return basis;
}

}  // namespace

std::uint64_t perceptual_hash(const ingest::RgbImage& image) {
  if (image.empty()) return 0;
  const ingest::RgbImage small = ingest::resize_exact(image, kSide, kSide);
  std::array<double, kSide * kSide> luma{};
  for (int i = 0; i < kSide * kSide; ++i) {
    const std::uint8_t* p = &small.pixels[static_cast<std::size_t>(i) * 3];
    luma[i] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  }
  const auto& basis = dct_basis();
  // Rows first (only the kLow lowest frequencies are needed), then columns.
  std::array<double, kSide * kLow> rows{};
  for (int y = 0; y < kSide; ++y)
    for (int u = 0; u < kLow; ++u) {
      double sum = 0;
      for (int x = 0; x < kSide; ++x) sum += luma[y * kSide + x] * basis[u * kSide + x];
      rows[y * kLow + u] = sum;
    }
  std::array<double, kLow * kLow> coefficients{};
  for (int v = 0; v < kLow; ++v)
    for (int u = 0; u < kLow; ++u) {
      double sum = 0;
      for (int y = 0; y < kSide; ++y) sum += rows[y * kLow + u] * basis[v * kSide + y];
      coefficients[v * kLow + u] = sum;
    }
  std::vector<double> ac(coefficients.begin() + 1, coefficients.end());
  std::nth_element(ac.begin(), ac.begin() + ac.size() / 2, ac.end());
  const double median = ac[ac.size() / 2];
  std::uint64_t hash = 0;
  for (int i = 1; i < kLow * kLow; ++i)
    if (coefficients[i] > median) hash |= std::uint64_t{1} << i;
  return hash;
}

}  // namespace photoatlas::features
