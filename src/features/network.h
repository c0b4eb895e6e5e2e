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

// How a spatial (C x H x W) layer becomes a vector.
enum class Pooling {
  Average,    // C values: each channel averaged over H x W ("gap")
  // 4 x C values: each channel averaged over the top-left, top-right, bottom-left and bottom-right
  // quadrant (a 2x2 spatial pyramid level; with an odd side the middle row / column belongs to
  // both halves). Keeps where things are, which tells scenes apart (sky above, water below):
  // the best pooling on intel_scenes (bench/results/cnn_quality.md). Spatial layers only.
  Quadrants,
};
const char* to_string(Pooling pooling);  // "gap", "quad"

// The scale the network sees the pixels on. nsfwjs feeds [0,1] (bytes / 255; its golden vectors
// and its fine-tuning assume it). The frozen lower half of its InceptionV3 and MobileNetV2 started
// as Keras' ImageNet weights, trained on [-1,1] (keras.applications preprocess_input: x / 127.5 - 1),
// but [-1,1] input makes clearly worse features at every layer, frozen ones included
// (bench/results/cnn_quality.md), so [0,1] is every default; [-1,1] stays a choice to measure with.
enum class InputRange {
  ZeroOne,       // bytes / 255
  PlusMinusOne,  // bytes / 127.5 - 1
};
const char* to_string(InputRange range);  // "01", "pm1"

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
  // Runs the images as one batch; for each requested layer, one row per image, pooled as asked
  // (Quadrants rows are 4 x output_dims long), the pixels scaled to `range` before any other
  // normalisation the model has. Thread-safe.
  virtual std::vector<FloatMatrix> run(std::span<const ingest::RgbImage* const> images,
                                       const std::vector<std::string>& layers,
                                       Pooling pooling = Pooling::Average,
                                       InputRange range = InputRange::ZeroOne) const = 0;
};

}  // namespace photoatlas::features
