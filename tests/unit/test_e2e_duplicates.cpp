// Near-duplicates and similar images, through the same pieces the pipeline uses: perceptual
// hashes of the thumbnails, K-nearest neighbours on features.
#include <gtest/gtest.h>

#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "cluster/duplicates.h"
#include "embed/similar.h"
#include "features/phash.h"
#include "image_fixtures.h"
#include "ingest/decode.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
using vips::VImage;
namespace fs = std::filesystem;

namespace {

// A photo-like image: several overlapping shapes of different shades on a gradient.
ingest::RgbImage busy_image(std::uint64_t seed) {
  SyntheticImage spec;
  spec.width = 320;
  spec.height = 240;
  spec.seed = seed;
  spec.noise = 6;
  spec.base_rgb = {static_cast<int>(60 + seed * 37 % 140), static_cast<int>(50 + seed * 53 % 150),
                   static_cast<int>(40 + seed * 71 % 160)};
  TempDir dir;
  write_synthetic_image(dir / "x.png", spec);
  return ingest::decode_file(dir / "x.png", {}).image;
}

VImage to_vips(const ingest::RgbImage& image) {
  return VImage::new_from_memory(const_cast<std::uint8_t*>(image.pixels.data()), image.pixels.size(), image.width,
                                 image.height, 3, VIPS_FORMAT_UCHAR)
      .copy_memory();
}

ingest::RgbImage from_vips(VImage image) {
  void* buffer = nullptr;
  std::size_t size = 0;
  image.write_to_buffer(".png", &buffer, &size);
  std::string bytes(static_cast<const char*>(buffer), size);
  g_free(buffer);
  return ingest::decode_buffer(bytes, "edit.png", {}).image;
}

// The edits the issue names: re-encoded at JPEG quality 60, resized, cropped by 5%, brightened.
std::vector<ingest::RgbImage> edits_of(const ingest::RgbImage& original) {
  VImage image = to_vips(original);
  void* jpeg = nullptr;
  std::size_t size = 0;
  image.write_to_buffer(".jpg", &jpeg, &size, VImage::option()->set("Q", 60));
  std::string bytes(static_cast<const char*>(jpeg), size);
  g_free(jpeg);
  return {ingest::decode_buffer(bytes, "q60.jpg", {}).image, from_vips(image.resize(0.6)),
          from_vips(image.crop(static_cast<int>(image.width() * 0.025), static_cast<int>(image.height() * 0.025),
                               static_cast<int>(image.width() * 0.95), static_cast<int>(image.height() * 0.95))),
          from_vips((image + 20).cast(VIPS_FORMAT_UCHAR))};
}

}  // namespace

TEST(NearDuplicates, EditedCopiesAreGroupedAndDistinctPhotosAreNot) {
  ingest::ensure_vips_started();
  constexpr int kOriginals = 12;
  std::vector<std::uint64_t> hashes;
  std::vector<int> origin;  // which original each image came from
  std::vector<ingest::RgbImage> images;
  for (int o = 0; o < kOriginals; ++o) {
    const ingest::RgbImage original = busy_image(static_cast<std::uint64_t>(o) * 7919 + 11);
    images.push_back(original);
    origin.push_back(o);
    if (o % 2 == 0) {  // half of the originals get edited copies; the rest stay single
      for (const auto& edit : edits_of(original)) {
        images.push_back(edit);
        origin.push_back(o);
      }
    }
  }
  for (const auto& image : images) hashes.push_back(features::perceptual_hash(image));
  // Centred features, as the pipeline passes (there: CNN features after PCA; here: 16x16 pixels
  // minus the collection's mean, which the crops need: their hashes move too far on their own).
  FloatMatrix pixels(images.size(), 16 * 16 * 3);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto small = ingest::resize_exact(images[i], 16, 16);
    for (std::size_t j = 0; j < pixels.cols; ++j) pixels.at(i, j) = small.pixels[j] / 255.0f;
  }
  for (std::size_t j = 0; j < pixels.cols; ++j) {
    double mean = 0;
    for (std::size_t i = 0; i < pixels.rows; ++i) mean += pixels.at(i, j);
    mean /= static_cast<double>(pixels.rows);
    for (std::size_t i = 0; i < pixels.rows; ++i) pixels.at(i, j) -= static_cast<float>(mean);
  }
  // Hashes alone never group distinct photos.
  for (const auto& group : cluster::find_duplicate_groups(hashes, {}))
    for (std::size_t member : group) EXPECT_EQ(origin[member], origin[group.front()]);
  const auto groups = cluster::find_duplicate_groups(hashes, pixels);
  // Every edited copy is grouped with its original, and no group mixes originals.
  std::map<int, std::set<std::size_t>> expected;
  for (std::size_t i = 0; i < origin.size(); ++i)
    if (origin[i] % 2 == 0) expected[origin[i]].insert(i);
  ASSERT_EQ(groups.size(), expected.size());
  for (const auto& group : groups) {
    const int o = origin[group.front()];
    EXPECT_EQ(std::set<std::size_t>(group.begin(), group.end()), expected[o]) << "original " << o;
  }
}

TEST(NearDuplicates, FeaturesRescueLargerHashDistances) {
  // Hashes 12 bits apart: not a duplicate by hash alone, a duplicate when the features agree.
  const std::vector<std::uint64_t> hashes = {0, 0xFFFull, ~0ull};
  FloatMatrix features(3, 2);
  features.at(0, 0) = 1;  features.at(0, 1) = 0.1f;
  features.at(1, 0) = 1;  features.at(1, 1) = 0.2f;
  features.at(2, 0) = -1; features.at(2, 1) = 0;
  EXPECT_TRUE(cluster::find_duplicate_groups(hashes, {}).empty());
  const auto groups = cluster::find_duplicate_groups(hashes, features);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0], (std::vector<std::size_t>{0, 1}));
  FloatMatrix opposed = features;
  opposed.at(1, 0) = -1;
  EXPECT_TRUE(cluster::find_duplicate_groups(hashes, opposed).empty());
}

TEST(SimilarImages, NearestByCosineExcludingItself) {
  std::vector<int> labels;
  const FloatMatrix blobs = gaussian_blobs(4, 10, 16, 0.3, 10.0, 3, &labels);
  embed::SimilarOptions options;
  options.k = 5;
  const auto similar = embed::similar_images(blobs, options);
  ASSERT_EQ(similar.size(), blobs.rows * 5);
  for (std::size_t i = 0; i < blobs.rows; ++i) {
    for (int j = 0; j < 5; ++j) {
      const std::uint32_t neighbour = similar[i * 5 + j];
      EXPECT_NE(neighbour, i);
      EXPECT_EQ(labels[neighbour], labels[i]) << "neighbours come from the same blob";
    }
  }
  // Sorted by similarity: the first neighbour is the brute-force best.
  auto cosine = [&](std::size_t a, std::size_t b) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t d = 0; d < blobs.cols; ++d) {
      dot += blobs.at(a, d) * blobs.at(b, d);
      na += blobs.at(a, d) * blobs.at(a, d);
      nb += blobs.at(b, d) * blobs.at(b, d);
    }
    return dot / std::sqrt(na * nb);
  };
  for (std::size_t i = 0; i < blobs.rows; ++i) {
    std::size_t best = i == 0 ? 1 : 0;
    for (std::size_t j = 0; j < blobs.rows; ++j)
      if (j != i && cosine(i, j) > cosine(i, best)) best = j;
    EXPECT_EQ(similar[i * 5], best);
  }
  // Tiny collections: k shrinks to N - 1.
  FloatMatrix two(2, 3);
  two.at(0, 0) = 1;
  two.at(1, 1) = 1;
  EXPECT_EQ(embed::similar_images(two, options), (std::vector<std::uint32_t>{1, 0}));
  EXPECT_TRUE(embed::similar_images(FloatMatrix(1, 3), options).empty());
}

TEST(PerceptualHash, StableForEditsAndDifferentForOtherPhotos) {
  ingest::ensure_vips_started();
  const auto a = busy_image(1), b = busy_image(2);
  const auto ha = features::perceptual_hash(a), hb = features::perceptual_hash(b);
  EXPECT_GT(features::hamming_distance(ha, hb), 12);
  for (const auto& edit : edits_of(a)) EXPECT_LE(features::hamming_distance(ha, features::perceptual_hash(edit)), 6);
  EXPECT_EQ(features::perceptual_hash(ingest::RgbImage{}), 0u);
}
