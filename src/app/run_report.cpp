#include "app/run_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "app/progress_bar.h"

namespace fs = std::filesystem;

namespace photoatlas::app {

pipeline::RunObserver observer_for(ProgressDisplay& display) {
  pipeline::RunObserver observer;
  observer.stage_started = [&](const std::string& stage, std::size_t total) { display.start(stage, total); };
  observer.stage_progress = [&](const std::string& stage, std::size_t done, std::size_t total) {
    display.update(stage, done, total);
  };
  observer.stage_finished = [&](const std::string& stage, double seconds) { display.finish(stage, seconds); };
  observer.note = [&](const std::string& text) { display.message(text); };
  return observer;
}

void print_failures(const std::vector<Failure>& failures) {
  const std::size_t shown = std::min<std::size_t>(failures.size(), 20);
  for (std::size_t i = 0; i < shown; ++i)
    std::fprintf(stderr, "warning: %s: %s\n", failures[i].path.c_str(), failures[i].reason.c_str());
  if (failures.size() > shown) std::fprintf(stderr, "warning: ... and %zu more\n", failures.size() - shown);
}

int exit_code_of(const std::function<int()>& command) {
  try {
    return command();
  } catch (const pipeline::NothingUsableError& e) {
    print_failures(e.failures);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

int report_atlas_run(const std::function<std::optional<pipeline::RunSummary>(const pipeline::RunObserver&)>& work,
                     bool quiet) {
  ProgressDisplay display(quiet);
  const pipeline::RunObserver observer = observer_for(display);
  return exit_code_of([&] {
    const std::optional<pipeline::RunSummary> result = work(observer);
    if (!result) return 0;
    const pipeline::RunSummary& summary = *result;
    print_failures(summary.failures);
    double total = 0;
    std::fprintf(stderr, "\nSummary: %zu images in the atlas, %zu skipped (see failures.csv)\n", summary.images,
                 summary.failures.size());
    for (const auto& timing : summary.timings) {
      std::fprintf(stderr, "  %-24s %8.2f s\n", timing.stage.c_str(), timing.seconds);
      total += timing.seconds;
    }
    std::fprintf(stderr, "  %-24s %8.2f s\n", "total", total);
    const fs::path out = fs::absolute(summary.output).lexically_normal();
    std::printf("Atlas written to %s\n", out.c_str());
    std::printf("Open it with: photoatlas serve %s\n", out.c_str());
    return 0;
  });
}

}  // namespace photoatlas::app
