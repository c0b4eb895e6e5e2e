// `run` across the ranks of an MPI job (`mpirun -np N photoatlas run INPUT... -o OUT`): each rank
// decodes and extracts its share of the photos (by content hash, pipeline/shards.h) into its own
// shard file in a folder all ranks can reach; rank 0 then merges the shards into the atlas.
// Finished shards stay, so a failed job re-run with the same N recomputes only what was lost.
#pragma once

#include <filesystem>
#include <optional>

#include "pipeline/pipeline.h"
#include "pipeline/shards.h"

namespace photoatlas::pipeline {

// True when this process was started by an MPI launcher (mpirun, or srun with PMI) as one of
// several ranks. Reads the launcher's environment only: MPI is not initialised.
bool launched_by_mpi();

// Whether this binary was built with MPI (Debian's libopenmpi-dev).
bool mpi_available();

struct MpiRunResult {
  int rank = 0;
  int size = 1;
  std::size_t files_hashed = 0;       // files this rank hashed in the collective discovery
  std::size_t files = 0;              // photos and failures the discovery found (0: every shard was complete)
  ShardSummary shard;                 // this rank's shard
  std::optional<RunSummary> summary;  // rank 0: the atlas
};

// Initialises MPI, runs this rank's shard into shard_dir (default: OUT.shards next to OUT), waits
// for every rank, merges on rank 0, finalises MPI. `observer` is used on rank 0 only. Throws on
// this rank's own error, or on every rank when another rank failed (its shard is then re-run by
// the next attempt; the finished ones are kept). Throws when built without MPI.
MpiRunResult run_mpi(const RunOptions& options, const std::filesystem::path& shard_dir,
                     const RunObserver& observer = {});

}  // namespace photoatlas::pipeline
