// One inference path for every imported CNN: images -> the preprocessing the model was trained with
// -> OpenCV DNN -> any named layer, global-average-pooled when it is spatial.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "features/keras_graph.h"
#include "features/network.h"
#include "ingest/image.h"

namespace photoatlas::features {

// A feature spec names one layer ("mixed5") or several joined by '+' ("mixed5+mixed7"): each is
// pooled and normalised on its own (L2 at least, so that no layer dominates by its scale), the
// parts are concatenated and the whole is L2-normalised again.
// Throws std::invalid_argument for an empty part.
std::vector<std::string> split_layer_spec(const std::string& spec);

// nsfwjs's preprocessing (NSFWJS.infer in nsfwjs 4.4.0), bit for bit: bytes / 255 in float32,
// then, unless the image already has that size, TF.js resizeBilinear(alignCorners = true,
// halfPixelCenters = false, no antialiasing) with its arithmetic in double; RGB order; stretched,
// not cropped. Writes planar (3 x height x width) floats to `planes`. With PlusMinusOne the bytes
// become float32(q / 127.5 - 1) instead (Keras' InceptionV3 / MobileNetV2 scaling), resized alike.
void preprocess_align_corners(const ingest::RgbImage& image, int width, int height, float* planes,
                              InputRange range = InputRange::ZeroOne);

// One row per image of an N x C x (H x W) output, each channel averaged over its H x W cells in
// double (a 2-D output is copied as it is: one cell per channel). Shared by every Network.
FloatMatrix global_average_pool(const cv::Mat& nchw, std::size_t images, std::size_t channels);
// Either pooling of network.h; Quadrants throws std::invalid_argument for a layer with no H x W.
FloatMatrix pool_layer(const cv::Mat& output, std::size_t images, std::size_t channels, Pooling pooling,
                       const std::string& layer);

class CnnModel final : public Network {
 public:
  // `name` identifies the weights (e.g. "nsfwjs-4.4.0/inception_v3"); it becomes part of feature ids.
  CnnModel(tfjs::LayersModel model, std::string name);

  // A folder holding a TF.js layers model: model.json + shards, or nsfwjs's model.min.js bundle.
  static std::shared_ptr<CnnModel> load(const std::filesystem::path& folder, std::string name);

  const std::string& name() const override { return name_; }
  // The layer whose features a preset recommends (empty when none); extractors use it by default.
  const std::string& default_layer() const override { return default_layer_; }
  void set_default_layer(std::string layer);
  int input_width() const override { return input_width_; }
  int input_height() const override { return input_height_; }
  bool has_layer(const std::string& layer) const override { return outputs_.count(layer) > 0; }
  const std::vector<std::string>& layers() const { return layer_order_; }
  // Length of a layer's pooled output: channels for an H x W x C layer, the length of a vector layer.
  std::size_t output_dims(const std::string& layer) const override;

  // Runs the images as one batch and returns, for each requested layer, one row per image.
  // Thread-safe: concurrent calls run on separate copies of the network (see set_max_replicas).
  std::vector<FloatMatrix> run(std::span<const ingest::RgbImage* const> images,
                               const std::vector<std::string>& layers,
                               Pooling pooling = Pooling::Average,
                               InputRange range = InputRange::ZeroOne) const override;

  // The layers' raw outputs for the batch (N x C x H x W, or N x C for vector layers), copied out
  // of the network: for pooling experiments (bench/bench_cnn_quality) and poolings other than GAP.
  std::vector<cv::Mat> run_maps(std::span<const ingest::RgbImage* const> images,
                                const std::vector<std::string>& layers,
                                InputRange range = InputRange::ZeroOne) const;

 // At most this many copies of the network run at once (default: the number of cores). A
  // cv::dnn::Net is not reentrant, so concurrent callers each need their own; one copy per worker
  // thread, each running single-threaded, scales almost perfectly, where one shared network
  // serialises the callers and leaves OpenCV to parallelise each layer with a barrier per layer
  // (bench/results/cnn_speed.md). Copies are built on demand from the kept weights (InceptionV3:
  // ~90 MB of weights and ~60 MB of buffers each).
  void set_max_replicas(int replicas);
  int replicas() const;  // copies built so far

 private:
  // A network copy lent to one caller for the duration of a forward pass.
  class Lease;
  std::unique_ptr<KerasNet> acquire() const;
  void release(std::unique_ptr<KerasNet> net) const;
  std::vector<cv::Mat> forward(std::span<const ingest::RgbImage* const> images,
                               const std::vector<std::string>& layers, InputRange range) const;

  std::string name_;
  std::string default_layer_;
  tfjs::LayersModel source_;  // the weights, to build further copies
  std::map<std::string, KerasOutput> outputs_;
  std::vector<std::string> layer_order_;
  std::string input_name_;
  int input_width_ = 0, input_height_ = 0;

  mutable std::mutex pool_mutex_;
  mutable std::condition_variable pool_returned_;
  mutable std::vector<std::unique_ptr<KerasNet>> idle_;
  mutable int built_ = 0;
  int max_replicas_ = 1;
};

}  // namespace photoatlas::features
