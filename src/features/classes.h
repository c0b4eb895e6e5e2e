// Class labels of a classifier's output (ImageNet: one "wnid name" line per class, index order)
// and the top-k classes of one image: what the categories stage turns into class / category columns.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "features/extractor.h"

namespace photoatlas::features {

class OnnxModel;

struct ClassLabel {
  std::string wnid;  // WordNet noun synset ("n02084071"); empty when the file has names only
  std::string name;  // "tench", "golden_retriever", ...
};

// Reads one label per line, in output-index order: "nXXXXXXXX name" or just "name". Blank lines and
// lines starting with '#' are skipped. Throws std::runtime_error when the file cannot be read.
std::vector<ClassLabel> load_class_labels(const std::filesystem::path& file);

// The ImageNet-1k label file shipped with photoatlas ($PHOTOATLAS_DATA_DIR or the source tree's data/).
std::filesystem::path default_imagenet_labels();

struct TopClass {
  int index = 0;             // output index
  std::string wnid;          // from the label file (may be empty)
  std::string name;
  float probability = 0.0f;  // softmax probability
};
using TopClasses = std::vector<TopClass>;  // best first

// The k most probable classes of one probability vector (ties: lower index first).
TopClasses top_classes(std::span<const float> probabilities, const std::vector<ClassLabel>& labels, int k = 5);

// softmax in place (max-subtracted, accumulated in double).
void softmax(std::span<float> values);

// The class probabilities of an ONNX classifier as an extractor (one row of labels().size()
// probabilities per image), so the image pass computes and caches them with the features. On the
// same model as a CnnExtractor, one forward pass serves both (see OnnxModel::share_layers).
class ClassifierExtractor final : public Extractor {
 public:
  // Throws std::invalid_argument when the model has no class output with labels.
  explicit ClassifierExtractor(std::shared_ptr<const OnnxModel> model);
  std::string id() const override;
  std::string short_name() const override { return "classes"; }
  std::size_t dims() const override;
  int min_input_side() const override;
  void extract(const ingest::RgbImage& image, std::span<float> out) const override;
  const std::vector<ClassLabel>& labels() const;

 private:
  std::shared_ptr<const OnnxModel> model_;
};

}  // namespace photoatlas::features
