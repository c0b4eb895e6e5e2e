// Any ONNX image model through OpenCV DNN (cv::dnn::readNetFromONNX): preprocessing as the model
// was trained (input size, mean / std, RGB or BGR), any named tensor as the feature layer
// (global-average-pooled when spatial), and the class output when the model is a classifier.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "features/classes.h"
#include "features/network.h"
#include "features/onnx_graph.h"

namespace photoatlas::features {

struct OnnxPreprocessing {
  int input_size = 0;                          // square side; 0 = the model's own input shape, else 224
  std::array<float, 3> mean = {0.0f, 0.0f, 0.0f};  // per channel (R, G, B), on the [0,1] scale
  std::array<float, 3> std = {1.0f, 1.0f, 1.0f};   // input = (pixel / 255 - mean) / std (pixel / 127.5 - 1 with InputRange::PlusMinusOne)
  bool bgr = false;                            // feed channels in B, G, R order
};

// The normalisation of torchvision / MXNet ImageNet models.
OnnxPreprocessing imagenet_preprocessing(int input_size = 224);

struct OnnxModelOptions {
  // Identifies the weights in feature ids. Empty: "onnx/<file stem>-<first 12 hex of sha256>".
  std::string name;
  std::string sha256;                 // of the file, when already known (saves hashing it)
  OnnxPreprocessing preprocessing;
  // Feature layer by default: a tensor name, "fc1" or "pool" (see resolve_onnx_layer). Empty:
  // "pool" when the graph has a global pooling, else the input of the last node.
  std::string default_layer;
  // Class labels; used when the model's output has exactly that many values. Empty: the ImageNet
  // labels for a 1000-way output.
  std::filesystem::path labels;
};

class OnnxModel final : public Network {
 public:
  OnnxModel(const std::filesystem::path& file, OnnxModelOptions options);
  static std::shared_ptr<OnnxModel> load(const std::filesystem::path& file, OnnxModelOptions options = {});

  const std::string& name() const override { return name_; }
  const std::string& default_layer() const override { return default_layer_; }
  int input_width() const override { return size_; }
  int input_height() const override { return size_; }
  bool has_layer(const std::string& layer) const override;
  std::size_t output_dims(const std::string& layer) const override;
  std::vector<FloatMatrix> run(std::span<const ingest::RgbImage* const> images,
                               const std::vector<std::string>& layers,
                               Pooling pooling = Pooling::Average,
                               InputRange range = InputRange::ZeroOne) const override;

  const OnnxGraphInfo& graph() const { return graph_; }
  const OnnxPreprocessing& preprocessing() const { return pre_; }
  // The graph output with one value per label (empty when the model is no classifier we can label).
  const std::string& class_layer() const { return class_layer_; }
  bool class_output_is_probability() const { return class_is_probability_; }
  const std::vector<ClassLabel>& labels() const { return labels_; }

  // Layers always computed together on single-image runs and kept per thread for the next call
  // with the same pixels, so several extractors on one model (features + classes) share one pass.
  void share_layers(std::vector<std::string> layers) { shared_layers_ = std::move(layers); }

 private:
  // The OpenCV layer computing a layer (tensor name or alias); throws when unknown.
  std::string tensor_of(const std::string& layer) const;
  std::string cv_layer_of(const std::string& tensor) const;  // empty when OpenCV has none
  std::vector<FloatMatrix> forward(std::span<const ingest::RgbImage* const> images,
                                   const std::vector<std::string>& layers, Pooling pooling,
                                   InputRange range) const;

  std::string name_;
  std::string default_layer_;
  OnnxGraphInfo graph_;
  OnnxPreprocessing pre_;
  int size_ = 224;
  bool channels_first_ = true;
  std::string class_layer_;
  bool class_is_probability_ = false;
  std::vector<ClassLabel> labels_;
  std::vector<std::string> shared_layers_;
  std::uint64_t serial_ = 0;  // distinguishes models in the per-thread memo
  mutable cv::dnn::Net net_;
  mutable std::mutex mutex_;
};

}  // namespace photoatlas::features
