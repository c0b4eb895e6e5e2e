// How the commands that write an atlas (run, merge, an MPI run's rank 0) show their progress and
// summary: one place, so they all read the same.
#pragma once

#include <functional>
#include <optional>

#include "pipeline/pipeline.h"

namespace photoatlas::app {

// Runs `work` with a progress display on stderr, prints failures, timings and where the atlas is
// (nothing when `work` returns no summary: an MPI rank other than 0). Returns the exit code: 0, 2
// when nothing was usable, 1 for any other error.
int report_atlas_run(const std::function<std::optional<pipeline::RunSummary>(const pipeline::RunObserver&)>& work,
                     bool quiet);

class ProgressDisplay;
// An observer that shows a pipeline's stages and notes on `display`.
pipeline::RunObserver observer_for(ProgressDisplay& display);

// Runs `command` and turns its errors into the exit codes every command uses: 2 when nothing was
// usable (its failures listed), 1 for any other error (printed on stderr); else command's own.
int exit_code_of(const std::function<int()>& command);

// "warning: PATH: REASON" on stderr, the first 20 and a count of the rest.
void print_failures(const std::vector<Failure>& failures);

}  // namespace photoatlas::app
