#include "features/cnn_extractor.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace photoatlas::features {

namespace {
// Part of every id: raise it when the same model and layer would give different numbers
// (preprocessing, pooling, normalisation), so cached features are recomputed.
constexpr int kCnnFeatureVersion = 1;
}  // namespace

const std::vector<NsfwjsModelInfo>& nsfwjs_models() {
  static const std::vector<NsfwjsModelInfo> models = {
      {"inception_v3", "mixed5", "flatten_1", "dense_3"},
      {"mobilenet_v2", "block_10_project_BN", "flatten_1", "dense_3"},
  };
  return models;
}

const NsfwjsModelInfo* find_nsfwjs_model(const std::string& name) {
  for (const NsfwjsModelInfo& info : nsfwjs_models())
    if (info.name == name) return &info;
  return nullptr;
}

const std::vector<std::string>& nsfwjs_classes() {
  static const std::vector<std::string> classes = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};
  return classes;
}

std::filesystem::path nsfwjs_package_dir(const std::filesystem::path& project_root) {
  return project_root / "models" / "nsfwjs" / "node_modules" / "nsfwjs";
}

std::shared_ptr<CnnModel> load_nsfwjs_model(const std::filesystem::path& package_dir, const std::string& name) {
  const NsfwjsModelInfo* info = find_nsfwjs_model(name);
  if (!info) throw std::invalid_argument("unknown nsfwjs model '" + name + "' (inception_v3 or mobilenet_v2)");
  std::ifstream manifest(package_dir / "package.json");
  if (!manifest)
    throw std::runtime_error("the nsfwjs model package is not installed (" + package_dir.string() +
                             " is missing): run scripts/setup");
  const std::string version = nlohmann::json::parse(manifest).value("version", "");
  if (version != kNsfwjsVersion)
    throw std::runtime_error("nsfwjs " + version + " is installed at " + package_dir.string() + ", photoatlas needs " +
                             kNsfwjsVersion + ": run scripts/setup");
  std::shared_ptr<CnnModel> model =
      CnnModel::load(package_dir / "dist" / "models" / name, "nsfwjs-" + version + "/" + name);
  model->set_default_layer(info->default_layer);
  return model;
}

CnnExtractor::CnnExtractor(std::shared_ptr<const Network> model, CnnExtractorOptions options)
    : model_(std::move(model)), layer_(std::move(options.layer)), l2_normalize_(options.l2_normalize) {
  if (!model_) throw std::invalid_argument("CnnExtractor needs a model");
  if (layer_.empty()) layer_ = model_->default_layer();
  if (layer_.empty()) throw std::invalid_argument(model_->name() + " has no default layer: name one");
  dims_ = model_->output_dims(layer_);
}

std::string CnnExtractor::id() const {
  return model_->name() + "/" + layer_ + "/gap" + (l2_normalize_ ? "/l2" : "") + "@" +
         std::to_string(kCnnFeatureVersion);
}

int CnnExtractor::min_input_side() const { return std::max(model_->input_width(), model_->input_height()); }

void CnnExtractor::extract(const ingest::RgbImage& image, std::span<float> out) const {
  const ingest::RgbImage* images[] = {&image};
  extract_batch(images, out);
}

void CnnExtractor::extract_batch(std::span<const ingest::RgbImage* const> images, std::span<float> out) const {
  if (out.size() != images.size() * dims_) throw std::invalid_argument("CNN feature output has the wrong length");
  const FloatMatrix features = std::move(model_->run(images, {layer_})[0]);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const float* row = features.row(i);
    float* dst = out.data() + i * dims_;
    double norm = 0.0;
    for (std::size_t k = 0; k < dims_; ++k) norm += static_cast<double>(row[k]) * row[k];
    const double scale = l2_normalize_ && norm > 0.0 ? 1.0 / std::sqrt(norm) : 1.0;
    for (std::size_t k = 0; k < dims_; ++k) dst[k] = static_cast<float>(row[k] * scale);
  }
}

}  // namespace photoatlas::features
