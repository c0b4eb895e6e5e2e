#include <gtest/gtest.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>

#include "label/imagenet.h"
#include "label/ontology.h"
#include "label/wordnet.h"
#include "synthetic_wordnet.h"
#include "test_support.h"

namespace photoatlas::label {
namespace {

class SyntheticOntology : public ::testing::Test {
 protected:
  void SetUp() override {
    ids = testing::write_synthetic_wordnet(dir.path(), testing::small_noun_tree());
    wn = std::make_shared<const WordNet>(dir.path());
  }
  // {"categories": [{"name": n1, "synsets": [r1...]}, ...]} from (name, rules) pairs.
  std::string json(const std::vector<std::pair<std::string, std::vector<std::string>>>& cats) const {
    std::string out = R"({"name": "test", "categories": [)";
    for (std::size_t i = 0; i < cats.size(); ++i) {
      out += (i ? ", " : "") + std::string(R"({"name": ")") + cats[i].first + R"(", "synsets": [)";
      for (std::size_t j = 0; j < cats[i].second.size(); ++j) out += (j ? ", \"" : "\"") + cats[i].second[j] + "\"";
      out += "]}";
    }
    return out + "]}";
  }
  testing::TempDir dir;
  std::map<std::string, std::string> ids;
  std::shared_ptr<const WordNet> wn;
};

TEST_F(SyntheticOntology, MostSpecificRuleWinsWhateverTheOrder) {
  for (bool coffee_first : {false, true}) {
    std::vector<std::pair<std::string, std::vector<std::string>>> cats = {{"Food", {ids["food"]}},
                                                                          {"Coffee", {ids["coffee"]}}};
    if (coffee_first) std::swap(cats[0], cats[1]);
    const Ontology o = Ontology::parse(json(cats), wn);
    EXPECT_EQ(o.category_of(ids["espresso"]), "Coffee") << coffee_first;
    EXPECT_EQ(o.category_of(ids["coffee"]), "Coffee");
    EXPECT_EQ(o.category_of(ids["beverage"]), "Food");
    EXPECT_EQ(o.category_of(ids["wine"]), "Food");
    const CategoryMatch m = o.match(ids["espresso"]);
    EXPECT_EQ(format_wnid(m.rule), ids["coffee"]);
    EXPECT_EQ(m.distance, 1);
  }
}

TEST_F(SyntheticOntology, TieBetweenEquallySpecificRulesGoesToTheFirstCategory) {
  // cafe is one edge below both coffee_mug and structure.
  const Ontology cups_first = Ontology::parse(json({{"Cups", {ids["coffee_mug"]}}, {"Buildings", {ids["structure"]}}}), wn);
  const Ontology buildings_first =
      Ontology::parse(json({{"Buildings", {ids["structure"]}}, {"Cups", {ids["coffee_mug"]}}}), wn);
  EXPECT_EQ(cups_first.category_of(ids["cafe"]), "Cups");
  EXPECT_EQ(buildings_first.category_of(ids["cafe"]), "Buildings");
  // Not a tie: the instance hypernym path eiffel_tower -> tower -> structure reaches only Buildings.
  EXPECT_EQ(cups_first.category_of(ids["eiffel_tower"]), "Buildings");
}

TEST_F(SyntheticOntology, MiscCarvesExceptionsAndCollectsTheUnreached) {
  const Ontology o = Ontology::parse(json({{"Misc", {ids["alcohol"]}}, {"Food", {ids["food"]}}}), wn);
  EXPECT_EQ(o.categories(), (std::vector<std::string>{"Food", "Misc"}));  // Misc always last
  EXPECT_EQ(o.category_of(ids["wine"]), "Misc");
  EXPECT_EQ(o.category_of(ids["coffee"]), "Food");
  EXPECT_EQ(o.category_of(ids["tower"]), "Misc");     // no rule above it
  EXPECT_EQ(o.category_of("n00000003"), "Misc");      // not a synset
  EXPECT_EQ(o.category_of("espresso"), "Misc");       // not a wnid
  EXPECT_EQ(o.match(ids["tower"]).distance, -1);
}

TEST_F(SyntheticOntology, RulesByNameAndTheirChecks) {
  // wnid + lemma (any of the synset's lemmas, case-insensitive) and lemma.n.NN are all accepted.
  const Ontology o = Ontology::parse(
      json({{"Drinks", {ids["beverage"] + " drink", "wine.n.01"}}, {"Coffee", {ids["coffee"] + " Java"}}}), wn);
  EXPECT_EQ(o.categories(), (std::vector<std::string>{"Drinks", "Coffee", "Misc"}));
  EXPECT_EQ(o.category_of(ids["espresso"]), "Coffee");
  EXPECT_EQ(o.category_of(ids["alcohol"]), "Drinks");

  auto fails = [&](const std::string& text) {
    EXPECT_THROW(Ontology::parse(text, wn), std::invalid_argument) << text;
  };
  fails(json({{"Coffee", {ids["coffee"] + " tea"}}}));                        // lemma of another synset
  fails(json({{"Coffee", {"n00000003"}}}));                                    // no synset there
  fails(json({{"Coffee", {"tea.n.01"}}}));                                     // no such lemma
  fails(json({{"Coffee", {ids["coffee"]}}, {"Drinks", {"coffee.n.01"}}}));     // same synset twice
  fails(json({{"Coffee", {ids["coffee"]}}, {"Coffee", {ids["food"]}}}));       // same category twice
  fails(json({{"", {ids["coffee"]}}}));                                        // no name
  fails("{\"categories\": [");                                                 // not JSON
  fails("{\"name\": \"no categories\"}");
  fails(R"({"categories": [{"name": "A", "synsets": [42]}]})");
}

TEST_F(SyntheticOntology, LoadsFilesAndBuiltInNames) {
  testing::TempDir data;
  std::filesystem::create_directories(data.path() / "ontologies");
  std::ofstream(data.path() / "ontologies" / "mine.json") << json({{"Coffee", {ids["coffee"]}}});
  const Ontology named = Ontology::load_named("mine", wn, data.path());
  EXPECT_EQ(named.name(), "test");
  EXPECT_EQ(named.category_of(ids["espresso"]), "Coffee");
  const Ontology by_path = Ontology::load_named((data.path() / "ontologies" / "mine.json").string(), wn);
  EXPECT_EQ(by_path.category_of(ids["espresso"]), "Coffee");
  EXPECT_THROW(Ontology::load_named("absent", wn, data.path()), std::runtime_error);
  EXPECT_THROW(Ontology::load(data.path() / "nothing.json", wn), std::runtime_error);
}

TEST_F(SyntheticOntology, ReadsTheSameStructureFromYaml) {
  testing::TempDir data;
  // Block and flow styles, a comment, a quoted name, and a category whose name YAML would read as a boolean.
  std::ofstream(data.path() / "mine.yaml") << "# my categories\n"
                                           << "name: mine\n"
                                           << "categories:\n"
                                           << "  - name: Food\n"
                                           << "    synsets:\n"
                                           << "      - " << ids["food"] << " food\n"
                                           << "  - name: \"Coffee\"\n"
                                           << "    synsets: [coffee.n.01]\n"
                                           << "  - name: yes\n"
                                           << "    synsets: [" << ids["structure"] << "]\n"
                                           << "  - {name: Misc, synsets: [" << ids["alcohol"] << "]}\n";
  const Ontology o = Ontology::load(data.path() / "mine.yaml", wn);
  EXPECT_EQ(o.name(), "mine");
  EXPECT_EQ(o.categories(), (std::vector<std::string>{"Food", "Coffee", "yes", "Misc"}));
  EXPECT_EQ(o.category_of(ids["espresso"]), "Coffee");
  EXPECT_EQ(o.category_of(ids["beverage"]), "Food");
  EXPECT_EQ(o.category_of(ids["wine"]), "Misc");
  EXPECT_EQ(o.category_of(ids["eiffel_tower"]), "yes");
  // The .yml spelling and load_named by path take the same route.
  std::filesystem::copy_file(data.path() / "mine.yaml", data.path() / "mine.yml");
  EXPECT_EQ(Ontology::load_named((data.path() / "mine.yml").string(), wn).category_of(ids["espresso"]), "Coffee");
  // The YAML reader applies the same checks as the JSON one, with the file named in the error.
  auto message = [&](const std::string& text) {
    std::ofstream(data.path() / "bad.yaml") << text;
    try {
      Ontology::load(data.path() / "bad.yaml", wn);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("categories: [\n").find("bad.yaml: not valid YAML"), std::string::npos);
  EXPECT_NE(message("name: no categories\n").find("\"categories\" array"), std::string::npos);
  EXPECT_NE(message("categories:\n  - name: Coffee\n    synsets: [tea.n.01]\n").find("tea.n.01"), std::string::npos);
  EXPECT_NE(message("categories:\n  - synsets: [coffee.n.01]\n").find("has no name"), std::string::npos);
}

// ---- The shipped ontologies on Debian's wordnet-base (skipped when it is not installed) ----

class ShippedOntology : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = find_wordnet_dir();
    if (!dir) GTEST_SKIP() << "WordNet 3.0 not installed (Debian package wordnet-base)";
    wn = std::make_shared<const WordNet>(*dir);
    classes = load_imagenet_classes(default_data_dir() / "imagenet_classes.txt");
  }
  std::shared_ptr<const WordNet> wn;
  std::vector<ImageNetClass> classes;
};

TEST_F(ShippedOntology, EspressoIsCoffee) {
  const Ontology study = Ontology::load_named("study", wn);
  const Ontology general = Ontology::load_named("general", wn);
  EXPECT_EQ(study.category_of("n07920052"), "Coffee");
  EXPECT_EQ(general.category_of("n07920052"), "Drinks");
  EXPECT_EQ(study.categories(), (std::vector<std::string>{"Coffee", "Food", "Nature", "Wine/Beer", "Architecture",
                                                          "Cycling", "Books", "Waterbodies", "Misc"}));
  // A few classes checked by hand against WordNet's hierarchy.
  EXPECT_EQ(study.category_of("n07892512"), "Wine/Beer");     // red wine: wine < alcohol < beverage < food
  EXPECT_EQ(study.category_of("n03792782"), "Cycling");       // mountain bike < bicycle
  EXPECT_EQ(study.category_of("n02871525"), "Books");         // bookshop: a shop (structure), but named itself
  EXPECT_EQ(study.category_of("n03028079"), "Architecture");  // church < place of worship < building < structure
  EXPECT_EQ(study.category_of("n09428293"), "Waterbodies");   // seashore < shore < geological formation
  EXPECT_EQ(study.category_of("n09472597"), "Nature");        // volcano < mountain < ... < geological formation
  EXPECT_EQ(study.category_of("n02099601"), "Misc");          // golden retriever: animals are not the study's Nature
  EXPECT_EQ(general.category_of("n02099601"), "Animals");
  EXPECT_EQ(general.category_of("n07753592"), "Food");        // banana: edible fruit, not the plant's fruit
  EXPECT_EQ(general.category_of("n04285008"), "Vehicles");    // sports car: vehicle, although also a container
}

TEST_F(ShippedOntology, GeneralLeavesAtMostTenPercentInMisc) {
  const Ontology general = Ontology::load_named("general", wn);
  ASSERT_EQ(classes.size(), 1000u);
  std::map<std::string, int> counts;
  for (const auto& c : classes) ++counts[general.category_of(c.wnid)];
  std::cout << "general ontology over the 1000 ImageNet classes:";
  for (const auto& name : general.categories()) std::cout << " " << name << "=" << counts[name];
  std::cout << "\n";
  const double misc = counts["Misc"] / 10.0;
  std::cout << "general: Misc holds " << counts["Misc"] << " of 1000 classes (" << misc << "%)\n";
  EXPECT_LE(counts["Misc"], 100);
  // Every category is used: the fifteen categories together cover the classes.
  for (const auto& name : general.categories()) EXPECT_GT(counts[name], 0) << name;
  EXPECT_GE(general.categories().size(), 14u);
}

TEST_F(ShippedOntology, StudyAgreesWithTheSharedMotifs) {
  const auto shared = testing::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not present: skipping the comparison with imagenet_sample/motifs.csv";
  const Ontology study = Ontology::load_named("study", wn);
  const auto rows = testing::read_csv(*shared / "datasets/imagenet_sample/motifs.csv");
  ASSERT_EQ(rows.size(), 1001u);
  ASSERT_EQ(rows[0][1], "label");
  ASSERT_EQ(rows[0][3], "motif");
  int non_misc = 0, agree_non_misc = 0, agree_all = 0;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const std::string mine = study.category_of(rows[r][1]);
    const std::string theirs = rows[r][3];
    agree_all += mine == theirs;
    if (theirs == kMisc) continue;
    ++non_misc;
    if (mine == theirs) {
      ++agree_non_misc;
    } else {
      std::cout << "  disagree: " << rows[r][2] << " motifs=" << theirs << " study=" << mine << "\n";
    }
  }
  const double agreement = static_cast<double>(agree_non_misc) / non_misc;
  std::cout << std::fixed << std::setprecision(1) << "study vs motifs.csv: " << agree_non_misc << " of " << non_misc
            << " non-Misc classes agree (" << 100.0 * agreement << "%); all 1000 classes: " << agree_all / 10.0
            << "%\n";
  EXPECT_GE(agreement, 0.95);
}

}  // namespace
}  // namespace photoatlas::label
