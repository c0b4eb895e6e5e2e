#include "ingest/archive.h"

#include <zip.h>

#include <algorithm>
#include <stdexcept>

namespace photoatlas::ingest {

struct ZipArchive::Handle {
  zip_t* zip = nullptr;
  ~Handle() {
    if (zip) zip_discard(zip);  // read-only: never write anything back
  }
};

bool is_safe_member_name(const std::string& name) {
  if (name.empty() || name[0] == '/' || name[0] == '\\') return false;
  if (name.find('\0') != std::string::npos) return false;
  if (name.size() > 1 && name[1] == ':') return false;  // C:\...
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find_first_of("/\\", start);
    if (end == std::string::npos) end = name.size();
    if (name.compare(start, end - start, "..") == 0 && end - start == 2) return false;
    start = end + 1;
  }
  return true;
}

ZipArchive::ZipArchive(const std::filesystem::path& file) : path_(file), handle_(std::make_unique<Handle>()) {
  int error = 0;
  handle_->zip = zip_open(file.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!handle_->zip) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, error);
    std::string reason = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    throw std::runtime_error("not a readable ZIP archive (" + reason + ")");
  }
  const zip_int64_t count = zip_get_num_entries(handle_->zip, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(handle_->zip, static_cast<zip_uint64_t>(i), 0, &stat) != 0) continue;
    if (!(stat.valid & ZIP_STAT_NAME) || !stat.name) continue;
    std::string name = stat.name;
    if (!name.empty() && name.back() == '/') continue;  // folder entry
    if (!is_safe_member_name(name)) {
      unsafe_.push_back(name);
      continue;
    }
    entries_.push_back({name, (stat.valid & ZIP_STAT_SIZE) ? stat.size : 0, static_cast<std::uint64_t>(i)});
  }
  std::sort(entries_.begin(), entries_.end(), [](const ArchiveEntry& a, const ArchiveEntry& b) { return a.name < b.name; });
}

ZipArchive::~ZipArchive() = default;

const ArchiveEntry* ZipArchive::find(const std::string& name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const ArchiveEntry& e, const std::string& n) { return e.name < n; });
  return it != entries_.end() && it->name == name ? &*it : nullptr;
}

std::string ZipArchive::read(const ArchiveEntry& entry, std::uint64_t max_bytes) const {
  if (entry.size > max_bytes) throw std::runtime_error("archive member too large (" + std::to_string(entry.size) + " bytes)");
  std::lock_guard lock(mutex_);  // one zip_t is not safe to read from several threads at once
  zip_file_t* file = zip_fopen_index(handle_->zip, entry.index, 0);
  if (!file) throw std::runtime_error(std::string("cannot open archive member (") + zip_strerror(handle_->zip) + ")");
  std::string bytes;
  bytes.resize(static_cast<std::size_t>(entry.size));
  zip_int64_t got = entry.size ? zip_fread(file, bytes.data(), entry.size) : 0;
  const bool failed = got < 0 || static_cast<std::uint64_t>(got) != entry.size;
  std::string reason = failed ? zip_file_strerror(file) : "";
  zip_fclose(file);
  if (failed) throw std::runtime_error("archive member is damaged (" + reason + ")");
  return bytes;
}

}  // namespace photoatlas::ingest
