// Feature extractors: each turns a decoded image into one float32 vector of fixed length.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "ingest/image.h"

namespace photoatlas::features {

class Extractor {
 public:
  virtual ~Extractor() = default;
  // Identifies the extractor and its settings; features are cached and compared under this id,
  // so it must change whenever the output would (e.g. "raw150", "inception_v3/mixed5@1").
  virtual std::string id() const = 0;
  // Short name used for columns and layouts (e.g. "raw", "cnn").
  virtual std::string short_name() const = 0;
  // Vector length.
  virtual std::size_t dims() const = 0;
  // The decoded image's shorter side must be at least this for full quality.
  virtual int min_input_side() const = 0;
  // True when every value is exactly k / 255 for an integer k in [0, 255] (raw pixels): a cache
  // may then store one byte per value and restore the floats bit for bit.
  virtual bool values_are_bytes() const { return false; }
  // Writes dims() floats. Must be safe to call from several threads at once.
  virtual void extract(const ingest::RgbImage& image, std::span<float> out) const = 0;
};

}  // namespace photoatlas::features
