// Raw-pixel features, as in the study: the photo stretched to size x size x 3, values in [0, 1].
#pragma once

#include "features/extractor.h"

namespace photoatlas::features {

struct RawPixelOptions {
  int size = 150;  // the study resized every photo to 150x150 (aspect not kept)
};

class RawPixelExtractor final : public Extractor {
 public:
  explicit RawPixelExtractor(RawPixelOptions options = {});
  std::string id() const override;
  std::string short_name() const override { return "raw"; }
  std::size_t dims() const override;
  int min_input_side() const override { return options_.size; }
  bool values_are_bytes() const override { return true; }
  // Row-major (y, x, channel) order, RGB, each value byte / 255.
  void extract(const ingest::RgbImage& image, std::span<float> out) const override;

 private:
  RawPixelOptions options_;
};

}  // namespace photoatlas::features
