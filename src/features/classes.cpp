#include "features/classes.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include "features/onnx_model.h"

namespace photoatlas::features {

namespace {
constexpr int kClassesVersion = 1;

bool is_wnid(const std::string& word) {
  return word.size() == 9 && word[0] == 'n' &&
         std::all_of(word.begin() + 1, word.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

std::vector<ClassLabel> load_class_labels(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read the class label file " + file.string());
  std::vector<ClassLabel> labels;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    ClassLabel label;
    const std::size_t space = line.find_first_of(" \t");
    if (space != std::string::npos && is_wnid(line.substr(0, space))) {
      label.wnid = line.substr(0, space);
      label.name = line.substr(line.find_first_not_of(" \t", space));
    } else {
      label.name = line;
    }
    labels.push_back(std::move(label));
  }
  return labels;
}

std::filesystem::path default_imagenet_labels() {
  if (const char* env = std::getenv("PHOTOATLAS_DATA_DIR")) return std::filesystem::path(env) / "imagenet_classes.txt";
  return std::filesystem::path(PHOTOATLAS_DATA_DIR) / "imagenet_classes.txt";
}

TopClasses top_classes(std::span<const float> probabilities, const std::vector<ClassLabel>& labels, int k) {
  std::vector<int> order(probabilities.size());
  std::iota(order.begin(), order.end(), 0);
  const std::size_t keep = std::min<std::size_t>(std::max(k, 0), order.size());
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), [&](int a, int b) {
    return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
  });
  TopClasses result;
  for (std::size_t i = 0; i < keep; ++i) {
    TopClass top;
    top.index = order[i];
    if (static_cast<std::size_t>(top.index) < labels.size()) {
      top.wnid = labels[top.index].wnid;
      top.name = labels[top.index].name;
    }
    top.probability = probabilities[top.index];
    result.push_back(std::move(top));
  }
  return result;
}

void softmax(std::span<float> values) {
  if (values.empty()) return;
  const float top = *std::max_element(values.begin(), values.end());
  double sum = 0.0;
  for (float& v : values) sum += std::exp(static_cast<double>(v) - top);
  for (float& v : values) v = static_cast<float>(std::exp(static_cast<double>(v) - top) / sum);
}

ClassifierExtractor::ClassifierExtractor(std::shared_ptr<const OnnxModel> model) : model_(std::move(model)) {
  if (!model_ || model_->class_layer().empty())
    throw std::invalid_argument((model_ ? model_->name() : std::string("null model")) +
                                " has no class output with a label file");
}

std::string ClassifierExtractor::id() const {
  return model_->name() + "/" + model_->class_layer() + "/probabilities@" + std::to_string(kClassesVersion);
}

std::size_t ClassifierExtractor::dims() const { return model_->labels().size(); }

int ClassifierExtractor::min_input_side() const { return model_->input_width(); }

const std::vector<ClassLabel>& ClassifierExtractor::labels() const { return model_->labels(); }

void ClassifierExtractor::extract(const ingest::RgbImage& image, std::span<float> out) const {
  const ingest::RgbImage* images[] = {&image};
  const FloatMatrix values = std::move(model_->run(images, {model_->class_layer()})[0]);
  if (out.size() != values.cols) throw std::invalid_argument("class output has the wrong length");
  std::copy(values.values.begin(), values.values.end(), out.begin());
  if (!model_->class_output_is_probability()) softmax(out);
}

}  // namespace photoatlas::features
