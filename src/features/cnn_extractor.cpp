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
      {"inception_v3", "mixed5", "mixed6+mixed7", Pooling::Quadrants, CnnNormalization::SignedSqrtL2,
       InputRange::ZeroOne, "flatten_1", "dense_3"},
      {"mobilenet_v2", "block_10_project_BN", "block_10_project_BN", Pooling::Average, CnnNormalization::None,
       InputRange::ZeroOne, "flatten_1", "dense_3"},
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
  model->set_default_layer(info->default_features);
  return model;
}

const char* to_string(CnnNormalization normalization) {
  switch (normalization) {
    case CnnNormalization::None: return "none";
    case CnnNormalization::L2: return "l2";
    case CnnNormalization::SignedSqrtL2: return "sqrt-l2";
  }
  return "?";
}

namespace {

// In place: optional signed square root, then division by the L2 norm (a zero vector stays zero).
void normalize(std::span<float> v, bool signed_sqrt) {
  double norm = 0.0;
  for (float& x : v) {
    if (signed_sqrt) x = std::copysign(std::sqrt(std::abs(x)), x);
    norm += static_cast<double>(x) * x;
  }
  if (norm <= 0.0) return;
  const double scale = 1.0 / std::sqrt(norm);
  for (float& x : v) x = static_cast<float>(x * scale);
}

// The default features of an nsfwjs model come with their own pooling and normalisation.
const NsfwjsModelInfo* nsfwjs_defaults_of(const Network& model) {
  for (const NsfwjsModelInfo& info : nsfwjs_models())
    if (model.name().ends_with("/" + info.name) && model.name().starts_with("nsfwjs-") &&
        model.default_layer() == info.default_features)
      return &info;
  return nullptr;
}

}  // namespace

CnnExtractor::CnnExtractor(std::shared_ptr<const Network> model, CnnExtractorOptions options)
    : model_(std::move(model)), layer_(std::move(options.layer)) {
  if (!model_) throw std::invalid_argument("CnnExtractor needs a model");
  const bool default_features = layer_.empty();
  if (default_features) layer_ = model_->default_layer();
  if (layer_.empty()) throw std::invalid_argument(model_->name() + " has no default layer: name one");
  layers_ = split_layer_spec(layer_);
  const NsfwjsModelInfo* preset = default_features ? nsfwjs_defaults_of(*model_) : nullptr;
  normalization_ = options.normalization ? *options.normalization
                   : preset              ? preset->default_normalization
                                         : CnnNormalization::None;
  pooling_ = options.pooling ? *options.pooling : preset ? preset->default_pooling : Pooling::Average;
  input_range_ = options.input_range ? *options.input_range : preset ? preset->default_input_range : InputRange::ZeroOne;
  for (const std::string& layer : layers_)
    dims_ += model_->output_dims(layer) * (pooling_ == Pooling::Quadrants ? 4 : 1);
}

std::string CnnExtractor::id() const {
  static const char* const suffix[] = {"", "/l2", "/sqrt-l2"};
  return model_->name() + "/" + layer_ + "/" + to_string(pooling_) + suffix[static_cast<int>(normalization_)] +
         (input_range_ == InputRange::ZeroOne ? "" : std::string("/") + to_string(input_range_)) + "@" +
         std::to_string(kCnnFeatureVersion);
}

int CnnExtractor::min_input_side() const { return std::max(model_->input_width(), model_->input_height()); }

void CnnExtractor::extract(const ingest::RgbImage& image, std::span<float> out) const {
  const ingest::RgbImage* images[] = {&image};
  extract_batch(images, out);
}

void CnnExtractor::extract_batch(std::span<const ingest::RgbImage* const> images, std::span<float> out) const {
  if (out.size() != images.size() * dims_) throw std::invalid_argument("CNN feature output has the wrong length");
  const std::vector<FloatMatrix> pooled = model_->run(images, layers_, pooling_, input_range_);
  const bool fused = layers_.size() > 1;
  const bool signed_sqrt = normalization_ == CnnNormalization::SignedSqrtL2;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::span<float> row = out.subspan(i * dims_, dims_);
    std::size_t at = 0;
    for (const FloatMatrix& part : pooled) {
      const std::span<float> dst = row.subspan(at, part.cols);
      std::copy_n(part.row(i), part.cols, dst.begin());
      if (fused) normalize(dst, signed_sqrt);  // each part on its own scale first
      at += part.cols;
    }
    if (normalization_ != CnnNormalization::None) normalize(row, signed_sqrt && !fused);
    else if (fused) normalize(row, false);
  }
}

}  // namespace photoatlas::features
