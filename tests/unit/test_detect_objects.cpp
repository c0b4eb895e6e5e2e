// Object tags: the detector's cached row layout and tags above a threshold with counts.
#include <gtest/gtest.h>

#include <fstream>

#include "detect/objects.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::detect;

TEST(ObjectTags, CountsLabelsAtOrAboveTheThresholdBestFirst) {
  const std::vector<Detection> found = {
      {0, 0.61f, 0, 0, 0.1f, 0.1f}, {1, 0.59f, 0, 0, 1, 1}, {0, 0.67f, 0, 0, 1, 1},
      {0, 0.30f, 0, 0, 1, 1},       {16, 0.29f, 0, 0, 1, 1},
  };
  const auto tags = object_tags(found, 0.3f);
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].label, "person");
  EXPECT_EQ(tags[0].count, 3);
  EXPECT_FLOAT_EQ(tags[0].best_score, 0.67f);
  EXPECT_EQ(tags[1].label, "bicycle");
  EXPECT_EQ(tags[1].count, 1);
  EXPECT_EQ(format_object_tags(tags), "person \u00d73, bicycle");
  EXPECT_TRUE(object_tags(found, 0.9f).empty());
  EXPECT_EQ(format_object_tags({}), "");
}

TEST(ObjectTags, RowsRoundTripDetectionsAndSkipEmptySlots) {
  // The row layout the cache stores: {class, score, x1, y1, x2, y2} per slot, class -1 for none.
  const std::vector<float> row = {41, 0.4f, 0.1f, 0.2f, 0.3f, 0.4f, -1, 0, 0, 0, 0, 0, 79, 0.25f, 0, 0, 1, 1, 80, 0.9f, 0, 0, 1, 1};
  const auto found = detections_from_row(row);
  ASSERT_EQ(found.size(), 2u);  // the empty slot and the class outside COCO are skipped
  EXPECT_EQ(coco_labels()[found[0].class_index], "cup");
  EXPECT_FLOAT_EQ(found[0].y2, 0.4f);
  EXPECT_EQ(coco_labels()[found[1].class_index], "toothbrush");
  EXPECT_EQ(coco_labels().size(), 80u);
}

