#include "store/shard_manifest.h"

#include <sqlite3.h>

#include <cstring>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using nlohmann::json;

namespace photoatlas::store {

namespace {

// One open database that closes itself; errors name the file.
class Database {
 public:
  Database(const fs::path& file, int flags) : file_(file) {
    if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open the shard " + file.string() + ": " + message);
    }
    sqlite3_busy_timeout(db_, 10000);
  }
  ~Database() { sqlite3_close(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw std::runtime_error("shard " + file_.string() + ": " + message);
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error("shard " + file_.string() + ": " + sqlite3_errmsg(db_));
    return stmt;
  }
  void step_done(sqlite3_stmt* stmt) {
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      const std::string message = sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
      throw std::runtime_error("shard " + file_.string() + ": " + message);
    }
    sqlite3_reset(stmt);
  }
  sqlite3* get() { return db_; }

 private:
  fs::path file_;
  sqlite3* db_ = nullptr;
};

sqlite3_int64 key(std::uint64_t hash) {
  sqlite3_int64 k;
  std::memcpy(&k, &hash, sizeof k);
  return k;
}

std::string text_column(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  return text ? reinterpret_cast<const char*>(text) : "";
}

json record_to_json(const ImageRecord& r) {
  json j = {{"id", r.id},
            {"path", r.path},
            {"relative_path", r.relative_path},
            {"display_name", r.display_name},
            {"content_hash", r.content_hash},
            {"file_size", r.file_size},
            {"caption", r.caption},
            {"archive", r.archive},
            {"member", r.member},
            {"post_id", r.post_id},
            {"hashtags", r.hashtags},
            {"mentions", r.mentions}};
  j["taken_at"] = r.taken_at ? json(*r.taken_at) : json(nullptr);
  return j;
}

ImageRecord record_from_json(const json& j) {
  ImageRecord r;
  r.id = j.at("id").get<std::string>();
  r.path = j.at("path").get<std::string>();
  r.relative_path = j.at("relative_path").get<std::string>();
  r.display_name = j.at("display_name").get<std::string>();
  r.content_hash = j.at("content_hash").get<std::uint64_t>();
  r.file_size = j.at("file_size").get<std::uint64_t>();
  r.caption = j.at("caption").get<std::string>();
  r.archive = j.at("archive").get<std::string>();
  r.member = j.at("member").get<std::string>();
  r.post_id = j.at("post_id").get<std::string>();
  r.hashtags = j.at("hashtags").get<std::vector<std::string>>();
  r.mentions = j.at("mentions").get<std::vector<std::string>>();
  if (!j.at("taken_at").is_null()) r.taken_at = j.at("taken_at").get<std::int64_t>();
  return r;
}

constexpr const char* kManifestTables =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS shard_images(position INTEGER PRIMARY KEY, hash INTEGER NOT NULL,"
    " record TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS shard_failures(path TEXT NOT NULL, reason TEXT NOT NULL);";

}  // namespace

void write_shard_manifest(const fs::path& file, const ShardManifest& manifest) {
  Database db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db.exec(kManifestTables);
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("DELETE FROM meta WHERE key LIKE 'shard_%'; DELETE FROM shard_images; DELETE FROM shard_failures;");
    sqlite3_stmt* image = db.prepare("INSERT INTO shard_images(position, hash, record) VALUES(?,?,?)");
    for (const ShardImage& item : manifest.images) {
      const std::string text = record_to_json(item.record).dump();
      sqlite3_bind_int64(image, 1, static_cast<sqlite3_int64>(item.position));
      sqlite3_bind_int64(image, 2, key(item.record.content_hash));
      sqlite3_bind_text(image, 3, text.c_str(), -1, SQLITE_TRANSIENT);
      db.step_done(image);
    }
    sqlite3_finalize(image);
    sqlite3_stmt* failure = db.prepare("INSERT INTO shard_failures(path, reason) VALUES(?,?)");
    for (const Failure& f : manifest.failures) {
      sqlite3_bind_text(failure, 1, f.path.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(failure, 2, f.reason.c_str(), -1, SQLITE_TRANSIENT);
      db.step_done(failure);
    }
    sqlite3_finalize(failure);
    sqlite3_stmt* meta = db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?,?)");
    const std::pair<const char*, std::string> values[] = {
        {"shard_index", std::to_string(manifest.index)},
        {"shard_count", std::to_string(manifest.count)},
        {"shard_feature_settings", manifest.feature_settings},
        {"shard_posts", std::to_string(manifest.posts)},
        {"shard_videos_skipped", std::to_string(manifest.videos_skipped)},
        // Last, in the same transaction: a shard killed before this commit has no manifest at all.
        {"shard_complete", "1"}};
    for (const auto& [name, value] : values) {
      sqlite3_bind_text(meta, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_text(meta, 2, value.c_str(), -1, SQLITE_TRANSIENT);
      db.step_done(meta);
    }
    sqlite3_finalize(meta);
    db.exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::optional<ShardManifest> read_shard_manifest(const fs::path& file) {
  if (!fs::is_regular_file(file)) return std::nullopt;
  // Read-write without create: a WAL database needs its -shm file even to be read.
  Database db(file, SQLITE_OPEN_READWRITE);
  std::map<std::string, std::string> meta;
  {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db.get(), "SELECT key, value FROM meta WHERE key LIKE 'shard_%'", -1, &stmt, nullptr) !=
        SQLITE_OK) {
      const std::string message = sqlite3_errmsg(db.get());
      if (message.find("no such table") != std::string::npos) return std::nullopt;  // nothing written yet
      throw std::runtime_error("the shard " + file.string() + " is not a photoatlas shard: " + message);
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) meta[text_column(stmt, 0)] = text_column(stmt, 1);
    sqlite3_finalize(stmt);
  }
  if (meta["shard_complete"] != "1") return std::nullopt;

  ShardManifest manifest;
  try {
    manifest.index = std::stoi(meta.at("shard_index"));
    manifest.count = std::stoi(meta.at("shard_count"));
    manifest.feature_settings = meta.at("shard_feature_settings");
    manifest.posts = std::stoull(meta.at("shard_posts"));
    manifest.videos_skipped = std::stoull(meta.at("shard_videos_skipped"));
  } catch (const std::exception&) {
    throw std::runtime_error("the shard " + file.string() + " has a damaged manifest (re-run its `photoatlas features`)");
  }
  sqlite3_stmt* images = db.prepare("SELECT position, record FROM shard_images ORDER BY position");
  while (sqlite3_step(images) == SQLITE_ROW) {
    ShardImage item;
    item.position = static_cast<std::size_t>(sqlite3_column_int64(images, 0));
    try {
      item.record = record_from_json(json::parse(text_column(images, 1)));
    } catch (const std::exception& e) {
      sqlite3_finalize(images);
      throw std::runtime_error("the shard " + file.string() + " has a damaged photo list: " + e.what());
    }
    manifest.images.push_back(std::move(item));
  }
  sqlite3_finalize(images);
  sqlite3_stmt* failures = db.prepare("SELECT path, reason FROM shard_failures ORDER BY rowid");
  while (sqlite3_step(failures) == SQLITE_ROW)
    manifest.failures.push_back({text_column(failures, 0), text_column(failures, 1)});
  sqlite3_finalize(failures);
  return manifest;
}

}  // namespace photoatlas::store
