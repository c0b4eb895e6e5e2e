// A run split in two for a batch scheduler (Slurm array jobs, Kubernetes indexed jobs) or the
// ranks of an MPI job: `compute_shard` decodes and extracts one deterministic share of the photos
// into a shard file, anywhere and in any order; `merge_shards` lays out, clusters and writes the
// same atlas `run` would from all the shards. docs/scaling.md describes the shard format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "features/compute.h"
#include "pipeline/pipeline.h"
#include "store/shard_manifest.h"

namespace photoatlas::pipeline {

// Shard `index` of `count`: the photos whose content hash % count == index. The share depends on
// the file's bytes only, not on its name or on the order of the inputs, and a photo added later
// never moves another photo to a different shard.
struct ShardSpec {
  int index = 0;
  int count = 1;
};

// "i/N" with 0 <= i < N. Throws std::invalid_argument with a message for the person.
ShardSpec parse_shard_spec(const std::string& text);
bool in_shard(std::uint64_t content_hash, const ShardSpec& shard);

struct ShardSummary {
  std::size_t photos = 0;   // photos of this shard (usable or not)
  std::size_t usable = 0;   // photos with features in the shard
  std::size_t decoded = 0;  // photos decoded by this call (the rest were in the shard file already)
  bool already_complete = false;  // the shard file was complete: nothing was done
  std::vector<Failure> failures;  // this shard's photos that failed (and, in shard 0, discovery's failures)
  std::vector<StageTiming> timings;
};

// Discovers options.inputs and computes features, thumbnails and metadata of the photos of
// `shard` into `shard_file` (a result cache, created when missing). Uses the feature options of
// `options` (raw_size, cnn_*, thumbnail_size, num_threads); the layout options are ignored.
// A complete shard file is left as it is; an incomplete one (a killed run) is resumed, keeping
// the photos it holds. Throws std::runtime_error when the file holds another shard or was made
// with other feature settings, or when the inputs hold no image at all.
// `discovered`: the collection of options.inputs when the caller has discovered it already (an
// MPI run discovers collectively), else null.
ShardSummary compute_shard(const RunOptions& options, const ShardSpec& shard, const std::filesystem::path& shard_file,
                           const RunObserver& observer = {}, const Collection* discovered = nullptr);

// True when `shard_file` holds the complete shard `shard` (whatever its settings).
bool shard_is_complete(const std::filesystem::path& shard_file, const ShardSpec& shard);

// The atlas from complete shards 0..N-1 of one collection, in any order: the photos in discovery
// order, their features and thumbnails from the shards, the feature settings the shards were made
// with (options' own feature fields are replaced), the layout options and output of `options`.
// Throws std::runtime_error naming every missing, incomplete or mismatched shard.
RunSummary merge_shards(const std::vector<std::filesystem::path>& shard_files, const RunOptions& options,
                        const RunObserver& observer = {});

// What a merge starts from: the photos of complete shards 0..N-1 in discovery order, `options`
// with the shards' feature settings, and a read-only cache over the shard files. Throws
// std::runtime_error naming every missing, incomplete or mismatched shard.
struct OpenShards {
  Collection collection;
  std::vector<std::uint64_t> positions;  // per photo of `collection`: its place in discovery order (ascending)
  RunOptions options;
  std::unique_ptr<features::ImageCache> cache;
};
OpenShards open_shards(const std::vector<std::filesystem::path>& shard_files, const RunOptions& options);

// `options` with the feature settings a shard was made with (what its features mean).
RunOptions with_shard_settings(const RunOptions& options, const store::ShardManifest& manifest);

// The file name the MPI run gives shard `index` of `count` in its shard folder.
std::string shard_file_name(const ShardSpec& shard);

}  // namespace photoatlas::pipeline
