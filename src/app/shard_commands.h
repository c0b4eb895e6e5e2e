// `photoatlas features INPUTS... --shard i/N -o SHARD.sqlite`, `photoatlas merge SHARDS... -o OUT`,
// and `run` as one rank of an MPI job (`mpirun -np N photoatlas run ...`, option --shard-dir).
// Only argument handling and printing; the work is in pipeline/shards.h and pipeline/mpi_run.h.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/shared_options.h"
#include "pipeline/pipeline.h"

namespace photoatlas::app {

class ShardCommands {
 public:
  // Fills what the CLI finds on its own (the viewer and nsfwjs folders), given --viewer-dir.
  using Resolve = std::function<void(pipeline::RunOptions&, const std::string& viewer_dir_option)>;

  // Registers `features` and `merge` on `cli`, and --shard-dir on `run`.
  ShardCommands(CLI::App& cli, CLI::App& run);
  bool selected() const { return features_->parsed() || merge_->parsed(); }
  int execute(const Resolve& resolve);  // exit code

  // True when this process is one rank of an MPI job; then `run` goes through run_mpi.
  static bool launched_by_mpi();
  int run_mpi(const pipeline::RunOptions& options, bool quiet) const;

 private:
  int features();
  int merge(const Resolve& resolve);

  CLI::App* features_ = nullptr;
  CLI::App* merge_ = nullptr;
  pipeline::RunOptions features_options_;
  pipeline::RunOptions merge_options_;
  std::vector<std::string> inputs_;
  std::string shard_;
  std::string shard_output_;
  std::vector<std::string> shard_files_;
  std::string merge_output_;
  std::string merge_k_ = "10";
  ObjectFlags feature_objects_;
  std::string viewer_dir_;
  std::string shard_dir_;  // run under MPI: where the ranks write their shards (default OUT.shards)
  bool quiet_ = false;
};

}  // namespace photoatlas::app
