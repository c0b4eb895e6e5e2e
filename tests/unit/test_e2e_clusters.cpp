// End to end, the clusters-and-categories issue's resolution condition on the real executable:
// -k auto, both shipped ontologies and a user's YAML one, category legend data and cluster names in
// the atlas, and --clusterer hdbscan with its "Unclustered" group. Data: generated colour photos and a
// generated 1000-way ONNX classifier (no download).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "cli_shell.h"
#include "cluster/metrics.h"
#include "image_fixtures.h"
#include "label/wordnet.h"
#include "test_features_onnx_fixture.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

nlohmann::json atlas_json(const fs::path& atlas) { return nlohmann::json::parse(std::ifstream(atlas / "data" / "atlas.json")); }

// clusters.csv rows of one layout: (cluster id, name, size, medoid path).
std::vector<std::vector<std::string>> cluster_rows(const fs::path& atlas, const std::string& layout) {
  std::vector<std::vector<std::string>> out;
  const auto rows = read_csv(atlas / "clusters.csv");
  for (std::size_t r = 1; r < rows.size(); ++r)
    if (rows[r][0] == layout) out.push_back({rows[r].begin() + 1, rows[r].end()});
  return out;
}

// Every layout: labels within the legend, sizes in atlas.json and clusters.csv equal to the label
// counts, and names present.
void expect_consistent_clusters(const fs::path& atlas, const nlohmann::json& doc) {
  const std::size_t n = doc["count"].get<std::size_t>();
  for (const auto& layout : doc["layouts"]) {
    const std::string id = layout["id"];
    const auto points = read_csv(atlas / "points.csv");
    const auto column = std::find(points[0].begin(), points[0].end(), id + "_cluster") - points[0].begin();
    ASSERT_LT(static_cast<std::size_t>(column), points[0].size()) << id;
    const std::size_t groups = layout["clusters"].size();
    std::vector<std::size_t> counted(groups, 0);
    for (std::size_t r = 1; r < points.size(); ++r) {
      const int c = std::stoi(points[r][column]);
      ASSERT_GE(c, 0) << id;
      ASSERT_LT(static_cast<std::size_t>(c), groups) << id;
      ++counted[static_cast<std::size_t>(c)];
    }
    const auto csv = cluster_rows(atlas, id);
    ASSERT_EQ(csv.size(), groups) << id;
    for (std::size_t c = 0; c < groups; ++c) {
      EXPECT_EQ(layout["clusters"][c]["size"].get<std::size_t>(), counted[c]) << id << " " << c;
      EXPECT_EQ(csv[c][2], std::to_string(counted[c])) << id << " " << c;
      EXPECT_FALSE(layout["clusters"][c]["name"].get<std::string>().empty());
      EXPECT_EQ(csv[c][1], layout["clusters"][c]["name"].get<std::string>());
    }
    EXPECT_EQ(std::accumulate(counted.begin(), counted.end(), std::size_t{0}), n);
  }
}

}  // namespace

TEST(EndToEndClusters, AutoKWithEachOntologyNamesClustersByCategory) {
  if (!label::find_wordnet_dir()) GTEST_SKIP() << "WordNet 3.0 not installed (Debian package wordnet-base)";
  TempDir dir;
  write_colour_families(dir / "photos", 10, 5);
  { std::ofstream(dir / "tiny.onnx", std::ios::binary) << onnx::TinyNet(16, 1000, true).bytes(); }
  // A user's ontology in YAML: everything is an entity, so every photo gets category "Things".
  { std::ofstream(dir / "mine.yaml") << "name: mine\ncategories:\n  - name: Things\n    synsets: [entity.n.01]\n"; }
  std::map<std::string, nlohmann::json> atlases;
  for (const std::string& ontology : std::vector<std::string>{"study", "general", (dir / "mine.yaml").string()}) {
    const fs::path out = dir / ("atlas_" + std::to_string(atlases.size()));
    const auto result = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " + quote(out.string()) +
                                       " -k auto --perplexity 8 --threads 2 --no-cache --model " +
                                       quote((dir / "tiny.onnx").string()) + " --ontology " + quote(ontology));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("by silhouette"), std::string::npos) << "the k curve is printed\n" << result.output;
    const auto doc = atlas_json(out);
    expect_consistent_clusters(out, doc);
    // -k auto: the curve is recorded and the chosen k is its best silhouette.
    for (const auto& layout : doc["layouts"]) {
      ASSERT_TRUE(layout.contains("k_selection")) << layout["id"];
      const auto& curve = layout["k_selection"]["curve"];
      ASSERT_GE(curve.size(), 2u);
      const auto best = std::max_element(curve.begin(), curve.end(), [](const auto& a, const auto& b) {
        return a["silhouette"].template get<double>() < b["silhouette"].template get<double>();
      });
      EXPECT_EQ(layout["clusters"].size(), (*best)["k"].get<std::size_t>()) << layout["id"];
    }
    // The category legend's data: the ontology's categories, Misc last, and every photo's category among them.
    ASSERT_TRUE(doc.contains("categories")) << ontology;
    const auto& categories = doc["categories"];
    EXPECT_EQ(categories.back(), "Misc");
    for (const auto& image : doc["images"])
      EXPECT_NE(std::find(categories.begin(), categories.end(), image["category"]), categories.end());
    // Every K-Means cluster has a representative photo (its medoid).
    for (const auto& layout : doc["layouts"])
      for (const auto& c : layout["clusters"]) EXPECT_TRUE(c.contains("medoid")) << c["name"];
    atlases[ontology] = doc;
  }
  const auto has = [](const nlohmann::json& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  EXPECT_TRUE(has(atlases["study"]["categories"], "Coffee"));
  EXPECT_TRUE(has(atlases["general"]["categories"], "Animals") || atlases["general"]["categories"].size() >= 10);
  const auto& mine = atlases[(dir / "mine.yaml").string()];
  EXPECT_EQ(mine["categories"], nlohmann::json::array({"Things", "Misc"}));
  for (const auto& image : mine["images"]) EXPECT_EQ(image["category"], "Things");
  // With one category for every photo, every CNN cluster is named after it.
  for (const auto& c : mine["layouts"][1]["clusters"]) EXPECT_EQ(c["name"], "Things");
}

TEST(EndToEndClusters, HdbscanFindsTheFamiliesOnTheMap) {
  TempDir dir;
  write_colour_families(dir / "photos", 15, 8);
  const fs::path out = dir / "atlas";
  const auto result = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " + quote(out.string()) +
                                     " --clusterer hdbscan --min-cluster-size 5 --perplexity 8 --seed 2 --threads 2"
                                     " --no-cache --model none");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("HDBSCAN found"), std::string::npos) << result.output;
  const auto doc = atlas_json(out);
  expect_consistent_clusters(out, doc);
  const auto& raw = doc["layouts"][0];
  std::size_t groups = raw["clusters"].size();
  const bool has_noise = raw["clusters"].back()["name"] == "Unclustered";
  if (has_noise) {
    EXPECT_FALSE(raw["clusters"].back().contains("medoid")) << "noise has no representative photo";
    EXPECT_EQ(raw["clusters"].back().value("unclustered", false), true) << "the viewer draws it grey";
    for (std::size_t c = 0; c + 1 < raw["clusters"].size(); ++c) EXPECT_FALSE(raw["clusters"][c].contains("unclustered"));
    --groups;
  }
  EXPECT_EQ(groups, 3u) << result.output;
  // The found groups are the colour families (photos in no group left out of the comparison).
  const auto points = read_csv(out / "points.csv");
  const auto path_col = std::find(points[0].begin(), points[0].end(), "path") - points[0].begin();
  const auto raw_col = std::find(points[0].begin(), points[0].end(), "raw_cluster") - points[0].begin();
  std::vector<int> truth, found;
  std::size_t unclustered = 0;
  for (std::size_t r = 1; r < points.size(); ++r) {
    const int c = std::stoi(points[r][raw_col]);
    if (has_noise && static_cast<std::size_t>(c) == groups) {
      ++unclustered;
      continue;
    }
    const std::string name = fs::path(points[r][path_col]).filename().string();
    truth.push_back(name.rfind("red", 0) == 0 ? 0 : name.rfind("green", 0) == 0 ? 1 : 2);
    found.push_back(c);
  }
  EXPECT_LE(unclustered, 9u);  // at most a fifth of the 45 photos
  EXPECT_GE(cluster::adjusted_rand_index(truth, found), 0.95);

  const auto bad = run_photoatlas("run x -o y --clusterer dbscan");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--clusterer"), std::string::npos) << bad.output;
}
