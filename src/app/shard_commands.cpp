#include "app/shard_commands.h"

#include <cstdio>
#include <filesystem>

#include "app/progress_bar.h"
#include "app/run_report.h"
#include "pipeline/mpi_run.h"
#include "pipeline/shards.h"

namespace fs = std::filesystem;

namespace photoatlas::app {

namespace {

std::string check_k(const std::string& value) {
  if (value == "auto") return "";
  try {
    const int k = std::stoi(value);
    if (k >= 1 && k <= 1000 && std::to_string(k) == value) return "";
  } catch (...) {
  }
  return "-k takes a number from 1 to 1000 or 'auto', not '" + value + "'";
}

}  // namespace

ShardCommands::ShardCommands(CLI::App& cli, CLI::App& run) {
  run.add_option("--shard-dir", shard_dir_,
                 "Under mpirun: folder (reachable by every rank) for the ranks' shards (default: OUT.shards)");

  // The defaults are those of `run` (RunOptions' own), so a sharded run makes the same atlas.
  const pipeline::RunOptions defaults;
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
  features_->add_option("--raw-size", features_options_.raw_size, "Raw-pixel features: photos resized to N x N x 3")
      ->default_val(defaults.raw_size)
      ->check(CLI::Range(4, 1024));
  features_->add_option("--model", features_options_.cnn_model,
                        "CNN: inception_v3, mobilenet_v2, a model of `photoatlas models list`, an .onnx file, or none")
      ->default_val(defaults.cnn_model);
  features_->add_option("--layer", features_options_.cnn_layer, "CNN layer whose (pooled) output is the feature vector");
  features_->add_flag("--l2", features_options_.cnn_l2, "L2-normalise the CNN feature vectors");
  features_->add_option("--models-dir", features_options_.models_dir, "Models folder of `photoatlas models`");
  features_->add_option("--threads", features_options_.num_threads, "Worker threads (0 = all cores)")
      ->default_val(0)
      ->check(CLI::Range(0, 1024));
  features_->add_flag("-q,--quiet", quiet_, "Print only errors and the result");

  merge_ = cli.add_subcommand("merge", "Build the atlas from the shard files of `photoatlas features`");
  merge_->add_option("shards", shard_files_, "Shard files 0..N-1 of one collection, in any order")->required();
  merge_->add_option("-o,--output", merge_output_, "Output folder for the atlas (replaced atomically)")->required();
  merge_->add_option("-k,--clusters", merge_k_, "Number of K-Means clusters, or 'auto' to choose it by silhouette")
      ->default_val("10")
      ->check(check_k);
  merge_->add_option("--perplexity", merge_options_.perplexity, "t-SNE perplexity")
      ->default_val(defaults.perplexity)
      ->check(CLI::Range(1.0, 500.0));
  merge_->add_option("--iterations", merge_options_.tsne_iterations, "t-SNE iterations")
      ->default_val(defaults.tsne_iterations)
      ->check(CLI::Range(50, 100000));
  merge_->add_option("--pca", merge_options_.pca_components, "PCA dimensions before t-SNE and K-Means")
      ->default_val(defaults.pca_components)
      ->check(CLI::Range(2, 4096));
  merge_->add_option("--seed", merge_options_.seed, "Seed for every random choice")->default_val(defaults.seed);
  merge_->add_option("--threads", merge_options_.num_threads, "Worker threads (0 = all cores)")
      ->default_val(0)
      ->check(CLI::Range(0, 1024));
  merge_->add_option("--title", merge_options_.title, "Title shown in the atlas")->default_val(defaults.title);
  merge_->add_option("--viewer-dir", viewer_dir_, "Built viewer to copy into the atlas (default: the bundled one)");
  merge_->add_option("--models-dir", merge_options_.models_dir, "Models folder of `photoatlas models`");
  merge_->add_flag("--keep-layout", merge_options_.keep_layout,
                   "Keep the map of the atlas already in OUT: its photos stay put, new photos are placed among them");
  merge_->add_option("--ontology", merge_options_.ontology,
                     "How an ImageNet classifier's classes are grouped: general, study, or a JSON file")
      ->default_val(defaults.ontology);
  merge_->add_flag("-q,--quiet", quiet_, "Print only errors and the result");
}

bool ShardCommands::launched_by_mpi() { return pipeline::launched_by_mpi(); }

int ShardCommands::execute(const Resolve& resolve) {
  if (features_->parsed()) {
    resolve(features_options_, "");
    return features();
  }
  return merge(resolve);
}

int ShardCommands::features() {
  for (const auto& input : inputs_) features_options_.inputs.emplace_back(input);
  ProgressDisplay display(quiet_);
  const pipeline::RunObserver observer = observer_for(display);
  try {
    const pipeline::ShardSpec shard = pipeline::parse_shard_spec(shard_);
    const pipeline::ShardSummary summary = pipeline::compute_shard(features_options_, shard, shard_output_, observer);
    print_failures(summary.failures);
    std::printf("Shard %d/%d: %zu photos, %zu usable, %zu decoded now%s: %s\n", shard.index, shard.count,
                summary.photos, summary.usable, summary.decoded,
                summary.already_complete ? " (already complete)" : "", shard_output_.c_str());
    return 0;
  } catch (const pipeline::NothingUsableError& e) {
    print_failures(e.failures);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

int ShardCommands::merge(const Resolve& resolve) {
  merge_options_.output = merge_output_;
  merge_options_.k = merge_k_ == "auto" ? 0 : std::stoi(merge_k_);
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
