// Nothing lost: a run killed with SIGKILL in the middle of decoding leaves the previous atlas
// intact and a consistent cache; the next run reuses the finished work. Two runs sharing a cache
// at once both finish, or the second says the cache is busy.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <fstream>
#include <iostream>
#include <regex>

#include "cli_process.h"
#include "image_fixtures.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

// Rows committed to the cache's features table (0 while the file or table does not exist yet).
int committed_feature_rows(const fs::path& cache) {
  if (!fs::exists(cache)) return 0;
  sqlite3* db = nullptr;
  int rows = 0;
  if (sqlite3_open_v2(cache.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 200);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM features", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
      rows = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return rows;
}

// "N of M images decoded, the rest taken from the cache": N, or -1 when the line is missing.
int decoded_count(const std::string& output, int* total = nullptr) {
  static const std::regex line(R"((\d+) of (\d+) images decoded)");
  std::smatch m;
  if (!std::regex_search(output, m, line)) return -1;
  if (total) *total = std::stoi(m[2]);
  return std::stoi(m[1]);
}

std::size_t csv_rows(const fs::path& file) {
  const auto rows = read_csv(file);
  return rows.empty() ? 0 : rows.size() - 1;
}

void write_photos(const fs::path& folder, int count, int width, int height) {
  fs::create_directories(folder);
  for (int i = 0; i < count; ++i) {
    SyntheticImage spec;
    spec.width = width;
    spec.height = height;
    spec.base_rgb = {40 + (i * 37) % 180, 60 + (i * 53) % 160, 30 + (i * 71) % 200};
    spec.seed = static_cast<std::uint64_t>(i) + 1000;
    write_synthetic_image(folder / ("photo_" + std::to_string(i) + ".jpg"), spec);
  }
}

std::vector<std::string> run_args(const fs::path& photos, const fs::path& out, const fs::path& cache,
                                  const std::string& threads) {
  return {PHOTOATLAS_BINARY, "run",  photos.string(), "-o", out.string(), "--cache", cache.string(),
          "-k",              "3",    "--perplexity",  "5",  "--threads", threads};
}

}  // namespace

TEST(Kill, KilledRunLosesNothing) {
  TempDir dir;
  const fs::path photos = dir / "photos", out = dir / "atlas", cache = dir / "cache" / "cache.sqlite";
  constexpr int kPhotos = 60;
  write_photos(photos, kPhotos, 900, 675);
  const std::vector<std::string> env = {"PHOTOATLAS_CACHE_DIR=" + (dir / "cache").string()};

  // A previous atlas (from the first 5 photos, no CNN: quick) that the killed run must not harm.
  fs::create_directories(dir / "few");
  for (int i = 0; i < 5; ++i)
    fs::copy_file(photos / ("photo_" + std::to_string(i) + ".jpg"), dir / "few" / ("photo_" + std::to_string(i) + ".jpg"));
  {
    const std::vector<std::string> args = {PHOTOATLAS_BINARY, "run", (dir / "few").string(), "-o", out.string(),
                                           "--no-cache", "--model", "none", "--perplexity", "1", "-k", "2"};
    const auto first = run_cli(args, env, (dir / "first.log").string());
    ASSERT_EQ(first.exit_code, 0) << first.output;
  }
  ASSERT_EQ(csv_rows(out / "points.csv"), 5u);

  // The run to kill: one thread, the CNN on when it is installed, so decoding takes seconds.
  // It dies once the cache holds a few committed batches (about a third of the photos).
  int rows_at_kill = 0;
  {
    ChildProcess child(run_args(photos, out, cache, "1"), env, (dir / "killed.log").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (child.running() && std::chrono::steady_clock::now() < deadline) {
      rows_at_kill = committed_feature_rows(cache);
      if (rows_at_kill >= kPhotos / 3) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(child.running()) << "the run ended before it could be killed:\n" << child.output();
    // While it was writing, the previous atlas stayed whole.
    EXPECT_EQ(csv_rows(out / "points.csv"), 5u);
    child.kill_now();
    child.wait();
    EXPECT_TRUE(child.killed_by_signal());
    const std::string log = child.output();
    EXPECT_EQ(log.find("decode + features        done"), std::string::npos)
        << "killed after the decode stage; the test needs slower photos:\n" << log;
  }
  ASSERT_GT(rows_at_kill, 0);
  EXPECT_EQ(csv_rows(out / "points.csv"), 5u) << "the killed run must leave the previous atlas intact";
  EXPECT_TRUE(fs::exists(out / "index.html"));

  // The next run finishes and decodes only what the killed one had not finished.
  const auto again = run_cli(run_args(photos, out, cache, "2"), env, (dir / "again.log").string());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  int total = 0;
  const int decoded = decoded_count(again.output, &total);
  ASSERT_GE(decoded, 0) << again.output;
  EXPECT_EQ(total, kPhotos);
  EXPECT_LT(decoded, kPhotos) << "work done before the kill must be reused";
  EXPECT_GT(decoded, 0) << "the killed run cannot have finished everything";
  std::cout << "[ killed run ] " << (kPhotos - decoded) << " of " << kPhotos << " photos reused from the cache, "
            << decoded << " recomputed\n";
  EXPECT_EQ(csv_rows(out / "points.csv"), static_cast<std::size_t>(kPhotos));

  // And a third run recomputes nothing: the cache is complete and consistent.
  const auto third = run_cli(run_args(photos, dir / "atlas3", cache, "2"), env, (dir / "third.log").string());
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_EQ(decoded_count(third.output), 0) << third.output;
}

TEST(Kill, TwoRunsShareOneCache) {
  TempDir dir;
  const fs::path photos = dir / "photos", cache = dir / "cache.sqlite";
  write_photos(photos, 30, 400, 300);
  const std::vector<std::string> env = {"PHOTOATLAS_CACHE_DIR=" + (dir / "cache").string()};
  auto args_a = run_args(photos, dir / "a", cache, "1"), args_b = run_args(photos, dir / "b", cache, "1");
  for (auto* args : {&args_a, &args_b}) args->insert(args->end(), {"--model", "none"});
  ChildProcess a(args_a, env, (dir / "a.log").string());
  ChildProcess b(args_b, env, (dir / "b.log").string());
  const int code_a = a.wait(), code_b = b.wait();
  int finished = 0;
  for (const auto& [code, child, out] : {std::tuple{code_a, &a, dir / "a"}, std::tuple{code_b, &b, dir / "b"}}) {
    const std::string log = child->output();
    if (code == 0) {
      ++finished;
      EXPECT_EQ(csv_rows(out / "points.csv"), 30u) << log;
    } else {
      EXPECT_NE(log.find("is busy"), std::string::npos) << "a run that cannot share the cache says so:\n" << log;
    }
  }
  EXPECT_GE(finished, 1);
  auto args_c = run_args(photos, dir / "c", cache, "2");
  args_c.insert(args_c.end(), {"--model", "none"});
  const auto after = run_cli(args_c, env, (dir / "c.log").string());
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_EQ(decoded_count(after.output), 0) << "the shared cache holds every photo:\n" << after.output;
}
