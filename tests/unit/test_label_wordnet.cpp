#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "label/imagenet.h"
#include "label/ontology.h"
#include "label/wordnet.h"
#include "synthetic_wordnet.h"
#include "test_support.h"

namespace photoatlas::label {
namespace {

using testing::FakeSynset;

class SyntheticWordNet : public ::testing::Test {
 protected:
  void SetUp() override { ids = testing::write_synthetic_wordnet(dir.path(), testing::small_noun_tree()); }
  testing::TempDir dir;
  std::map<std::string, std::string> ids;
};

TEST(WordNetIds, ParseAndFormat) {
  EXPECT_EQ(parse_wnid("n07920052"), 7920052u);
  EXPECT_EQ(parse_wnid("n00001740"), 1740u);
  EXPECT_EQ(format_wnid(1740), "n00001740");
  EXPECT_EQ(format_wnid(7920052), "n07920052");
  for (const char* bad : {"", "n0792005", "n079200521", "v07920052", "n0792005x", "07920052", "n-7920052"}) {
    EXPECT_FALSE(parse_wnid(bad).has_value()) << bad;
  }
}

TEST_F(SyntheticWordNet, ParsesLemmasHypernymsAndGloss) {
  WordNet wn(dir.path());
  const Synset* s = wn.synset(ids["espresso"]);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(format_wnid(s->offset), ids["espresso"]);
  EXPECT_EQ(s->lemmas, std::vector<std::string>{"espresso"});
  // Only the '@' pointer counts: the '~', '+' (verb) and '#p' pointers on the line are skipped.
  EXPECT_EQ(s->hypernyms, std::vector<std::uint32_t>{*parse_wnid(ids["coffee"])});
  EXPECT_EQ(s->gloss, "strong black coffee; \"an espresso, please\"");

  const Synset* coffee = wn.synset(ids["coffee"]);
  ASSERT_NE(coffee, nullptr);
  EXPECT_EQ(coffee->lemmas, (std::vector<std::string>{"coffee", "java"}));
  // '@i' (instance hypernym) is a hypernym too.
  const Synset* eiffel = wn.synset(ids["eiffel_tower"]);
  ASSERT_NE(eiffel, nullptr);
  EXPECT_EQ(eiffel->hypernyms, std::vector<std::uint32_t>{*parse_wnid(ids["tower"])});
  EXPECT_TRUE(wn.synset(ids["entity"])->hypernyms.empty());
}

TEST_F(SyntheticWordNet, OffsetsThatAreNoSynsetGiveNull) {
  WordNet wn(dir.path());
  EXPECT_EQ(wn.synset(std::uint32_t{0}), nullptr);               // the licence header
  EXPECT_EQ(wn.synset(*parse_wnid(ids["coffee"]) + 3), nullptr);  // the middle of a line
  EXPECT_EQ(wn.synset(std::uint32_t{99999999}), nullptr);         // past the end
  EXPECT_EQ(wn.synset("not a wnid"), nullptr);
  EXPECT_FALSE(wn.lemma("n00000003").has_value());
  EXPECT_TRUE(wn.hypernym_path("n00000003").empty());
  EXPECT_TRUE(wn.ancestors(3).empty());
}

TEST_F(SyntheticWordNet, LemmaIsReadable) {
  WordNet wn(dir.path());
  EXPECT_EQ(wn.lemma(ids["coffee_mug"]), "coffee mug");
  EXPECT_EQ(wn.lemma(ids["eiffel_tower"]), "Eiffel Tower");
}

TEST_F(SyntheticWordNet, HypernymPathWalksToTheRoot) {
  WordNet wn(dir.path());
  EXPECT_EQ(wn.hypernym_path(ids["espresso"]),
            (std::vector<std::string>{ids["espresso"], ids["coffee"], ids["beverage"], ids["food"], ids["entity"]}));
  EXPECT_EQ(wn.hypernym_path(ids["eiffel_tower"]),
            (std::vector<std::string>{ids["eiffel_tower"], ids["tower"], ids["structure"], ids["artifact"],
                                      ids["entity"]}));
  EXPECT_EQ(wn.hypernym_path(ids["entity"]), std::vector<std::string>{ids["entity"]});
}

TEST_F(SyntheticWordNet, AncestorsTakeTheShortestPath) {
  WordNet wn(dir.path());
  // cafe -> coffee_mug -> vessel -> artifact (3 edges) but cafe -> structure -> artifact (2): the
  // shorter counts; every ancestor appears once, tower (below structure) not at all.
  const auto anc = wn.ancestors(*parse_wnid(ids["cafe"]));
  std::map<std::string, int> by_key;
  for (const auto& [key, wnid] : ids) {
    for (const auto& a : anc)
      if (format_wnid(a.offset) == wnid) by_key[key] = a.distance;
  }
  EXPECT_EQ(anc.size(), by_key.size());
  const std::map<std::string, int> want = {{"cafe", 0},   {"coffee_mug", 1}, {"structure", 1},
                                           {"vessel", 2}, {"artifact", 2},   {"entity", 3}};
  EXPECT_EQ(by_key, want);
  EXPECT_TRUE(std::is_sorted(anc.begin(), anc.end(), [](auto& a, auto& b) { return a.distance < b.distance; }));
}

TEST_F(SyntheticWordNet, ResolvesWnidsAndSenseNames) {
  WordNet wn(dir.path());
  EXPECT_EQ(wn.resolve(ids["wine"]), parse_wnid(ids["wine"]));
  EXPECT_EQ(wn.resolve("wine.n.01"), parse_wnid(ids["wine"]));
  EXPECT_EQ(wn.resolve("vino.n.01"), parse_wnid(ids["wine"]));
  // "coffee" has two senses in file order: the drink, then the cafe.
  EXPECT_EQ(wn.resolve("coffee.n.01"), parse_wnid(ids["coffee"]));
  EXPECT_EQ(wn.resolve("coffee.n.02"), parse_wnid(ids["cafe"]));
  EXPECT_EQ(wn.resolve("Eiffel Tower.n.01"), parse_wnid(ids["eiffel_tower"]));
  EXPECT_FALSE(wn.resolve("coffee.n.03").has_value());
  EXPECT_FALSE(wn.resolve("coffee.n.00").has_value());
  EXPECT_FALSE(wn.resolve("tea.n.01").has_value());
  EXPECT_FALSE(wn.resolve("coffee.v.01").has_value());
  EXPECT_FALSE(wn.resolve("n00000003").has_value());
}

TEST_F(SyntheticWordNet, MissingDataFileThrows) {
  EXPECT_THROW(WordNet(dir.path() / "nowhere"), std::runtime_error);
}

TEST_F(SyntheticWordNet, MalformedSynsetLineThrows) {
  // A line that starts at its offset but whose pointer list is cut short.
  const std::string text = "00000000 03 n 01 broken 0 002 @ 00000000 n 0000 | cut\n";
  std::ofstream(dir.path() / "data.noun", std::ios::binary) << text;
  WordNet wn(dir.path());
  EXPECT_THROW(wn.synset(std::uint32_t{0}), std::runtime_error);
}

// ---- Debian's wordnet-base (skipped when it is not installed) ----

std::shared_ptr<const WordNet> real_wordnet() {
  const auto dir = find_wordnet_dir();
  return dir ? std::make_shared<const WordNet>(*dir) : nullptr;
}

TEST(RealWordNet, EspressoIsCoffee) {
  const auto wn = real_wordnet();
  if (!wn) GTEST_SKIP() << "WordNet 3.0 not installed (Debian package wordnet-base)";
  EXPECT_EQ(wn->lemma("n07920052"), "espresso");
  const auto path = wn->hypernym_path("n07920052");
  ASSERT_GE(path.size(), 3u);
  EXPECT_EQ(path[0], "n07920052");
  EXPECT_EQ(path[1], "n07929519");  // coffee, java
  EXPECT_EQ(path.back(), "n00001740");  // entity
  EXPECT_EQ(wn->resolve("coffee.n.01"), 7929519u);
  EXPECT_EQ(wn->resolve("espresso.n.01"), 7920052u);
}

TEST(RealWordNet, ShippedImageNetClassesAreNounSynsets) {
  const auto wn = real_wordnet();
  if (!wn) GTEST_SKIP() << "WordNet 3.0 not installed (Debian package wordnet-base)";
  const auto classes = load_imagenet_classes(default_data_dir() / "imagenet_classes.txt");
  ASSERT_EQ(classes.size(), 1000u);
  EXPECT_EQ(classes[0].wnid, "n01440764");
  EXPECT_EQ(classes[0].name, "tench");
  EXPECT_EQ(classes[967].wnid, "n07920052");
  EXPECT_EQ(classes[967].name, "espresso");
  std::set<std::string> distinct;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& c : classes) {
    distinct.insert(c.wnid);
    EXPECT_NE(wn->synset(c.wnid), nullptr) << c.wnid << " " << c.name;
    EXPECT_EQ(wn->hypernym_path(c.wnid).back(), "n00001740") << c.wnid;
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(distinct.size(), 1000u);
  std::cout << "hypernym paths of the 1000 classes, lazily read: " << ms << " ms\n";
}

TEST(ImageNetClasses, MatchTheSharedSampleLabels) {
  const auto shared = testing::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not present: skipping the comparison with imagenet_sample/labels.csv";
  const auto rows = testing::read_csv(*shared / "datasets/imagenet_sample/labels.csv");
  const auto classes = load_imagenet_classes(default_data_dir() / "imagenet_classes.txt");
  ASSERT_EQ(rows.size(), 1001u);
  ASSERT_EQ(classes.size(), 1000u);
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const std::size_t index = std::stoul(rows[r][3]);
    ASSERT_LT(index, classes.size());
    EXPECT_EQ(classes[index].wnid, rows[r][1]);
    EXPECT_EQ(classes[index].name, rows[r][2]);
  }
}

TEST(ImageNetClasses, RejectsMalformedLines) {
  testing::TempDir dir;
  std::ofstream(dir / "classes.txt") << "# header\nn01440764 tench\n\nxyz goldfish\n";
  EXPECT_THROW(load_imagenet_classes(dir / "classes.txt"), std::runtime_error);
  std::ofstream(dir / "ok.txt") << "# header\nn01440764 tench\r\n\nn01443537 goldfish\n";
  const auto ok = load_imagenet_classes(dir / "ok.txt");
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[0].name, "tench");
  EXPECT_EQ(ok[1].wnid, "n01443537");
  EXPECT_THROW(load_imagenet_classes(dir / "missing.txt"), std::runtime_error);
}

}  // namespace
}  // namespace photoatlas::label
