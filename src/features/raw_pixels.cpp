#include "features/raw_pixels.h"

#include <stdexcept>

namespace photoatlas::features {

RawPixelExtractor::RawPixelExtractor(RawPixelOptions options) : options_(options) {
  if (options_.size <= 0) throw std::invalid_argument("raw pixel size must be positive");
}

std::string RawPixelExtractor::id() const { return "raw" + std::to_string(options_.size); }

std::size_t RawPixelExtractor::dims() const {
  return static_cast<std::size_t>(options_.size) * options_.size * 3;
}

void RawPixelExtractor::extract(const ingest::RgbImage& image, std::span<float> out) const {
  if (out.size() != dims()) throw std::invalid_argument("raw pixel output has the wrong length");
  const ingest::RgbImage resized = ingest::resize_exact(image, options_.size, options_.size);
  constexpr float kScale = 1.0f / 255.0f;
  for (std::size_t i = 0; i < resized.pixels.size(); ++i) out[i] = resized.pixels[i] * kScale;
}

}  // namespace photoatlas::features
