#include "app/shard_commands.h"

#include <cstdio>
#include <filesystem>

#include "app/progress_bar.h"
#include "app/run_report.h"
#include "app/shared_options.h"
#include "pipeline/mpi_run.h"
#include "pipeline/shards.h"

namespace fs = std::filesystem;

namespace photoatlas::app {


ShardCommands::ShardCommands(CLI::App& cli, CLI::App& run) {
  run.add_option("--shard-dir", shard_dir_,
                 "Under mpirun: folder (reachable by every rank) for the ranks' shards (default: OUT.shards)");

  // The options are registered by shared_options.h, as for `run`, so a sharded run makes the same atlas.
  features_ = cli.add_subcommand(
      "features", "Decode and extract one share of the photos into a shard file (for batch schedulers; see merge)");
  features_->add_option("inputs", inputs_, "Photo files or folders, the same for every shard")->required();
  features_->add_option("--shard", shard_, "This job's share: i/N, the photos whose content hash % N == i")
      ->required()
      ->check([](const std::string& text) -> std::string {
        try {
          pipeline::parse_shard_spec(text);
          return "";
        } catch (const std::exception& e) {
          return e.what();
        }
      });
  features_->add_option("-o,--output", shard_output_, "Shard file to write (SQLite; resumed when incomplete)")
      ->required();
  add_feature_options(*features_, features_options_, feature_objects_);
  features_->add_option("--models-dir", features_options_.models_dir, "Models folder of `photoatlas models`");
  features_->add_option("--threads", features_options_.num_threads, "Worker threads (0 = all cores)")
      ->default_val(0)
      ->check(CLI::Range(0, 1024));
  features_->add_flag("-q,--quiet", quiet_, "Print only errors and the result");

  merge_ = cli.add_subcommand("merge", "Build the atlas from the shard files of `photoatlas features`");
  merge_->add_option("shards", shard_files_, "Shard files 0..N-1 of one collection, in any order")->required();
  merge_->add_option("-o,--output", merge_output_, "Output folder for the atlas (replaced atomically)")->required();
  add_map_options(*merge_, merge_options_, merge_k_);
  merge_->add_option("--viewer-dir", viewer_dir_, "Built viewer to copy into the atlas (default: the bundled one)");
  merge_->add_option("--models-dir", merge_options_.models_dir, "Models folder of `photoatlas models`");
  merge_->add_flag("-q,--quiet", quiet_, "Print only errors and the result");
}

bool ShardCommands::launched_by_mpi() { return pipeline::launched_by_mpi(); }

int ShardCommands::execute(const Resolve& resolve) {
  if (features_->parsed()) {
    resolve(features_options_, "");
    apply_object_flags(feature_objects_, features_options_);
    return features();
  }
  return merge(resolve);
}

int ShardCommands::features() {
  for (const auto& input : inputs_) features_options_.inputs.emplace_back(input);
  ProgressDisplay display(quiet_);
  const pipeline::RunObserver observer = observer_for(display);
  return exit_code_of([&] {
    const pipeline::ShardSpec shard = pipeline::parse_shard_spec(shard_);
    const pipeline::ShardSummary summary = pipeline::compute_shard(features_options_, shard, shard_output_, observer);
    print_failures(summary.failures);
    std::printf("Shard %d/%d: %zu photos, %zu usable, %zu decoded now%s: %s\n", shard.index, shard.count,
                summary.photos, summary.usable, summary.decoded,
                summary.already_complete ? " (already complete)" : "", shard_output_.c_str());
    return 0;
  });
}

int ShardCommands::merge(const Resolve& resolve) {
  merge_options_.output = merge_output_;
  apply_map_options(merge_k_, merge_options_);
  resolve(merge_options_, viewer_dir_);
  std::vector<fs::path> files(shard_files_.begin(), shard_files_.end());
  return report_atlas_run(
      [&](const pipeline::RunObserver& observer) -> std::optional<pipeline::RunSummary> {
        return pipeline::merge_shards(files, merge_options_, observer);
      },
      quiet_);
}

int ShardCommands::run_mpi(const pipeline::RunOptions& options, bool quiet) const {
  // Every rank prints its own errors; rank 0 alone shows progress and the summary.
  return report_atlas_run(
      [&](const pipeline::RunObserver& observer) -> std::optional<pipeline::RunSummary> {
        const pipeline::MpiRunResult result = pipeline::run_mpi(options, shard_dir_, observer);
        double seconds = 0;
        for (const auto& timing : result.shard.timings) seconds += timing.seconds;
        std::fprintf(stderr, "rank %d/%d: shard of %zu photos, %zu decoded now%s, %.2f s; hashed %zu of %zu files\n",
                     result.rank, result.size, result.shard.photos, result.shard.decoded,
                     result.shard.already_complete ? " (already complete)" : "", seconds, result.files_hashed,
                     result.files);
        return result.summary;  // ranks > 0: nothing more to report, the atlas is rank 0's
      },
      quiet);
}

}  // namespace photoatlas::app
