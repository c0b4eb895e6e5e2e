#include "app/models_command.h"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "app/progress_bar.h"
#include "features/model_registry.h"

namespace photoatlas::app {

namespace fs = std::filesystem;

namespace {

std::string megabytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  return text;
}

// "0.485,0.456,0.406" -> three floats.
std::string parse_triple(const std::string& text, std::vector<float>& out) {
  out.clear();
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      std::size_t used = 0;
      out.push_back(std::stof(part, &used));
      if (used != part.size()) return "not a number: '" + part + "'";
    } catch (...) {
      return "not a number: '" + part + "'";
    }
  }
  return out.size() == 3 ? "" : "give three comma-separated numbers (R,G,B), not '" + text + "'";
}

}  // namespace

ModelsCommand::ModelsCommand(CLI::App& cli, CLI::App& run, pipeline::RunOptions& run_options) {
  // ONNX options of `run`.
  run.add_option("--input-size", run_options.cnn_input_size,
                 "ONNX models: square input side in pixels (default: the model's or the preset's)")
      ->check(CLI::Range(8, 4096));
  run.add_option_function<std::string>(
      "--mean", [&run_options](const std::string& text) { parse_triple(text, run_options.cnn_mean); },
      "ONNX models: per-channel mean r,g,b on the [0,1] scale (default: the preset's, else ImageNet's)")
      ->check([](const std::string& text) { std::vector<float> v; return parse_triple(text, v); });
  run.add_option_function<std::string>(
      "--std", [&run_options](const std::string& text) { parse_triple(text, run_options.cnn_std); },
      "ONNX models: per-channel standard deviation r,g,b (input = (pixel/255 - mean) / std)")
      ->check([](const std::string& text) {
        std::vector<float> v;
        std::string error = parse_triple(text, v);
        for (float s : v)
          if (error.empty() && !(s > 0.0f)) error = "--std values must be positive";
        return error;
      });
  run.add_option("--models-dir", run_options.models_dir,
                 "Models folder of `photoatlas models` (default: $PHOTOATLAS_MODELS_DIR or ~/.cache/photoatlas/models)");

  models_ = cli.add_subcommand("models", "List, download (pull) and import CNN models");
  models_->require_subcommand(1);
  models_->fallthrough();  // --models-dir also after list / pull / import
  models_->add_option("--models-dir", dir_, "Models folder (default: $PHOTOATLAS_MODELS_DIR or ~/.cache/photoatlas/models)");
  list_ = models_->add_subcommand("list", "Presets and the models in the models folder");
  pull_ = models_->add_subcommand("pull", "Download a preset or a URL (resumes an interrupted download)");
  pull_->add_option("model", target_, "Preset name (see `models list`) or http(s) URL of an ONNX file")->required();
  pull_->add_option("--sha256", sha256_, "Expected sha256 (default: the preset's, where known)");
  pull_->add_option("--name", name_, "Name to register it under (default: the preset name or the file name)");
  pull_->add_flag("-q,--quiet", quiet_, "No progress bar");
  import_ = models_->add_subcommand("import", "Copy a local ONNX file into the models folder and register it");
  import_->add_option("file", target_, "ONNX file")->required()->check(CLI::ExistingFile);
  import_->add_option("--name", name_, "Name to register it under (default: the file name without .onnx)");
  import_->add_option("--sha256", sha256_, "Expected sha256");
}

int ModelsCommand::execute() {
  try {
    if (list_->parsed()) return list();
    if (pull_->parsed()) return pull();
    if (import_->parsed()) return import();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 1;
}

int ModelsCommand::list() {
  const features::ModelRegistry registry(dir_.empty() ? features::ModelRegistry::default_dir() : fs::path(dir_));
  std::printf("Bundled (nsfwjs, installed by scripts/setup): inception_v3 (default, layer mixed5), mobilenet_v2\n\n");
  std::printf("Presets (photoatlas models pull NAME):\n");
  for (const features::ModelPreset& preset : features::model_presets()) {
    const bool pulled = registry.find(preset.name) != nullptr;
    std::printf("  %-12s %-10s %s%s\n", preset.name.c_str(), preset.size ? megabytes(preset.size).c_str() : "",
                preset.description.c_str(), pulled ? "  [pulled]" : "");
  }
  std::printf("\nModels folder %s:\n", registry.dir().c_str());
  if (registry.models().empty()) std::printf("  (none)\n");
  for (const features::RegisteredModel& m : registry.models()) {
    const bool present = fs::is_regular_file(registry.path_of(m));
    std::printf("  %-16s %10s  sha256 %s  %s%s\n", m.name.c_str(), megabytes(m.size).c_str(), m.sha256.substr(0, 16).c_str(),
                m.source.c_str(), present ? "" : "  [file missing]");
  }
  return 0;
}

int ModelsCommand::pull() {
  features::ModelRegistry registry(dir_.empty() ? features::ModelRegistry::default_dir() : fs::path(dir_));
  ProgressDisplay display(quiet_);
  const std::string stage = "download " + target_;
  features::ModelRegistry::PullOptions options;
  options.name = name_;
  options.sha256 = sha256_;
  bool started = false;
  // The display counts kilobytes, so totals of several hundred MB stay readable.
  options.progress = [&](std::uint64_t done, std::uint64_t total) {
    if (!started) {
      display.start(stage, static_cast<std::size_t>(total / 1024));
      started = true;
    }
    display.update(stage, static_cast<std::size_t>(done / 1024), static_cast<std::size_t>(total / 1024));
  };
  const auto t0 = std::chrono::steady_clock::now();
  const features::RegisteredModel model = registry.pull(target_, options);
  if (started) display.finish(stage, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::printf("%s: %s, sha256 %s\n", model.name.c_str(), megabytes(model.size).c_str(), model.sha256.c_str());
  std::printf("Use it with: photoatlas run PHOTOS -o OUT --model %s\n", model.name.c_str());
  return 0;
}

int ModelsCommand::import() {
  features::ModelRegistry registry(dir_.empty() ? features::ModelRegistry::default_dir() : fs::path(dir_));
  const features::RegisteredModel model = registry.import_file(target_, name_, sha256_);
  std::printf("%s: %s, sha256 %s\n", model.name.c_str(), megabytes(model.size).c_str(), model.sha256.c_str());
  std::printf("Use it with: photoatlas run PHOTOS -o OUT --model %s\n", model.name.c_str());
  return 0;
}

}  // namespace photoatlas::app
