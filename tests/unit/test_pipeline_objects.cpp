// The COCO ontology that turns object labels into (approximate) categories, checked against the
// detector's own label list (the pipeline is where the detect and label stages meet).
#include <gtest/gtest.h>

#include "detect/centernet.h"
#include "label/object_categories.h"

using namespace photoatlas;
using detect::coco_labels;

TEST(LabelOntology, FirstCategoryInFileOrderWinsAndUnknownLabelsAreErrors) {
  const std::string json = R"({"name": "t", "approximate": true, "categories": [
      {"name": "Coffee", "labels": ["cup"]}, {"name": "People", "labels": ["person"]}]})";
  const auto ontology = label::LabelOntology::parse(json, coco_labels());
  EXPECT_TRUE(ontology.approximate());
  EXPECT_EQ(ontology.categories(), (std::vector<std::string>{"Coffee", "People", "Misc"}));
  EXPECT_EQ(ontology.category_of("person"), "People");
  EXPECT_EQ(ontology.category_of("dog"), "Misc");
  EXPECT_EQ(ontology.category_of_labels({"person", "cup"}), "Coffee");
  EXPECT_EQ(ontology.category_of_labels({"dog"}), "Misc");
  EXPECT_EQ(ontology.category_of_labels({}), "Misc");
  try {
    label::LabelOntology::parse(R"({"categories": [{"name": "X", "labels": ["teacup"]}]})", coco_labels(), "mine.json");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mine.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("teacup"), std::string::npos) << e.what();
  }
  EXPECT_THROW(label::LabelOntology::parse(R"({"categories": [{"name": "A", "labels": ["cup"]}, {"name": "B", "labels": ["cup"]}]})",
                                           coco_labels()),
               std::invalid_argument);
}

TEST(LabelOntology, ShippedCocoFileMapsTheStudyMotifs) {
  const auto coco = label::LabelOntology::load_named("coco", coco_labels(),
                                                     std::filesystem::path(PHOTOATLAS_SOURCE_DIR) / "data");
  EXPECT_TRUE(coco.approximate());
  EXPECT_EQ(coco.category_of("cup"), "Coffee");
  EXPECT_EQ(coco.category_of("wine glass"), "Wine/Beer");
  EXPECT_EQ(coco.category_of("bottle"), "Wine/Beer");
  EXPECT_EQ(coco.category_of("bicycle"), "Cycling");
  EXPECT_EQ(coco.category_of("book"), "Books");
  EXPECT_EQ(coco.category_of("pizza"), "Food");
  EXPECT_EQ(coco.category_of("person"), "People");
  // A person with a bicycle is a cycling photo: motif categories come before People.
  EXPECT_EQ(coco.category_of_labels({"person", "bicycle"}), "Cycling");
}
