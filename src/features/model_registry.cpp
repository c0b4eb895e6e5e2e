#include "features/model_registry.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "features/cnn_extractor.h"
#include "features/download.h"
#include "features/sha256.h"

namespace photoatlas::features {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 100 || name[0] == '.') return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

fs::path data_dir() {
  if (const char* env = std::getenv("PHOTOATLAS_DATA_DIR")) return env;
  return PHOTOATLAS_DATA_DIR;
}

constexpr const char* kZoo = "https://github.com/onnx/models/raw/main/validated/vision/classification/";

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = [] {
    std::vector<ModelPreset> p;
    // ONNX model zoo (MXNet Gluon exports): RGB, 224 x 224, ImageNet mean / std, 1000 ImageNet logits.
    // sha256 values are the Git LFS object ids of the zoo's files (LFS ids are the content's sha256).
    p.push_back({"vgg19", "VGG19 (the study's network), ONNX model zoo vgg19-7; features: fc1 (4096-d, after ReLU)",
                 std::string(kZoo) + "vgg/model/vgg19-7.onnx", "", 548146000, "vgg19-7.onnx", "fc1",
                 imagenet_preprocessing(224), "imagenet_classes.txt"});
    p.push_back({"resnet50", "ResNet-50 v2, ONNX model zoo resnet50-v2-7; features: global average pool (2048-d)",
                 std::string(kZoo) + "resnet/model/resnet50-v2-7.onnx",
                 "1e80e8a7c8eec8e8b20c440d7dd7f2f8590779c7c2859dc4514870dc463845d3", 102442450, "resnet50-v2-7.onnx",
                 "pool", imagenet_preprocessing(224), "imagenet_classes.txt"});
    p.push_back({"mobilenetv2", "MobileNetV2 1.0, ONNX model zoo mobilenetv2-7; features: global average pool (1280-d)",
                 std::string(kZoo) + "mobilenet/model/mobilenetv2-7.onnx",
                 "c1c513582d56afceff8516c73804e484c81c6a830712ab6d682253f4a3cd042f", 14246826, "mobilenetv2-7.onnx",
                 "pool", imagenet_preprocessing(224), "imagenet_classes.txt"});
    return p;
  }();
  return presets;
}

const ModelPreset* find_model_preset(const std::string& name) {
  for (const ModelPreset& preset : model_presets())
    if (preset.name == name) return &preset;
  return nullptr;
}

fs::path ModelRegistry::default_dir() {
  if (const char* env = std::getenv("PHOTOATLAS_MODELS_DIR"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "photoatlas" / "models";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "photoatlas" / "models";
}

ModelRegistry::ModelRegistry(fs::path dir) : dir_(std::move(dir)) {
  const fs::path file = dir_ / "registry.json";
  if (!fs::exists(file)) return;
  std::ifstream in(file);
  json doc;
  try {
    doc = json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + " is not valid JSON: " + e.what());
  }
  for (const json& entry : doc.value("models", json::array())) {
    RegisteredModel m;
    m.name = entry.value("name", "");
    m.file = entry.value("file", "");
    m.sha256 = entry.value("sha256", "");
    m.size = entry.value("size", std::uint64_t{0});
    m.source = entry.value("source", "");
    m.preset = entry.value("preset", "");
    m.added = entry.value("added", "");
    if (valid_name(m.name) && !m.file.empty() && fs::path(m.file).filename() == m.file) models_.push_back(std::move(m));
  }
}

const RegisteredModel* ModelRegistry::find(const std::string& name) const {
  for (const RegisteredModel& m : models_)
    if (m.name == name) return &m;
  return nullptr;
}

void ModelRegistry::save() const {
  json doc;
  doc["version"] = 1;
  doc["models"] = json::array();
  for (const RegisteredModel& m : models_)
    doc["models"].push_back({{"name", m.name}, {"file", m.file}, {"sha256", m.sha256}, {"size", m.size},
                             {"source", m.source}, {"preset", m.preset}, {"added", m.added}});
  fs::create_directories(dir_);
  const fs::path tmp = dir_ / "registry.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, dir_ / "registry.json");
}

void ModelRegistry::add(RegisteredModel model) {
  model.added = now_utc();
  for (RegisteredModel& m : models_)
    if (m.name == model.name) {
      m = std::move(model);
      save();
      return;
    }
  models_.push_back(std::move(model));
  save();
}

RegisteredModel ModelRegistry::pull(const std::string& preset_or_url, const PullOptions& options) {
  const ModelPreset* preset = find_model_preset(preset_or_url);
  std::string url = preset_or_url;
  RegisteredModel model;
  std::string expected = lower(options.sha256);
  if (preset) {
    url = preset->url;
    model.name = options.name.empty() ? preset->name : options.name;
    model.file = preset->file_name;
    model.preset = preset->name;
    if (expected.empty()) expected = preset->sha256;
  } else {
    const auto [host, path] = split_url(url);  // throws for anything but http(s) URLs
    std::string stem = fs::path(path.substr(0, path.find_first_of("?#"))).filename().string();
    if (stem.empty()) throw std::invalid_argument("the URL names no file: " + url + " (give --name)");
    model.file = stem;
    model.name = options.name.empty() ? fs::path(stem).stem().string() : options.name;
  }
  if (!valid_name(model.name)) throw std::invalid_argument("'" + model.name + "' is not a usable model name");
  if (!valid_name(model.file)) model.file = model.name + ".onnx";
  if (!expected.empty() && expected.size() != 64) throw std::invalid_argument("a sha256 has 64 hex digits: " + expected);

  DownloadOptions download;
  download.expected_sha256 = expected;
  download.progress = options.progress;
  download.attempts = options.attempts;
  download.timeout_seconds = options.timeout_seconds;
  const DownloadResult result = download_file(url, dir_ / model.file, download);
  model.sha256 = result.sha256;
  model.size = result.bytes;
  model.source = url;
  add(model);
  return *find(model.name);
}

RegisteredModel ModelRegistry::import_file(const fs::path& file, const std::string& name,
                                           const std::string& expected_sha256) {
  if (!fs::is_regular_file(file)) throw std::runtime_error("no such file: " + file.string());
  read_onnx_graph(file);  // refuse what is not an ONNX model before copying it
  RegisteredModel model;
  model.name = name.empty() ? file.stem().string() : name;
  if (!valid_name(model.name)) throw std::invalid_argument("'" + model.name + "' is not a usable model name (--name)");
  model.file = model.name + ".onnx";
  model.sha256 = sha256_file(file);
  if (!expected_sha256.empty() && lower(expected_sha256) != model.sha256)
    throw std::runtime_error(file.string() + ": sha256 mismatch: expected " + lower(expected_sha256) + ", got " +
                             model.sha256);
  if (const ModelPreset* preset = find_model_preset(model.name)) model.preset = preset->name;
  fs::create_directories(dir_);
  const fs::path tmp = dir_ / (model.file + ".part");
  fs::copy_file(file, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, dir_ / model.file);
  model.size = fs::file_size(dir_ / model.file);
  model.source = fs::absolute(file).lexically_normal().string();
  add(model);
  return *find(model.name);
}

std::shared_ptr<Network> load_network(const NetworkSpec& spec) {
  if (find_nsfwjs_model(spec.model)) return load_nsfwjs_model(spec.nsfwjs_dir, spec.model);

  OnnxModelOptions options;
  options.preprocessing = imagenet_preprocessing(0);
  fs::path file;
  const ModelPreset* preset = nullptr;
  const bool looks_like_path = spec.model.find('/') != std::string::npos || spec.model.ends_with(".onnx");
  if (looks_like_path || (fs::is_regular_file(spec.model) && !valid_name(spec.model))) {
    file = spec.model;
    if (!fs::is_regular_file(file)) throw std::runtime_error("no such model file: " + spec.model);
  } else {
    const ModelRegistry registry(spec.models_dir.empty() ? ModelRegistry::default_dir() : spec.models_dir);
    const RegisteredModel* entry = registry.find(spec.model);
    preset = find_model_preset(entry && !entry->preset.empty() ? entry->preset : spec.model);
    if (!entry) {
      if (preset)
        throw std::runtime_error("model '" + spec.model + "' is not downloaded yet: run photoatlas models pull " +
                                 spec.model + " (" + registry.dir().string() + ")");
      throw std::runtime_error("unknown model '" + spec.model +
                               "': use inception_v3, mobilenet_v2, a .onnx file, or a name from photoatlas models list");
    }
    file = registry.path_of(*entry);
    if (!fs::is_regular_file(file))
      throw std::runtime_error("model '" + spec.model + "' is registered but " + file.string() + " is missing");
    options.sha256 = entry->sha256;
    options.name = "onnx/" + entry->name + "-" + entry->sha256.substr(0, 12);
  }
  if (preset) {
    options.preprocessing = preset->preprocessing;
    options.default_layer = preset->layer;
    if (!preset->labels.empty()) options.labels = data_dir() / preset->labels;
  }
  if (spec.input_size > 0) options.preprocessing.input_size = spec.input_size;
  if (spec.mean) options.preprocessing.mean = *spec.mean;
  if (spec.std) options.preprocessing.std = *spec.std;
  for (float s : options.preprocessing.std)
    if (!(s > 0.0f)) throw std::invalid_argument("--std values must be positive");
  return OnnxModel::load(file, options);
}

}  // namespace photoatlas::features
