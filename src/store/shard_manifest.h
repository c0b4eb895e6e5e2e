// What a shard file holds beyond the cache tables: which photos belong to it, which inputs
// failed, and with which feature settings it was made. A shard file is a result cache
// (store/sqlite_cache.h) plus this manifest; the manifest is written in one transaction after
// every photo of the shard is done, so its presence is what marks a shard complete
// (docs/scaling.md describes the format).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/collection.h"

namespace photoatlas::store {

struct ShardImage {
  std::size_t position = 0;  // index in the whole collection as discovered (keeps the atlas order)
  ImageRecord record;
};

struct ShardManifest {
  int index = 0;  // this shard: photos whose content hash % count == index
  int count = 1;
  std::string feature_settings;  // JSON: what the features were made with (merge makes the same extractors)
  std::vector<ShardImage> images;  // usable photos of this shard
  std::vector<Failure> failures;   // this shard's photos that failed, and inputs discovery could not use
  std::size_t posts = 0;           // Instagram export: posts read / videos skipped (for the summary)
  std::size_t videos_skipped = 0;
};

// Writes the manifest into the shard file (a SQLite cache), replacing an earlier one, and marks
// the shard complete. Throws std::runtime_error naming the file.
void write_shard_manifest(const std::filesystem::path& file, const ShardManifest& manifest);

// The manifest of a complete shard; nullopt when the file does not exist or holds no complete
// manifest (a shard still running, or killed). Throws std::runtime_error naming the file when it
// is not a readable SQLite database.
std::optional<ShardManifest> read_shard_manifest(const std::filesystem::path& file);

}  // namespace photoatlas::store
