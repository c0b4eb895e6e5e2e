// Object tags: the detector as a features::Extractor (so its rows are cached with the other features
// by content hash), and what the atlas shows of a row: labels above a score threshold, with counts.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "detect/centernet.h"
#include "features/extractor.h"

namespace photoatlas::detect {

struct ObjectExtractorOptions {
  NmsOptions nms;  // human's defaults: IoU 0.4, score > 0.2, at most 10 per photo
};

// One row per image: nms.max_detections slots of {class, score, x1, y1, x2, y2} (box as fractions of
// the image), best first; unused slots have class -1 and score 0.
class ObjectExtractor final : public features::Extractor {
 public:
  ObjectExtractor(std::shared_ptr<const CenterNet> model, ObjectExtractorOptions options = {});
  std::string id() const override;
  std::string short_name() const override { return "objects"; }
  std::size_t dims() const override;
  // The image is stretched to 512 x 512; a shorter side of 512 keeps every detail the model sees.
  int min_input_side() const override;
  void extract(const ingest::RgbImage& image, std::span<float> out) const override;

 private:
  std::shared_ptr<const CenterNet> model_;
  ObjectExtractorOptions options_;
};

// The detections stored in an ObjectExtractor row.
std::vector<Detection> detections_from_row(std::span<const float> row);

struct ObjectTag {
  std::string label;       // COCO label ("person")
  int count = 0;           // detections of that label above the threshold
  float best_score = 0;    // the highest of their scores
};

// Labels with at least one detection scoring at least `threshold`, by descending best score.
std::vector<ObjectTag> object_tags(const std::vector<Detection>& detections, float threshold);

// "person ×3, dog": a tag's label, with the count when more than one.
std::string format_object_tags(const std::vector<ObjectTag>& tags);

}  // namespace photoatlas::detect
