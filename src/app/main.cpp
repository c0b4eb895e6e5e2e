// photoatlas command line: parses arguments, wires the library, prints progress and the summary.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

#include "app/models_command.h"
#include "app/progress_bar.h"
#include "app/run_report.h"
#include "app/shard_commands.h"
#include "pipeline/pipeline.h"
#include "serve/server.h"
#include "store/sqlite_cache.h"

namespace fs = std::filesystem;
using namespace photoatlas;

namespace {

// Where the built viewer lives: an explicit option, the environment, next to an installed
// binary, or the source tree this binary was built from.
fs::path find_viewer_dir(const std::string& option) {
  if (!option.empty()) return option;
  if (const char* env = std::getenv("PHOTOATLAS_VIEWER_DIR")) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "photoatlas" / "viewer";
    if (fs::is_regular_file(installed / "index.html")) return installed;
  }
  return PHOTOATLAS_DEFAULT_VIEWER_DIR;
}

// The installed nsfwjs package: $PHOTOATLAS_NSFWJS_DIR, next to an installed binary, or the source tree.
fs::path find_nsfwjs_dir() {
  if (const char* env = std::getenv("PHOTOATLAS_NSFWJS_DIR")) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "photoatlas" / "nsfwjs";
    if (fs::is_regular_file(installed / "package.json")) return installed;
  }
  return fs::path(PHOTOATLAS_SOURCE_ROOT) / "models" / "nsfwjs" / "node_modules" / "nsfwjs";
}

// The CenterNet model files: $PHOTOATLAS_OBJECT_MODEL_DIR, next to an installed binary, or the source tree.
fs::path find_object_model_dir() {
  if (const char* env = std::getenv("PHOTOATLAS_OBJECT_MODEL_DIR")) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "photoatlas" / "human-models";
    if (fs::is_regular_file(installed / "centernet.json")) return installed;
  }
  return fs::path(PHOTOATLAS_SOURCE_ROOT) / "models" / "human-models";
}

int run_command(const pipeline::RunOptions& options, bool quiet) {
  return app::report_atlas_run(
      [&](const pipeline::RunObserver& observer) -> std::optional<pipeline::RunSummary> {
        return pipeline::run(options, observer);
      },
      quiet);
}

int serve_command(const fs::path& dir, const serve::ServeOptions& options) {
  // Ctrl-C / SIGTERM stop the server from a watcher thread (not from a signal handler).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    serve::AtlasServer server(dir, options);
    std::thread watcher([&] {
      int signal = 0;
      sigwait(&signals, &signal);
      server.stop();
    });
    watcher.detach();
    std::printf("Serving %s at %s (Ctrl-C to stop)\n", fs::absolute(dir).lexically_normal().c_str(),
                server.url().c_str());
    std::fflush(stdout);
    server.run();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"photoatlas: turns a photo collection into an interactive map of its motifs"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", "photoatlas 0.1.0");

  pipeline::RunOptions run_options;
  std::vector<std::string> inputs;
  std::string output, viewer_dir;
  bool quiet = false;
  CLI::App* run = cli.add_subcommand("run", "Build an atlas from photos (files, folders)");
  run->add_option("inputs", inputs, "Photo files or folders (searched recursively)")->required();
  run->add_option("-o,--output", output, "Output folder for the atlas (replaced atomically)")->required();
  run->add_option("--raw-size", run_options.raw_size, "Raw-pixel features: photos resized to N x N x 3")
      ->default_val(150)
      ->check(CLI::Range(4, 1024));
  std::string k_text = "10";
  run->add_option("-k,--clusters", k_text, "Number of K-Means clusters, or 'auto' to choose it by silhouette")
      ->default_val("10")
      ->check([](const std::string& value) -> std::string {
        if (value == "auto") return "";
        try {
          const int k = std::stoi(value);
          if (k >= 1 && k <= 1000 && std::to_string(k) == value) return "";
        } catch (...) {
        }
        return "-k takes a number from 1 to 1000 or 'auto', not '" + value + "'";
      });
  run->add_option("--clusterer", run_options.clusterer,
                  "kmeans (on the features, -k) or hdbscan (density-based groups on each 2-D map; "
                  "photos in none are 'Unclustered')")
      ->default_val("kmeans")
      ->check(CLI::IsMember({"kmeans", "hdbscan"}));
  run->add_option("--min-cluster-size", run_options.hdbscan_min_cluster_size, "Smallest HDBSCAN cluster")
      ->default_val(15)
      ->check(CLI::Range(2, 1000000));
  run->add_option("--perplexity", run_options.perplexity, "t-SNE perplexity")
      ->default_val(30.0)
      ->check(CLI::Range(1.0, 500.0));
  run->add_option("--iterations", run_options.tsne_iterations, "t-SNE iterations")->default_val(1000)->check(CLI::Range(50, 100000));
  run->add_option("--pca", run_options.pca_components, "PCA dimensions before t-SNE and K-Means")
      ->default_val(50)
      ->check(CLI::Range(2, 4096));
  run->add_option("--seed", run_options.seed, "Seed for every random choice")->default_val(0);
  run->add_option("--threads", run_options.num_threads, "Worker threads (0 = all cores)")->default_val(0)->check(CLI::Range(0, 1024));
  run->add_option("--title", run_options.title, "Title shown in the atlas")->default_val("photoatlas");
  run->add_option("--viewer-dir", viewer_dir, "Built viewer to copy into the atlas (default: the bundled one)");
  std::string cache_file;
  bool no_cache = false;
  run->add_option("--cache", cache_file,
                  "Result cache (SQLite): a re-run decodes only new photos (default: ~/.cache/photoatlas/cache.sqlite)");
  run->add_flag("--no-cache", no_cache, "Compute everything afresh and keep nothing");
  run->add_option("--model", run_options.cnn_model,
                  "CNN for the second map: inception_v3, mobilenet_v2 (from the nsfwjs package), a model from "
                  "`photoatlas models list`, an .onnx file, or none")
      ->default_val("inception_v3");
  run->add_option("--layer", run_options.cnn_layer,
                  "CNN layer whose (pooled) output is the feature vector; several joined by '+' are fused "
                  "(default for inception_v3: mixed6+mixed7, quad, sqrt-l2)");
  run->add_flag("--l2", run_options.cnn_l2, "L2-normalise the CNN feature vectors");
  run->add_option("--normalize", run_options.cnn_normalization,
                  "CNN vectors: none, l2 or sqrt-l2 (signed square root, then L2; the default features' own)")
      ->check(CLI::IsMember({"none", "l2", "sqrt-l2"}));
  run->add_option("--pooling", run_options.cnn_pooling,
                  "CNN layers: gap (global average) or quad (average of each quadrant, 4x the dimensions; the "
                  "default features' own)")
      ->check(CLI::IsMember({"gap", "quad"}));
  run->add_flag("--keep-layout", run_options.keep_layout,
                "Keep the map of the atlas already in OUT: its photos stay put, new photos are placed among them");
  run->add_option("--ontology", run_options.ontology,
                  "How an ImageNet classifier's classes are grouped: general, study, or a JSON or YAML file")
      ->default_val("general");
  bool objects_on = false, objects_off = false;
  run->add_flag("--objects", objects_on,
                "COCO object tags from the CenterNet detector; an error when its model files are missing "
                "(default: on when they are installed)");
  run->add_flag("--no-objects", objects_off, "No object tags")->excludes("--objects");
  run->add_option("--object-threshold", run_options.object_threshold, "Score an object tag needs")
      ->default_val(0.3)
      ->check(CLI::Range(0.0, 1.0));
  run->add_flag("-q,--quiet", quiet, "Print only errors and the result");

  std::string serve_dir;
  serve::ServeOptions serve_options;
  CLI::App* serve = cli.add_subcommand("serve", "Serve an atlas folder over HTTP (loopback only by default)");
  serve->add_option("folder", serve_dir, "Atlas folder written by `photoatlas run`")->required()->check(CLI::ExistingDirectory);
  serve->add_option("--port", serve_options.port, "Port (0 = any free port)")->default_val(8000)->check(CLI::Range(0, 65535));
  serve->add_option("--host", serve_options.host, "Address to listen on")->default_val("127.0.0.1");

  app::ModelsCommand models(cli, *run, run_options);
  app::ShardCommands shards(cli, *run);

  CLI11_PARSE(cli, argc, argv);

  if (models.selected()) return models.execute();
  if (shards.selected()) {
    return shards.execute([](pipeline::RunOptions& options, const std::string& viewer_dir) {
      options.viewer_dir = find_viewer_dir(viewer_dir);
      options.nsfwjs_dir = find_nsfwjs_dir();
    });
  }

  if (*run) {
    for (const auto& input : inputs) run_options.inputs.emplace_back(input);
    run_options.output = output;
    run_options.viewer_dir = find_viewer_dir(viewer_dir);
    run_options.k = k_text == "auto" ? 0 : std::stoi(k_text);
    run_options.nsfwjs_dir = find_nsfwjs_dir();
    run_options.object_model_dir = find_object_model_dir();
    run_options.objects = !objects_off;
    run_options.objects_required = objects_on;
    if (!no_cache) run_options.cache_file = cache_file.empty() ? store::default_cache_file() : fs::path(cache_file);
    // Under mpirun the ranks share the work through shard files (the cache is not used).
    if (app::ShardCommands::launched_by_mpi()) return shards.run_mpi(run_options, quiet);
    return run_command(run_options, quiet);
  }
  if (*serve) return serve_command(serve_dir, serve_options);
  return 1;
}
