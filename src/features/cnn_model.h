// One inference path for every imported CNN: images -> the preprocessing the model was trained with
// -> OpenCV DNN -> any named layer, global-average-pooled when it is spatial.
#pragma once

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

// nsfwjs's preprocessing (NSFWJS.infer in nsfwjs 4.4.0), bit for bit: bytes / 255 in float32,
// then, unless the image already has that size, TF.js resizeBilinear(alignCorners = true,
// halfPixelCenters = false, no antialiasing) with its arithmetic in double; RGB order; stretched,
// not cropped. Writes planar (3 x height x width) floats to `planes`.
void preprocess_align_corners(const ingest::RgbImage& image, int width, int height, float* planes);

// One row per image of an N x C x (H x W) output, each channel averaged over its H x W cells in
// double (a 2-D output is copied as it is: one cell per channel). Shared by every Network.
FloatMatrix global_average_pool(const cv::Mat& nchw, std::size_t images, std::size_t channels);

class CnnModel final : public Network {
 public:
  // `name` identifies the weights (e.g. "nsfwjs-4.4.0/inception_v3"); it becomes part of feature ids.
  CnnModel(const tfjs::LayersModel& model, std::string name);

  // A folder holding a TF.js layers model: model.json + shards, or nsfwjs's model.min.js bundle.
  static std::shared_ptr<CnnModel> load(const std::filesystem::path& folder, std::string name);

  const std::string& name() const override { return name_; }
  // The layer whose features a preset recommends (empty when none); extractors use it by default.
  const std::string& default_layer() const override { return default_layer_; }
  void set_default_layer(std::string layer);
  int input_width() const override { return net_.input_width; }
  int input_height() const override { return net_.input_height; }
  bool has_layer(const std::string& layer) const override { return net_.outputs.count(layer) > 0; }
  const std::vector<std::string>& layers() const { return net_.layer_order; }
  // Length of a layer's pooled output: channels for an H x W x C layer, the length of a vector layer.
  std::size_t output_dims(const std::string& layer) const override;

  // Runs the images as one batch and returns, for each requested layer, one row per image.
  // Thread-safe (calls are serialised; OpenCV parallelises inside each call).
  std::vector<FloatMatrix> run(std::span<const ingest::RgbImage* const> images,
                               const std::vector<std::string>& layers) const override;

  // The layers' raw outputs for the batch (N x C x H x W, or N x C for vector layers), copied out
  // of the network: for pooling experiments (bench/bench_cnn_quality) and poolings other than GAP.
  std::vector<cv::Mat> run_maps(std::span<const ingest::RgbImage* const> images,
                                const std::vector<std::string>& layers) const;

 private:
  std::string name_;
  std::string default_layer_;
  mutable KerasNet net_;  // cv::dnn::Net::forward is not const, and not reentrant: guarded by mutex_
  mutable std::mutex mutex_;
};

}  // namespace photoatlas::features
