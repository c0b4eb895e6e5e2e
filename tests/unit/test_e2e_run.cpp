// End to end: the real `photoatlas run` executable on generated photos and, when ../shared is
// present, on a subset of the intel_scenes data set.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sys/wait.h>

#include <zip.h>

#include "cluster/metrics.h"
#include "image_fixtures.h"
#include "cli_shell.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::size_t> column_index(const std::vector<std::string>& header) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < header.size(); ++i) index[header[i]] = i;
  return index;
}

// Label of a generated colour-family photo from its file name (red_3.jpg → 0).
int family_of(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  if (name.rfind("red", 0) == 0) return 0;
  if (name.rfind("green", 0) == 0) return 1;
  if (name.rfind("blue", 0) == 0) return 2;
  return -1;
}

}  // namespace

TEST(EndToEnd, ThreeColourFamiliesBecomeThreeClusters) {
  TempDir dir;
  write_colour_families(dir / "photos", 12, 42);
  { std::ofstream(dir / "photos" / "broken.jpg") << "definitely not a JPEG"; }
  const auto result = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " +
                                     quote((dir / "atlas").string()) + " -k 3 --perplexity 8 --seed 1 --threads 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("36 images in the atlas"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("broken.jpg"), std::string::npos) << "the bad file is named on stderr";

  const auto points = read_csv(dir / "atlas" / "points.csv");
  ASSERT_EQ(points.size(), 37u);
  auto col = column_index(points[0]);
  ASSERT_TRUE(col.count("path") && col.count("raw_x") && col.count("raw_y") && col.count("raw_cluster"));
  EXPECT_TRUE(col.count("cnn_x") && col.count("cnn_cluster")) << "the default run makes a CNN map too";
  EXPECT_EQ(col["path"], 0u);
  std::vector<int> truth, clusters;
  std::set<std::string> thumbs;
  for (std::size_t r = 1; r < points.size(); ++r) {
    truth.push_back(family_of(points[r][col["path"]]));
    clusters.push_back(std::stoi(points[r][col["raw_cluster"]]));
    EXPECT_TRUE(std::isfinite(std::stod(points[r][col["raw_x"]])));
    EXPECT_TRUE(fs::exists(dir / "atlas" / "thumbs" / (points[r][col["id"]] + ".jpg")));
  }
  EXPECT_DOUBLE_EQ(cluster::adjusted_rand_index(truth, clusters), 1.0);

  const auto failures = read_csv(dir / "atlas" / "failures.csv");
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[1][0].find("broken.jpg"), std::string::npos);
  EXPECT_EQ(failures[1][1], "not an image in a format photoatlas can read");

  std::ifstream in(dir / "atlas" / "data" / "atlas.json");
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["count"], 36);
  EXPECT_EQ(doc["layouts"][0]["id"], "raw");
  EXPECT_EQ(doc["layouts"][0]["clusters"].size(), 3u);
  ASSERT_EQ(doc["layouts"].size(), 2u);
  EXPECT_EQ(doc["layouts"][1]["id"], "cnn");
  EXPECT_TRUE(fs::exists(dir / "atlas" / "index.html"));

  // Same seed, same atlas.
  const auto again = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " +
                                    quote((dir / "atlas2").string()) + " -k 3 --perplexity 8 --seed 1 --threads 2 -q");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(read_csv(dir / "atlas2" / "points.csv"), points);
}

TEST(EndToEnd, NothingUsableExitsNonZeroAndKeepsThePreviousAtlas) {
  TempDir dir;
  fs::create_directories(dir / "bad");
  { std::ofstream(dir / "bad" / "a.jpg") << "nope"; }
  fs::create_directories(dir / "atlas");
  std::ofstream(dir / "atlas" / "index.html") << "previous";
  const auto result = run_photoatlas("run " + quote((dir / "bad").string()) + " -o " + quote((dir / "atlas").string()));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("error: none of the 1 image files could be read"), std::string::npos) << result.output;
  std::ifstream previous(dir / "atlas" / "index.html");
  std::string text;
  previous >> text;
  EXPECT_EQ(text, "previous");

  const auto empty = run_photoatlas("run " + quote((dir / "missing").string()) + " -o " + quote((dir / "x").string()));
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.output.find("no such file or folder"), std::string::npos) << empty.output;
}

TEST(EndToEnd, BadArgumentsAreOneClearLine) {
  const auto result = run_photoatlas("run");
  EXPECT_NE(result.exit_code, 0);
  const auto bad_k = run_photoatlas("run x -o y -k 0");
  EXPECT_NE(bad_k.exit_code, 0);
  EXPECT_NE(bad_k.output.find("-k"), std::string::npos) << bad_k.output;
}

// The study's first experiment on real photos: raw pixels, K-Means with k = 6 on intel_scenes.
TEST(EndToEnd, IntelScenesSubset) {
  const auto shared = shared_dir();
  if (!shared) GTEST_SKIP() << "../shared is absent: skipping the intel_scenes end-to-end test";
  const fs::path dataset = *shared / "datasets" / "intel_scenes";
  const auto labels = read_csv(dataset / "labels.csv");
  ASSERT_GT(labels.size(), 1u);

  // A deterministic subset: the first 100 images of each class, linked into one folder.
  TempDir dir;
  fs::create_directories(dir / "photos");
  std::map<std::string, int> per_class, class_id;
  std::map<std::string, int> label_of_name;
  for (std::size_t r = 1; r < labels.size(); ++r) {
    const std::string& label = labels[r][1];
    if (per_class[label]++ >= 100) continue;
    if (!class_id.count(label)) class_id[label] = static_cast<int>(class_id.size());
    const std::string name = label + "_" + fs::path(labels[r][0]).filename().string();
    fs::create_symlink(dataset / labels[r][0], dir / "photos" / name);
    label_of_name[name] = class_id[label];
  }
  const std::size_t expected = label_of_name.size();
  // Object tags play no part in the clusters measured here; without them the 600 photos take minutes less.
  const auto result = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " +
                                     quote((dir / "atlas").string()) + " -k 6 --seed 0 --no-objects");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto points = read_csv(dir / "atlas" / "points.csv");
  ASSERT_EQ(points.size(), expected + 1) << "every image appears in points.csv";
  auto col = column_index(points[0]);
  ASSERT_TRUE(col.count("cnn_cluster")) << "the default CNN map is missing (is the nsfwjs package installed?)";
  std::vector<int> truth, raw_clusters, cnn_clusters;
  for (std::size_t r = 1; r < points.size(); ++r) {
    truth.push_back(label_of_name.at(fs::path(points[r][0]).filename().string()));
    raw_clusters.push_back(std::stoi(points[r][col["raw_cluster"]]));
    cnn_clusters.push_back(std::stoi(points[r][col["cnn_cluster"]]));
  }
  const double raw_nmi = cluster::normalized_mutual_info(truth, raw_clusters);
  const double cnn_nmi = cluster::normalized_mutual_info(truth, cnn_clusters);
  std::printf("intel_scenes subset (%zu images), K-Means k=6 NMI: raw pixels %.3f, CNN %.3f\n", expected, raw_nmi,
              cnn_nmi);
  // Raw pixels carry little meaning (the study's point): NMI near 0.18, but well above chance.
  EXPECT_GT(raw_nmi, 0.08);
  EXPECT_LT(raw_nmi, 0.45);
  // CNN features are what make the clusters mean something (the default, InceptionV3 mixed6+mixed7
  // quadrant-pooled, measured 0.50 on the whole set: bench/results/cnn_quality.md).
  EXPECT_GT(cnn_nmi, 0.35);  // measured 0.40 on this subset with the previous default (mixed5)
  EXPECT_GT(cnn_nmi, raw_nmi + 0.15);
}

// --keep-layout: a re-run with new photos keeps the old photos where they were and places the new
// ones next to their look-alikes; a removed photo leaves the map.
TEST(EndToEnd, KeepLayoutPlacesNewPhotosWithoutMovingOldOnes) {
  TempDir dir;
  write_colour_families(dir / "photos", 10, 5);
  const std::string common = " -k 3 --perplexity 6 --seed 2 --threads 2 --model none";
  auto result = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " + quote((dir / "atlas").string()) + common);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto before = read_csv(dir / "atlas" / "points.csv");
  auto col = column_index(before[0]);
  std::map<std::string, std::pair<std::string, std::string>> old_xy;  // id -> (x, y) as written
  for (std::size_t r = 1; r < before.size(); ++r)
    old_xy[before[r][col["id"]]] = {before[r][col["raw_x"]], before[r][col["raw_y"]]};

  // Three new photos, one of each family; one old photo removed.
  write_colour_families(dir / "more", 1, 77);
  for (const auto& e : fs::directory_iterator(dir / "more"))
    fs::copy_file(e.path(), dir / "photos" / ("new_" + e.path().filename().string()));
  ASSERT_TRUE(fs::remove(dir / "photos" / "green_1.png"));
  result = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " + quote((dir / "atlas").string()) + common +
                          " --keep-layout");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("kept the previous map for 29 photos, placed 3 new ones"), std::string::npos)
      << result.output;
  const auto after = read_csv(dir / "atlas" / "points.csv");
  ASSERT_EQ(after.size(), 33u);  // header + 29 old + 3 new
  std::vector<std::pair<double, double>> old_points;
  std::vector<int> old_family;
  for (std::size_t r = 1; r < after.size(); ++r) {
    const auto it = old_xy.find(after[r][col["id"]]);
    if (it == old_xy.end()) continue;
    EXPECT_EQ(after[r][col["raw_x"]], it->second.first) << "an old photo moved";
    EXPECT_EQ(after[r][col["raw_y"]], it->second.second) << "an old photo moved";
    old_points.emplace_back(std::stod(after[r][col["raw_x"]]), std::stod(after[r][col["raw_y"]]));
    old_family.push_back(family_of(after[r][0]));
  }
  EXPECT_EQ(old_points.size(), 29u);
  int new_seen = 0;
  for (std::size_t r = 1; r < after.size(); ++r) {
    if (fs::path(after[r][0]).filename().string().rfind("new_", 0) != 0) continue;
    ++new_seen;
    const double x = std::stod(after[r][col["raw_x"]]), y = std::stod(after[r][col["raw_y"]]);
    std::size_t nearest = 0;
    for (std::size_t i = 1; i < old_points.size(); ++i)
      if (std::hypot(old_points[i].first - x, old_points[i].second - y) <
          std::hypot(old_points[nearest].first - x, old_points[nearest].second - y))
        nearest = i;
    const std::string name = fs::path(after[r][0]).filename().string().substr(4);
    EXPECT_EQ(old_family[nearest], family_of(name)) << name << " placed among another family";
  }
  EXPECT_EQ(new_seen, 3);
}

// An Instagram export ZIP, end to end: captions (byte-escaped UTF-8 repaired), dates and hashtags
// reach points.csv and atlas.json; the video is counted, the missing photo reported.
TEST(EndToEnd, InstagramExportZip) {
  TempDir dir;
  const fs::path root = dir / "export";
  fs::create_directories(root / "your_instagram_activity" / "content");
  std::ofstream(root / "your_instagram_activity" / "content" / "posts_1.json") << R"([
    {"media": [{"uri": "media/posts/201912/coffee.jpg", "creation_timestamp": 1575000000,
                "title": "Macchiato \u00e2\u0098\u0095 #coffee #latteart"}]},
    {"title": "Alps #cycling", "creation_timestamp": 1600000000,
     "media": [{"uri": "media/posts/202009/a.jpg", "creation_timestamp": 1600000000, "title": ""},
               {"uri": "media/posts/202009/b.png", "creation_timestamp": 1600000001, "title": ""},
               {"uri": "media/posts/202009/c.mp4", "creation_timestamp": 1600000002, "title": ""}]},
    {"media": [{"uri": "media/posts/202101/gone.jpg", "creation_timestamp": 1610000000, "title": "lost"}]}])";
  const char* uris[] = {"media/posts/201912/coffee.jpg", "media/posts/202009/a.jpg", "media/posts/202009/b.png"};
  for (int i = 0; i < 3; ++i) {
    fs::create_directories((root / uris[i]).parent_path());
    SyntheticImage spec;
    spec.seed = static_cast<std::uint64_t>(i) + 1;
    spec.base_rgb = {60 + 60 * i, 100, 200 - 50 * i};
    write_synthetic_image(root / uris[i], spec);
  }
  std::ofstream(root / "media/posts/202009/c.mp4") << "not a video really";
  {
    int error = 0;
    zip_t* zip = zip_open((dir / "export.zip").c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
    ASSERT_NE(zip, nullptr);
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      const std::string name = entry.path().lexically_relative(root).generic_string();
      ASSERT_GE(zip_file_add(zip, name.c_str(), zip_source_file(zip, entry.path().c_str(), 0, -1), ZIP_FL_ENC_UTF_8), 0);
    }
    ASSERT_EQ(zip_close(zip), 0);
  }
  const auto result = run_photoatlas("run " + quote((dir / "export.zip").string()) + " -o " +
                                     quote((dir / "atlas").string()) + " -k 2 --perplexity 1 --model none");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("Instagram export: 3 posts, 1 videos skipped"), std::string::npos) << result.output;
  const auto points = read_csv(dir / "atlas" / "points.csv");
  ASSERT_EQ(points.size(), 4u);
  auto col = column_index(points[0]);
  std::map<std::string, std::vector<std::string>> by_name;
  for (std::size_t r = 1; r < points.size(); ++r) by_name[points[r][col["name"]]] = points[r];
  ASSERT_TRUE(by_name.count("coffee.jpg") && by_name.count("a.jpg") && by_name.count("b.png"));
  EXPECT_EQ(by_name["coffee.jpg"][col["caption"]], "Macchiato \u2615 #coffee #latteart");
  EXPECT_EQ(by_name["coffee.jpg"][col["hashtags"]], "#coffee #latteart");
  EXPECT_EQ(by_name["coffee.jpg"][col["taken_at"]], "2019-11-29T04:00:00Z");
  EXPECT_EQ(by_name["a.jpg"][col["caption"]], "Alps #cycling");
  EXPECT_EQ(by_name["b.png"][col["taken_at"]], "2020-09-13T12:26:41Z");
  EXPECT_EQ(by_name["a.jpg"][col["post_id"]], by_name["b.png"][col["post_id"]]) << "one carousel";
  const auto failures = read_csv(dir / "atlas" / "failures.csv");
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[1][0].find("gone.jpg"), std::string::npos);
  const auto doc = nlohmann::json::parse(std::ifstream(dir / "atlas" / "data" / "atlas.json"));
  bool tagged = false;
  for (const auto& image : doc["images"]) {
    EXPECT_EQ(image["path"].get<std::string>().rfind("media/posts/", 0), 0u) << "paths inside the export, not local";
    if (image["name"] == "coffee.jpg") {
      tagged = image["tags"] == nlohmann::json({"coffee", "latteart"});
      EXPECT_EQ(image["taken_at"], "2019-11-29T04:00:00Z");
    }
  }
  EXPECT_TRUE(tagged);
}
