#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "atlas/staging.h"
#include "atlas/writer.h"
#include "core/csv.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

atlas::AtlasContent two_images() {
  atlas::AtlasContent content;
  content.title = "Test <atlas>";
  for (int i = 0; i < 2; ++i) {
    atlas::AtlasImage image;
    image.record.id = i == 0 ? "00000000000000aa" : "00000000000000bb";
    image.record.path = i == 0 ? "photos/a, \"quoted\".jpg" : "photos/=cmd.jpg";
    image.record.display_name = i == 0 ? "a, \"quoted\".jpg" : "=cmd.jpg";
    image.record.relative_path = i == 0 ? "a, \"quoted\".jpg" : "";
    image.record.caption = i == 0 ? "<script>alert(1)</script>" : "";
    image.record.taken_at = i == 0 ? std::optional<std::int64_t>(1559383200) : std::nullopt;
    if (i == 0) {
      image.record.hashtags = {"coffee", "latte"};
      image.record.post_id = "content/posts_1.json#0";
      image.camera = "Canon EOS 5D";
      image.latitude = 48.8584;
      image.longitude = -2.2945;
      image.class_name = "espresso";
      image.category = "Drinks";
      image.top_classes = {{"espresso", 0.75f}, {"cup", 0.125f}};
    }
    image.width = 400;
    image.height = 300;
    content.images.push_back(image);
  }
  atlas::Layout layout;
  layout.id = "raw";
  layout.name = "Raw pixels";
  layout.features = "raw150";
  layout.xy = FloatMatrix(2, 2);
  layout.xy.at(0, 0) = 10;
  layout.xy.at(0, 1) = 5;
  layout.xy.at(1, 0) = 30;
  layout.xy.at(1, 1) = 7;
  layout.cluster = {1, 0};
  layout.cluster_names = {"Cluster 1", "#coffee"};
  layout.cluster_medoids = {1, 0};
  layout.k_curve = {{2, 0.5}, {3, 0.25}};
  content.layouts.push_back(layout);
  content.failures.push_back({"bad.jpg", "empty file (0 bytes)"});
  content.similar = {1, 0};
  content.similar_k = 1;
  content.similar_features = "raw";
  content.duplicate_groups = {{0, 1}};
  return content;
}

// Reads a version-2 binary array through its {"file", "dtype", "count"} reference.
template <typename T>
std::vector<T> read_array(const fs::path& atlas_dir, const nlohmann::json& ref, const std::string& dtype) {
  EXPECT_EQ(ref["dtype"], dtype);
  std::ifstream in(atlas_dir / ref["file"].get<std::string>(), std::ios::binary);
  std::vector<T> values(ref["count"].get<std::size_t>());
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
  EXPECT_TRUE(in.good()) << ref.dump();
  return values;
}

}  // namespace

TEST(Csv, QuotesAndNeutralisesFormulas) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("line\nbreak"), "\"line\nbreak\"");
  EXPECT_EQ(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
  EXPECT_EQ(csv_field("-0.25"), "-0.25");  // numbers stay numbers
}

TEST(AtlasWriter, NormalisesLayoutKeepingAspect) {
  FloatMatrix xy(3, 2);
  xy.at(0, 0) = 0;  xy.at(0, 1) = 0;
  xy.at(1, 0) = 10; xy.at(1, 1) = 2;
  xy.at(2, 0) = 5;  xy.at(2, 1) = 1;
  const FloatMatrix n = atlas::normalise_layout(xy);
  EXPECT_FLOAT_EQ(n.at(0, 0), -1.0f);
  EXPECT_FLOAT_EQ(n.at(1, 0), 1.0f);
  EXPECT_FLOAT_EQ(n.at(0, 1), -0.2f);
  EXPECT_FLOAT_EQ(n.at(1, 1), 0.2f);
  EXPECT_FLOAT_EQ(n.at(2, 0), 0.0f);
  FloatMatrix single(1, 2);
  single.at(0, 0) = 3;
  EXPECT_FLOAT_EQ(atlas::normalise_layout(single).at(0, 0), 0.0f);
}

TEST(AtlasWriter, WritesPointsFailuresAndJson) {
  TempDir dir;
  atlas::write_atlas(two_images(), dir.path(), {});
  const auto points = read_csv(dir / "points.csv");
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0], (std::vector<std::string>{"path", "raw_x", "raw_y", "raw_cluster", "id", "name", "width",
                                                 "height", "taken_at", "caption", "hashtags", "post_id", "camera",
                                                 "latitude", "longitude", "class", "category"}));
  EXPECT_EQ(points[1][0], "photos/a, \"quoted\".jpg");
  EXPECT_EQ(points[1][1], "10");
  EXPECT_EQ(points[1][3], "1");
  EXPECT_EQ(points[1][8], "2019-06-01T10:00:00Z");
  EXPECT_EQ(points[1][9], "<script>alert(1)</script>");
  EXPECT_EQ(points[1][10], "#coffee #latte");
  EXPECT_EQ(points[1][11], "content/posts_1.json#0");
  EXPECT_EQ(points[1][12], "Canon EOS 5D");
  EXPECT_EQ(points[1][13], "48.858400");
  EXPECT_EQ(points[1][14], "-2.294500");
  EXPECT_EQ(points[2][13], "");
  EXPECT_EQ(points[1][15], "espresso");
  EXPECT_EQ(points[1][16], "Drinks");
  EXPECT_EQ(points[2][15], "");
  EXPECT_EQ(points[2][0], "photos/=cmd.jpg");  // not a leading "=", so not a formula
  const auto failures = read_csv(dir / "failures.csv");
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[1], (std::vector<std::string>{"bad.jpg", "empty file (0 bytes)"}));

  std::ifstream in(dir / "data" / "atlas.json");
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["format"], "photoatlas");
  EXPECT_EQ(doc["version"], 2);
  EXPECT_EQ(doc["count"], 2);
  EXPECT_EQ(doc["title"], "Test <atlas>");
  EXPECT_EQ(doc["images"][0]["thumb"], "thumbs/00000000000000aa.jpg");
  EXPECT_EQ(doc["images"][0]["path"], "a, \"quoted\".jpg") << "relative to the input, not photos/...";
  EXPECT_EQ(doc["images"][1]["path"], "=cmd.jpg") << "the file name when no relative path is known";
  EXPECT_EQ(doc["images"][0]["caption"], "<script>alert(1)</script>");
  EXPECT_FALSE(doc["images"][1].contains("caption"));
  EXPECT_EQ(doc["images"][0]["tags"], nlohmann::json({"coffee", "latte"}));
  EXPECT_EQ(doc["images"][0]["camera"], "Canon EOS 5D");
  EXPECT_NEAR(doc["images"][0]["gps"][0].get<double>(), 48.8584, 1e-9);
  EXPECT_FALSE(doc["images"][1].contains("gps"));
  EXPECT_EQ(doc["images"][0]["class"], "espresso");
  EXPECT_EQ(doc["images"][0]["category"], "Drinks");
  EXPECT_EQ(doc["images"][0]["top_classes"], nlohmann::json::parse(R"([["espresso", 0.75], ["cup", 0.125]])"));
  EXPECT_FALSE(doc["images"][1].contains("class"));
  const auto& layout = doc["layouts"][0];
  EXPECT_EQ(layout["id"], "raw");
  const auto x = read_array<float>(dir.path(), layout["x"], "float32");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_FLOAT_EQ(x[0], -1.0f);
  EXPECT_FLOAT_EQ(x[1], 1.0f);
  EXPECT_EQ(read_array<std::uint16_t>(dir.path(), layout["cluster"], "uint16"), (std::vector<std::uint16_t>{1, 0}));
  EXPECT_EQ(layout["clusters"][1]["size"], 1);
  EXPECT_EQ(layout["clusters"][0]["name"], "Cluster 1");
  EXPECT_EQ(layout["clusters"][1]["medoid"], 0);
  EXPECT_EQ(layout["k_selection"]["method"], "silhouette");
  EXPECT_EQ(layout["k_selection"]["curve"][1]["k"], 3);

  EXPECT_EQ(doc["similar"]["k"], 1);
  EXPECT_EQ(doc["similar"]["features"], "raw");
  EXPECT_EQ(read_array<std::uint32_t>(dir.path(), doc["similar"]["neighbors"], "uint32"),
            (std::vector<std::uint32_t>{1, 0}));
  EXPECT_EQ(doc["duplicate_groups"], nlohmann::json::parse("[[0, 1]]"));
  const auto duplicates = read_csv(dir / "duplicates.csv");
  ASSERT_EQ(duplicates.size(), 3u);
  EXPECT_EQ(duplicates[2], (std::vector<std::string>{"0", "photos/=cmd.jpg"}));

  const auto clusters = read_csv(dir / "clusters.csv");
  ASSERT_EQ(clusters.size(), 3u);
  EXPECT_EQ(clusters[0], (std::vector<std::string>{"layout", "cluster", "name", "size", "medoid_path"}));
  EXPECT_EQ(clusters[2], (std::vector<std::string>{"raw", "1", "#coffee", "1", "photos/a, \"quoted\".jpg"}));
}

TEST(AtlasWriter, InvalidUtf8InNamesDoesNotFail) {
  TempDir dir;
  auto content = two_images();
  content.images[0].record.display_name = std::string("bad\xff\xfe.jpg");
  atlas::write_atlas(content, dir.path(), {});
  std::ifstream in(dir / "data" / "atlas.json");
  EXPECT_NO_THROW(nlohmann::json::parse(in));
}

TEST(AtlasWriter, RejectsLayoutsThatDoNotCoverEveryImage) {
  TempDir dir;
  auto content = two_images();
  content.layouts[0].cluster.pop_back();
  EXPECT_THROW(atlas::write_atlas(content, dir.path(), {}), std::invalid_argument);
}

TEST(AtlasWriter, MissingViewerIsAClearError) {
  TempDir dir;
  atlas::AtlasOptions options;
  options.viewer_dir = dir / "no-viewer";
  try {
    atlas::write_atlas(two_images(), dir / "out", options);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("viewer is not built"), std::string::npos);
  }
}

TEST(Staging, CommitReplacesAtomicallyAndAbandonLeavesOldAtlas) {
  TempDir dir;
  const fs::path target = dir / "atlas";
  {
    atlas::StagingDir staging(target);
    std::ofstream(staging.path() / "v.txt") << "one";
    EXPECT_FALSE(fs::exists(target));
    staging.commit();
  }
  EXPECT_TRUE(fs::exists(target / "v.txt"));
  {
    atlas::StagingDir staging(target);
    std::ofstream(staging.path() / "v.txt") << "two";
    // not committed: as if the run was interrupted
  }
  std::ifstream one(target / "v.txt");
  std::string text;
  one >> text;
  EXPECT_EQ(text, "one");
  {
    atlas::StagingDir staging(target);
    std::ofstream(staging.path() / "v.txt") << "three";
    staging.commit();
  }
  std::ifstream three(target / "v.txt");
  three >> text;
  EXPECT_EQ(text, "three");
  // No staging or previous folders are left behind.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}
