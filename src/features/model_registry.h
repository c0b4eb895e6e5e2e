// Models beyond the bundled nsfwjs ones: presets for well-known ONNX models, a models folder with a
// small JSON registry (what was pulled or imported, from where, with which sha256), and the one
// function the pipeline calls to turn a --model argument into a network.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "features/network.h"
#include "features/onnx_model.h"

namespace photoatlas::features {

struct ModelPreset {
  std::string name;         // what --model and `models pull` take: "vgg19", "resnet50", "mobilenetv2"
  std::string description;
  std::string url;          // official download address (ONNX model zoo)
  std::string sha256;       // expected sha256 of the file; empty where not known
  std::uint64_t size = 0;   // bytes, for the listing (0 = unknown)
  std::string file_name;    // name in the models folder
  std::string layer;        // default feature layer ("fc1", "pool" or a tensor name)
  OnnxPreprocessing preprocessing;
  std::string labels;       // label file in photoatlas' data folder ("imagenet_classes.txt")
};
const std::vector<ModelPreset>& model_presets();
const ModelPreset* find_model_preset(const std::string& name);  // null when unknown

struct RegisteredModel {
  std::string name;
  std::string file;         // inside the models folder
  std::string sha256;       // what the download / import saw
  std::uint64_t size = 0;
  std::string source;       // URL or the imported file's path
  std::string preset;       // preset whose settings apply (empty = plain ONNX defaults)
  std::string added;        // UTC time, ISO 8601
};

class ModelRegistry {
 public:
  // $PHOTOATLAS_MODELS_DIR, else $XDG_CACHE_HOME/photoatlas/models, else ~/.cache/photoatlas/models.
  static std::filesystem::path default_dir();

  // Reads <dir>/registry.json when it exists (the folder is made on the first write).
  explicit ModelRegistry(std::filesystem::path dir);
  const std::filesystem::path& dir() const { return dir_; }
  const std::vector<RegisteredModel>& models() const { return models_; }
  const RegisteredModel* find(const std::string& name) const;  // null when unknown
  std::filesystem::path path_of(const RegisteredModel& model) const { return dir_ / model.file; }

  // Downloads a preset (by name) or a URL, verifies the sha256 (the given one, else the preset's)
  // and registers it under `name` (default: the preset name or the URL's file stem).
  struct PullOptions {
    std::string name;
    std::string sha256;
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
    int attempts = 3;
    int timeout_seconds = 60;
  };
  RegisteredModel pull(const std::string& preset_or_url, const PullOptions& options);
  // Copies a local ONNX file into the folder and registers it (name default: the file stem).
  RegisteredModel import_file(const std::filesystem::path& file, const std::string& name = {},
                              const std::string& expected_sha256 = {});

 private:
  void add(RegisteredModel model);  // replaces one of the same name; writes registry.json atomically
  void save() const;

  std::filesystem::path dir_;
  std::vector<RegisteredModel> models_;
};

// What --model and its companions ask for.
struct NetworkSpec {
  // "inception_v3" / "mobilenet_v2" (nsfwjs), a preset or registered name, or a path to a .onnx file.
  std::string model;
  std::filesystem::path nsfwjs_dir;   // the installed nsfwjs package
  std::filesystem::path models_dir;   // empty = ModelRegistry::default_dir()
  int input_size = 0;                 // 0 = the preset's / the model's own
  std::optional<std::array<float, 3>> mean, std;  // override the preset's / the ImageNet default
};

// Loads the network. ONNX models without a preset get ImageNet normalisation unless mean / std say
// otherwise. Throws with what to do (e.g. "run photoatlas models pull vgg19") when it is missing.
std::shared_ptr<Network> load_network(const NetworkSpec& spec);

}  // namespace photoatlas::features
