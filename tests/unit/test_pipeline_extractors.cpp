// The run's CNN options become the extractor's settings and its feature id; a bad value is an
// error even for the default model (whose absence is only a warning).
#include <gtest/gtest.h>

#include "features/cnn_extractor.h"
#include "pipeline/extractors.h"

using namespace photoatlas;

namespace {
pipeline::RunOptions nsfwjs_options() {
  pipeline::RunOptions options;
  options.nsfwjs_dir = features::nsfwjs_package_dir(PHOTOATLAS_SOURCE_DIR);
  options.objects = false;
  return options;
}
}  // namespace

TEST(PipelineExtractors, InputRangeReachesTheExtractorAndItsId) {
  pipeline::RunOptions options = nsfwjs_options();
  if (!std::filesystem::exists(options.nsfwjs_dir / "package.json"))
    GTEST_SKIP() << "the nsfwjs package is not installed (scripts/setup)";
  const pipeline::Extractors plain = pipeline::make_extractors(options, {});
  ASSERT_TRUE(plain.cnn);
  EXPECT_EQ(plain.cnn->input_range(), features::InputRange::ZeroOne);
  EXPECT_EQ(plain.cnn->id().find("/pm1"), std::string::npos) << plain.cnn->id();

  options.cnn_input_range = "pm1";
  const pipeline::Extractors keras_scale = pipeline::make_extractors(options, {});
  ASSERT_TRUE(keras_scale.cnn);
  EXPECT_EQ(keras_scale.cnn->input_range(), features::InputRange::PlusMinusOne);
  EXPECT_TRUE(keras_scale.cnn->id().ends_with("/pm1@1")) << keras_scale.cnn->id();
  EXPECT_EQ(keras_scale.cnn->dims(), plain.cnn->dims());
}

TEST(PipelineExtractors, BadCnnOptionValuesAreErrorsNotAMissingModel) {
  for (const auto& set : {+[](pipeline::RunOptions& o) { o.cnn_input_range = "0255"; },
                          +[](pipeline::RunOptions& o) { o.cnn_pooling = "max"; },
                          +[](pipeline::RunOptions& o) { o.cnn_normalization = "l1"; }}) {
    pipeline::RunOptions options = nsfwjs_options();
    options.nsfwjs_dir = "/nonexistent/nsfwjs";  // the model's absence alone would be a warning
    set(options);
    EXPECT_THROW(pipeline::make_extractors(options, {}), std::invalid_argument);
  }
  pipeline::RunOptions missing = nsfwjs_options();
  missing.nsfwjs_dir = "/nonexistent/nsfwjs";
  std::string warned;
  pipeline::RunObserver observer;
  observer.note = [&](const std::string& message) { warned += message; };
  const pipeline::Extractors made = pipeline::make_extractors(missing, observer);
  EXPECT_FALSE(made.cnn);
  EXPECT_NE(warned.find("no CNN map"), std::string::npos) << warned;
}
