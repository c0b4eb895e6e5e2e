#include <gtest/gtest.h>

#include <atomic>
#include <fstream>

#include "features/compute.h"
#include "features/raw_pixels.h"
#include "image_fixtures.h"
#include "ingest/discover.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;

TEST(RawPixels, StretchesToSquareInUnitRange) {
  features::RawPixelExtractor extractor({8});
  EXPECT_EQ(extractor.id(), "raw8");
  EXPECT_EQ(extractor.dims(), 8u * 8u * 3u);
  ingest::RgbImage image;
  image.width = 32;
  image.height = 16;
  image.pixels.resize(32 * 16 * 3);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 32; ++x) {
      std::uint8_t* p = &image.pixels[(y * 32 + x) * 3];
      p[0] = 255;
      p[1] = x < 16 ? 0 : 255;  // left half red, right half yellow
      p[2] = 51;
    }
  std::vector<float> out(extractor.dims());
  extractor.extract(image, out);
  // (y, x, channel) order: pixel (row 4, column 1) is in the red half, (row 4, column 6) in the yellow half.
  EXPECT_NEAR(out[(4 * 8 + 1) * 3 + 0], 1.0f, 1e-6);
  EXPECT_NEAR(out[(4 * 8 + 1) * 3 + 1], 0.0f, 0.02);
  EXPECT_NEAR(out[(4 * 8 + 6) * 3 + 1], 1.0f, 0.02);
  EXPECT_NEAR(out[(4 * 8 + 6) * 3 + 2], 0.2f, 0.01);
  for (float v : out) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  std::vector<float> wrong(5);
  EXPECT_THROW(extractor.extract(image, wrong), std::invalid_argument);
}

TEST(ComputeFeatures, RowsFollowDecodableImagesAndFailuresAreKept) {
  TempDir dir;
  write_colour_families(dir / "photos", 2, 7);
  { std::ofstream(dir / "photos" / "broken.jpg") << "not an image"; }
  const Collection collection = ingest::discover({dir / "photos"}, {});
  ASSERT_EQ(collection.images.size(), 7u);
  features::RawPixelExtractor raw({16});
  std::atomic<int> hook_calls{0};
  std::size_t last_done = 0;
  const auto computed = features::compute_features(
      collection, {&raw}, {}, [&](std::size_t, const features::ImageProducts& products) {
        ++hook_calls;
        EXPECT_GT(products.thumbnail_jpeg.size(), 100u);
        EXPECT_GT(products.info.width, 0);
      },
      [&](std::size_t done, std::size_t total) {
        EXPECT_EQ(total, 7u);
        last_done = done;
      });
  EXPECT_EQ(hook_calls.load(), 6);
  EXPECT_EQ(computed.decoded, 6u) << "every decodable image decoded once";
  ASSERT_EQ(computed.info.size(), 6u);
  EXPECT_EQ(last_done, 7u);
  ASSERT_EQ(computed.failures.size(), 1u);
  EXPECT_NE(computed.failures[0].path.find("broken.jpg"), std::string::npos);
  ASSERT_EQ(computed.matrices.size(), 1u);
  const auto& m = computed.matrices[0];
  EXPECT_EQ(m.extractor_id, "raw16");
  EXPECT_EQ(m.values.rows, 6u);
  EXPECT_EQ(m.values.cols, 16u * 16u * 3u);
  ASSERT_EQ(m.ids.size(), 6u);
  for (std::size_t r = 0; r < 6; ++r) {
    const auto& record = collection.images[computed.image_index[r]];
    EXPECT_EQ(m.ids[r], record.id);
    // The dominant channel of the family shows in the mean of the row.
    double sum[3] = {0, 0, 0};
    for (std::size_t p = 0; p < 16 * 16; ++p)
      for (int c = 0; c < 3; ++c) sum[c] += m.values.at(r, p * 3 + c);
    const int expected = record.display_name.rfind("red", 0) == 0 ? 0 : record.display_name.rfind("green", 0) == 0 ? 1 : 2;
    EXPECT_EQ(std::max_element(sum, sum + 3) - sum, expected) << record.display_name;
  }
}
