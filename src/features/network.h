// What every imported CNN offers the extractors: its input size, its layers, and a batched run
// that returns any named layers' outputs, global-average-pooled when they are spatial.
// Implemented by CnnModel (Keras / TF.js layers models) and OnnxModel (any ONNX file).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "ingest/image.h"

namespace photoatlas::features {

class Network {
 public:
  virtual ~Network() = default;
  // Identifies the weights (e.g. "nsfwjs-4.4.0/inception_v3", "onnx/vgg19-7@<sha256 prefix>");
  // it becomes part of feature ids, so it must change when the weights do.
  virtual const std::string& name() const = 0;
  // The layer a preset recommends for features (empty when none).
  virtual const std::string& default_layer() const = 0;
  virtual int input_width() const = 0;
  virtual int input_height() const = 0;
  virtual bool has_layer(const std::string& layer) const = 0;
  // Length of a layer's pooled output (channels of a spatial layer). Throws for unknown layers.
  virtual std::size_t output_dims(const std::string& layer) const = 0;
  // Runs the images as one batch; for each requested layer, one row per image. Thread-safe.
  virtual std::vector<FloatMatrix> run(std::span<const ingest::RgbImage* const> images,
                                       const std::vector<std::string>& layers) const = 0;
};

}  // namespace photoatlas::features
