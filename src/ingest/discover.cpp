#include "ingest/discover.h"

#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <unordered_map>

#include "core/parallel.h"
#include "ingest/instagram.h"
#include "ingest/source.h"

namespace fs = std::filesystem;

namespace photoatlas::ingest {

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> extensions = {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif",
                                                      ".tiff", ".heic", ".heif", ".avif", ".bmp", ".jxl"};
  return extensions;
}

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto& known = image_extensions();
  return std::find(known.begin(), known.end(), ext) != known.end();
}

std::uint64_t hash_file(const fs::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error(std::strerror(errno));
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<char> buffer(1 << 16);
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) XXH3_64bits_update(state, buffer.data(), got);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  const std::uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  if (failed) throw std::runtime_error("read error");
  return hash;
}

std::string hash_hex(std::uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

namespace {

bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.' && name != "." && name != "..";
}

struct Walker {
  explicit Walker(const DiscoverOptions& o) : options(o) {}
  const DiscoverOptions& options;
  std::vector<fs::path> files;
  std::vector<fs::path> roots;  // per file: the input it was found under
  std::vector<Failure> failures;
  std::vector<ImageRecord> export_records;  // from Instagram exports, bytes possibly inside a ZIP
  std::size_t videos_skipped = 0;
  std::size_t posts = 0;
  fs::path current_root;
  std::set<fs::path> visited_dirs;  // canonical paths: breaks symlink loops

  void walk_dir(const fs::path& dir, bool top_level) {
    std::error_code ec;
    fs::path canonical = fs::canonical(dir, ec);
    if (ec) {
      failures.push_back({dir.string(), "cannot open folder (" + ec.message() + ")"});
      return;
    }
    if (!visited_dirs.insert(canonical).second) return;  // already walked (symlink loop or duplicate input)
    std::vector<fs::directory_entry> entries;
    fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      failures.push_back({dir.string(), "cannot open folder (" + ec.message() + ")"});
      return;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) {
        failures.push_back({dir.string(), "error while listing folder (" + ec.message() + ")"});
        break;
      }
      entries.push_back(*it);
    }
    std::sort(entries.begin(), entries.end(),
              [](const fs::directory_entry& a, const fs::directory_entry& b) { return a.path() < b.path(); });
    for (const auto& entry : entries) {
      const fs::path& path = entry.path();
      if (!options.include_hidden && is_hidden(path)) continue;
      std::error_code status_ec;
      const auto status = fs::status(path, status_ec);  // follows symlinks
      if (status_ec) {
        if (has_image_extension(path)) failures.push_back({path.string(), "cannot open (" + status_ec.message() + ")"});
        continue;
      }
      if (fs::is_directory(status)) {
        if (options.recursive) walk_dir(path, false);
      } else if (fs::is_regular_file(status) && has_image_extension(path)) {
        files.push_back(path);
        roots.push_back(current_root);
      }
    }
    (void)top_level;
  }

  void add_input(const fs::path& input) {
    std::error_code ec;
    const auto status = fs::status(input, ec);
    if (ec || !fs::exists(status)) {
      failures.push_back({input.string(), "no such file or folder"});
    } else if (looks_like_instagram_export(input)) {
      Collection exported = read_instagram_export(input);
      std::move(exported.images.begin(), exported.images.end(), std::back_inserter(export_records));
      std::move(exported.failures.begin(), exported.failures.end(), std::back_inserter(failures));
      videos_skipped += exported.videos_skipped;
      posts += exported.posts;
    } else if (fs::is_directory(status)) {
      current_root = input;
      walk_dir(input, true);
    } else if (fs::is_regular_file(status)) {
      files.push_back(input);  // named explicitly: tried whatever its extension
      roots.push_back(input.parent_path());
    } else {
      failures.push_back({input.string(), "not a regular file or folder"});
    }
  }
};

}  // namespace

Collection discover(const std::vector<fs::path>& inputs, const DiscoverOptions& options,
                    const ProgressCallback& progress) {
  Walker walker(options);
  for (const auto& input : inputs) walker.add_input(input);

  // Candidates in input order: plain files (the same file reached twice, named twice or through
  // a symlink, is one file), then export photos.
  std::vector<ImageRecord> candidates;
  std::set<fs::path> seen;
  for (std::size_t i = 0; i < walker.files.size(); ++i) {
    const fs::path& file = walker.files[i];
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(file, ec);
    if (!seen.insert(ec ? file : canonical).second) continue;
    ImageRecord record;
    record.path = file.string();
    record.display_name = file.filename().string();
    record.relative_path = file.lexically_relative(walker.roots[i]).generic_string();
    if (record.relative_path.empty() || record.relative_path.rfind("..", 0) == 0) record.relative_path = record.display_name;
    record.file_size = fs::file_size(file, ec);
    candidates.push_back(std::move(record));
  }
  std::move(walker.export_records.begin(), walker.export_records.end(), std::back_inserter(candidates));

  std::vector<std::string> errors(candidates.size());
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  parallel_for_dynamic(candidates.size(), options.num_threads, [&](std::size_t i) {
    try {
      if (!options.hash_here || options.hash_here(i)) candidates[i].content_hash = hash_record(candidates[i]);
    } catch (const std::exception& e) {
      errors[i] = std::string("cannot read file (") + e.what() + ")";
    }
    std::size_t now = ++done;
    std::lock_guard lock(progress_mutex);
    report(progress, now, candidates.size());
  });
  if (options.exchange_hashes) {
    std::vector<std::uint64_t> hashes(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) hashes[i] = candidates[i].content_hash;
    options.exchange_hashes(hashes, errors);
    for (std::size_t i = 0; i < candidates.size(); ++i) candidates[i].content_hash = hashes[i];
  }

  Collection collection;
  collection.failures = std::move(walker.failures);
  collection.videos_skipped = walker.videos_skipped;
  collection.posts = walker.posts;
  std::unordered_map<std::uint64_t, std::size_t> first_with_hash;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    ImageRecord& record = candidates[i];
    if (!errors[i].empty()) {
      collection.failures.push_back({record.path, errors[i]});
      continue;
    }
    auto [it, inserted] = first_with_hash.emplace(record.content_hash, collection.images.size());
    if (!inserted) {
      collection.failures.push_back({record.path, "duplicate of " + collection.images[it->second].path + " (same bytes)"});
      continue;
    }
    record.id = hash_hex(record.content_hash);
    collection.images.push_back(std::move(record));
  }
  return collection;
}

}  // namespace photoatlas::ingest
