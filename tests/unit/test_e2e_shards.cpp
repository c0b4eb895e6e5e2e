// Past one machine: `photoatlas features --shard i/N` + `photoatlas merge`, and `mpirun -np 3
// photoatlas run`, make the atlas a single `run` makes (same photos in the same order, the same
// features, the same clusters), and a killed shard is resumed without recomputing the others.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <regex>
#include <set>
#include <thread>

#include "cli_process.h"
#include "cluster/metrics.h"
#include "scaling_fixtures.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

constexpr int kPhotos = 60;

// Layout options every atlas of these tests shares (a fixed seed: the comparison is exact work).
std::vector<std::string> layout_args() { return {"-k", "6", "--seed", "1", "--perplexity", "10"}; }

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A folder of photos plus one file that is not an image (it must reach failures.csv either way).
fs::path make_photos(const TempDir& dir) {
  const fs::path photos = dir / "photos";
  std::cout << "[ photos ] " << write_scaling_photos(photos, kPhotos) << "\n";
  std::ofstream(photos / "broken.jpg") << "this is not a JPEG";
  return photos;
}

std::map<std::string, std::size_t> columns(const std::vector<std::string>& header) {
  std::map<std::string, std::size_t> col;
  for (std::size_t c = 0; c < header.size(); ++c) col[header[c]] = c;
  return col;
}

std::vector<int> column_ints(const std::vector<std::vector<std::string>>& rows, std::size_t c) {
  std::vector<int> out;
  for (std::size_t r = 1; r < rows.size(); ++r) out.push_back(std::stoi(rows[r][c]));
  return out;
}

std::set<std::string> failure_paths(const fs::path& atlas) {
  std::set<std::string> paths;
  const auto rows = read_csv(atlas / "failures.csv");
  for (std::size_t r = 1; r < rows.size(); ++r) paths.insert(rows[r][0]);
  return paths;
}

// The atlas `other` shows what `reference` shows: the same photos in the same order, the same
// failures, clusters that agree (adjusted Rand >= 0.99 for every map), and the same feature rows.
void expect_same_atlas(const fs::path& reference, const fs::path& other, const FeatureRows& reference_features,
                       const FeatureRows& other_features) {
  const auto a = read_csv(reference / "points.csv"), b = read_csv(other / "points.csv");
  ASSERT_GT(a.size(), 1u);
  ASSERT_EQ(a.size(), b.size()) << "the same photos in both atlases";
  auto ca = columns(a[0]), cb = columns(b[0]);
  ASSERT_EQ(a[0], b[0]) << "the same maps and columns";
  for (std::size_t r = 1; r < a.size(); ++r) ASSERT_EQ(a[r][ca["id"]], b[r][cb["id"]]) << "row " << r;
  // What is read back from whole feature rows (not from the maps) is identical.
  for (const std::string column : {"class", "category", "objects"}) {
    if (!ca.count(column)) continue;
    for (std::size_t r = 1; r < a.size(); ++r) EXPECT_EQ(a[r][ca[column]], b[r][cb[column]]) << column << ", row " << r;
  }
  for (const std::string layout : {"raw", "cnn"}) {
    if (!ca.count(layout + "_cluster")) continue;
    const double ari = cluster::adjusted_rand_index(column_ints(a, ca[layout + "_cluster"]),
                                                    column_ints(b, cb[layout + "_cluster"]));
    std::cout << "[ " << layout << " clusters ] adjusted Rand " << ari << "\n";
    EXPECT_GE(ari, 0.99) << layout;
  }
  EXPECT_EQ(failure_paths(reference), failure_paths(other));
  EXPECT_FALSE(failure_paths(other).empty()) << "broken.jpg is listed";

  ASSERT_FALSE(reference_features.empty());
  EXPECT_EQ(reference_features.size(), other_features.size()) << "one row per photo and extractor";
  float worst = 0.0f;
  for (const auto& [key, values] : reference_features) {
    const auto it = other_features.find(key);
    ASSERT_NE(it, other_features.end()) << "photo " << key.first << " " << key.second << " missing";
    ASSERT_EQ(values.size(), it->second.size());
    for (std::size_t i = 0; i < values.size(); ++i) worst = std::max(worst, std::abs(values[i] - it->second[i]));
  }
  std::cout << "[ features ] largest difference " << worst << "\n";
  EXPECT_LE(worst, 1e-5f);
}

// The reference: one process, the default CNN, its features in its own cache file.
struct Reference {
  fs::path atlas;
  FeatureRows features;
};
Reference single_process_run(const TempDir& dir, const fs::path& photos, const std::vector<std::string>& env) {
  Reference ref;
  ref.atlas = dir / "single";
  const auto result = run_cli(with({PHOTOATLAS_BINARY, "run", photos.string(), "-o", ref.atlas.string(), "--cache",
                                    (dir / "single.sqlite").string(), "--threads", "2"},
                                   layout_args()),
                              env, (dir / "single.log").string());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  read_feature_rows(dir / "single.sqlite", ref.features);
  return ref;
}

std::vector<std::string> features_args(const fs::path& photos, int index, int count, const fs::path& shard,
                                       const std::string& model, const std::string& threads) {
  return {PHOTOATLAS_BINARY, "features", photos.string(), "--shard", std::to_string(index) + "/" + std::to_string(count),
          "-o", shard.string(), "--model", model, "--threads", threads};
}

// "Shard i/N: P photos, U usable, D decoded now": D, or -1 when the line is missing.
int decoded_now(const std::string& output) {
  static const std::regex line(R"(Shard \d+/\d+: \d+ photos, \d+ usable, (\d+) decoded now)");
  std::smatch m;
  return std::regex_search(output, m, line) ? std::stoi(m[1]) : -1;
}

std::string find_mpirun() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/lib64/openmpi/bin"})
    if (fs::exists(fs::path(dir) / "mpirun")) return (fs::path(dir) / "mpirun").string();
  return "";
}

}  // namespace

TEST(Shards, FeaturesThenMergeMakeTheAtlasOfOneRun) {
  TempDir dir;
  const fs::path photos = make_photos(dir);
  const std::vector<std::string> env = {"PHOTOATLAS_CACHE_DIR=" + (dir / "cache").string()};
  const Reference ref = single_process_run(dir, photos, env);
  ASSERT_FALSE(HasFailure());

  // Three batch jobs, in reverse order (the order must not matter), then the merge.
  std::vector<std::string> shard_files;
  FeatureRows sharded;
  for (int i = 2; i >= 0; --i) {
    const fs::path shard = dir / ("shard" + std::to_string(i) + ".sqlite");
    const auto result = run_cli(features_args(photos, i, 3, shard, "inception_v3", "2"), env,
                                (dir / ("shard" + std::to_string(i) + ".log")).string());
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_GT(decoded_now(result.output), 0) << result.output;
    shard_files.push_back(shard.string());
    read_feature_rows(shard, sharded);
  }
  const fs::path merged = dir / "merged";
  const auto merge = run_cli(with(with({PHOTOATLAS_BINARY, "merge"}, shard_files),
                                  with({"-o", merged.string(), "--threads", "2"}, layout_args())),
                             env, (dir / "merge.log").string());
  ASSERT_EQ(merge.exit_code, 0) << merge.output;
  EXPECT_NE(merge.output.find("0 of " + std::to_string(kPhotos) + " images decoded"), std::string::npos)
      << "merge decodes nothing: everything comes from the shards\n" << merge.output;
  expect_same_atlas(ref.atlas, merged, ref.features, sharded);

  // A merge short of a shard names what is missing and writes nothing.
  // shard_files holds shards 2, 1, 0 in that order.
  const auto short_merge = run_cli({PHOTOATLAS_BINARY, "merge", shard_files[0], shard_files[1], "-o",
                                    (dir / "partial").string()},
                                   env, (dir / "partial.log").string());
  EXPECT_EQ(short_merge.exit_code, 1);
  EXPECT_NE(short_merge.output.find("shard 0/3 is missing"), std::string::npos) << short_merge.output;
  EXPECT_FALSE(fs::exists(dir / "partial"));
}

TEST(Shards, MpirunWithThreeRanksMakesTheAtlasOfOneRun) {
  const std::string mpirun = find_mpirun();
  if (mpirun.empty()) GTEST_SKIP() << "mpirun is not installed (scripts/setup installs openmpi-bin)";
  TempDir dir;
  const fs::path photos = make_photos(dir);
  const std::vector<std::string> env = {"PHOTOATLAS_CACHE_DIR=" + (dir / "cache").string()};
  const Reference ref = single_process_run(dir, photos, env);
  ASSERT_FALSE(HasFailure());

  const fs::path out = dir / "mpi";
  const std::vector<std::string> mpi_args = with(
      {mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "3", PHOTOATLAS_BINARY, "run", photos.string(), "-o",
       out.string(), "--threads", "1"},
      layout_args());
  const auto result = run_cli(mpi_args, env, (dir / "mpi.log").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // Discovery read the collection once in all: each rank hashed a third of the files.
  const std::regex rank_line(R"(rank (\d)/3: shard of \d+ photos.*; hashed (\d+) of (\d+) files)");
  std::size_t ranks = 0, hashed = 0, files = 0;
  for (auto it = std::sregex_iterator(result.output.begin(), result.output.end(), rank_line); it != std::sregex_iterator();
       ++it) {
    ++ranks;
    hashed += std::stoul((*it)[2]);
    files = std::stoul((*it)[3]);
    EXPECT_LT(std::stoul((*it)[2]), files) << (*it)[0];
  }
  EXPECT_EQ(ranks, 3u) << result.output;
  EXPECT_EQ(hashed, files) << result.output;
  EXPECT_EQ(files, static_cast<std::size_t>(std::distance(fs::directory_iterator(photos), {})));
  FeatureRows distributed;
  for (int r = 0; r < 3; ++r)
    read_feature_rows(fs::path(out.string() + ".shards") / ("shard-" + std::to_string(r) + "-of-3.sqlite"), distributed);
  expect_same_atlas(ref.atlas, out, ref.features, distributed);
  EXPECT_NE(result.output.find("raw: PCA to 50 dimensions keeps"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("(distributed over the ranks)"), std::string::npos) << result.output;

  // --pca 10: 20 sample directions for 60 photos, so the distributed PCA is a randomized
  // approximation while the single process solves exactly; the clusters must still agree. Both
  // runs take their features from the first ones (the cache, the complete shards).
  const std::vector<std::string> pca10 = {"--pca", "10"};
  const auto single10 = run_cli(with(with({PHOTOATLAS_BINARY, "run", photos.string(), "-o", (dir / "single10").string(),
                                          "--cache", (dir / "single.sqlite").string(), "--threads", "2"},
                                         layout_args()),
                                    pca10),
                               env, (dir / "single10.log").string());
  ASSERT_EQ(single10.exit_code, 0) << single10.output;
  std::vector<std::string> mpi10_args = mpi_args;
  mpi10_args[std::find(mpi10_args.begin(), mpi10_args.end(), out.string()) - mpi10_args.begin()] = (dir / "mpi10").string();
  mpi10_args.insert(mpi10_args.end(), {"--shard-dir", out.string() + ".shards", "--pca", "10"});
  const auto mpi10 = run_cli(mpi10_args, env, (dir / "mpi10.log").string());
  ASSERT_EQ(mpi10.exit_code, 0) << mpi10.output;
  expect_same_atlas(dir / "single10", dir / "mpi10", ref.features, distributed);

  // A second launch finds every shard complete: no rank decodes anything, and the atlas is the same.
  const auto again = run_cli(mpi_args, env, (dir / "mpi-again.log").string());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const std::regex complete(R"(rank \d/3: shard of \d+ photos, 0 decoded now \(already complete\))");
  EXPECT_EQ(std::distance(std::sregex_iterator(again.output.begin(), again.output.end(), complete),
                          std::sregex_iterator()),
            3)
      << again.output;
}

TEST(Shards, KilledShardIsResumedAndFinishedShardsAreNotRecomputed) {
  TempDir dir;
  const fs::path photos = make_photos(dir);
  const std::vector<std::string> env = {"PHOTOATLAS_CACHE_DIR=" + (dir / "cache").string()};
  // MobileNetV2 (not the default InceptionV3): a killed shard needs only some CNN work to show,
  // and the cheaper network keeps this test short on two cores.
  const std::string model = "mobilenet_v2";
  const auto shard = [&](int i) { return dir / ("shard" + std::to_string(i) + ".sqlite"); };
  for (int i : {0, 2}) {
    const auto result = run_cli(features_args(photos, i, 3, shard(i), model, "2"), env,
                                (dir / ("first" + std::to_string(i) + ".log")).string());
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }

  // Shard 1 dies (SIGKILL, one thread) once a few of its photos are committed.
  int photos_of_shard1 = 0;
  {
    ChildProcess child(features_args(photos, 1, 3, shard(1), model, "1"), env, (dir / "killed.log").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    FeatureRows rows;
    while (child.running() && std::chrono::steady_clock::now() < deadline) {
      rows.clear();
      if (fs::exists(shard(1))) read_feature_rows(shard(1), rows);
      if (rows.size() >= 6) break;  // two extractors: 3 photos or more
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(child.running()) << "shard 1 ended before it could be killed:\n" << child.output();
    child.kill_now();
    child.wait();
    EXPECT_TRUE(child.killed_by_signal());
  }
  // The killed shard is recognised as incomplete: merge refuses it by name.
  const auto early = run_cli({PHOTOATLAS_BINARY, "merge", shard(0).string(), shard(1).string(), shard(2).string(),
                              "-o", (dir / "atlas").string()},
                             env, (dir / "early.log").string());
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.output.find(shard(1).string() + ": incomplete"), std::string::npos) << early.output;

  // Every job re-run, as a scheduler retrying the array would: the finished shards do nothing,
  // the killed one decodes only what it had not committed.
  for (int i : {0, 1, 2}) {
    const auto result = run_cli(features_args(photos, i, 3, shard(i), model, "2"), env,
                                (dir / ("again" + std::to_string(i) + ".log")).string());
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const int decoded = decoded_now(result.output);
    if (i != 1) {
      EXPECT_EQ(decoded, 0) << result.output;
      EXPECT_NE(result.output.find("already complete"), std::string::npos) << result.output;
      continue;
    }
    static const std::regex line(R"(Shard 1/3: (\d+) photos)");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(result.output, m, line)) << result.output;
    photos_of_shard1 = std::stoi(m[1]);
    EXPECT_GT(decoded, 0) << result.output;
    EXPECT_LE(decoded, photos_of_shard1 - 3) << "photos committed before the kill are kept\n" << result.output;
    std::cout << "[ killed shard ] " << decoded << " of " << photos_of_shard1 << " photos recomputed\n";
  }
  const auto merge = run_cli({PHOTOATLAS_BINARY, "merge", shard(2).string(), shard(0).string(), shard(1).string(),
                              "-o", (dir / "atlas").string(), "-k", "6"},
                             env, (dir / "merge.log").string());
  ASSERT_EQ(merge.exit_code, 0) << merge.output;
  const auto points = read_csv(dir / "atlas" / "points.csv");
  EXPECT_EQ(points.size(), 1u + static_cast<std::size_t>(std::distance(fs::directory_iterator(photos), {})) - 1)
      << "every photo but broken.jpg";
}

TEST(Shards, BadShardSpecIsOneClearLine) {
  TempDir dir;
  const auto result = run_cli({PHOTOATLAS_BINARY, "features", dir.path().string(), "--shard", "3/3", "-o",
                               (dir / "s.sqlite").string()},
                              {}, (dir / "bad.log").string());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("i must be in 0..N-1"), std::string::npos) << result.output;
}
