#include "store/sqlite_cache.h"

#include <sqlite3.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace fs = std::filesystem;

namespace photoatlas::store {

namespace {

constexpr int kSchemaVersion = 1;

// SQLite integers are signed 64-bit; hashes are stored bit-cast.
sqlite3_int64 key(std::uint64_t hash) {
  sqlite3_int64 k;
  std::memcpy(&k, &hash, sizeof k);
  return k;
}

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("cache: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  sqlite3_stmt* get() { return stmt_; }
  int step() { return sqlite3_step(stmt_); }
  void done() {
    const int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(std::string("cache: ") + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("cache: " + message);
  }
}

void bind_optional_int(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  v ? sqlite3_bind_int64(s, i, *v) : sqlite3_bind_null(s, i);
}
void bind_optional_double(sqlite3_stmt* s, int i, const std::optional<double>& v) {
  v ? sqlite3_bind_double(s, i, *v) : sqlite3_bind_null(s, i);
}

}  // namespace

struct SqliteCache::Pending {
  struct Products {
    std::uint64_t hash;
    int size;
    features::ImageProducts products;
  };
  struct Features {
    std::uint64_t hash;
    std::string extractor;
    int dims;
    bool bytes;
    std::string blob;
  };
  std::vector<Products> products;
  std::vector<Features> features;
  std::size_t count() const { return products.size() + features.size(); }
};

SqliteCache::SqliteCache(const fs::path& file, CacheOptions options)
    : file_(file), options_(options), pending_(std::make_unique<Pending>()) {
  std::error_code ec;
  if (file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open the cache " + file.string() + ": " + message);
  }
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
  try {
    // WAL: readers never block the writer, and a killed process leaves a consistent database.
    exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    exec(db_,
         "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
         "CREATE TABLE IF NOT EXISTS products(hash INTEGER NOT NULL, thumb_size INTEGER NOT NULL,"
         " width INTEGER, height INTEGER, taken_at INTEGER, camera TEXT, latitude REAL, longitude REAL,"
         " thumbnail BLOB NOT NULL, PRIMARY KEY(hash, thumb_size)) WITHOUT ROWID;"
         "CREATE TABLE IF NOT EXISTS features(hash INTEGER NOT NULL, extractor TEXT NOT NULL,"
         " dims INTEGER NOT NULL, encoding INTEGER NOT NULL, data BLOB NOT NULL,"
         " PRIMARY KEY(hash, extractor)) WITHOUT ROWID;");
    Statement version(db_, "SELECT value FROM meta WHERE key='schema'");
    if (version.step() == SQLITE_ROW) {
      const int found = std::atoi(reinterpret_cast<const char*>(sqlite3_column_text(version.get(), 0)));
      if (found != kSchemaVersion)
        throw std::runtime_error("cache schema " + std::to_string(found) + " is not the expected " +
                                 std::to_string(kSchemaVersion) + " (remove the file to start afresh)");
    } else {
      exec(db_, ("INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '" + std::to_string(kSchemaVersion) + "')").c_str());
    }
  } catch (const std::runtime_error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    std::string what = e.what();
    if (what.find("database is locked") != std::string::npos)
      throw std::runtime_error("the cache " + file.string() + " is busy (another photoatlas run holds it)");
    if (what.find("file is not a database") != std::string::npos)
      throw std::runtime_error("the cache " + file.string() + " is not a photoatlas cache (not a SQLite database)");
    throw std::runtime_error("cannot use the cache " + file.string() + ": " + what);
  }
}

SqliteCache::~SqliteCache() {
  try {
    flush();
  } catch (...) {
    // A destructor must not throw; what was not flushed is simply recomputed next time.
  }
  sqlite3_close(db_);
}

std::optional<features::ImageProducts> SqliteCache::load_products(std::uint64_t hash, int thumbnail_size) {
  std::lock_guard lock(mutex_);
  for (const auto& p : pending_->products)
    if (p.hash == hash && p.size == thumbnail_size) return p.products;
  Statement s(db_,
              "SELECT width, height, taken_at, camera, latitude, longitude, thumbnail FROM products"
              " WHERE hash=? AND thumb_size=?");
  sqlite3_bind_int64(s.get(), 1, key(hash));
  sqlite3_bind_int(s.get(), 2, thumbnail_size);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  features::ImageProducts out;
  sqlite3_stmt* r = s.get();
  out.info.width = sqlite3_column_int(r, 0);
  out.info.height = sqlite3_column_int(r, 1);
  if (sqlite3_column_type(r, 2) != SQLITE_NULL) out.info.taken_at = sqlite3_column_int64(r, 2);
  if (const unsigned char* camera = sqlite3_column_text(r, 3)) out.info.camera = reinterpret_cast<const char*>(camera);
  if (sqlite3_column_type(r, 4) != SQLITE_NULL) out.info.latitude = sqlite3_column_double(r, 4);
  if (sqlite3_column_type(r, 5) != SQLITE_NULL) out.info.longitude = sqlite3_column_double(r, 5);
  const void* blob = sqlite3_column_blob(r, 6);
  out.thumbnail_jpeg.assign(static_cast<const char*>(blob), static_cast<std::size_t>(sqlite3_column_bytes(r, 6)));
  if (out.thumbnail_jpeg.empty()) return std::nullopt;
  return out;
}

namespace {
constexpr int kEncodingFloat32 = 0;
constexpr int kEncodingBytes = 1;  // value = byte / 255 (raw pixels)

bool decode_features(int encoding, const void* blob, std::size_t bytes, std::span<float> out) {
  if (encoding == kEncodingFloat32) {
    if (bytes != out.size() * sizeof(float)) return false;
    std::memcpy(out.data(), blob, bytes);
    return true;
  }
  if (encoding == kEncodingBytes) {
    if (bytes != out.size()) return false;
    const auto* b = static_cast<const std::uint8_t*>(blob);
    constexpr float kScale = 1.0f / 255.0f;  // the same expression as the raw-pixel extractor
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = b[i] * kScale;
    return true;
  }
  return false;
}
}  // namespace

bool SqliteCache::load_features(std::uint64_t hash, const features::Extractor& extractor, std::span<float> out) {
  const std::string id = extractor.id();
  std::lock_guard lock(mutex_);
  for (const auto& f : pending_->features)
    if (f.hash == hash && f.extractor == id)
      return decode_features(f.bytes ? kEncodingBytes : kEncodingFloat32, f.blob.data(), f.blob.size(), out);
  Statement s(db_, "SELECT dims, encoding, data FROM features WHERE hash=? AND extractor=?");
  sqlite3_bind_int64(s.get(), 1, key(hash));
  sqlite3_bind_text(s.get(), 2, id.c_str(), -1, SQLITE_TRANSIENT);
  if (s.step() != SQLITE_ROW) return false;
  if (static_cast<std::size_t>(sqlite3_column_int(s.get(), 0)) != out.size()) return false;
  return decode_features(sqlite3_column_int(s.get(), 1), sqlite3_column_blob(s.get(), 2),
                         static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 2)), out);
}

void SqliteCache::save_products(std::uint64_t hash, int thumbnail_size, const features::ImageProducts& products) {
  std::lock_guard lock(mutex_);
  pending_->products.push_back({hash, thumbnail_size, products});
  if (pending_->count() >= static_cast<std::size_t>(options_.batch_size)) flush_locked();
}

void SqliteCache::save_features(std::uint64_t hash, const features::Extractor& extractor,
                                std::span<const float> values) {
  Pending::Features f{hash, extractor.id(), static_cast<int>(values.size()), extractor.values_are_bytes(), {}};
  if (f.bytes) {
    f.blob.resize(values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
      f.blob[i] = static_cast<char>(static_cast<std::uint8_t>(std::lround(values[i] * 255.0f)));
  } else {
    f.blob.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  }
  std::lock_guard lock(mutex_);
  pending_->features.push_back(std::move(f));
  if (pending_->count() >= static_cast<std::size_t>(options_.batch_size)) flush_locked();
}

void SqliteCache::flush() {
  std::lock_guard lock(mutex_);
  flush_locked();
}

void SqliteCache::flush_locked() {
  if (pending_->count() == 0) return;
  exec(db_, "BEGIN IMMEDIATE");
  try {
    Statement p(db_,
                "INSERT OR REPLACE INTO products(hash, thumb_size, width, height, taken_at, camera, latitude,"
                " longitude, thumbnail) VALUES(?,?,?,?,?,?,?,?,?)");
    for (const auto& item : pending_->products) {
      sqlite3_stmt* s = p.get();
      sqlite3_reset(s);
      sqlite3_bind_int64(s, 1, key(item.hash));
      sqlite3_bind_int(s, 2, item.size);
      sqlite3_bind_int(s, 3, item.products.info.width);
      sqlite3_bind_int(s, 4, item.products.info.height);
      bind_optional_int(s, 5, item.products.info.taken_at);
      sqlite3_bind_text(s, 6, item.products.info.camera.c_str(), -1, SQLITE_TRANSIENT);
      bind_optional_double(s, 7, item.products.info.latitude);
      bind_optional_double(s, 8, item.products.info.longitude);
      sqlite3_bind_blob(s, 9, item.products.thumbnail_jpeg.data(), static_cast<int>(item.products.thumbnail_jpeg.size()),
                        SQLITE_TRANSIENT);
      p.done();
    }
    Statement f(db_, "INSERT OR REPLACE INTO features(hash, extractor, dims, encoding, data) VALUES(?,?,?,?,?)");
    for (const auto& item : pending_->features) {
      sqlite3_stmt* s = f.get();
      sqlite3_reset(s);
      sqlite3_bind_int64(s, 1, key(item.hash));
      sqlite3_bind_text(s, 2, item.extractor.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(s, 3, item.dims);
      sqlite3_bind_int(s, 4, item.bytes ? kEncodingBytes : kEncodingFloat32);
      sqlite3_bind_blob(s, 5, item.blob.data(), static_cast<int>(item.blob.size()), SQLITE_TRANSIENT);
      f.done();
    }
    exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  pending_->products.clear();
  pending_->features.clear();
}

std::size_t SqliteCache::product_count() {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT COUNT(*) FROM products");
  s.step();
  return static_cast<std::size_t>(sqlite3_column_int64(s.get(), 0)) + pending_->products.size();
}

std::size_t SqliteCache::feature_count() {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT COUNT(*) FROM features");
  s.step();
  return static_cast<std::size_t>(sqlite3_column_int64(s.get(), 0)) + pending_->features.size();
}

fs::path default_cache_file() {
  if (const char* dir = std::getenv("PHOTOATLAS_CACHE_DIR"); dir && *dir) return fs::path(dir) / "cache.sqlite";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "photoatlas" / "cache.sqlite";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "photoatlas" / "cache.sqlite";
  return {};
}

}  // namespace photoatlas::store
