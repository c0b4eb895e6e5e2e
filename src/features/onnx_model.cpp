#include "features/onnx_model.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>

#include "features/cnn_model.h"
#include "features/sha256.h"

namespace photoatlas::features {

namespace {

std::atomic<std::uint64_t> next_serial{1};

// The last single-image run on this thread: its pixels and the rows it computed.
struct Memo {
  std::uint64_t serial = 0;
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
  std::map<std::string, std::vector<float>> rows;
};
thread_local Memo memo;

bool same_pixels(const Memo& m, std::uint64_t serial, const ingest::RgbImage& image) {
  return m.serial == serial && m.width == image.width && m.height == image.height &&
         m.pixels.size() == image.pixels.size() &&
         std::memcmp(m.pixels.data(), image.pixels.data(), image.pixels.size()) == 0;
}

std::string format_floats(const std::array<float, 3>& v) {
  char text[96];
  std::snprintf(text, sizeof text, "%g:%g:%g", v[0], v[1], v[2]);
  return text;
}

}  // namespace

OnnxPreprocessing imagenet_preprocessing(int input_size) {
  OnnxPreprocessing p;
  p.input_size = input_size;
  p.mean = {0.485f, 0.456f, 0.406f};
  p.std = {0.229f, 0.224f, 0.225f};
  return p;
}

OnnxModel::OnnxModel(const std::filesystem::path& file, OnnxModelOptions options)
    : graph_(read_onnx_graph(file)), pre_(options.preprocessing), serial_(next_serial++) {
  try {
    net_ = cv::dnn::readNetFromONNX(file.string());
  } catch (const cv::Exception& e) {
    throw std::runtime_error(file.string() + ": OpenCV cannot load this ONNX model: " + e.what());
  }
  net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  channels_first_ = graph_.channels_first();
  const auto& shape = graph_.input_shape;
  const std::int64_t model_side = shape.size() == 4 ? (channels_first_ ? shape[2] : shape[1]) : -1;
  size_ = pre_.input_size > 0 ? pre_.input_size : model_side > 0 ? static_cast<int>(model_side) : 224;
  if (size_ < 8 || size_ > 4096) throw std::invalid_argument("input size " + std::to_string(size_) + " is out of range");

  if (options.name.empty()) {
    const std::string sha = options.sha256.empty() ? sha256_file(file) : options.sha256;
    options.name = "onnx/" + file.stem().string() + "-" + sha.substr(0, 12);
  }
  // Preprocessing changes every feature, so it is part of the name (and of every feature id).
  name_ = options.name + "/in" + std::to_string(size_);
  const bool normalised = pre_.mean != std::array<float, 3>{0, 0, 0} || pre_.std != std::array<float, 3>{1, 1, 1};
  if (normalised) name_ += "/mean" + format_floats(pre_.mean) + "/std" + format_floats(pre_.std);
  if (pre_.bgr) name_ += "/bgr";

  if (!options.default_layer.empty()) {
    tensor_of(options.default_layer);  // throws for unknown names
    default_layer_ = options.default_layer;
  } else if (!resolve_onnx_layer(graph_, "pool").empty()) {
    default_layer_ = "pool";
  } else if (!graph_.outputs.empty()) {
    default_layer_ = graph_.outputs.front();
  }

  // A classifier: the first graph output, labelled when a label file has one line per value.
  if (!graph_.outputs.empty() && has_layer(graph_.outputs.front())) {
    const std::string out = graph_.outputs.front();
    const std::size_t n = output_dims(out);
    std::filesystem::path labels = options.labels;
    if (labels.empty() && n == 1000 && std::filesystem::exists(default_imagenet_labels()))
      labels = default_imagenet_labels();
    if (!labels.empty()) {
      std::vector<ClassLabel> loaded = load_class_labels(labels);
      if (loaded.size() == n) {
        labels_ = std::move(loaded);
        class_layer_ = out;
        const OnnxNode* producer = graph_.producer_of(out);
        class_is_probability_ = producer && producer->op_type == "Softmax";
      }
    }
  }
}

std::shared_ptr<OnnxModel> OnnxModel::load(const std::filesystem::path& file, OnnxModelOptions options) {
  return std::make_shared<OnnxModel>(file, std::move(options));
}

// OpenCV 4.6 names the layer of a node "onnx_node!<node name>", or "onnx_node_output_0!<first
// output>" when the node has no name; a graph output also gets an Identity layer under its own name.
std::string OnnxModel::cv_layer_of(const std::string& tensor) const {
  std::vector<std::string> candidates = {tensor};
  if (const OnnxNode* node = graph_.producer_of(tensor); node && !node->outputs.empty() && node->outputs[0] == tensor) {
    if (!node->name.empty()) candidates.push_back("onnx_node!" + node->name);
    candidates.push_back("onnx_node_output_0!" + tensor);
  }
  for (const std::string& name : candidates)
    if (net_.getLayerId(name) >= 0) return name;
  return {};
}

std::string OnnxModel::tensor_of(const std::string& layer) const {
  const std::string tensor = resolve_onnx_layer(graph_, layer);
  if (tensor.empty()) throw std::invalid_argument(name_ + " has no layer named '" + layer + "'");
  const std::string cv_layer = cv_layer_of(tensor);
  if (cv_layer.empty())
    throw std::invalid_argument(name_ + ": layer '" + layer + "' (" + tensor +
                                ") does not survive OpenCV's import (folded into a constant?)");
  return cv_layer;
}

bool OnnxModel::has_layer(const std::string& layer) const {
  const std::string tensor = resolve_onnx_layer(graph_, layer);
  return !tensor.empty() && !cv_layer_of(tensor).empty();
}

std::size_t OnnxModel::output_dims(const std::string& layer) const {
  const std::string cv_layer = tensor_of(layer);
  std::lock_guard lock(mutex_);
  const cv::dnn::MatShape input = channels_first_ ? cv::dnn::MatShape{1, 3, size_, size_}
                                                  : cv::dnn::MatShape{1, size_, size_, 3};
  std::vector<cv::dnn::MatShape> in_shapes, out_shapes;
  net_.getLayerShapes(input, net_.getLayerId(cv_layer), in_shapes, out_shapes);
  if (out_shapes.empty() || out_shapes[0].empty()) throw std::runtime_error(name_ + ": no shape for layer " + layer);
  const cv::dnn::MatShape& s = out_shapes[0];
  return s.size() == 1 ? static_cast<std::size_t>(s[0]) : static_cast<std::size_t>(s[1]);
}

std::vector<FloatMatrix> OnnxModel::forward(std::span<const ingest::RgbImage* const> images,
                                            const std::vector<std::string>& layers, Pooling pooling,
                                            InputRange range) const {
  std::vector<cv::String> tensors;
  for (const std::string& layer : layers) tensors.push_back(tensor_of(layer));
  const int n = static_cast<int>(images.size());
  std::vector<FloatMatrix> result(layers.size());
  if (n == 0) {
    for (std::size_t l = 0; l < layers.size(); ++l)
      result[l] = FloatMatrix(0, (pooling == Pooling::Quadrants ? 4 : 1) * output_dims(layers[l]));
    return result;
  }
  const int s = size_;
  const std::size_t plane = static_cast<std::size_t>(s) * s;
  cv::Mat blob = channels_first_ ? cv::Mat({n, 3, s, s}, CV_32F) : cv::Mat({n, s, s, 3}, CV_32F);
  std::vector<float> planes(3 * plane);
  for (int i = 0; i < n; ++i) {
    preprocess_align_corners(*images[i], s, s, planes.data(), range);
    float* dst = blob.ptr<float>(i);
    for (int c = 0; c < 3; ++c) {
      const int to = pre_.bgr ? 2 - c : c;
      const float mean = pre_.mean[c], inv = 1.0f / pre_.std[c];
      const float* src = planes.data() + c * plane;
      if (channels_first_) {
        float* out = dst + to * plane;
        for (std::size_t k = 0; k < plane; ++k) out[k] = (src[k] - mean) * inv;
      } else {
        for (std::size_t k = 0; k < plane; ++k) dst[k * 3 + to] = (src[k] - mean) * inv;
      }
    }
  }
  std::lock_guard lock(mutex_);
  net_.setInput(blob, graph_.input_name);
  std::vector<cv::Mat> outputs;
  net_.forward(outputs, tensors);
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const cv::Mat& out = outputs[l];
    if (out.dims < 1 || out.size[0] != n) throw std::runtime_error(name_ + ": unexpected output shape for " + layers[l]);
    const std::size_t channels = out.dims == 1 ? 1 : static_cast<std::size_t>(out.size[1]);
    result[l] = pool_layer(out, images.size(), channels, pooling, layers[l]);
  }
  return result;
}

std::vector<FloatMatrix> OnnxModel::run(std::span<const ingest::RgbImage* const> images,
                                        const std::vector<std::string>& layers, Pooling pooling,
                                        InputRange range) const {
  // The per-thread memo keeps average-pooled rows of [0,1] input only.
  if (images.size() != 1 || shared_layers_.empty() || pooling != Pooling::Average || range != InputRange::ZeroOne)
    return forward(images, layers, pooling, range);
  const ingest::RgbImage& image = *images[0];
  const auto all_memoised = [&] {
    return std::all_of(layers.begin(), layers.end(), [](const std::string& l) { return memo.rows.count(l) > 0; });
  };
  if (!same_pixels(memo, serial_, image) || !all_memoised()) {
    std::vector<std::string> wanted = shared_layers_;
    for (const std::string& layer : layers)
      if (std::find(wanted.begin(), wanted.end(), layer) == wanted.end()) wanted.push_back(layer);
    std::vector<FloatMatrix> computed = forward(images, wanted, Pooling::Average, InputRange::ZeroOne);
    memo.serial = serial_;
    memo.width = image.width;
    memo.height = image.height;
    memo.pixels = image.pixels;
    memo.rows.clear();
    for (std::size_t l = 0; l < wanted.size(); ++l) memo.rows[wanted[l]] = std::move(computed[l].values);
  }
  std::vector<FloatMatrix> result;
  for (const std::string& layer : layers) {
    const std::vector<float>& row = memo.rows.at(layer);
    FloatMatrix m(1, row.size());
    m.values = row;
    result.push_back(std::move(m));
  }
  return result;
}

}  // namespace photoatlas::features
