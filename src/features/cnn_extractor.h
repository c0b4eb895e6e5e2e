// CNN features: one layer (or several, fused) of an imported network, pooled to a vector and
// normalised. The default network is InceptionV3 from the npm package nsfwjs (installed by
// scripts/setup into models/nsfwjs/node_modules); its default features are mixed6+mixed7, each
// pooled over the four quadrants, signed-square-rooted and L2-normalised: the best of the layers,
// poolings and normalisations measured on intel_scenes (bench/results/cnn_quality.md). The middle
// blocks make far better general-purpose features than the fine-tuned top
// (../shared/reference/nsfwjs-features).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "features/cnn_model.h"
#include "features/extractor.h"

namespace photoatlas::features {

// What happens to the pooled vectors. Signed square root (x -> sign(x) sqrt|x|, "power
// normalisation") damps the few channels that fire strongly everywhere, so distances weigh the many
// weaker ones too; it helped every layer on intel_scenes (bench/results/cnn_quality.md).
enum class CnnNormalization {
  None,          // as pooled
  L2,            // divided by the L2 norm (a zero vector stays zero)
  SignedSqrtL2,  // signed square root, then L2
};
const char* to_string(CnnNormalization normalization);

// The models inside nsfwjs, with the layers the reference measured.
struct NsfwjsModelInfo {
  std::string name;            // folder under dist/models: "inception_v3", "mobilenet_v2"
  std::string default_layer;   // last fully frozen block (the reference's "frozen" features)
  // The extractor's default features, chosen on intel_scenes (bench/results/cnn_quality.md).
  std::string default_features;  // a layer spec
  Pooling default_pooling;
  CnnNormalization default_normalization;
  InputRange default_input_range;
  std::string pooled_layer;    // the fine-tuned top's pooled feature ("flatten_1")
  std::string classes_layer;   // 5-way softmax, classes in nsfwjs_classes() order
};
const std::vector<NsfwjsModelInfo>& nsfwjs_models();
const NsfwjsModelInfo* find_nsfwjs_model(const std::string& name);  // null when unknown
const std::vector<std::string>& nsfwjs_classes();                   // Drawing, Hentai, Neutral, Porn, Sexy

// The nsfwjs version whose models the reference vectors (and the golden test) pin down.
inline constexpr const char* kNsfwjsVersion = "4.4.0";

// <project>/models/nsfwjs/node_modules/nsfwjs: where scripts/setup installs the package.
std::filesystem::path nsfwjs_package_dir(const std::filesystem::path& project_root);

// Imports one nsfwjs model from the installed package (about a second for InceptionV3). Throws with
// "run scripts/setup" when the package is missing, and when its version is not kNsfwjsVersion.
std::shared_ptr<CnnModel> load_nsfwjs_model(const std::filesystem::path& package_dir, const std::string& name);

struct CnnExtractorOptions {
  // Empty = the model's default_layer(): for nsfwjs InceptionV3 the fusion chosen by measurement
  // (NsfwjsModelInfo::default_features), which also sets the normalisation when it is unset.
  std::string layer;
  // Unset: the model's recommended one for its default features (nsfwjs: SignedSqrtL2), else None
  // (a fusion still L2-normalises its parts). `--l2` sets L2.
  std::optional<CnnNormalization> normalization;
  // Unset: the model's recommended one for its default features (nsfwjs InceptionV3: Quadrants),
  // else Average.
  std::optional<Pooling> pooling;
  // Unset: the model's recommended one for its default features, else ZeroOne (nsfwjs' own).
  std::optional<InputRange> input_range;
};

class CnnExtractor final : public Extractor {
 public:
  CnnExtractor(std::shared_ptr<const Network> model, CnnExtractorOptions options);

  // "<model>/<layer spec>/<gap|quad>[/l2|/sqrt-l2][/pm1]@<version>",
  // e.g. "nsfwjs-4.4.0/inception_v3/mixed5/gap@1" ([0,1] input has no suffix: the ids cached before
  // the input range was a choice stay valid).
  std::string id() const override;
  std::string short_name() const override { return "cnn"; }
  std::size_t dims() const override { return dims_; }
  // The network's input side: decoding smaller and then stretching would lose detail.
  int min_input_side() const override;
  void extract(const ingest::RgbImage& image, std::span<float> out) const override;
  // Several images through the network at once; `out` holds images.size() rows of dims().
  void extract_batch(std::span<const ingest::RgbImage* const> images, std::span<float> out) const;

  const std::string& layer() const { return layer_; }  // the spec, e.g. "mixed5+mixed7"
  const std::vector<std::string>& layers() const { return layers_; }
  CnnNormalization normalization() const { return normalization_; }
  Pooling pooling() const { return pooling_; }
  InputRange input_range() const { return input_range_; }
  const std::string& model_name() const { return model_->name(); }

 private:
  std::shared_ptr<const Network> model_;
  std::string layer_;
  std::vector<std::string> layers_;
  CnnNormalization normalization_;
  Pooling pooling_;
  InputRange input_range_;
  std::size_t dims_ = 0;
};

}  // namespace photoatlas::features
