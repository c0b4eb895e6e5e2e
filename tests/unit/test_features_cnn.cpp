// The CNN inference path: reading TF.js layers models, the Keras -> OpenCV DNN graph, nsfwjs's
// preprocessing, and the golden comparison with TF.js on the nsfwjs models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <tuple>

#include <nlohmann/json.hpp>

#include "features/cnn_extractor.h"
#include "features/tfjs_layers.h"
#include "ppm_gz.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::features;
using nlohmann::json;

namespace {

// ---- a direct NHWC implementation of the layers, written for clarity, accumulating in double ----

struct Map {
  int h = 0, w = 0, c = 0;
  std::vector<double> v;
  Map(int h_, int w_, int c_) : h(h_), w(w_), c(c_), v(static_cast<std::size_t>(h_) * w_ * c_, 0.0) {}
  double& at(int y, int x, int k) { return v[(static_cast<std::size_t>(y) * w + x) * c + k]; }
  double at(int y, int x, int k) const { return v[(static_cast<std::size_t>(y) * w + x) * c + k]; }
  bool inside(int y, int x) const { return y >= 0 && y < h && x >= 0 && x < w; }
};

struct Pads {
  int top, bottom, left, right;
};

// kernel [kh, kw, in, out]
Map conv(const Map& in, const tfjs::Tensor& k, const std::vector<float>* bias, int stride, Pads p) {
  const int kh = k.shape[0], kw = k.shape[1], cin = k.shape[2], cout = k.shape[3];
  Map out((in.h + p.top + p.bottom - kh) / stride + 1, (in.w + p.left + p.right - kw) / stride + 1, cout);
  for (int y = 0; y < out.h; ++y)
    for (int x = 0; x < out.w; ++x)
      for (int o = 0; o < cout; ++o) {
        double s = bias ? (*bias)[o] : 0.0;
        for (int ky = 0; ky < kh; ++ky)
          for (int kx = 0; kx < kw; ++kx) {
            const int iy = y * stride + ky - p.top, ix = x * stride + kx - p.left;
            if (!in.inside(iy, ix)) continue;
            for (int i = 0; i < cin; ++i) s += k.values[((ky * kw + kx) * cin + i) * cout + o] * in.at(iy, ix, i);
          }
        out.at(y, x, o) = s;
      }
  return out;
}

// depthwise kernel [kh, kw, in, multiplier]; output channel i * multiplier + m
Map depthwise(const Map& in, const tfjs::Tensor& k, int stride) {
  const int kh = k.shape[0], kw = k.shape[1], cin = k.shape[2], mult = k.shape[3];
  Map out((in.h - kh) / stride + 1, (in.w - kw) / stride + 1, cin * mult);
  for (int y = 0; y < out.h; ++y)
    for (int x = 0; x < out.w; ++x)
      for (int i = 0; i < cin; ++i)
        for (int m = 0; m < mult; ++m) {
          double s = 0.0;
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx)
              s += k.values[((ky * kw + kx) * cin + i) * mult + m] * in.at(y * stride + ky, x * stride + kx, i);
          out.at(y, x, i * mult + m) = s;
        }
  return out;
}

Map batch_norm(Map m, const std::vector<float>* gamma, const std::vector<float>& beta, const std::vector<float>& mean,
               const std::vector<float>& var, double eps) {
  for (std::size_t i = 0; i < m.v.size(); ++i) {
    const int k = static_cast<int>(i % m.c);
    m.v[i] = (m.v[i] - mean[k]) / std::sqrt(var[k] + eps) * (gamma ? (*gamma)[k] : 1.0) + beta[k];
  }
  return m;
}

Map clamp(Map m, double hi) {
  for (double& x : m.v) x = std::min(std::max(x, 0.0), hi);
  return m;
}

Map zero_pad(const Map& in, Pads p) {
  Map out(in.h + p.top + p.bottom, in.w + p.left + p.right, in.c);
  for (int y = 0; y < in.h; ++y)
    for (int x = 0; x < in.w; ++x)
      for (int k = 0; k < in.c; ++k) out.at(y + p.top, x + p.left, k) = in.at(y, x, k);
  return out;
}

// TensorFlow pooling: padded cells take no part (neither in the max nor in the average's count).
Map pool(const Map& in, int size, int stride, Pads p, bool max) {
  Map out((in.h + p.top + p.bottom - size) / stride + 1, (in.w + p.left + p.right - size) / stride + 1, in.c);
  for (int y = 0; y < out.h; ++y)
    for (int x = 0; x < out.w; ++x)
      for (int k = 0; k < in.c; ++k) {
        double acc = max ? -INFINITY : 0.0;
        int count = 0;
        for (int ky = 0; ky < size; ++ky)
          for (int kx = 0; kx < size; ++kx) {
            const int iy = y * stride + ky - p.top, ix = x * stride + kx - p.left;
            if (!in.inside(iy, ix)) continue;
            acc = max ? std::max(acc, in.at(iy, ix, k)) : acc + in.at(iy, ix, k);
            ++count;
          }
        out.at(y, x, k) = max ? acc : acc / count;
      }
  return out;
}

std::vector<double> dense(const std::vector<double>& in, const tfjs::Tensor& k, const std::vector<float>& bias) {
  const int units = k.shape[1];
  std::vector<double> out(units);
  for (int o = 0; o < units; ++o) {
    double s = bias[o];
    for (std::size_t i = 0; i < in.size(); ++i) s += k.values[i * units + o] * in[i];
    out[o] = s;
  }
  return out;
}

std::vector<double> channel_means(const Map& m) {
  std::vector<double> out(m.c, 0.0);
  for (std::size_t i = 0; i < m.v.size(); ++i) out[i % m.c] += m.v[i];
  for (double& x : out) x /= m.h * m.w;
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << what << " [" << i << "]";
}

std::vector<float> row_of(const FloatMatrix& m, std::size_t r) { return {m.row(r), m.row(r) + m.cols}; }

// ---- a small Keras functional model, written to disk in the TF.js layers format ----

json keras_layer(const std::string& cls, const std::string& name, json config, const std::vector<std::string>& inputs) {
  config["name"] = name;
  json inbound = json::array();
  if (!inputs.empty()) {
    json node = json::array();
    for (const std::string& in : inputs) node.push_back(json::array({in, 0, 0, json::object()}));
    inbound.push_back(node);
  }
  return {{"name", name}, {"class_name", cls}, {"config", config}, {"inbound_nodes", inbound}};
}

struct TinyModel {
  std::map<std::string, tfjs::Tensor> weights;  // as dequantised by the reader (what the net must use)
  json layers = json::array();
};

// Every tensor but one is stored uint8-quantised (as in nsfwjs); "dense_2/kernel" stays float32 so
// both paths of the reader are used.
void write_model(const TinyModel& model, const std::filesystem::path& dir, std::map<std::string, tfjs::Tensor>& dequantised) {
  std::mt19937 rng(7);
  json specs = json::array();
  std::string bytes;
  for (const auto& [name, tensor] : model.weights) {  // std::map: alphabetical, like the real manifests
    json spec = {{"name", name}, {"shape", tensor.shape}, {"dtype", "float32"}};
    tfjs::Tensor stored = tensor;
    if (name == "dense_2/kernel") {
      bytes.append(reinterpret_cast<const char*>(tensor.values.data()), tensor.values.size() * sizeof(float));
    } else {
      const double min = tensor.values.empty() ? 0.0 : *std::min_element(tensor.values.begin(), tensor.values.end());
      const double max = tensor.values.empty() ? 0.0 : *std::max_element(tensor.values.begin(), tensor.values.end());
      const double scale = max > min ? (max - min) / 255.0 : 1.0;
      spec["quantization"] = {{"min", min}, {"scale", scale}, {"dtype", "uint8"}};
      for (std::size_t i = 0; i < tensor.values.size(); ++i) {
        const auto q = static_cast<std::uint8_t>(std::lround((tensor.values[i] - min) / scale));
        bytes.push_back(static_cast<char>(q));
        stored.values[i] = static_cast<float>(static_cast<double>(q) * scale + min);
      }
    }
    dequantised[name] = stored;
    specs.push_back(spec);
  }
  json model_json = {
      {"format", "layers-model"},
      {"modelTopology",
       {{"keras_version", "2.2.4"},
        {"model_config",
         {{"class_name", "Model"},
          {"config",
           {{"name", "tiny"},
            {"layers", model.layers},
            {"input_layers", json::array({json::array({"input_1", 0, 0})})},
            {"output_layers", json::array({json::array({"dense_2", 0, 0})})}}}}}}},
      {"weightsManifest", json::array({{{"paths", json::array({"group1-shard1of1.bin"})}, {"weights", specs}}})}};
  std::ofstream(dir / "model.json") << model_json.dump();
  std::ofstream(dir / "group1-shard1of1.bin", std::ios::binary) << bytes;
}

tfjs::Tensor random_tensor(std::vector<int> shape, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  tfjs::Tensor t;
  t.shape = std::move(shape);
  std::size_t n = 1;
  for (int d : t.shape) n *= d;
  for (std::size_t i = 0; i < n; ++i) t.values.push_back(dist(rng));
  return t;
}

ingest::RgbImage random_image(int w, int h, std::uint32_t seed) {
  std::mt19937 rng(seed);
  ingest::RgbImage image;
  image.width = w;
  image.height = h;
  image.pixels.resize(static_cast<std::size_t>(w) * h * 3);
  for (auto& p : image.pixels) p = static_cast<std::uint8_t>(rng() & 0xFF);
  return image;
}

}  // namespace

TEST(TfjsReader, ParsesMinifiedModuleLiterals) {
  const std::string module =
      R"JS(!function(e){"object"==typeof exports&&"undefined"!=typeof module?module.exports=e():x()}(function(){)JS"
      R"JS(return function(){var m={};m.exports={a:1,"b c":[.5,-2e-3,!0,!1,null],s:"q\"\\\u00e9",n:{m:-.25}};}});)JS";
  const json value = tfjs::detail::parse_js_export(module);
  EXPECT_EQ(value["a"], 1);
  EXPECT_DOUBLE_EQ(value["b c"][0].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(value["b c"][1].get<double>(), -0.002);
  EXPECT_EQ(value["b c"][2], true);
  EXPECT_EQ(value["b c"][3], false);
  EXPECT_TRUE(value["b c"][4].is_null());
  EXPECT_EQ(value["s"], "q\"\\\xC3\xA9");
  EXPECT_DOUBLE_EQ(value["n"]["m"].get<double>(), -0.25);
  // Code is not data: a function call where a value should be is refused.
  EXPECT_THROW(tfjs::detail::parse_js_export("module.exports=require('x')"), std::runtime_error);
  EXPECT_THROW(tfjs::detail::parse_js_export("exports={a:[1,2}"), std::runtime_error);

  const std::vector<std::uint8_t> bytes = tfjs::detail::base64_decode("AP8QYWJj");
  EXPECT_EQ(bytes, (std::vector<std::uint8_t>{0x00, 0xFF, 0x10, 'a', 'b', 'c'}));
  EXPECT_EQ(tfjs::detail::base64_decode("YQ=="), (std::vector<std::uint8_t>{'a'}));
  EXPECT_THROW(tfjs::detail::base64_decode("YQ*="), std::runtime_error);
}

TEST(TfjsReader, DequantisesLikeTfjs) {
  // value = float32(double(q) * scale + min); the manifest's shapes must match the byte count.
  const json manifest = json::parse(R"([{"paths": ["x"], "weights": [
      {"name": "a/kernel", "shape": [2, 2], "dtype": "float32", "quantization": {"min": -1.5, "scale": 0.1, "dtype": "uint8"}},
      {"name": "b/bias", "shape": [1], "dtype": "float32"}]}])");
  std::vector<std::uint8_t> data = {0, 1, 15, 255};
  const float f = 2.5f;
  data.insert(data.end(), reinterpret_cast<const std::uint8_t*>(&f), reinterpret_cast<const std::uint8_t*>(&f) + 4);
  const auto weights = tfjs::decode_weights(manifest, {data});
  EXPECT_EQ(weights.at("a/kernel").values,
            (std::vector<float>{-1.5f, static_cast<float>(1 * 0.1 - 1.5), static_cast<float>(15 * 0.1 - 1.5),
                                static_cast<float>(255 * 0.1 - 1.5)}));
  EXPECT_EQ(weights.at("b/bias").values, std::vector<float>{2.5f});
  data.pop_back();
  EXPECT_THROW(tfjs::decode_weights(manifest, {data}), std::runtime_error);
}

TEST(CnnPreprocess, AlignCornersBilinearOnKnownPixels) {
  // A 2x2 image stretched to 3x3: corners stay, edge midpoints and the centre are the averages.
  ingest::RgbImage image;
  image.width = 2;
  image.height = 2;
  image.pixels = {0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255};  // black, red / green, white
  std::vector<float> planes(3 * 9);
  preprocess_align_corners(image, 3, 3, planes.data());
  const auto r = [&](int y, int x) { return planes[y * 3 + x]; };
  const auto g = [&](int y, int x) { return planes[9 + y * 3 + x]; };
  EXPECT_FLOAT_EQ(r(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(r(0, 2), 1.0f);
  EXPECT_FLOAT_EQ(r(0, 1), 0.5f);
  EXPECT_FLOAT_EQ(g(1, 1), 0.5f);
  EXPECT_FLOAT_EQ(r(1, 1), 0.5f);
  EXPECT_FLOAT_EQ(g(2, 1), 1.0f * 0.5f + 1.0f * 0.5f);
  EXPECT_FLOAT_EQ(planes[18 + 2 * 3 + 2], 1.0f);  // blue of the white corner
  // Already the right size: plain q / 255 in float32, no resampling.
  std::vector<float> same(3 * 4);
  preprocess_align_corners(image, 2, 2, same.data());
  EXPECT_EQ(same[1], 255.0f / 255.0f);
  EXPECT_EQ(same[4 + 2], 255.0f / 255.0f);
}

TEST(CnnPreprocess, PlusMinusOneIsTheSameSamplingOnKerasScale) {
  // [-1,1] input is q / 127.5 - 1 per byte, resampled like [0,1]: every value is 2 x - 1 of it.
  ingest::RgbImage image;
  image.width = 5;
  image.height = 3;
  for (int k = 0; k < 5 * 3 * 3; ++k) image.pixels.push_back(static_cast<std::uint8_t>((k * 37 + 11) % 256));
  image.pixels[0] = 0;
  image.pixels[1] = 255;
  for (const auto [w, h] : {std::pair{5, 3}, std::pair{4, 7}}) {
    std::vector<float> unit(3 * w * h), signed_unit(3 * w * h);
    preprocess_align_corners(image, w, h, unit.data());
    preprocess_align_corners(image, w, h, signed_unit.data(), InputRange::PlusMinusOne);
    for (std::size_t k = 0; k < unit.size(); ++k) EXPECT_NEAR(signed_unit[k], 2.0f * unit[k] - 1.0f, 2e-6f) << k;
    EXPECT_EQ(signed_unit[0], -1.0f);      // byte 0, red of the top-left corner
    EXPECT_EQ(signed_unit[w * h], 1.0f);   // byte 255, green of the same pixel
  }
  EXPECT_STREQ(to_string(InputRange::ZeroOne), "01");
  EXPECT_STREQ(to_string(InputRange::PlusMinusOne), "pm1");
}

TEST(CnnModelImport, SmallKerasModelMatchesDirectComputation) {
  // input 8x7x3 -> conv_1 (3x3, stride 2, same, bias, relu: rows padded 0/1, columns 1/1) -> bn_1
  //   branch A: pad_1 ((0,1),(0,1)) -> dw_1 (3x3 depthwise, stride 2, valid, x2) -> relu6_1
  //   branch B: avg_1 (3x3, stride 1, same) -> max_1 (2x2, stride 2) -> conv_2 (1x1) -> bn_2 (no gamma) -> act_2
  //   add_1 = A + B;  branch C: max_2 (3x3, stride 2, same: padded 0/1 on both axes) from bn_1
  //   cat_1 = [add_1, C] -> gap_1 (global average), flat_1 (H, W, C order) -> dense_1 (relu) -> drop_1 -> dense_2 (softmax)
  std::mt19937 rng(42);
  TinyModel m;
  m.weights["conv_1/kernel"] = random_tensor({3, 3, 3, 4}, rng, -0.5f, 0.5f);
  m.weights["conv_1/bias"] = random_tensor({4}, rng, -0.2f, 0.2f);
  for (const char* bn : {"bn_1", "bn_2"}) {
    const int c = std::string(bn) == "bn_1" ? 4 : 8;
    if (std::string(bn) == "bn_1") m.weights[std::string(bn) + "/gamma"] = random_tensor({c}, rng, 0.5f, 1.5f);
    m.weights[std::string(bn) + "/beta"] = random_tensor({c}, rng, -0.3f, 0.3f);
    m.weights[std::string(bn) + "/moving_mean"] = random_tensor({c}, rng, -0.2f, 0.4f);
    m.weights[std::string(bn) + "/moving_variance"] = random_tensor({c}, rng, 0.05f, 0.5f);
  }
  m.weights["dw_1/depthwise_kernel"] = random_tensor({3, 3, 4, 2}, rng, -1.0f, 1.0f);
  m.weights["conv_2/kernel"] = random_tensor({1, 1, 4, 8}, rng, -1.0f, 1.0f);
  m.weights["dense_1/kernel"] = random_tensor({48, 5}, rng, -0.4f, 0.4f);
  m.weights["dense_1/bias"] = random_tensor({5}, rng, -0.1f, 0.1f);
  m.weights["dense_2/kernel"] = random_tensor({5, 3}, rng, -1.0f, 1.0f);
  m.weights["dense_2/bias"] = random_tensor({3}, rng, -0.1f, 0.1f);

  const json conv_cfg = {{"kernel_size", {3, 3}}, {"strides", {2, 2}}, {"padding", "same"},
                         {"data_format", "channels_last"}, {"dilation_rate", {1, 1}}, {"activation", "relu"},
                         {"use_bias", true}, {"filters", 4}};
  m.layers.push_back(keras_layer("InputLayer", "input_1", {{"batch_input_shape", {nullptr, 8, 7, 3}}, {"dtype", "float32"}}, {}));
  m.layers.push_back(keras_layer("Conv2D", "conv_1", conv_cfg, {"input_1"}));
  m.layers.push_back(keras_layer("BatchNormalization", "bn_1", {{"axis", -1}, {"epsilon", 0.001}, {"center", true}, {"scale", true}}, {"conv_1"}));
  m.layers.push_back(keras_layer("ZeroPadding2D", "pad_1", {{"padding", {{0, 1}, {0, 1}}}}, {"bn_1"}));
  m.layers.push_back(keras_layer("DepthwiseConv2D", "dw_1",
                                 {{"kernel_size", {3, 3}}, {"strides", {2, 2}}, {"padding", "valid"}, {"depth_multiplier", 2},
                                  {"activation", "linear"}, {"use_bias", false}},
                                 {"pad_1"}));
  m.layers.push_back(keras_layer("ReLU", "relu6_1", {{"max_value", 6.0}, {"negative_slope", 0.0}, {"threshold", 0.0}}, {"dw_1"}));
  m.layers.push_back(keras_layer("AveragePooling2D", "avg_1", {{"pool_size", {3, 3}}, {"strides", {1, 1}}, {"padding", "same"}}, {"bn_1"}));
  m.layers.push_back(keras_layer("MaxPooling2D", "max_1", {{"pool_size", {2, 2}}, {"strides", nullptr}, {"padding", "valid"}}, {"avg_1"}));
  m.layers.push_back(keras_layer("Conv2D", "conv_2",
                                 {{"kernel_size", {1, 1}}, {"strides", {1, 1}}, {"padding", "valid"}, {"activation", "linear"},
                                  {"use_bias", false}, {"filters", 8}},
                                 {"max_1"}));
  m.layers.push_back(keras_layer("BatchNormalization", "bn_2", {{"axis", 3}, {"epsilon", 0.001}, {"center", true}, {"scale", false}}, {"conv_2"}));
  m.layers.push_back(keras_layer("Activation", "act_2", {{"activation", "relu"}}, {"bn_2"}));
  m.layers.push_back(keras_layer("Add", "add_1", json::object(), {"relu6_1", "act_2"}));
  m.layers.push_back(keras_layer("MaxPooling2D", "max_2", {{"pool_size", {3, 3}}, {"strides", {2, 2}}, {"padding", "same"}}, {"bn_1"}));
  m.layers.push_back(keras_layer("Concatenate", "cat_1", {{"axis", -1}}, {"add_1", "max_2"}));
  m.layers.push_back(keras_layer("GlobalAveragePooling2D", "gap_1", json::object(), {"cat_1"}));
  m.layers.push_back(keras_layer("Flatten", "flat_1", json::object(), {"cat_1"}));
  m.layers.push_back(keras_layer("Dense", "dense_1", {{"units", 5}, {"activation", "relu"}, {"use_bias", true}}, {"flat_1"}));
  m.layers.push_back(keras_layer("Dropout", "drop_1", {{"rate", 0.5}}, {"dense_1"}));
  m.layers.push_back(keras_layer("Dense", "dense_2", {{"units", 3}, {"activation", "softmax"}, {"use_bias", true}}, {"drop_1"}));

  photoatlas::testing::TempDir dir;
  std::map<std::string, tfjs::Tensor> w;
  write_model(m, dir.path(), w);
  const std::shared_ptr<CnnModel> model = CnnModel::load(dir.path(), "tiny");
  EXPECT_EQ(model->input_width(), 7);
  EXPECT_EQ(model->input_height(), 8);

  // Two images: one already 7 wide x 8 high (no resampling), one that is stretched.
  const ingest::RgbImage exact = random_image(7, 8, 1), other = random_image(13, 5, 2);
  // conv_2 is asked for although OpenCV would like to fold bn_2 into it: it must stay unfolded then.
  const std::vector<std::string> names = {"conv_1", "bn_1", "relu6_1", "act_2", "max_2", "gap_1", "flat_1", "drop_1", "dense_2", "conv_2"};
  const ingest::RgbImage* batch[] = {&exact, &other};
  const std::vector<FloatMatrix> got = model->run(batch, names);
  ASSERT_EQ(got.size(), names.size());
  const std::vector<FloatMatrix> quadrants = model->run(batch, {"bn_1"}, Pooling::Quadrants);
  EXPECT_THROW(model->run(batch, {"flat_1"}, Pooling::Quadrants), std::invalid_argument);

  for (int b = 0; b < 2; ++b) {
    SCOPED_TRACE(b == 0 ? "image of the input size" : "stretched image");
    std::vector<float> planes(3 * 8 * 7);
    preprocess_align_corners(*batch[b], 7, 8, planes.data());
    Map input(8, 7, 3);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 7; ++x)
        for (int k = 0; k < 3; ++k) input.at(y, x, k) = planes[k * 56 + y * 7 + x];

    const Map conv_1 = clamp(conv(input, w["conv_1/kernel"], &w["conv_1/bias"].values, 2, {0, 1, 1, 1}), INFINITY);
    ASSERT_EQ(conv_1.h, 4);
    ASSERT_EQ(conv_1.w, 4);
    const Map bn_1 = batch_norm(conv_1, &w["bn_1/gamma"].values, w["bn_1/beta"].values, w["bn_1/moving_mean"].values,
                                w["bn_1/moving_variance"].values, 0.001);
    const Map relu6_1 = clamp(depthwise(zero_pad(bn_1, {0, 1, 0, 1}), w["dw_1/depthwise_kernel"], 2), 6.0);
    const Map conv_2 = conv(pool(pool(bn_1, 3, 1, {1, 1, 1, 1}, false), 2, 2, {0, 0, 0, 0}, true),
                            w["conv_2/kernel"], nullptr, 1, {0, 0, 0, 0});
    const Map act_2 = clamp(batch_norm(conv_2, nullptr, w["bn_2/beta"].values, w["bn_2/moving_mean"].values,
                                       w["bn_2/moving_variance"].values, 0.001),
                            INFINITY);
    Map add_1 = relu6_1;
    for (std::size_t i = 0; i < add_1.v.size(); ++i) add_1.v[i] += act_2.v[i];
    const Map max_2 = pool(bn_1, 3, 2, {0, 1, 0, 1}, true);
    Map cat_1(2, 2, 12);
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x)
        for (int k = 0; k < 12; ++k) cat_1.at(y, x, k) = k < 8 ? add_1.at(y, x, k) : max_2.at(y, x, k - 8);
    std::vector<double> dense_1 = dense(cat_1.v, w["dense_1/kernel"], w["dense_1/bias"].values);  // NHWC flatten
    for (double& x : dense_1) x = std::max(x, 0.0);
    std::vector<double> dense_2 = dense(dense_1, w["dense_2/kernel"], w["dense_2/bias"].values);
    const double top = *std::max_element(dense_2.begin(), dense_2.end());
    double total = 0.0;
    for (double& x : dense_2) total += (x = std::exp(x - top));
    for (double& x : dense_2) x /= total;

    // Spatial layers come back averaged over H and W (or over each quadrant); vectors as they are.
    std::vector<double> bn_1_quadrants(4 * bn_1.c, 0.0);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x)
        for (int k = 0; k < bn_1.c; ++k) bn_1_quadrants[((y / 2) * 2 + x / 2) * bn_1.c + k] += bn_1.at(y, x, k) / 4.0;
    expect_close(row_of(quadrants[0], b), bn_1_quadrants, 1e-5, "bn_1 quadrants");
    expect_close(row_of(got[0], b), channel_means(conv_1), 1e-5, "conv_1");
    expect_close(row_of(got[1], b), channel_means(bn_1), 1e-5, "bn_1");
    expect_close(row_of(got[2], b), channel_means(relu6_1), 1e-5, "relu6_1");
    expect_close(row_of(got[3], b), channel_means(act_2), 1e-5, "act_2");
    expect_close(row_of(got[4], b), channel_means(max_2), 1e-5, "max_2");
    expect_close(row_of(got[5], b), channel_means(cat_1), 1e-5, "gap_1");
    expect_close(row_of(got[6], b), cat_1.v, 1e-5, "flat_1");
    expect_close(row_of(got[7], b), dense_1, 1e-5, "drop_1");
    expect_close(row_of(got[8], b), dense_2, 1e-5, "dense_2");
    expect_close(row_of(got[9], b), channel_means(conv_2), 1e-5, "conv_2");
  }

  // One image at a time gives the batch's rows.
  const ingest::RgbImage* one[] = {&other};
  const std::vector<FloatMatrix> single = model->run(one, {"flat_1"});
  for (std::size_t k = 0; k < single[0].cols; ++k) EXPECT_NEAR(single[0].at(0, k), got[6].at(1, k), 1e-6);

  // The extractor: a layer by name, its id, L2 normalisation.
  EXPECT_THROW(CnnExtractor(model, {}), std::invalid_argument);  // no preset, so no default layer
  EXPECT_THROW(CnnExtractor(model, {"no_such_layer"}), std::invalid_argument);
  EXPECT_THROW(CnnExtractor(model, {"cat_1+"}), std::invalid_argument);
  const CnnExtractor plain(model, {"cat_1"}), unit(model, {"cat_1", CnnNormalization::L2});
  EXPECT_EQ(plain.id(), "tiny/cat_1/gap@1");
  EXPECT_EQ(unit.id(), "tiny/cat_1/gap/l2@1");
  // [-1,1] input: its own id (caches must not mix), and the network's rows for that input.
  const CnnExtractor keras_scale(model, {.layer = "cat_1", .input_range = InputRange::PlusMinusOne});
  EXPECT_EQ(keras_scale.id(), "tiny/cat_1/gap/pm1@1");
  {
    std::vector<float> got_pm1(keras_scale.dims());
    keras_scale.extract(other, got_pm1);
    const ingest::RgbImage* just_other[] = {&other};
    const FloatMatrix want = model->run(just_other, {"cat_1"}, Pooling::Average, InputRange::PlusMinusOne)[0];
    for (std::size_t k = 0; k < got_pm1.size(); ++k) EXPECT_FLOAT_EQ(got_pm1[k], want.at(0, k));
    EXPECT_NE(std::vector<float>(want.row(0), want.row(0) + want.cols), row_of(got[5], 1));
  }
  EXPECT_EQ(plain.dims(), 12u);
  EXPECT_EQ(plain.min_input_side(), 8);
  std::vector<float> a(12), n(12);
  plain.extract(other, a);
  unit.extract(other, n);
  double norm = 0.0;
  for (float x : a) norm += static_cast<double>(x) * x;
  for (std::size_t k = 0; k < 12; ++k) {
    EXPECT_NEAR(a[k], got[5].at(1, k), 1e-6);
    EXPECT_NEAR(n[k], a[k] / std::sqrt(norm), 1e-6);
  }

  // Signed square root, then L2; and a fusion of two layers, each part on its own scale first.
  const CnnExtractor rooted(model, {"conv_2", CnnNormalization::SignedSqrtL2});
  EXPECT_EQ(rooted.id(), "tiny/conv_2/gap/sqrt-l2@1");
  const std::vector<float> conv_means = row_of(got[9], 1);
  auto sqrt_l2 = [](const std::vector<float>& v) {
    std::vector<double> out;
    double sum = 0.0;
    for (float x : v) {
      out.push_back(std::copysign(std::sqrt(std::abs(static_cast<double>(x))), static_cast<double>(x)));
      sum += out.back() * out.back();
    }
    for (double& x : out) x /= std::sqrt(sum);
    return out;
  };
  std::vector<float> r(rooted.dims());
  rooted.extract(other, r);
  ASSERT_EQ(r.size(), conv_means.size());
  expect_close(r, sqrt_l2(conv_means), 1e-5, "sqrt-l2 conv_2");
  const CnnExtractor fused(model, {"cat_1+conv_2", CnnNormalization::SignedSqrtL2});
  EXPECT_EQ(fused.id(), "tiny/cat_1+conv_2/gap/sqrt-l2@1");
  EXPECT_EQ(fused.layers(), (std::vector<std::string>{"cat_1", "conv_2"}));
  ASSERT_EQ(fused.dims(), 12u + conv_means.size());
  std::vector<float> f(fused.dims());
  fused.extract(other, f);
  std::vector<double> want = sqrt_l2(row_of(got[5], 1));
  for (double x : sqrt_l2(conv_means)) want.push_back(x);
  for (double& x : want) x /= std::sqrt(2.0);  // two unit parts: the whole has norm sqrt(2)
  expect_close(f, want, 1e-5, "fused");
}

TEST(CnnPooling, QuadrantsShareTheMiddleRowAndColumnOfAnOddMap) {
  // One image, one channel, 3 x 3: the quadrants are the 2 x 2 corners, overlapping in the middle.
  cv::Mat map({1, 1, 3, 3}, CV_32F);
  for (int k = 0; k < 9; ++k) map.ptr<float>()[k] = static_cast<float>(k);  // row-major 0..8
  const FloatMatrix q = pool_layer(map, 1, 1, Pooling::Quadrants, "map");
  ASSERT_EQ(q.cols, 4u);
  EXPECT_FLOAT_EQ(q.at(0, 0), (0 + 1 + 3 + 4) / 4.0f);
  EXPECT_FLOAT_EQ(q.at(0, 1), (1 + 2 + 4 + 5) / 4.0f);
  EXPECT_FLOAT_EQ(q.at(0, 2), (3 + 4 + 6 + 7) / 4.0f);
  EXPECT_FLOAT_EQ(q.at(0, 3), (4 + 5 + 7 + 8) / 4.0f);
  EXPECT_FLOAT_EQ(pool_layer(map, 1, 1, Pooling::Average, "map").at(0, 0), 4.0f);
  EXPECT_THROW(pool_layer(cv::Mat(1, 3, CV_32F, cv::Scalar(1)), 1, 3, Pooling::Quadrants, "vector"),
               std::invalid_argument);
}

TEST(CnnModelImport, RefusesWhatItCannotRun) {
  photoatlas::testing::TempDir dir;
  TinyModel m;
  std::mt19937 rng(1);
  m.layers.push_back(keras_layer("InputLayer", "input_1", {{"batch_input_shape", {nullptr, 4, 4, 3}}}, {}));
  m.layers.push_back(keras_layer("LSTM", "dense_2", {{"units", 3}}, {"input_1"}));
  std::map<std::string, tfjs::Tensor> w;
  write_model(m, dir.path(), w);
  try {
    CnnModel::load(dir.path(), "bad");
    FAIL() << "an unsupported layer was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported layer class LSTM"), std::string::npos) << e.what();
  }
  // A weight no layer uses means the model was misread.
  m.layers[1] = keras_layer("Flatten", "dense_2", json::object(), {"input_1"});
  m.weights["stray/kernel"] = random_tensor({2}, rng, 0.0f, 1.0f);
  write_model(m, dir.path(), w);
  EXPECT_THROW(CnnModel::load(dir.path(), "bad"), std::runtime_error);
}

// ---- golden test: the nsfwjs models against TF.js, from the reference's exact decoded pixels ----

namespace {

// The reference's exact decoded pixels as the image type the networks take.
ingest::RgbImage read_ppm_gz(const std::filesystem::path& file) {
  photoatlas::testing::PpmImage ppm = photoatlas::testing::read_ppm_gz(file);
  ingest::RgbImage image;
  image.width = ppm.width;
  image.height = ppm.height;
  image.pixels = std::move(ppm.rgb);
  return image;
}

json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return json::parse(in);
}

const char* const kImages[] = {"dog", "eagle", "giraffe", "horses", "kite", "person", "scream"};

class NsfwjsGolden : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(NsfwjsGolden, MatchesTfjsFromTheSamePixels) {
  const auto shared = photoatlas::testing::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not found: the nsfwjs reference vectors are not available";
  const std::filesystem::path reference = *shared / "reference" / "nsfwjs-features";
  const std::filesystem::path package = nsfwjs_package_dir(PHOTOATLAS_SOURCE_DIR);
  ASSERT_TRUE(std::filesystem::exists(package / "package.json"))
      << "the nsfwjs model package is missing at " << package << ": run scripts/setup";

  const std::string name = GetParam();
  const NsfwjsModelInfo& info = *find_nsfwjs_model(name);
  const std::shared_ptr<CnnModel> model = load_nsfwjs_model(package, name);
  const CnnExtractor extractor(model, {.layer = info.default_layer});
  EXPECT_EQ(extractor.id(), "nsfwjs-4.4.0/" + name + "/" + info.default_layer + "/gap@1");

  std::vector<ingest::RgbImage> images;
  for (const char* image : kImages) images.push_back(read_ppm_gz(reference / "pixels" / (std::string(image) + ".ppm.gz")));
  std::vector<const ingest::RgbImage*> batch;
  for (const auto& image : images) batch.push_back(&image);
  const std::vector<FloatMatrix> got = model->run(batch, {info.pooled_layer, info.default_layer, info.classes_layer});

  for (std::size_t i = 0; i < images.size(); ++i) {
    SCOPED_TRACE(std::string(kImages[i]));
    const json pooled = read_json(reference / name / (std::string(kImages[i]) + "." + info.pooled_layer + ".json"));
    const json frozen = read_json(reference / name / (std::string(kImages[i]) + "." + info.default_layer + "_gap.json"));
    ASSERT_EQ(pooled["image_size_wh"][0].get<int>(), images[i].width);
    ASSERT_EQ(pooled["image_size_wh"][1].get<int>(), images[i].height);

    // The preprocessed input: its first pixels and channel means as TF.js saw them.
    const int s = model->input_width();
    std::vector<float> planes(3 * static_cast<std::size_t>(s) * s);
    preprocess_align_corners(images[i], s, s, planes.data());
    for (int k = 0; k < 12; ++k)
      EXPECT_NEAR(planes[(k % 3) * s * s + k / 3], pooled["input_first_pixels"][k].get<double>(), 1e-7) << "input " << k;
    for (int c = 0; c < 3; ++c) {
      double mean = 0.0;
      for (int p = 0; p < s * s; ++p) mean += planes[c * s * s + p];
      EXPECT_NEAR(mean / (s * s), pooled["input_channel_means"][c].get<double>(), 1e-6) << "channel " << c;
    }

    for (const auto& [layer, ref, row] : {std::tuple{info.pooled_layer, &pooled, row_of(got[0], i)},
                                          std::tuple{info.default_layer, &frozen, row_of(got[1], i)}}) {
      const std::vector<double> want = (*ref)["vector"].get<std::vector<double>>();
      ASSERT_EQ(row.size(), want.size()) << layer;
      double dot = 0.0, nw = 0.0, ng = 0.0, diff = 0.0;
      for (std::size_t k = 0; k < want.size(); ++k) {
        dot += row[k] * want[k];
        nw += want[k] * want[k];
        ng += static_cast<double>(row[k]) * row[k];
        diff += (row[k] - want[k]) * (row[k] - want[k]);
      }
      const double cosine = dot / std::sqrt(nw * ng), relative = std::sqrt(diff / nw);
      EXPECT_GE(cosine, 0.9999) << layer;
      EXPECT_LE(relative, 1e-3) << layer;
      char text[32];
      std::snprintf(text, sizeof text, "%.2e", relative);
      RecordProperty(std::string(kImages[i]) + "." + layer + ".relative_l2", text);
    }
    const std::vector<double> probabilities = pooled["probabilities"].get<std::vector<double>>();
    ASSERT_EQ(got[2].cols, probabilities.size());
    for (std::size_t k = 0; k < probabilities.size(); ++k)
      EXPECT_NEAR(got[2].at(i, k), probabilities[k], 1e-3) << nsfwjs_classes()[k];
  }

  // The extractor gives the frozen block's rows, one image at a time as in compute_features.
  std::vector<float> one(extractor.dims());
  extractor.extract(images[0], one);
  for (std::size_t k = 0; k < one.size(); ++k) EXPECT_NEAR(one[k], got[1].at(0, k), 1e-5f * std::max(1.0f, std::abs(one[k])));

  // The default features: the layers of default_features, each pooled, signed-square-rooted and
  // L2-normalised when the model's normalisation says so, concatenated, L2-normalised again.
  const CnnExtractor defaults(model, {});
  const std::string suffix = "/" + std::string(to_string(info.default_pooling)) +
                             (info.default_normalization == CnnNormalization::SignedSqrtL2 ? "/sqrt-l2"
                              : info.default_normalization == CnnNormalization::L2         ? "/l2"
                                                                                           : "") +
                             (info.default_input_range == InputRange::ZeroOne ? "" : "/pm1") + "@1";
  EXPECT_EQ(defaults.id(), "nsfwjs-4.4.0/" + name + "/" + info.default_features + suffix);
  const std::vector<std::string> parts = split_layer_spec(info.default_features);
  const std::vector<FloatMatrix> layers = model->run(batch, parts, info.default_pooling, info.default_input_range);
  std::vector<double> want;
  for (const FloatMatrix& layer : layers) {
    std::vector<double> part(layer.row(1), layer.row(1) + layer.cols);
    if (info.default_normalization == CnnNormalization::SignedSqrtL2)
      for (double& x : part) x = std::copysign(std::sqrt(std::abs(x)), x);
    double norm = 0.0;
    for (double x : part) norm += x * x;
    const bool scale = parts.size() > 1 || info.default_normalization != CnnNormalization::None;
    for (double& x : part) want.push_back(scale ? x / std::sqrt(norm) : x);
  }
  if (parts.size() > 1) {
    double norm = 0.0;
    for (double x : want) norm += x * x;
    for (double& x : want) x /= std::sqrt(norm);
  }
  std::vector<float> fused(defaults.dims());
  ASSERT_EQ(fused.size(), want.size());
  defaults.extract(images[1], fused);
  for (std::size_t k = 0; k < fused.size(); ++k) EXPECT_NEAR(fused[k], want[k], 1e-5 * std::max(1.0, std::abs(want[k])));
}

INSTANTIATE_TEST_SUITE_P(Models, NsfwjsGolden, ::testing::Values("inception_v3", "mobilenet_v2"));

TEST(NsfwjsPackage, LockPinsTheVerifiedTarball) {
  // The lock's integrity is the sha512 of the tarball whose sha256 the reference records
  // (585cd178...c5382): npm ci refuses any other bytes.
  const json lock = read_json(std::filesystem::path(PHOTOATLAS_SOURCE_DIR) / "models" / "nsfwjs" / "package-lock.json");
  const json& entry = lock.at("packages").at("node_modules/nsfwjs");
  EXPECT_EQ(entry.at("version"), kNsfwjsVersion);
  EXPECT_EQ(entry.at("integrity"),
            "sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA==");
}
