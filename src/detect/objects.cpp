#include "detect/objects.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace photoatlas::detect {

namespace {
constexpr std::size_t kSlot = 6;  // class, score, x1, y1, x2, y2
}

ObjectExtractor::ObjectExtractor(std::shared_ptr<const CenterNet> model, ObjectExtractorOptions options)
    : model_(std::move(model)), options_(options) {
  if (!model_) throw std::invalid_argument("ObjectExtractor needs a model");
  if (options_.nms.max_detections < 1) throw std::invalid_argument("ObjectExtractor: max_detections must be at least 1");
}

std::string ObjectExtractor::id() const {
  char settings[96];
  std::snprintf(settings, sizeof settings, "nms%g-min%g-max%d", options_.nms.iou_threshold,
                options_.nms.score_threshold, options_.nms.max_detections);
  // "@1": the row layout's version; bump it when the decoding changes.
  return std::string("human-models-") + kHumanModelsVersion + "/centernet/" + settings + "@1";
}

std::size_t ObjectExtractor::dims() const { return kSlot * static_cast<std::size_t>(options_.nms.max_detections); }

int ObjectExtractor::min_input_side() const { return model_->input_size(); }

void ObjectExtractor::extract(const ingest::RgbImage& image, std::span<float> out) const {
  if (out.size() != dims()) throw std::invalid_argument("ObjectExtractor: output of the wrong length");
  for (std::size_t s = 0; s < out.size(); s += kSlot) {
    out[s] = -1.0f;
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(s) + 1, out.begin() + static_cast<std::ptrdiff_t>(s + kSlot), 0.0f);
  }
  const std::vector<Detection> found = model_->detect(image, options_.nms);
  for (std::size_t i = 0; i < found.size() && (i + 1) * kSlot <= out.size(); ++i) {
    const Detection& d = found[i];
    float* slot = out.data() + i * kSlot;
    slot[0] = static_cast<float>(d.class_index);
    slot[1] = d.score;
    slot[2] = d.x1;
    slot[3] = d.y1;
    slot[4] = d.x2;
    slot[5] = d.y2;
  }
}

std::vector<Detection> detections_from_row(std::span<const float> row) {
  std::vector<Detection> out;
  const int classes = static_cast<int>(coco_labels().size());
  for (std::size_t s = 0; s + kSlot <= row.size(); s += kSlot) {
    const int c = static_cast<int>(row[s]);
    if (c < 0 || c >= classes) continue;
    out.push_back({c, row[s + 1], row[s + 2], row[s + 3], row[s + 4], row[s + 5]});
  }
  return out;
}

std::vector<ObjectTag> object_tags(const std::vector<Detection>& detections, float threshold) {
  std::map<int, ObjectTag> by_class;
  for (const Detection& d : detections) {
    if (!(d.score >= threshold) || d.class_index < 0 || d.class_index >= static_cast<int>(coco_labels().size())) continue;
    ObjectTag& tag = by_class[d.class_index];
    tag.label = coco_labels()[d.class_index];
    ++tag.count;
    tag.best_score = std::max(tag.best_score, d.score);
  }
  std::vector<ObjectTag> tags;
  for (auto& [c, tag] : by_class) tags.push_back(std::move(tag));
  std::stable_sort(tags.begin(), tags.end(), [](const ObjectTag& a, const ObjectTag& b) { return a.best_score > b.best_score; });
  return tags;
}

std::string format_object_tags(const std::vector<ObjectTag>& tags) {
  std::string text;
  for (const ObjectTag& tag : tags) {
    if (!text.empty()) text += ", ";
    text += tag.label;
    if (tag.count > 1) text += " \u00d7" + std::to_string(tag.count);
  }
  return text;
}

}  // namespace photoatlas::detect
