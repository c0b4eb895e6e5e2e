// `photoatlas models list | pull NAME|URL [--sha256 H] [--name N] | import FILE [--name N]`, and the
// ONNX options of `run` (--input-size, --mean, --std, --models-dir). Only argument handling and
// printing; the registry and the downloader live in features/model_registry.h.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "pipeline/pipeline.h"

namespace photoatlas::app {

class ModelsCommand {
 public:
  // Registers the `models` subcommand on `cli` and the ONNX options on `run`.
  ModelsCommand(CLI::App& cli, CLI::App& run, pipeline::RunOptions& run_options);
  bool selected() const { return models_->parsed(); }
  int execute();  // exit code

 private:
  int list();
  int pull();
  int import();

  CLI::App* models_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* pull_ = nullptr;
  CLI::App* import_ = nullptr;
  std::string dir_;
  std::string target_;
  std::string name_;
  std::string sha256_;
  bool quiet_ = false;
};

}  // namespace photoatlas::app
