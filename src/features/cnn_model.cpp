#include "features/cnn_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/parallel.h"
#include "features/resize_bilinear.h"

namespace photoatlas::features {


void preprocess_align_corners(const ingest::RgbImage& image, int width, int height, float* planes,
                              InputRange range) {
  if (image.empty() || image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw std::invalid_argument("empty or inconsistent image");
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  // float32(q / 255) as TF.js computes it (the division in double rounds to the same float).
  float level[256];
  for (int q = 0; q < 256; ++q)
    level[q] = range == InputRange::ZeroOne ? static_cast<float>(q) / 255.0f : static_cast<float>(q / 127.5 - 1.0);
  if (image.width == width && image.height == height) {  // nsfwjs skips the resize then
    for (std::size_t i = 0; i < plane; ++i)
      for (int c = 0; c < 3; ++c) planes[c * plane + i] = level[image.pixels[i * 3 + c]];
    return;
  }
  resize_bilinear_planes(image, width, height, BilinearGrid::AlignCorners, level, planes);
}

namespace {
std::unique_ptr<KerasNet> build_cpu_net(const tfjs::LayersModel& model) {
  auto net = std::make_unique<KerasNet>(build_keras_net(model));
  net->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}
}  // namespace

std::vector<std::string> split_layer_spec(const std::string& spec) {
  std::vector<std::string> layers;
  std::size_t begin = 0;
  while (true) {
    const std::size_t plus = spec.find('+', begin);
    layers.push_back(spec.substr(begin, plus == std::string::npos ? std::string::npos : plus - begin));
    if (layers.back().empty()) throw std::invalid_argument("bad layer spec '" + spec + "' (an empty layer name)");
    if (plus == std::string::npos) return layers;
    begin = plus + 1;
  }
}

CnnModel::CnnModel(tfjs::LayersModel model, std::string name)
    : name_(std::move(name)), source_(std::move(model)), max_replicas_(resolve_threads(0)) {
  std::unique_ptr<KerasNet> first = build_cpu_net(source_);
  if (first->input_channels != 3) throw std::runtime_error(name_ + ": the model does not take RGB images");
  outputs_ = first->outputs;
  layer_order_ = first->layer_order;
  input_name_ = first->input_name;
  input_width_ = first->input_width;
  input_height_ = first->input_height;
  idle_.push_back(std::move(first));
  built_ = 1;
}

void CnnModel::set_max_replicas(int replicas) {
  std::lock_guard lock(pool_mutex_);
  max_replicas_ = std::max(1, replicas);
}

int CnnModel::replicas() const {
  std::lock_guard lock(pool_mutex_);
  return built_;
}

std::unique_ptr<KerasNet> CnnModel::acquire() const {
  std::unique_lock lock(pool_mutex_);
  while (idle_.empty()) {
    if (built_ < max_replicas_) {
      ++built_;
      lock.unlock();
      try {
        return build_cpu_net(source_);  // outside the lock: others keep working meanwhile
      } catch (...) {
        lock.lock();
        --built_;
        throw;
      }
    }
    pool_returned_.wait(lock);
  }
  std::unique_ptr<KerasNet> net = std::move(idle_.back());
  idle_.pop_back();
  return net;
}

void CnnModel::release(std::unique_ptr<KerasNet> net) const {
  {
    std::lock_guard lock(pool_mutex_);
    idle_.push_back(std::move(net));
  }
  pool_returned_.notify_one();
}

// Returns the network to the pool however the forward pass ends.
class CnnModel::Lease {
 public:
  explicit Lease(const CnnModel& model) : model_(model), net_(model.acquire()) {}
  ~Lease() { model_.release(std::move(net_)); }
  KerasNet& operator*() const { return *net_; }
  KerasNet* operator->() const { return net_.get(); }

 private:
  const CnnModel& model_;
  std::unique_ptr<KerasNet> net_;
};

std::shared_ptr<CnnModel> CnnModel::load(const std::filesystem::path& folder, std::string name) {
  if (std::filesystem::exists(folder / "model.min.js"))
    return std::make_shared<CnnModel>(tfjs::load_js_bundle(folder), std::move(name));
  if (std::filesystem::exists(folder / "model.json"))
    return std::make_shared<CnnModel>(tfjs::load_model_json(folder / "model.json"), std::move(name));
  throw std::runtime_error("no TF.js layers model (model.json or model.min.js) in " + folder.string());
}

void CnnModel::set_default_layer(std::string layer) {
  for (const std::string& part : split_layer_spec(layer)) output_dims(part);  // throws for unknown names
  default_layer_ = std::move(layer);
}

std::size_t CnnModel::output_dims(const std::string& layer) const {
  const auto it = outputs_.find(layer);
  if (it == outputs_.end()) throw std::invalid_argument(name_ + " has no layer named '" + layer + "'");
  return static_cast<std::size_t>(it->second.shape.back());
}

std::vector<cv::Mat> CnnModel::forward(std::span<const ingest::RgbImage* const> images,
                                       const std::vector<std::string>& layers, InputRange range) const {
  std::vector<cv::String> cv_layers;
  for (const std::string& layer : layers) {
    output_dims(layer);  // throws for unknown names
    cv_layers.push_back(outputs_.at(layer).cv_layer);
  }
  const int n = static_cast<int>(images.size());
  if (n == 0) return std::vector<cv::Mat>(layers.size());
  const int h = input_height_, w = input_width_;
  cv::Mat blob({n, 3, h, w}, CV_32F);
  for (int i = 0; i < n; ++i) preprocess_align_corners(*images[i], w, h, blob.ptr<float>(i), range);
  std::vector<cv::Mat> outputs;
  const Lease net(*this);
  net->net.setInput(blob, input_name_);
  // OpenCV runs the layers in order up to the deepest one asked for: nothing above it is computed.
  net->net.forward(outputs, cv_layers);
  // forward() may hand back views of the network's own buffers: copy them before the net goes back.
  for (cv::Mat& out : outputs) out = out.clone();
  for (std::size_t l = 0; l < layers.size(); ++l)
    if (outputs[l].size[0] != n || static_cast<std::size_t>(outputs[l].size[1]) != output_dims(layers[l]))
      throw std::runtime_error(name_ + ": unexpected output shape for layer " + layers[l]);
  return outputs;
}

std::vector<FloatMatrix> CnnModel::run(std::span<const ingest::RgbImage* const> images,
                                       const std::vector<std::string>& layers, Pooling pooling,
                                       InputRange range) const {
  if (pooling == Pooling::Quadrants)
    for (const std::string& layer : layers)
      if (output_dims(layer) > 0 && outputs_.at(layer).shape.size() != 3)
        throw std::invalid_argument(name_ + ": layer '" + layer + "' has no H x W to split into quadrants");
  const std::vector<cv::Mat> outputs = forward(images, layers, range);
  std::vector<FloatMatrix> result;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::size_t channels = output_dims(layers[l]);
    if (images.empty()) result.emplace_back(0, pooling == Pooling::Quadrants ? 4 * channels : channels);
    else result.push_back(pool_layer(outputs[l], images.size(), channels, pooling, layers[l]));
  }
  return result;
}

std::vector<cv::Mat> CnnModel::run_maps(std::span<const ingest::RgbImage* const> images,
                                        const std::vector<std::string>& layers, InputRange range) const {
  return forward(images, layers, range);
}

const char* to_string(Pooling pooling) { return pooling == Pooling::Quadrants ? "quad" : "gap"; }
const char* to_string(InputRange range) { return range == InputRange::PlusMinusOne ? "pm1" : "01"; }

FloatMatrix pool_layer(const cv::Mat& output, std::size_t images, std::size_t channels, Pooling pooling,
                       const std::string& layer) {
  if (pooling == Pooling::Average) return global_average_pool(output, images, channels);
  if (output.dims != 4) throw std::invalid_argument("layer '" + layer + "' has no H x W to split into quadrants");
  const int h = output.size[2], w = output.size[3];
  const int y_begin[2] = {0, h / 2}, y_end[2] = {(h + 1) / 2, h};
  const int x_begin[2] = {0, w / 2}, x_end[2] = {(w + 1) / 2, w};
  FloatMatrix pooled(images, 4 * channels);
  const float* src = output.ptr<float>();
  for (std::size_t i = 0; i < images; ++i)
    for (std::size_t c = 0; c < channels; ++c) {
      const float* cell = src + (i * channels + c) * static_cast<std::size_t>(h) * w;
      for (int qy = 0; qy < 2; ++qy)
        for (int qx = 0; qx < 2; ++qx) {
          double sum = 0.0;
          for (int y = y_begin[qy]; y < y_end[qy]; ++y)
            for (int x = x_begin[qx]; x < x_end[qx]; ++x) sum += cell[y * w + x];
          const int cells = (y_end[qy] - y_begin[qy]) * (x_end[qx] - x_begin[qx]);
          pooled.at(i, (qy * 2 + qx) * channels + c) = static_cast<float>(sum / cells);
        }
    }
  return pooled;
}

FloatMatrix global_average_pool(const cv::Mat& nchw, std::size_t images, std::size_t channels) {
  FloatMatrix pooled(images, channels);
  if (images == 0 || channels == 0) return pooled;
  const std::size_t spatial = nchw.total() / (images * channels);
  const float* src = nchw.ptr<float>();
  for (std::size_t i = 0; i < images; ++i)
    for (std::size_t c = 0; c < channels; ++c) {
      // NCHW: the H x W cells of one channel are contiguous.
      const float* cell = src + (i * channels + c) * spatial;
      double sum = 0.0;
      for (std::size_t k = 0; k < spatial; ++k) sum += cell[k];
      pooled.at(i, c) = static_cast<float>(sum / static_cast<double>(spatial));
    }
  return pooled;
}

}  // namespace photoatlas::features
