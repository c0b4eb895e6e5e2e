// Discovery: turns the inputs a person names (files, folders) into a Collection of image files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/collection.h"
#include "core/progress.h"

namespace photoatlas::ingest {

struct DiscoverOptions {
  bool recursive = true;          // descend into sub-folders
  bool include_hidden = false;    // files and folders whose names start with '.'
  int num_threads = 0;            // for hashing file contents; 0 = all cores
  // Hashing spread over several processes (an MPI run: pipeline/mpi_run.cpp), so that a
  // collection is read once, not once per process. Empty = every file is hashed here. Otherwise
  // only the candidates (in discovery order) for which `hash_here` is true are hashed here, and
  // `exchange_hashes` receives every candidate's hash (0 where not hashed here) and error (empty =
  // none) and completes both from the other processes.
  std::function<bool(std::size_t candidate)> hash_here;
  std::function<void(std::vector<std::uint64_t>& hashes, std::vector<std::string>& errors)> exchange_hashes;
};

// File-name extensions (lower case, with dot) that folder scans pick up. Files named
// explicitly on the command line are tried whatever their extension.
const std::vector<std::string>& image_extensions();
bool has_image_extension(const std::filesystem::path& path);

// Walks the inputs (sorted, deterministic), follows symbolic links without looping, hashes
// each file's content (xxHash3-64) and assigns stable ids. Unreadable inputs become Failures.
// Byte-identical files are kept once: the later copies are listed as failures naming the first.
Collection discover(const std::vector<std::filesystem::path>& inputs, const DiscoverOptions& options,
                    const ProgressCallback& progress = {});

// xxHash3-64 of a file's bytes, streamed. Throws std::runtime_error when unreadable.
std::uint64_t hash_file(const std::filesystem::path& path);
std::string hash_hex(std::uint64_t hash);

}  // namespace photoatlas::ingest
