#include "detect/centernet.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <queue>
#include <stdexcept>

#include "features/resize_bilinear.h"

namespace photoatlas::detect {

namespace {

constexpr const char* kKeypoints = "tower_0/keypoints";
constexpr const char* kSizes = "tower_0/wh";

float iou(const RawDetection& a, const RawDetection& b) {
  // tf.image.nonMaxSuppression normalises each box's corners (min / max) before the overlap.
  const float ax1 = std::min(a.x1, a.x2), ax2 = std::max(a.x1, a.x2), ay1 = std::min(a.y1, a.y2), ay2 = std::max(a.y1, a.y2);
  const float bx1 = std::min(b.x1, b.x2), bx2 = std::max(b.x1, b.x2), by1 = std::min(b.y1, b.y2), by2 = std::max(b.y1, b.y2);
  const float area_a = (ay2 - ay1) * (ax2 - ax1), area_b = (by2 - by1) * (bx2 - bx1);
  if (area_a <= 0 || area_b <= 0) return 0.0f;
  const float iw = std::max(std::min(ax2, bx2) - std::max(ax1, bx1), 0.0f);
  const float ih = std::max(std::min(ay2, by2) - std::max(ay1, by1), 0.0f);
  const float inter = iw * ih;
  return inter / (area_a + area_b - inter);
}

}  // namespace

const std::vector<std::string>& coco_labels() {
  static const std::vector<std::string> labels = {
      "person",        "bicycle",      "car",        "motorcycle", "airplane",     "bus",          "train",
      "truck",         "boat",         "traffic light", "fire hydrant", "stop sign", "parking meter", "bench",
      "bird",          "cat",          "dog",        "horse",      "sheep",        "cow",          "elephant",
      "bear",          "zebra",        "giraffe",    "backpack",   "umbrella",     "handbag",      "tie",
      "suitcase",      "frisbee",      "skis",       "snowboard",  "sports ball",  "kite",         "baseball bat",
      "baseball glove", "skateboard",  "surfboard",  "tennis racket", "bottle",    "wine glass",   "cup",
      "fork",          "knife",        "spoon",      "bowl",       "banana",       "apple",        "sandwich",
      "orange",        "broccoli",     "carrot",     "hot dog",    "pizza",        "donut",        "cake",
      "chair",         "couch",        "potted plant", "bed",      "dining table", "toilet",       "tv",
      "laptop",        "mouse",        "remote",     "keyboard",   "cell phone",   "microwave",    "oven",
      "toaster",       "sink",         "refrigerator", "book",     "clock",        "vase",         "scissors",
      "teddy bear",    "hair drier",   "toothbrush"};
  return labels;
}

std::filesystem::path centernet_model_dir(const std::filesystem::path& project_root) {
  return project_root / "models" / "human-models";
}

void preprocess_tf1_bilinear(const ingest::RgbImage& image, int width, int height, float* planes) {
  // The bytes themselves, 0..255 (the graph scales its input).
  static const auto levels = [] {
    std::array<float, 256> out{};
    for (int q = 0; q < 256; ++q) out[static_cast<std::size_t>(q)] = static_cast<float>(q);
    return out;
  }();
  features::resize_bilinear_planes(image, width, height, features::BilinearGrid::Asymmetric, levels.data(), planes);
}

std::vector<RawDetection> decode_heatmap(std::span<const float> heatmap, std::span<const float> sizes, int classes,
                                         int height, int width, const DecodeOptions& options) {
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  if (heatmap.size() != plane * classes || sizes.size() != plane * 4)
    throw std::invalid_argument("decode_heatmap: outputs of the wrong size");
  // The k best (score, HWC index) pairs seen so far; the heap's top is the worst of them. Only a
  // cell that would enter it is tested for being a peak, which skips almost the whole map.
  struct Entry {
    float score;
    std::size_t index;
  };
  const auto better = [](const Entry& a, const Entry& b) {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(better)> best(better);
  const std::size_t k = static_cast<std::size_t>(std::max(options.top_k, 0));
  for (int c = 0; c < classes && k > 0; ++c) {
    const float* map = heatmap.data() + static_cast<std::size_t>(c) * plane;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const float v = map[static_cast<std::size_t>(y) * width + x];
        const Entry entry{v, (static_cast<std::size_t>(y) * width + x) * classes + c};
        if (best.size() == k && !better(entry, best.top())) continue;
        // 3 x 3 max-pool with 'SAME' padding (padded cells take no part); equal neighbours both stay.
        bool peak = true;
        for (int dy = -1; dy <= 1 && peak; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            const int yy = y + dy, xx = x + dx;
            if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
            if (map[static_cast<std::size_t>(yy) * width + xx] > v) {
              peak = false;
              break;
            }
          }
        // TF multiplies non-peaks by 0; a sigmoid is never 0, so they can only fill a short list.
        if (!peak) continue;
        best.push(entry);
        if (best.size() > k) best.pop();
      }
  }
  std::vector<Entry> entries;
  while (!best.empty()) {
    entries.push_back(best.top());
    best.pop();
  }
  std::reverse(entries.begin(), entries.end());
  std::vector<RawDetection> rows;
  rows.reserve(entries.size());
  for (const Entry& e : entries) {
    const int c = static_cast<int>(e.index % classes);
    const std::size_t cell = e.index / classes;
    const int x = static_cast<int>(cell % width), y = static_cast<int>(cell / width);
    const float cx = options.stride * static_cast<float>(x), cy = options.stride * static_cast<float>(y);
    RawDetection d;
    d.x1 = cx - sizes[0 * plane + cell];
    d.y1 = cy - sizes[1 * plane + cell];
    d.x2 = cx + sizes[2 * plane + cell];
    d.y2 = cy + sizes[3 * plane + cell];
    d.score = e.score;
    d.class_index = c;
    rows.push_back(d);
  }
  return rows;
}

std::vector<std::size_t> non_max_suppression(const std::vector<RawDetection>& rows, const NmsOptions& options) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].score > options.score_threshold) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rows[a].score > rows[b].score; });
  std::vector<std::size_t> kept;
  for (std::size_t i : order) {
    if (static_cast<int>(kept.size()) >= options.max_detections) break;
    bool suppressed = false;
    for (std::size_t j : kept)
      if (iou(rows[i], rows[j]) > options.iou_threshold) {
        suppressed = true;
        break;
      }
    if (!suppressed) kept.push_back(i);
  }
  return kept;
}

std::shared_ptr<CenterNet> CenterNet::load(const std::filesystem::path& folder) {
  const std::filesystem::path json = folder / "centernet.json";
  if (!std::filesystem::exists(json) || !std::filesystem::exists(folder / "centernet.bin"))
    throw std::runtime_error("the CenterNet object detector is not installed (" + json.string() +
                             " or centernet.bin is missing): run scripts/setup");
  return std::make_shared<CenterNet>(load_graph_model(json));
}

CenterNet::CenterNet(const GraphModel& graph) {
  GraphNet built = build_graph_net(graph, {kKeypoints, kSizes});
  if (built.input_channels != 3 || built.input_height != built.input_width)
    throw std::runtime_error("CenterNet: expected a square RGB input");
  const std::vector<int>& heat = built.output_shapes[0];
  const std::vector<int>& wh = built.output_shapes[1];
  if (heat.size() != 3 || wh.size() != 3 || wh[2] != 4 || heat[0] != wh[0] || heat[1] != wh[1] ||
      heat[0] * 4 != built.input_height || heat[2] != static_cast<int>(coco_labels().size()))
    throw std::runtime_error("CenterNet: unexpected output shapes (want [H/4, W/4, 80] and [H/4, W/4, 4])");
  input_size_ = built.input_height;
  keypoints_layer_ = built.output_layers[0];
  wh_layer_ = built.output_layers[1];
  net_ = std::move(built.net);
  net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
}

std::vector<RawDetection> CenterNet::raw_detections(const ingest::RgbImage& image, const DecodeOptions& options) const {
  const int s = input_size_;
  const int dims[] = {1, 3, s, s};
  cv::Mat blob(4, dims, CV_32F);
  preprocess_tf1_bilinear(image, s, s, blob.ptr<float>());
  std::vector<cv::Mat> outputs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    net_.setInput(blob);
    net_.forward(outputs, std::vector<cv::String>{keypoints_layer_, wh_layer_});
  }
  const int cells = s / 4;
  const auto span_of = [](const cv::Mat& m) {
    if (!m.isContinuous()) throw std::runtime_error("CenterNet: non-contiguous output");
    return std::span<const float>(m.ptr<float>(), m.total());
  };
  return decode_heatmap(span_of(outputs[0]), span_of(outputs[1]), static_cast<int>(coco_labels().size()), cells,
                        cells, options);
}

std::vector<Detection> CenterNet::detect(const ingest::RgbImage& image, const NmsOptions& options) const {
  const std::vector<RawDetection> rows = raw_detections(image);
  std::vector<Detection> out;
  const float s = static_cast<float>(input_size_);
  for (std::size_t i : non_max_suppression(rows, options)) {
    const RawDetection& r = rows[i];
    out.push_back({r.class_index, r.score, r.x1 / s, r.y1 / s, r.x2 / s, r.y2 / s});
  }
  return out;
}

}  // namespace photoatlas::detect
