// Read-only access to ZIP archives (Instagram exports) without extracting them to disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace photoatlas::ingest {

struct ArchiveEntry {
  std::string name;          // as stored in the archive (forward slashes)
  std::uint64_t size = 0;    // uncompressed size
  std::uint64_t index = 0;   // position in the central directory
};

class ZipArchive {
 public:
  // Throws std::runtime_error with a readable reason when the file is not a readable ZIP.
  explicit ZipArchive(const std::filesystem::path& file);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // File entries whose names are safe: no absolute paths, no ".." segments, no NUL bytes
  // (zip-slip names are refused here and listed by unsafe_entries()).
  const std::vector<ArchiveEntry>& entries() const { return entries_; }
  const std::vector<std::string>& unsafe_entries() const { return unsafe_; }
  const ArchiveEntry* find(const std::string& name) const;

  // Reads one entry into memory; refuses entries larger than `max_bytes`. Thread-safe.
  std::string read(const ArchiveEntry& entry, std::uint64_t max_bytes = 512ull << 20) const;

 private:
  std::filesystem::path path_;
  struct Handle;
  std::unique_ptr<Handle> handle_;
  std::vector<ArchiveEntry> entries_;
  std::vector<std::string> unsafe_;
  mutable std::mutex mutex_;
};

// True when `name` is a relative path without ".." segments (safe to treat as inside the archive).
bool is_safe_member_name(const std::string& name);

}  // namespace photoatlas::ingest
