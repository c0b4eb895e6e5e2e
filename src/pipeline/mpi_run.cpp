#include "pipeline/mpi_run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "features/compute.h"
#include "ingest/discover.h"
#include "pipeline/extractors.h"
#include "pipeline/mpi_pca.h"
#include "store/shard_manifest.h"
#include "store/sqlite_cache.h"

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

// Completes the hashes and errors of discovery from every rank (ingest::DiscoverOptions::
// exchange_hashes): each candidate was hashed by exactly one rank, the others hold 0, so a
// bitwise OR over the ranks gives every hash; each rank's errors ("index\0message\0") go to all.
void exchange_hashes(std::vector<std::uint64_t>& hashes, std::vector<std::string>& errors) {
  MPI_Allreduce(MPI_IN_PLACE, hashes.data(), static_cast<int>(hashes.size()), MPI_UINT64_T, MPI_BOR, MPI_COMM_WORLD);
  std::string mine;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i].empty()) continue;
    mine += std::to_string(i);
    mine.push_back('\0');
    mine += errors[i];
    mine.push_back('\0');
  }
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<std::size_t>(size)), displacements(static_cast<std::size_t>(size));
  MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    displacements[static_cast<std::size_t>(r)] = total;
    total += lengths[static_cast<std::size_t>(r)];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), displacements.data(), MPI_CHAR,
                 MPI_COMM_WORLD);
  for (std::size_t at = 0; at < all.size();) {
    const std::size_t index_end = all.find('\0', at);
    const std::size_t message_end = all.find('\0', index_end + 1);
    errors.at(std::stoul(all.substr(at, index_end - at))) = all.substr(index_end + 1, message_end - index_end - 1);
    at = message_end + 1;
  }
}

// This rank's photos (their positions in the collection) and their full feature matrices, read
// back from its complete shard.
struct LocalFeatures {
  std::vector<std::uint64_t> positions;
  std::vector<FeatureMatrix> matrices;  // the run's extractors in order: raw, cnn, classifier
  std::vector<bool> reduce;             // per matrix: PCA it (raw, cnn) or keep it whole (classes, objects)
};

LocalFeatures load_own_features(const RunOptions& options, const fs::path& file) {
  const auto manifest = store::read_shard_manifest(file);
  if (!manifest) throw std::runtime_error(file.string() + " is incomplete");
  const RunOptions shard_options = with_shard_settings(options, *manifest);
  const Extractors made = make_extractors(shard_options, {});
  Collection mine;
  LocalFeatures local;
  for (const auto& image : manifest->images) {
    mine.images.push_back(image.record);
    local.positions.push_back(image.position);
  }
  store::SqliteCache cache(file);
  features::ComputeOptions compute_options;
  compute_options.thumbnail_size = shard_options.thumbnail_size;
  compute_options.num_threads = options.num_threads;
  compute_options.cache = &cache;
  features::ComputedFeatures computed = features::compute_features(mine, made.all(), compute_options);
  if (computed.image_index.size() != mine.images.size())
    throw std::runtime_error(file.string() + ": " + std::to_string(mine.images.size() - computed.image_index.size()) +
                             " of its photos could not be read back");
  local.matrices = std::move(computed.matrices);
  // Only the maps' features are reduced; class probabilities and object detections travel whole
  // (they are read back as classes and tags, not as coordinates).
  for (const features::Extractor* extractor : made.all())
    local.reduce.push_back(extractor == made.raw.get() || extractor == made.cnn.get());
  return local;
}

// Rank 0 receives every rank's rows and puts each at its photo's place in `order` (positions of
// the whole collection, ascending); other ranks get an empty matrix.
FloatMatrix gather_rows(const FloatMatrix& rows, const std::vector<std::uint64_t>& positions,
                        const std::vector<std::uint64_t>& order, int rank, int size) {
  const int cols = static_cast<int>(rows.cols);
  int mine = static_cast<int>(rows.rows);
  std::vector<int> counts(static_cast<std::size_t>(size)), displacements(static_cast<std::size_t>(size));
  MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    displacements[static_cast<std::size_t>(r)] = total;
    total += counts[static_cast<std::size_t>(r)];
  }
  std::vector<std::uint64_t> all_positions(rank == 0 ? static_cast<std::size_t>(total) : 0);
  MPI_Gatherv(positions.data(), mine, MPI_UINT64_T, all_positions.data(), counts.data(), displacements.data(),
              MPI_UINT64_T, 0, MPI_COMM_WORLD);
  for (int r = 0; r < size; ++r) {
    counts[static_cast<std::size_t>(r)] *= cols;
    displacements[static_cast<std::size_t>(r)] *= cols;
  }
  std::vector<float> all_values(rank == 0 ? static_cast<std::size_t>(total) * rows.cols : 0);
  MPI_Gatherv(rows.values.data(), mine * cols, MPI_FLOAT, all_values.data(), counts.data(), displacements.data(),
              MPI_FLOAT, 0, MPI_COMM_WORLD);
  if (rank != 0) return {};
  if (static_cast<std::size_t>(total) != order.size())
    throw std::runtime_error("the ranks hold " + std::to_string(total) + " photos, the shards list " +
                             std::to_string(order.size()));
  std::unordered_map<std::uint64_t, std::size_t> index_of;
  for (std::size_t i = 0; i < order.size(); ++i) index_of[order[i]] = i;
  FloatMatrix out(order.size(), rows.cols);
  for (std::size_t g = 0; g < all_positions.size(); ++g)
    std::copy_n(all_values.data() + g * rows.cols, rows.cols, out.row(index_of.at(all_positions[g])));
  return out;
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

  // Discovery, together: each rank hashes every size-th file and the hashes are exchanged, so the
  // collection is read once in all, not once per rank. Skipped when every shard is complete.
  bool complete = false;
  try {
    fs::create_directories(shard_dir);
    complete = shard_is_complete(files[mpi.rank], {mpi.rank, mpi.size});
  } catch (const std::exception& e) {
    error = "rank " + std::to_string(mpi.rank) + ": " + e.what();
  }
  if (!all_ranks_ok(error.empty())) {
    throw std::runtime_error(error.empty() ? "another rank cannot read its shard file" : error);
  }
  std::optional<Collection> collection;
  if (!all_ranks_ok(complete)) {
    std::atomic<std::size_t> hashed{0};
    ingest::DiscoverOptions discover_options;
    discover_options.num_threads = options.num_threads;
    discover_options.hash_here = [&](std::size_t candidate) {
      const bool mine_to_hash = candidate % static_cast<std::size_t>(mpi.size) == static_cast<std::size_t>(mpi.rank);
      if (mine_to_hash) ++hashed;
      return mine_to_hash;
    };
    discover_options.exchange_hashes = exchange_hashes;
    collection = ingest::discover(options.inputs, discover_options);
    result.files_hashed = hashed.load();
    result.files = collection->images.size() + collection->failures.size();
  }
  try {
    result.shard = compute_shard(options, {mpi.rank, mpi.size}, files[mpi.rank], mine, collection ? &*collection : nullptr);
  } catch (const std::exception& e) {
    error = "rank " + std::to_string(mpi.rank) + ": " + e.what();
  }
  if (!all_ranks_ok(error.empty())) {
    if (!error.empty()) throw std::runtime_error(error);
    throw std::runtime_error("rank " + std::to_string(mpi.rank) +
                             ": another rank failed; its shard is recomputed by the next run, finished shards are kept");
  }

  // Every rank reads its own features back; rank 0 also opens all shards (the photo list and,
  // later, the thumbnails).
  const auto start = std::chrono::steady_clock::now();
  const auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  LocalFeatures local;
  std::optional<OpenShards> open;
  try {
    local = load_own_features(options, files[mpi.rank]);
    if (mpi.rank == 0) open = open_shards(files, options);
  } catch (const std::exception& e) {
    error = "rank " + std::to_string(mpi.rank) + ": " + e.what();
  }
  // Every rank must have made the same extractors (a model missing on one node would break that).
  int extractors = error.empty() ? static_cast<int>(local.matrices.size()) : -1, fewest = 0, most = 0;
  MPI_Allreduce(&extractors, &fewest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&extractors, &most, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (fewest != most || fewest < 0) {
    if (!error.empty()) throw std::runtime_error(error);
    throw std::runtime_error("rank " + std::to_string(mpi.rank) +
                             ": the ranks could not all read their shards back with the same feature extractors");
  }
  RunSummary summary;
  summary.timings.push_back({"read shard features", seconds_since(start)});

  // PCA across the ranks; only the reduced rows travel, to rank 0.
  const std::vector<std::uint64_t> no_order;
  ReducedFeatures reduced;
  for (std::size_t e = 0; e < local.matrices.size(); ++e) {
    const auto stage_start = std::chrono::steady_clock::now();
    FloatMatrix rows;
    double kept = -1.0;
    const std::string name = local.matrices[e].extractor_id;
    if (local.reduce[e]) {
      DistributedPcaOptions pca_options;
      pca_options.components = options.pca_components;
      pca_options.seed = options.seed;
      DistributedPcaResult pca = distributed_pca(local.matrices[e].values, pca_options);
      rows = std::move(pca.projected);
      kept = pca.variance_kept;
    } else {
      rows = std::move(local.matrices[e].values);
    }
    local.matrices[e].values = FloatMatrix();  // the full-width rows are no longer needed
    FeatureMatrix gathered;
    gathered.extractor_id = name;
    gathered.values = gather_rows(rows, local.positions, mpi.rank == 0 ? open->positions : no_order, mpi.rank, mpi.size);
    if (mpi.rank == 0)
      for (const auto& record : open->collection.images) gathered.ids.push_back(record.id);
    reduced.matrices.push_back(std::move(gathered));
    reduced.variance_kept.push_back(kept);
    summary.timings.push_back({name + (local.reduce[e] ? ": distributed PCA + gather" : ": gather"),
                               seconds_since(stage_start)});
  }

  // Layouts, clusters and the atlas on rank 0 (docs/scaling.md: what limits it).
  if (mpi.rank == 0)
    result.summary = build_atlas(open->collection, open->cache.get(), open->options, mine, std::move(summary), &reduced);
  return result;
}

#else

MpiRunResult run_mpi(const RunOptions&, const fs::path&, const RunObserver&) {
  throw std::runtime_error(
      "started by mpirun, but this photoatlas was built without MPI (install libopenmpi-dev and rebuild)");
}

#endif

}  // namespace photoatlas::pipeline
