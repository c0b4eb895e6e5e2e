// The COCO object detector: TF1 bilinear preprocessing, the heat-map decoder, NMS, and the golden
// comparison of the imported CenterNet with TF.js on the reference's 7 images.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "detect/centernet.h"
#include "ppm_gz.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::detect;
using nlohmann::json;

namespace {

ingest::RgbImage random_image(int width, int height, std::uint32_t seed) {
  std::mt19937 rng(seed);
  ingest::RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<std::size_t>(width) * height * 3);
  for (auto& p : image.pixels) p = static_cast<std::uint8_t>(rng() & 0xFF);
  return image;
}

}  // namespace

TEST(Tf1Bilinear, SamplesAtDestTimesScaleWithoutHalfPixelShift) {
  const ingest::RgbImage image = random_image(7, 5, 1);
  const int w = 3, h = 4;
  std::vector<float> planes(3 * w * h);
  preprocess_tf1_bilinear(image, w, h, planes.data());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      // TF1: source = dest * in / out, clamped on the far side; linear in both axes.
      const double sy = y * 5.0 / h, sx = x * 7.0 / w;
      const int y0 = static_cast<int>(sy), x0 = static_cast<int>(sx);
      const int y1 = std::min(y0 + 1, 4), x1 = std::min(x0 + 1, 6);
      const double fy = sy - y0, fx = sx - x0;
      for (int c = 0; c < 3; ++c) {
        const double v = (1 - fy) * ((1 - fx) * image.at(x0, y0)[c] + fx * image.at(x1, y0)[c]) +
                         fy * ((1 - fx) * image.at(x0, y1)[c] + fx * image.at(x1, y1)[c]);
        EXPECT_NEAR(planes[(c * h + y) * w + x], v, 1e-3) << x << "," << y << "," << c;
      }
    }
  // The first row and column are exact source pixels (no half-pixel blur), values stay 0..255.
  EXPECT_EQ(planes[0], image.at(0, 0)[0]);
  EXPECT_EQ(planes[w * h], image.at(0, 0)[1]);
}

TEST(CenterNetDecoder, KeepsPeaksOnlyInScoreOrderWithBoxesFromSizes) {
  const int classes = 3, h = 6, w = 5;
  std::vector<float> heat(static_cast<std::size_t>(classes) * h * w, 0.01f);
  std::vector<float> sizes(4 * h * w, 0.0f);
  const auto at = [&](int c, int y, int x) -> float& { return heat[(static_cast<std::size_t>(c) * h + y) * w + x]; };
  at(1, 2, 3) = 0.9f;   // a peak
  at(1, 2, 4) = 0.8f;   // its neighbour: not a peak
  at(0, 2, 4) = 0.7f;   // another class in the same cell: a peak of its own map
  at(2, 5, 0) = 0.6f;   // a corner peak (padding takes no part)
  at(2, 0, 0) = 0.5f;   // a plateau: both cells equal their 3x3 max and both stay
  at(2, 0, 1) = 0.5f;
  const std::size_t cell = 2 * w + 3;
  sizes[0 * h * w + cell] = 3;
  sizes[1 * h * w + cell] = 4;
  sizes[2 * h * w + cell] = 5;
  sizes[3 * h * w + cell] = 6;
  DecodeOptions options;
  options.top_k = 5;
  const auto rows = decode_heatmap(heat, sizes, classes, h, w, options);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].class_index, 1);
  EXPECT_FLOAT_EQ(rows[0].score, 0.9f);
  EXPECT_FLOAT_EQ(rows[0].x1, 4 * 3 - 3);
  EXPECT_FLOAT_EQ(rows[0].y1, 4 * 2 - 4);
  EXPECT_FLOAT_EQ(rows[0].x2, 4 * 3 + 5);
  EXPECT_FLOAT_EQ(rows[0].y2, 4 * 2 + 6);
  EXPECT_EQ(rows[1].class_index, 0);
  EXPECT_FLOAT_EQ(rows[1].score, 0.7f);
  EXPECT_FLOAT_EQ(rows[1].x1, 16);
  EXPECT_EQ(rows[2].class_index, 2);
  EXPECT_FLOAT_EQ(rows[2].y1, 20);
  // Equal scores: the lower HWC index first, as TF's TopKV2.
  EXPECT_FLOAT_EQ(rows[3].score, 0.5f);
  EXPECT_FLOAT_EQ(rows[3].x1, 0);
  EXPECT_FLOAT_EQ(rows[4].score, 0.5f);
  EXPECT_FLOAT_EQ(rows[4].x1, 4);
  for (const auto& r : rows) EXPECT_NE(r.score, 0.8f);
}

TEST(CenterNetNms, GreedyAcrossClassesAboveTheScoreThreshold) {
  std::vector<RawDetection> rows = {
      {0, 0, 10, 10, 0.9f, 0},    // kept
      {1, 1, 11, 11, 0.8f, 5},    // IoU 0.68 with the first, another class: dropped all the same
      {20, 20, 30, 30, 0.7f, 0},  // kept
      {0, 0, 10, 4, 0.6f, 1},     // IoU 0.4 exactly with the first: not above the threshold, kept
      {40, 40, 50, 50, 0.2f, 2},  // not above 0.2
  };
  EXPECT_EQ(non_max_suppression(rows), (std::vector<std::size_t>{0, 2, 3}));
  NmsOptions one;
  one.max_detections = 1;
  EXPECT_EQ(non_max_suppression(rows, one), (std::vector<std::size_t>{0}));
  // Corners given the wrong way round count as the same box.
  rows[1] = {10, 10, 0, 0, 0.8f, 5};
  EXPECT_EQ(non_max_suppression(rows), (std::vector<std::size_t>{0, 2, 3}));
}

TEST(CenterNet, MissingModelIsAClearError) {
  photoatlas::testing::TempDir dir;
  try {
    CenterNet::load(dir.path());
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("centernet.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("scripts/setup"), std::string::npos) << e.what();
  }
}

// ---- golden test: the raw top-100 of TF.js (wasm backend) on the reference's 7 images ----
// The reference decoded the darknet sample JPEGs with jpeg-js; ../shared/reference/nsfwjs-features/pixels
// holds exactly those decoded pixels (same images, same decoder, sizes checked below).

TEST(CenterNetGolden, RawTopKMatchesTfjs) {
  const auto shared = photoatlas::testing::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not found: the CenterNet reference outputs are not available";
  const std::filesystem::path model_dir = centernet_model_dir(PHOTOATLAS_SOURCE_DIR);
  if (!std::filesystem::exists(model_dir / "centernet.json"))
    GTEST_SKIP() << "the CenterNet model is not installed in " << model_dir << ": run scripts/setup";
  std::ifstream in(*shared / "reference" / "centernet" / "raw_centernet_topk.json");
  ASSERT_TRUE(in) << "raw_centernet_topk.json missing";
  const json reference = json::parse(in);
  const auto model = CenterNet::load(model_dir);
  ASSERT_EQ(model->input_size(), 512);

  int images = 0;
  double worst_box = 0, worst_score = 0;
  for (const char* name : {"dog", "eagle", "giraffe", "horses", "kite", "person", "scream"}) {
    SCOPED_TRACE(name);
    const json& want = reference.at("images").at(std::string("/tmp/tfjsref/images/") + name + ".jpg");
    const auto ppm = photoatlas::testing::read_ppm_gz(*shared / "reference" / "nsfwjs-features" / "pixels" /
                                                      (std::string(name) + ".ppm.gz"));
    ingest::RgbImage image;
    image.width = ppm.width;
    image.height = ppm.height;
    image.pixels.assign(ppm.rgb.begin(), ppm.rgb.end());
    const std::vector<RawDetection> got = model->raw_detections(image);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t r = 0; r < got.size(); ++r) {
      const json& row = want[r];
      SCOPED_TRACE("row " + std::to_string(r));
      EXPECT_EQ(got[r].class_index, row[5].get<int>());
      EXPECT_NEAR(got[r].score, row[4].get<double>(), 1e-3);
      const float box[] = {got[r].x1, got[r].y1, got[r].x2, got[r].y2};
      for (int k = 0; k < 4; ++k) {
        EXPECT_NEAR(box[k], row[k].get<double>(), 1.0) << "coordinate " << k;
        worst_box = std::max(worst_box, std::abs(box[k] - row[k].get<double>()));
      }
      worst_score = std::max(worst_score, std::abs(got[r].score - row[4].get<double>()));
    }
    ++images;
  }
  EXPECT_EQ(images, 7);

  // After NMS: the same kept rows as human's post-processing in the reference run (detections.json).
  std::ifstream detections_file(*shared / "reference" / "centernet" / "detections.json");
  ASSERT_TRUE(detections_file) << "detections.json missing";
  const json detections = json::parse(detections_file);
  int checked = 0;
  for (const json& entry : detections.at("models").at("centernet").at("images")) {
    if (entry.value("set", "") != "tfjsref") continue;
    const std::string path = entry.at("path").get<std::string>();
    const std::string name = std::filesystem::path(path).stem().string();
    SCOPED_TRACE(name);
    const auto ppm = photoatlas::testing::read_ppm_gz(*shared / "reference" / "nsfwjs-features" / "pixels" / (name + ".ppm.gz"));
    ingest::RgbImage image;
    image.width = ppm.width;
    image.height = ppm.height;
    image.pixels.assign(ppm.rgb.begin(), ppm.rgb.end());
    const std::vector<Detection> kept = model->detect(image);
    const json& want = entry.at("detections");
    ASSERT_EQ(kept.size(), want.size());
    for (std::size_t i = 0; i < kept.size(); ++i) {
      EXPECT_EQ(coco_labels()[kept[i].class_index], want[i].at("label").get<std::string>());
      EXPECT_NEAR(kept[i].score, want[i].at("score").get<double>(), 1e-3);
      EXPECT_NEAR(kept[i].x1, want[i].at("box_norm")[0].get<double>(), 1e-3);
      EXPECT_NEAR(kept[i].y2, want[i].at("box_norm")[3].get<double>(), 1e-3);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 7);
  RecordProperty("worst_box_px", std::to_string(worst_box));
  RecordProperty("worst_score", std::to_string(worst_score));
  std::printf("CenterNet vs TF.js: worst box difference %.4g px, worst score difference %.3g\n", worst_box, worst_score);
}
