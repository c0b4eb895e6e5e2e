#include "pipeline/mpi_run.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#if PHOTOATLAS_WITH_MPI
#include <mpi.h>
#endif

namespace fs = std::filesystem;

namespace photoatlas::pipeline {

namespace {

int environment_int(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? std::atoi(value) : 0;
}

}  // namespace

bool launched_by_mpi() {
  // Open MPI's mpirun, MPICH/Hydra and Slurm's srun (PMI, PMIx) each set one of these.
  for (const char* size : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"})
    if (environment_int(size) > 1) return true;
  return false;
}

bool mpi_available() { return PHOTOATLAS_WITH_MPI != 0; }

#if PHOTOATLAS_WITH_MPI

namespace {

// MPI for the lifetime of one distributed run. Only the calling thread talks to MPI; the worker
// threads of the stages never do.
class MpiSession {
 public:
  MpiSession() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  ~MpiSession() { MPI_Finalize(); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank = 0;
  int size = 1;
};

// 1 on every rank when every rank passes `ok`, else 0 on every rank.
bool all_ranks_ok(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

}  // namespace

MpiRunResult run_mpi(const RunOptions& options, const fs::path& shard_dir_option, const RunObserver& observer) {
  MpiSession mpi;
  MpiRunResult result;
  result.rank = mpi.rank;
  result.size = mpi.size;
  const RunObserver quiet;
  const RunObserver& mine = mpi.rank == 0 ? observer : quiet;

  const fs::path shard_dir =
      shard_dir_option.empty() ? fs::path(options.output.string() + ".shards") : shard_dir_option;
  std::vector<fs::path> files;
  for (int r = 0; r < mpi.size; ++r) files.push_back(shard_dir / shard_file_name({r, mpi.size}));

  // Rank 0 checks what would otherwise fail only after every rank's work.
  std::string error;
  try {
    if (mpi.rank == 0) check_run_options(options);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!all_ranks_ok(error.empty())) {
    throw std::runtime_error(error.empty() ? "rank 0 stopped the run before any work" : error);
  }

  try {
    fs::create_directories(shard_dir);
    result.shard = compute_shard(options, {mpi.rank, mpi.size}, files[mpi.rank], mine);
  } catch (const std::exception& e) {
    error = "rank " + std::to_string(mpi.rank) + ": " + e.what();
  }
  if (!all_ranks_ok(error.empty())) {
    if (!error.empty()) throw std::runtime_error(error);
    throw std::runtime_error("rank " + std::to_string(mpi.rank) +
                             ": another rank failed; its shard is recomputed by the next run, finished shards are kept");
  }
  // Thumbnails, layouts and the atlas from the shards, on rank 0 (docs/scaling.md: what limits it).
  if (mpi.rank == 0) result.summary = merge_shards(files, options, mine);
  return result;
}

#else

MpiRunResult run_mpi(const RunOptions&, const fs::path&, const RunObserver&) {
  throw std::runtime_error(
      "started by mpirun, but this photoatlas was built without MPI (install libopenmpi-dev and rebuild)");
}

#endif

}  // namespace photoatlas::pipeline
