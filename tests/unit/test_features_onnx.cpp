// ONNX models through OpenCV DNN: the graph reader, preprocessing, any layer (pooled), layer
// aliases (fc1, pool), the class output and its top-5, the models registry and --model resolution.
// The models are generated here (test_features_onnx_fixture.h), checked against a plain C++ pass.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "features/classes.h"
#include "features/cnn_extractor.h"
#include "features/model_registry.h"
#include "features/onnx_graph.h"
#include "features/onnx_model.h"
#include "features/sha256.h"
#include "test_features_onnx_fixture.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::features;
using photoatlas::testing::TempDir;
namespace tiny = photoatlas::testing::onnx;
namespace fs = std::filesystem;

namespace {

const float kMean[3] = {0.485f, 0.456f, 0.406f};
const float kStd[3] = {0.229f, 0.224f, 0.225f};

void expect_close(const float* got, const std::vector<double>& want, double tolerance, const std::string& what) {
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tolerance * (1.0 + std::abs(want[i]))) << what << " [" << i << "]";
}

}  // namespace

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(OnnxGraph, ReadsInputNodesAndResolvesAliases) {
  TempDir dir;
  tiny::TinyNet net;
  net.write(dir / "tiny.onnx");
  const OnnxGraphInfo graph = read_onnx_graph(dir / "tiny.onnx");
  EXPECT_EQ(graph.input_name, "image");
  EXPECT_EQ(graph.input_shape, (std::vector<std::int64_t>{1, 3, 8, 8}));
  EXPECT_TRUE(graph.channels_first());
  ASSERT_EQ(graph.nodes.size(), 8u);
  EXPECT_EQ(graph.nodes[0].op_type, "Conv");
  EXPECT_EQ(graph.outputs, std::vector<std::string>{"prob"});
  EXPECT_EQ(graph.initializers.size(), 6u);
  EXPECT_EQ(resolve_onnx_layer(graph, "fc1"), "fc1_relu");
  EXPECT_EQ(resolve_onnx_layer(graph, "pool"), "gap_out");
  EXPECT_EQ(resolve_onnx_layer(graph, "conv_out"), "conv_out");
  EXPECT_EQ(resolve_onnx_layer(graph, "no_such_layer"), "");
}

TEST(OnnxGraph, RefusesWhatIsNotOnnx) {
  TempDir dir;
  { std::ofstream(dir / "junk.onnx") << "this is not a protobuf at all, just some text"; }
  EXPECT_THROW(read_onnx_graph(dir / "junk.onnx"), std::runtime_error);
  EXPECT_THROW(OnnxModel::load(dir / "junk.onnx"), std::runtime_error);
  EXPECT_THROW(read_onnx_graph(dir / "missing.onnx"), std::runtime_error);
}

TEST(OnnxModel, LayersMatchAPlainForwardPass) {
  TempDir dir;
  tiny::TinyNet net;
  net.write(dir / "tiny.onnx");
  OnnxModelOptions options;
  options.preprocessing = imagenet_preprocessing(0);  // the model's own 8 x 8
  const auto model = OnnxModel::load(dir / "tiny.onnx", options);
  EXPECT_EQ(model->input_width(), 8);
  EXPECT_EQ(model->default_layer(), "pool");
  EXPECT_EQ(model->output_dims("pool"), 4u);
  EXPECT_EQ(model->output_dims("fc1"), 8u);
  EXPECT_EQ(model->output_dims("conv_out"), 4u);
  EXPECT_EQ(model->output_dims("prob"), 1000u);
  EXPECT_FALSE(model->has_layer("nope"));
  EXPECT_THROW(model->output_dims("nope"), std::invalid_argument);
  EXPECT_NE(model->name().find("onnx/tiny-" + sha256_file(dir / "tiny.onnx").substr(0, 12)), std::string::npos);
  EXPECT_NE(model->name().find("/in8/mean0.485:0.456:0.406/std0.229:0.224:0.225"), std::string::npos) << model->name();

  const ingest::RgbImage a = tiny::pattern_image(8, 1), b = tiny::pattern_image(8, 2);
  const ingest::RgbImage* both[] = {&a, &b};
  const auto out = model->run(both, {"pool", "fc1", "conv_out", "logits"});
  for (int i = 0; i < 2; ++i) {
    const auto want = net.forward(i == 0 ? a : b, kMean, kStd);
    expect_close(out[0].row(i), want.gap, 1e-4, "pool");
    expect_close(out[1].row(i), want.fc1, 1e-4, "fc1");
    expect_close(out[2].row(i), want.conv_gap, 1e-4, "conv (spatial, averaged)");
    expect_close(out[3].row(i), want.logits, 1e-4, "logits");
  }
  // One image at a time gives the same rows as the batch.
  const ingest::RgbImage* one[] = {&b};
  const auto single = model->run(one, {"fc1"});
  for (int k = 0; k < 8; ++k) EXPECT_NEAR(single[0].at(0, k), out[1].at(1, k), 1e-5);
}

TEST(OnnxModel, ResizesAndNormalisesLikeTheOptionsSay) {
  TempDir dir;
  tiny::TinyNet net;
  net.write(dir / "tiny.onnx");
  OnnxModelOptions plain;  // mean 0, std 1
  const auto model = OnnxModel::load(dir / "tiny.onnx", plain);
  EXPECT_EQ(model->name().find("/mean"), std::string::npos);
  // A 16 x 16 image of 2 x 2 blocks is stretched to 8 x 8: align-corners sampling at 15/7 steps.
  const ingest::RgbImage small = tiny::pattern_image(8, 3);
  ingest::RgbImage big;
  big.width = big.height = 16;
  big.pixels.resize(16 * 16 * 3);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) big.pixels[(y * 16 + x) * 3 + c] = small.at(x / 2, y / 2)[c];
  const ingest::RgbImage* images[] = {&big};
  const auto out = model->run(images, {"pool"});
  EXPECT_EQ(out[0].cols, 4u);
  // Not equal to the 8 x 8 source (interpolation), but every value finite and the same every time.
  const auto again = model->run(images, {"pool"});
  for (int k = 0; k < 4; ++k) {
    EXPECT_TRUE(std::isfinite(out[0].at(0, k)));
    EXPECT_EQ(out[0].at(0, k), again[0].at(0, k));
  }
  // Zero mean, unit std: the network sees q / 255.
  const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
  const ingest::RgbImage* exact[] = {&small};
  expect_close(model->run(exact, {"pool"})[0].row(0), net.forward(small, zero, one).gap, 1e-4, "plain [0,1] input");
}

TEST(OnnxModel, ClassifierKeepsTopFiveImageNetClasses) {
  TempDir dir;
  tiny::TinyNet with_softmax(8, 1000, true), logits_only(8, 1000, false);
  with_softmax.write(dir / "prob.onnx");
  logits_only.write(dir / "logits.onnx");
  OnnxModelOptions options;
  options.preprocessing = imagenet_preprocessing(0);
  const auto labels = load_class_labels(default_imagenet_labels());
  ASSERT_EQ(labels.size(), 1000u);
  EXPECT_EQ(labels[0].wnid, "n01440764");
  EXPECT_EQ(labels[0].name, "tench");

  const ingest::RgbImage image = tiny::pattern_image(8, 7);
  const auto want = with_softmax.forward(image, kMean, kStd);
  std::vector<float> expected(want.logits.begin(), want.logits.end());
  softmax(expected);
  const TopClasses expected_top = top_classes(expected, labels, 5);
  ASSERT_EQ(expected_top.size(), 5u);

  for (const char* file : {"prob.onnx", "logits.onnx"}) {
    const auto model = OnnxModel::load(dir / file, options);
    EXPECT_EQ(model->class_layer(), std::string(file) == "prob.onnx" ? "prob" : "logits");
    EXPECT_EQ(model->class_output_is_probability(), std::string(file) == "prob.onnx");
    ClassifierExtractor classifier(model);
    EXPECT_EQ(classifier.dims(), 1000u);
    EXPECT_NE(classifier.id().find("/probabilities@"), std::string::npos);
    std::vector<float> probabilities(1000);
    classifier.extract(image, probabilities);
    double sum = 0;
    for (float p : probabilities) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-4) << file;
    const TopClasses top = top_classes(probabilities, classifier.labels(), 5);
    ASSERT_EQ(top.size(), 5u);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(top[i].index, expected_top[i].index) << file << " rank " << i;
      EXPECT_EQ(top[i].wnid, labels[top[i].index].wnid);
      EXPECT_NEAR(top[i].probability, expected_top[i].probability, 1e-4);
      if (i > 0) {
        EXPECT_LE(top[i].probability, top[i - 1].probability);
      }
    }
  }
  // A 10-way output has no ImageNet labels: no classifier.
  tiny::TinyNet ten(8, 10, true);
  ten.write(dir / "ten.onnx");
  const auto model = OnnxModel::load(dir / "ten.onnx", options);
  EXPECT_EQ(model->class_layer(), "");
  EXPECT_THROW(ClassifierExtractor{model}, std::invalid_argument);
}

TEST(OnnxModel, FeaturesAndClassesShareOnePass) {
  TempDir dir;
  tiny::TinyNet net;
  net.write(dir / "tiny.onnx");
  OnnxModelOptions options;
  options.preprocessing = imagenet_preprocessing(0);
  auto model = OnnxModel::load(dir / "tiny.onnx", options);
  const auto plain = OnnxModel::load(dir / "tiny.onnx", options);
  model->share_layers({"fc1", model->class_layer()});
  CnnExtractor features(model, {"fc1", CnnNormalization::L2});
  ClassifierExtractor classes(model);
  CnnExtractor reference(plain, {"fc1", CnnNormalization::L2});
  EXPECT_EQ(features.id(), reference.id());
  EXPECT_NE(features.id().find("/fc1/gap/l2@"), std::string::npos) << features.id();
  for (unsigned seed : {1u, 2u, 1u}) {
    const ingest::RgbImage image = tiny::pattern_image(8, seed);
    std::vector<float> f(features.dims()), r(reference.dims()), p(classes.dims()), q(classes.dims());
    features.extract(image, f);
    classes.extract(image, p);  // from the memo
    reference.extract(image, r);
    ClassifierExtractor(plain).extract(image, q);
    double norm = 0;
    for (std::size_t k = 0; k < f.size(); ++k) {
      EXPECT_FLOAT_EQ(f[k], r[k]);
      norm += f[k] * f[k];
    }
    EXPECT_NEAR(norm, 1.0, 1e-5);
    for (std::size_t k = 0; k < p.size(); ++k) EXPECT_FLOAT_EQ(p[k], q[k]);
  }
}

TEST(ModelRegistry, ImportThenLoadByName) {
  TempDir dir;
  tiny::TinyNet net(16);
  net.write(dir / "my-net.onnx");
  const fs::path models = dir / "models";
  {
    ModelRegistry registry(models);
    EXPECT_TRUE(registry.models().empty());
    const RegisteredModel m = registry.import_file(dir / "my-net.onnx");
    EXPECT_EQ(m.name, "my-net");
    EXPECT_EQ(m.sha256, sha256_file(dir / "my-net.onnx"));
    EXPECT_TRUE(fs::is_regular_file(models / "my-net.onnx"));
    EXPECT_THROW(registry.import_file(dir / "my-net.onnx", "other", std::string(64, '0')), std::runtime_error);
    { std::ofstream(dir / "junk.onnx") << "junk"; }
    EXPECT_THROW(registry.import_file(dir / "junk.onnx"), std::runtime_error);
  }
  const ModelRegistry reread(models);
  ASSERT_EQ(reread.models().size(), 1u);
  EXPECT_EQ(reread.models()[0].source, fs::absolute(dir / "my-net.onnx").lexically_normal().string());
  const auto doc = nlohmann::json::parse(std::ifstream(models / "registry.json"));
  EXPECT_EQ(doc["models"][0]["sha256"], reread.models()[0].sha256);

  NetworkSpec spec;
  spec.model = "my-net";
  spec.models_dir = models;
  auto network = load_network(spec);
  EXPECT_EQ(network->input_width(), 16);
  EXPECT_EQ(network->default_layer(), "pool");
  EXPECT_NE(network->name().find("onnx/my-net-"), std::string::npos);
  // The same file by path, with another input size and normalisation.
  spec.model = (dir / "my-net.onnx").string();
  spec.input_size = 32;
  spec.mean = std::array<float, 3>{0.5f, 0.5f, 0.5f};
  spec.std = std::array<float, 3>{0.5f, 0.5f, 0.5f};
  network = load_network(spec);
  EXPECT_EQ(network->input_width(), 32);
  EXPECT_NE(network->name().find("/in32/mean0.5:0.5:0.5/std0.5:0.5:0.5"), std::string::npos) << network->name();

  spec = {};
  spec.models_dir = models;
  spec.model = "vgg19";  // a preset that was never pulled
  try {
    load_network(spec);
    ADD_FAILURE() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("photoatlas models pull vgg19"), std::string::npos) << e.what();
  }
  spec.model = "no-such-model";
  EXPECT_THROW(load_network(spec), std::runtime_error);
  spec.model = (dir / "missing.onnx").string();
  EXPECT_THROW(load_network(spec), std::runtime_error);
}

TEST(ModelPresets, EachHasAnOfficialAddressLayerAndLabels) {
  ASSERT_GE(model_presets().size(), 3u);
  for (const char* name : {"vgg19", "resnet50", "mobilenetv2"}) {
    const ModelPreset* p = find_model_preset(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->url.rfind("https://github.com/onnx/models/", 0), 0u) << p->url;
    EXPECT_FALSE(p->layer.empty());
    EXPECT_EQ(p->labels, "imagenet_classes.txt");
    EXPECT_EQ(p->preprocessing.input_size, 224);
    EXPECT_TRUE(p->sha256.empty() || p->sha256.size() == 64);
  }
  EXPECT_EQ(find_model_preset("vgg19")->layer, "fc1");
  EXPECT_EQ(find_model_preset("inception_v3"), nullptr);  // the nsfwjs models are not ONNX presets
}
