// Object tags end to end: the CLI on a few ImageNet photos of ../shared (bicycles, pizza, a bottle),
// the objects column of points.csv, the tags and approximate categories in atlas.json, and the flags.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli_shell.h"
#include "detect/centernet.h"
#include "image_fixtures.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

struct Atlas {
  std::map<std::string, std::string> objects_by_name;  // points.csv: name -> objects column
  bool has_objects_column = false;
  nlohmann::json doc;
};

Atlas read_atlas(const fs::path& dir) {
  Atlas a;
  const auto rows = read_csv(dir / "points.csv");
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < rows[0].size(); ++i) col[rows[0][i]] = i;
  a.has_objects_column = col.count("objects") > 0;
  for (std::size_t r = 1; r < rows.size(); ++r)
    a.objects_by_name[rows[r][col["name"]]] = a.has_objects_column ? rows[r][col["objects"]] : "";
  std::ifstream in(dir / "data" / "atlas.json");
  a.doc = nlohmann::json::parse(in);
  return a;
}

}  // namespace

TEST(EndToEndObjects, TagsCountsAndApproximateCategories) {
  const auto shared = shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not found: no photos with known objects";
  if (!fs::exists(detect::centernet_model_dir(PHOTOATLAS_SOURCE_DIR) / "centernet.json"))
    GTEST_SKIP() << "the CenterNet model is not installed: run scripts/setup";
  TempDir dir;
  fs::create_directories(dir / "photos");
  for (const char* name : {"n03792782_mountain_bike", "n04482393_tricycle", "n02823428_beer_bottle", "n07873807_pizza",
                           "n07714990_broccoli", "n01440764_tench"})
    fs::copy_file(*shared / "datasets" / "imagenet_sample" / "images" / (std::string(name) + ".JPEG"),
                  dir / "photos" / (std::string(name) + ".jpg"));
  const std::string common = quote((dir / "photos").string()) + " --model none -k 2 --perplexity 2 --seed 1 --threads 2 -o ";

  const auto result = run_photoatlas("run " + common + quote((dir / "atlas").string()) + " --objects");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("object tags"), std::string::npos) << result.output;
  const Atlas a = read_atlas(dir / "atlas");
  ASSERT_TRUE(a.has_objects_column);
  // The reference run's detections at 0.3 (../shared/reference/centernet/detections.json): a bicycle
  // and four people on the mountain bike, five bottles on the beer bottle, one pizza.
  EXPECT_NE(a.objects_by_name.at("n03792782_mountain_bike.jpg").find("bicycle"), std::string::npos);
  EXPECT_NE(a.objects_by_name.at("n03792782_mountain_bike.jpg").find("person \u00d74"), std::string::npos)
      << a.objects_by_name.at("n03792782_mountain_bike.jpg");
  EXPECT_EQ(a.objects_by_name.at("n02823428_beer_bottle.jpg"), "bottle \u00d75");
  EXPECT_EQ(a.objects_by_name.at("n07873807_pizza.jpg"), "pizza");

  EXPECT_EQ(a.doc["objects"]["threshold"].get<double>(), 0.3);
  EXPECT_EQ(a.doc["categories_source"], "objects");
  std::map<std::string, nlohmann::json> images;
  for (const auto& im : a.doc["images"]) images[im["name"].get<std::string>()] = im;
  EXPECT_EQ(images["n03792782_mountain_bike.jpg"]["category"], "Cycling");
  EXPECT_EQ(images["n02823428_beer_bottle.jpg"]["category"], "Wine/Beer");
  EXPECT_EQ(images["n07873807_pizza.jpg"]["category"], "Food");
  const auto& pizza = images["n07873807_pizza.jpg"]["objects"];
  ASSERT_EQ(pizza.size(), 1u);
  EXPECT_EQ(pizza[0][0], "pizza");
  EXPECT_EQ(pizza[0][1], 1);
  EXPECT_NEAR(pizza[0][2].get<double>(), 0.59, 0.01);  // the reference: pizza 0.59

  // A threshold above every score: no tags, the column stays.
  const auto strict = run_photoatlas("run " + common + quote((dir / "strict").string()) + " --object-threshold 0.99 -q");
  ASSERT_EQ(strict.exit_code, 0) << strict.output;
  const Atlas s = read_atlas(dir / "strict");
  ASSERT_TRUE(s.has_objects_column);
  for (const auto& [name, objects] : s.objects_by_name) EXPECT_EQ(objects, "") << name;

  // --no-objects: no column, no tags, no categories from them.
  const auto off = run_photoatlas("run " + common + quote((dir / "off").string()) + " --no-objects -q");
  ASSERT_EQ(off.exit_code, 0) << off.output;
  const Atlas o = read_atlas(dir / "off");
  EXPECT_FALSE(o.has_objects_column);
  EXPECT_FALSE(o.doc.contains("objects"));
  EXPECT_FALSE(o.doc.contains("categories_source"));
}

TEST(EndToEndObjects, MissingModelIsAnErrorOnlyWhenAskedFor) {
  TempDir dir;
  fs::create_directories(dir / "photos");
  const std::string env = "PHOTOATLAS_OBJECT_MODEL_DIR=" + quote((dir / "nothing").string()) + " ";
  const auto run = [&](const std::string& args) {
    CommandResult r;
    const std::string command = env + quote(PHOTOATLAS_BINARY) + " " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    std::size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, got);
    const int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  };
  write_colour_families(dir / "photos", 3, 5);
  const std::string common = quote((dir / "photos").string()) + " --model none -k 2 --perplexity 2 --no-cache -o ";
  const auto asked = run("run " + common + quote((dir / "a").string()) + " --objects");
  EXPECT_NE(asked.exit_code, 0) << asked.output;
  EXPECT_NE(asked.output.find("centernet.json"), std::string::npos) << asked.output;
  EXPECT_FALSE(fs::exists(dir / "a" / "points.csv"));
  const auto by_default = run("run " + common + quote((dir / "b").string()));
  EXPECT_EQ(by_default.exit_code, 0) << by_default.output;
  EXPECT_NE(by_default.output.find("no object tags"), std::string::npos) << by_default.output;
  EXPECT_TRUE(fs::exists(dir / "b" / "points.csv"));
}
