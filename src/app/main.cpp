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
#include "app/shared_options.h"
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
  std::string k_text;
  app::ObjectFlags object_flags;
  app::add_feature_options(*run, run_options, object_flags);
  app::add_map_options(*run, run_options, k_text);
  run->add_option("--viewer-dir", viewer_dir, "Built viewer to copy into the atlas (default: the bundled one)");
  std::string cache_file;
  bool no_cache = false;
  run->add_option("--cache", cache_file,
                  "Result cache (SQLite): a re-run decodes only new photos (default: ~/.cache/photoatlas/cache.sqlite)");
  run->add_flag("--no-cache", no_cache, "Compute everything afresh and keep nothing");
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
      options.object_model_dir = find_object_model_dir();
    });
  }

  if (*run) {
    for (const auto& input : inputs) run_options.inputs.emplace_back(input);
    run_options.output = output;
    run_options.viewer_dir = find_viewer_dir(viewer_dir);
    app::apply_map_options(k_text, run_options);
    run_options.nsfwjs_dir = find_nsfwjs_dir();
    run_options.object_model_dir = find_object_model_dir();
    app::apply_object_flags(object_flags, run_options);
    if (!no_cache) run_options.cache_file = cache_file.empty() ? store::default_cache_file() : fs::path(cache_file);
    // Under mpirun the ranks share the work through shard files (the cache is not used).
    if (app::ShardCommands::launched_by_mpi()) return shards.run_mpi(run_options, quiet);
    return run_command(run_options, quiet);
  }
  if (*serve) return serve_command(serve_dir, serve_options);
  return 1;
}
