#include "ingest/instagram.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "ingest/archive.h"
#include "ingest/discover.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace photoatlas::ingest {

namespace {

// The export as a set of named files, whether zipped or unpacked.
class ExportFiles {
 public:
  virtual ~ExportFiles() = default;
  virtual std::vector<std::string> names() const = 0;
  virtual bool contains(const std::string& name) const = 0;
  virtual std::string read(const std::string& name, std::uint64_t max_bytes) const = 0;
  // Fills where a record's bytes are.
  virtual void locate(const std::string& name, ImageRecord& record) const = 0;
  virtual std::uint64_t size(const std::string& name) const = 0;
};

class FolderExport final : public ExportFiles {
 public:
  explicit FolderExport(fs::path root) : root_(std::move(root)) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root_, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec)) names_.push_back(it->path().lexically_relative(root_).generic_string());
    }
    std::sort(names_.begin(), names_.end());
  }
  std::vector<std::string> names() const override { return names_; }
  bool contains(const std::string& name) const override {
    return is_safe_member_name(name) && std::binary_search(names_.begin(), names_.end(), name);
  }
  std::string read(const std::string& name, std::uint64_t max_bytes) const override {
    const fs::path file = root_ / name;
    std::error_code ec;
    const auto bytes = fs::file_size(file, ec);
    if (ec) throw std::runtime_error("cannot read (" + ec.message() + ")");
    if (bytes > max_bytes) throw std::runtime_error("file too large (" + std::to_string(bytes) + " bytes)");
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  void locate(const std::string& name, ImageRecord& record) const override { record.path = (root_ / name).string(); }
  std::uint64_t size(const std::string& name) const override {
    std::error_code ec;
    auto s = fs::file_size(root_ / name, ec);
    return ec ? 0 : s;
  }

 private:
  fs::path root_;
  std::vector<std::string> names_;
};

class ZipExport final : public ExportFiles {
 public:
  explicit ZipExport(const fs::path& file) : zip_(file) {}
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& e : zip_.entries()) out.push_back(e.name);
    return out;
  }
  bool contains(const std::string& name) const override { return zip_.find(name) != nullptr; }
  std::string read(const std::string& name, std::uint64_t max_bytes) const override {
    const ArchiveEntry* entry = zip_.find(name);
    if (!entry) throw std::runtime_error("not in the archive");
    return zip_.read(*entry, max_bytes);
  }
  void locate(const std::string& name, ImageRecord& record) const override {
    record.archive = zip_.path().string();
    record.member = name;
    record.path = zip_.path().string() + "/" + name;
  }
  std::uint64_t size(const std::string& name) const override {
    const ArchiveEntry* entry = zip_.find(name);
    return entry ? entry->size : 0;
  }
  const ZipArchive& zip() const { return zip_; }

 private:
  ZipArchive zip_;
};

bool is_posts_file(const std::string& name) {
  static const std::regex posts(R"((^|/)posts_[0-9]+\.json$)");
  const std::string base = fs::path(name).filename().string();
  return std::regex_search(name, posts) || base == "media.json";
}

bool is_video(const std::string& uri) {
  std::string ext = fs::path(uri).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".mp4" || ext == ".mov" || ext == ".m4v" || ext == ".webm" || ext == ".avi" || ext == ".3gp";
}

std::optional<std::int64_t> parse_iso8601(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) return std::nullopt;
  std::int64_t seconds = timegm(&tm);
  // Optional offset: +HH:MM / -HH:MM / Z.
  std::string rest;
  in >> rest;
  if (rest.size() >= 6 && (rest[0] == '+' || rest[0] == '-')) {
    const int sign = rest[0] == '+' ? 1 : -1;
    const int hours = std::atoi(rest.substr(1, 2).c_str());
    const int minutes = std::atoi(rest.substr(4, 2).c_str());
    seconds -= sign * (hours * 3600 + minutes * 60);
  }
  return seconds;
}

std::optional<std::int64_t> timestamp_of(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number()) return static_cast<std::int64_t>(it->get<double>());
  if (it->is_string()) return parse_iso8601(it->get<std::string>());
  return std::nullopt;
}

std::string string_of(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One photo named by a post.
struct MediaRef {
  std::string uri;
  std::optional<std::int64_t> taken_at;
  std::string caption;
  std::string post_id;
};

json parse_limited(const std::string& text, int max_depth) {
  // The callback sees every value with its depth: refusing deep nesting up front keeps a
  // hostile file from exhausting memory or the stack.
  json::parser_callback_t limit = [max_depth](int depth, json::parse_event_t, json&) {
    if (depth > max_depth) throw std::runtime_error("nested more than " + std::to_string(max_depth) + " levels deep");
    return true;
  };
  return json::parse(text, limit);
}

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1, column 21: ...";
// a person needs the part after the tag.
std::string json_message(const json::exception& e) {
  std::string text = e.what();
  if (text.rfind("[json.exception.", 0) == 0) {
    const auto end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  return text;
}

void collect_media(const json& doc, const std::string& file, std::vector<MediaRef>& refs, std::size_t& posts) {
  if (doc.is_object() && doc.contains("photos") && doc["photos"].is_array()) {
    // Older exports: media.json {"photos": [{"path", "taken_at", "caption"}], "videos": [...]}.
    std::size_t index = 0;
    for (const auto& photo : doc["photos"]) {
      if (!photo.is_object()) continue;
      ++posts;
      refs.push_back({string_of(photo, "path"), timestamp_of(photo, "taken_at"), string_of(photo, "caption"),
                      file + "#" + std::to_string(index++)});
    }
    if (doc.contains("videos") && doc["videos"].is_array()) {
      for (const auto& video : doc["videos"])
        if (video.is_object()) refs.push_back({string_of(video, "path"), std::nullopt, "", "video"});
    }
    return;
  }
  const json* list = &doc;
  // Some exports wrap the list: {"ig_posts": [...]} or similar.
  if (doc.is_object()) {
    for (const auto& [key, value] : doc.items()) {
      if (value.is_array()) {
        list = &value;
        break;
      }
    }
  }
  if (!list->is_array()) throw std::runtime_error("not a list of posts");
  std::size_t index = 0;
  for (const auto& post : *list) {
    if (!post.is_object()) continue;
    ++posts;
    const std::string post_id = file + "#" + std::to_string(index++);
    const std::string post_caption = string_of(post, "title");
    const auto post_time = timestamp_of(post, "creation_timestamp");
    auto media = post.find("media");
    if (media == post.end() || !media->is_array()) continue;
    for (const auto& item : *media) {
      if (!item.is_object()) continue;
      std::string caption = string_of(item, "title");
      if (caption.empty()) caption = post_caption;
      auto taken = timestamp_of(item, "creation_timestamp");
      if (!taken) taken = post_time;
      refs.push_back({string_of(item, "uri"), taken, caption, post_id});
    }
  }
}

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

std::vector<std::string> extract_prefixed(const std::string& text, char prefix, bool allow_dots) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != prefix) continue;
    if (i > 0 && is_word_byte(static_cast<unsigned char>(text[i - 1]))) continue;  // e-mail addresses, a#b
    std::size_t j = i + 1;
    while (j < text.size() && (is_word_byte(static_cast<unsigned char>(text[j])) || (allow_dots && text[j] == '.'))) ++j;
    std::size_t end = j;
    while (allow_dots && end > i + 1 && text[end - 1] == '.') --end;  // a sentence's full stop
    if (end > i + 1) {
      std::string word = text.substr(i + 1, end - i - 1);
      if (seen.insert(word).second) out.push_back(word);
    }
    i = j > i ? j - 1 : i;
  }
  return out;
}

}  // namespace

std::string repair_instagram_text(const std::string& text) {
  // Decode UTF-8 into code points; if every one is below 256 and some are at least 128, the
  // bytes they spell may be the real UTF-8 text.
  std::string bytes;
  bool high = false;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      bytes += static_cast<char>(c);
      ++i;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size()) {
      const unsigned cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      if (cp > 0xFF) return text;
      bytes += static_cast<char>(cp);
      high = true;
      i += 2;
    } else {
      return text;  // a code point above U+07FF: real text, not byte-escaped
    }
  }
  if (!high) return text;
  // Valid UTF-8?
  for (std::size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > bytes.size() || (len == 2 && c < 0xC2)) return text;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(bytes[i + k]) & 0xC0) != 0x80) return text;
    i += len;
  }
  return bytes;
}

std::vector<std::string> extract_hashtags(const std::string& text) { return extract_prefixed(text, '#', false); }
std::vector<std::string> extract_mentions(const std::string& text) { return extract_prefixed(text, '@', true); }

bool looks_like_instagram_export(const fs::path& input) {
  std::error_code ec;
  if (fs::is_regular_file(input, ec)) {
    std::string ext = input.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".zip";
  }
  if (!fs::is_directory(input, ec)) return false;
  for (const char* candidate : {"content/posts_1.json", "your_instagram_activity/content/posts_1.json",
                                "your_instagram_activity/media/posts_1.json", "media.json"}) {
    if (fs::is_regular_file(input / candidate, ec)) return true;
  }
  return false;
}

Collection read_instagram_export(const fs::path& input, const InstagramOptions& options) {
  Collection collection;
  std::unique_ptr<ExportFiles> files;
  try {
    if (fs::is_directory(input)) {
      files = std::make_unique<FolderExport>(input);
    } else {
      auto zip = std::make_unique<ZipExport>(input);
      for (const auto& name : zip->zip().unsafe_entries())
        collection.failures.push_back({input.string() + "/" + name, "unsafe name in archive (absolute or '..'): ignored"});
      files = std::move(zip);
    }
  } catch (const std::exception& e) {
    collection.failures.push_back({input.string(), e.what()});
    return collection;
  }

  const std::vector<std::string> names = files->names();
  std::vector<MediaRef> refs;
  for (const auto& name : names) {
    if (!is_posts_file(name)) continue;
    try {
      const json doc = parse_limited(files->read(name, options.max_json_bytes), options.max_json_depth);
      collect_media(doc, name, refs, collection.posts);
    } catch (const json::parse_error& e) {
      collection.failures.push_back({input.string() + "/" + name, "unreadable posts file: not valid JSON (" + json_message(e) + ")"});
    } catch (const std::exception& e) {
      collection.failures.push_back({input.string() + "/" + name, std::string("unreadable posts file: ") + e.what()});
    }
  }

  std::set<std::string> referenced;
  for (const auto& ref : refs) {
    if (ref.uri.empty()) continue;
    if (is_video(ref.uri) || ref.post_id == "video") {
      ++collection.videos_skipped;
      referenced.insert(ref.uri);
      continue;
    }
    if (!referenced.insert(ref.uri).second) continue;  // named twice
    if (!files->contains(ref.uri)) {
      collection.failures.push_back({input.string() + "/" + ref.uri, "named by a post but missing from the export"});
      continue;
    }
    ImageRecord record;
    files->locate(ref.uri, record);
    record.relative_path = ref.uri;
    record.display_name = fs::path(ref.uri).filename().string();
    record.taken_at = ref.taken_at;
    record.caption = repair_instagram_text(ref.caption);
    record.hashtags = extract_hashtags(record.caption);
    record.mentions = extract_mentions(record.caption);
    record.post_id = ref.post_id;
    collection.images.push_back(std::move(record));
  }
  if (options.include_unreferenced) {
    for (const auto& name : names) {
      if (referenced.count(name) || !has_image_extension(name)) continue;
      ImageRecord record;
      files->locate(name, record);
      record.relative_path = name;
      record.display_name = fs::path(name).filename().string();
      collection.images.push_back(std::move(record));
    }
  }
  for (auto& record : collection.images) record.file_size = files->size(record.relative_path);
  return collection;
}

}  // namespace photoatlas::ingest
