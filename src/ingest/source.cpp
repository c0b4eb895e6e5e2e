#include "ingest/source.h"

#include <xxhash.h>

#include <map>
#include <memory>
#include <mutex>

#include "ingest/archive.h"
#include "ingest/discover.h"

namespace photoatlas::ingest {

namespace {

// Parsing a large export's central directory once, not once per photo.
std::shared_ptr<const ZipArchive> open_archive(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const ZipArchive>> open;
  std::lock_guard lock(mutex);
  auto it = open.find(path);
  if (it != open.end()) return it->second;
  auto archive = std::make_shared<const ZipArchive>(path);
  open.emplace(path, archive);
  return archive;
}

}  // namespace

std::string read_archive_member(const std::string& archive, const std::string& member, std::uint64_t max_bytes) {
  auto zip = open_archive(archive);
  const ArchiveEntry* entry = zip->find(member);
  if (!entry) throw std::runtime_error("not in the archive");
  return zip->read(*entry, max_bytes);
}

std::uint64_t hash_record(const ImageRecord& record) {
  if (record.archive.empty()) return hash_file(record.path);
  const std::string bytes = read_archive_member(record.archive, record.member);
  return XXH3_64bits(bytes.data(), bytes.size());
}

DecodedImage decode_record(const ImageRecord& record, const DecodeOptions& options) {
  if (record.archive.empty()) return decode_file(record.path, options);
  std::string bytes;
  try {
    bytes = read_archive_member(record.archive, record.member);
  } catch (const std::exception& e) {
    throw DecodeError(e.what());
  }
  return decode_buffer(bytes, record.path, options);
}

}  // namespace photoatlas::ingest
