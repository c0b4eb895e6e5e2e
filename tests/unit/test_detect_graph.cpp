// The TF.js graph-model importer on a small graph written by the test (no ../shared, no model files):
// every op CenterNet uses, against a direct NHWC implementation in double.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "detect/tf_graph.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::detect;
using nlohmann::json;

namespace {

// ---- a direct NHWC implementation ----
struct Map {
  int h = 0, w = 0, c = 0;
  std::vector<double> v;
  Map() = default;
  Map(int h_, int w_, int c_) : h(h_), w(w_), c(c_), v(static_cast<std::size_t>(h_) * w_ * c_, 0.0) {}
  double& at(int y, int x, int k) { return v[(static_cast<std::size_t>(y) * w + x) * c + k]; }
  double at(int y, int x, int k) const { return v[(static_cast<std::size_t>(y) * w + x) * c + k]; }
};

// TF 'SAME' geometry: ceil(in / stride) outputs, the odd padded cell at the end.
int same_pad_before(int in, int k, int s) {
  const int out = (in + s - 1) / s;
  return std::max((out - 1) * s + k - in, 0) / 2;
}

// kernel [kh, kw, in, out] (depthwise: [kh, kw, in, 1]); 'SAME' padding.
Map conv(const Map& in, const std::vector<float>& k, int kh, int kw, int cout, int s, bool depthwise,
         const std::vector<float>* bias) {
  const int oh = (in.h + s - 1) / s, ow = (in.w + s - 1) / s;
  const int pt = same_pad_before(in.h, kh, s), pl = same_pad_before(in.w, kw, s);
  Map out(oh, ow, cout);
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int o = 0; o < cout; ++o) {
        double sum = bias ? (*bias)[o] : 0.0;
        for (int ky = 0; ky < kh; ++ky)
          for (int kx = 0; kx < kw; ++kx) {
            const int iy = y * s + ky - pt, ix = x * s + kx - pl;
            if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
            if (depthwise) {
              sum += k[(static_cast<std::size_t>(ky) * kw + kx) * in.c + o] * in.at(iy, ix, o);
            } else {
              for (int i = 0; i < in.c; ++i) sum += k[((static_cast<std::size_t>(ky) * kw + kx) * in.c + i) * cout + o] * in.at(iy, ix, i);
            }
          }
        out.at(y, x, o) = sum;
      }
  return out;
}

Map apply(Map m, double (*f)(double)) {
  for (double& x : m.v) x = f(x);
  return m;
}
double relu(double x) { return std::max(x, 0.0); }
double relu6(double x) { return std::min(std::max(x, 0.0), 6.0); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// ---- writing a graph model ----
class GraphWriter {
 public:
  explicit GraphWriter(std::uint32_t seed) : rng_(seed) {}

  std::vector<float> weight(const std::string& name, std::vector<int> shape, float scale) {
    std::size_t n = 1;
    for (int d : shape) n *= static_cast<std::size_t>(d);
    std::uniform_real_distribution<float> u(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng_);
    constant(name, shape, v);
    return v;
  }
  void constant(const std::string& name, std::vector<int> shape, const std::vector<float>& v, bool int32 = false) {
    nodes_.push_back({{"name", name}, {"op", "Const"}, {"attr", json::object()}});
    manifest_.push_back({{"name", name}, {"shape", shape}, {"dtype", int32 ? "int32" : "float32"}});
    for (float x : v) {
      if (int32) {
        const std::int32_t i = static_cast<std::int32_t>(x);
        bytes_.append(reinterpret_cast<const char*>(&i), 4);
      } else {
        bytes_.append(reinterpret_cast<const char*>(&x), 4);
      }
    }
  }
  void node(const std::string& name, const std::string& op, std::vector<std::string> inputs, json attr = json::object()) {
    nodes_.push_back({{"name", name}, {"op", op}, {"input", inputs}, {"attr", attr}});
  }
  void write(const std::filesystem::path& dir) {
    json doc = {{"format", "graph-model"},
                {"modelTopology", {{"node", nodes_}}},
                {"weightsManifest", json::array({{{"paths", {"g.bin"}}, {"weights", manifest_}}})}};
    std::ofstream(dir / "g.json") << doc.dump();
    std::ofstream(dir / "g.bin", std::ios::binary) << bytes_;
  }

 private:
  std::mt19937 rng_;
  json nodes_ = json::array(), manifest_ = json::array();
  std::string bytes_;
};

json conv_attr(int stride, const std::vector<std::string>& fused = {}) {
  json a = {{"strides", {{"list", {{"i", {"1", std::to_string(stride), std::to_string(stride), "1"}}}}}},
            {"padding", {{"s", "U0FNRQ=="}}},  // "SAME"
            {"data_format", {{"s", "TkhXQw=="}}}};  // "NHWC"
  if (!fused.empty()) {
    json list = json::array();
    for (const auto& f : fused) list.push_back(f == "BiasAdd" ? "Qmlhc0FkZA==" : f == "Relu" ? "UmVsdQ==" : "UmVsdTY=");
    a["fused_ops"] = {{"list", {{"s", list}}}};
  }
  return a;
}

}  // namespace

TEST(GraphImport, EveryCenterNetOpMatchesADirectImplementation) {
  photoatlas::testing::TempDir dir;
  GraphWriter g(7);
  const int H = 10, W = 9;  // odd and even sides: TF's uneven 'SAME' padding on both
  g.node("images", "Placeholder", {}, {{"shape", {{"shape", {{"dim", {{{"size", "1"}}, {{"size", "10"}}, {{"size", "9"}}, {{"size", "3"}}}}}}}}});
  // stem: 3x3 stride-2 conv + bias, then h-swish as TF spells it
  const auto k1 = g.weight("k1", {3, 3, 3, 8}, 0.05f);
  const auto b1 = g.weight("b1", {8}, 0.5f);
  g.node("conv1", "_FusedConv2D", {"images", "k1", "b1"}, conv_attr(2, {"BiasAdd"}));
  g.constant("sixth", {}, {0.16668701f});  // float16(1/6), as the real graph stores it
  g.constant("three", {}, {3.0f});
  g.node("hs/mul", "Mul", {"sixth", "conv1"});
  g.node("hs/add", "Add", {"conv1", "three"});
  g.node("hs/relu6", "Relu6", {"hs/add"});
  g.node("hs", "Mul", {"hs/mul", "hs/relu6"});
  // 5x5 stride-2 depthwise + bias + relu (our layer), 3x3 stride-1 depthwise (OpenCV's), 1x1 conv + relu6
  const auto k2 = g.weight("k2", {5, 5, 8, 1}, 0.2f);
  const auto b2 = g.weight("b2", {8}, 0.2f);
  g.node("dw5", "FusedDepthwiseConv2dNative", {"hs", "k2", "b2"}, conv_attr(2, {"BiasAdd", "Relu"}));
  const auto k3 = g.weight("k3", {3, 3, 8, 1}, 0.3f);
  g.node("dw3", "DepthwiseConv2dNative", {"dw5", "k3"}, conv_attr(1));
  // a second output: a 5x5 stride-1 depthwise on the 10 x 9 input (our layer's unrolled interior and
  // its edge columns)
  const auto k6 = g.weight("k6", {5, 5, 3, 1}, 0.02f);
  g.node("dw5s1", "DepthwiseConv2dNative", {"images", "k6"}, conv_attr(1));
  const auto k4 = g.weight("k4", {1, 1, 8, 6}, 0.4f);
  const auto b4 = g.weight("b4", {6}, 0.3f);
  g.node("pw", "_FusedConv2D", {"dw3", "k4", "b4"}, conv_attr(1, {"BiasAdd", "Relu6"}));
  // squeeze-excite: mean over H, W (keep_dims) -> 1x1 conv -> sigmoid -> scale
  g.constant("axes", {2}, {1, 2}, true);
  g.node("se/mean", "Mean", {"pw", "axes"}, {{"keep_dims", {{"b", true}}}});
  const auto k5 = g.weight("k5", {1, 1, 6, 6}, 0.5f);
  g.node("se/conv", "Conv2D", {"se/mean", "k5"}, conv_attr(1));
  g.node("se/sigmoid", "Sigmoid", {"se/conv"});
  g.node("se", "Mul", {"pw", "se/sigmoid"});
  // x2 upsampling, TF1 mode; concat with the stem; relu; sigmoid head; a scalar multiply
  g.constant("size", {2}, {6, 6}, true);
  g.node("up", "ResizeBilinear", {"se", "size"}, {{"align_corners", {{"b", false}}}, {"half_pixel_centers", {{"b", false}}}});
  g.constant("axis", {}, {3}, true);
  // channel concatenation of two maps of the same H x W: the upsampled one and twice it
  g.constant("two", {}, {2.0f});
  g.node("up2", "Mul", {"up", "two"});
  g.node("cat", "ConcatV2", {"up", "up2", "axis"});
  g.node("cat/relu", "Relu", {"cat"});
  g.node("out", "Sigmoid", {"cat/relu"});
  g.node("result", "Identity", {"out"});
  g.write(dir.path());

  const GraphModel model = load_graph_model(dir / "g.json");
  GraphNet net = build_graph_net(model, {"result"});
  ASSERT_EQ(net.input_height, H);
  ASSERT_EQ(net.input_width, W);
  ASSERT_EQ(net.output_shapes[0], (std::vector<int>{6, 6, 12}));

  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 255.0f);
  Map x(H, W, 3);
  const int dims[] = {1, 3, H, W};
  cv::Mat blob(4, dims, CV_32F);
  for (int y = 0; y < H; ++y)
    for (int xx = 0; xx < W; ++xx)
      for (int c = 0; c < 3; ++c) blob.ptr<float>()[(c * H + y) * W + xx] = static_cast<float>(x.at(y, xx, c) = u(rng));
  net.net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.net.setInput(blob);
  const cv::Mat got = net.net.forward(net.output_layers[0]);

  // the same in double
  Map a = conv(x, k1, 3, 3, 8, 2, false, &b1);
  for (double& v : a.v) v = (0.16668701 * v) * relu6(v + 3.0);
  Map b = apply(conv(a, k2, 5, 5, 8, 2, true, &b2), relu);
  Map c = conv(b, k3, 3, 3, 8, 1, true, nullptr);
  Map d = apply(conv(c, k4, 1, 1, 6, 1, false, &b4), relu6);
  Map mean(1, 1, 6);
  for (int k = 0; k < 6; ++k) {
    for (int y = 0; y < d.h; ++y)
      for (int xx = 0; xx < d.w; ++xx) mean.at(0, 0, k) += d.at(y, xx, k) / (d.h * d.w);
  }
  const Map gate = apply(conv(mean, k5, 1, 1, 6, 1, false, nullptr), sigmoid);
  for (int y = 0; y < d.h; ++y)
    for (int xx = 0; xx < d.w; ++xx)
      for (int k = 0; k < 6; ++k) d.at(y, xx, k) *= gate.at(0, 0, k);
  ASSERT_EQ(d.h, 3);
  ASSERT_EQ(d.w, 3);
  Map up(6, 6, 6);
  for (int y = 0; y < 6; ++y)
    for (int xx = 0; xx < 6; ++xx) {
      // TF1: source = dest * in / out, no half-pixel shift, clamped at the far edge
      const double sy = y * 0.5, sx = xx * 0.5;
      const int y0 = static_cast<int>(sy), x0 = static_cast<int>(sx), y1 = std::min(y0 + 1, 2), x1 = std::min(x0 + 1, 2);
      const double fy = sy - y0, fx = sx - x0;
      for (int k = 0; k < 6; ++k)
        up.at(y, xx, k) = (1 - fy) * ((1 - fx) * d.at(y0, x0, k) + fx * d.at(y0, x1, k)) +
                          fy * ((1 - fx) * d.at(y1, x0, k) + fx * d.at(y1, x1, k));
    }
  double worst = 0;
  for (int y = 0; y < 6; ++y)
    for (int xx = 0; xx < 6; ++xx)
      for (int k = 0; k < 12; ++k) {
        const double want = sigmoid(relu(k < 6 ? up.at(y, xx, k) : 2.0 * up.at(y, xx, k - 6)));
        const double have = got.ptr<float>()[(k * 6 + y) * 6 + xx];
        worst = std::max(worst, std::abs(have - want));
        EXPECT_NEAR(have, want, 1e-5) << y << "," << xx << "," << k;
      }
  RecordProperty("worst", std::to_string(worst));

  GraphNet second = build_graph_net(model, {"dw5s1"});
  ASSERT_EQ(second.output_shapes[0], (std::vector<int>{H, W, 3}));
  second.net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  second.net.setInput(blob);
  const cv::Mat dw = second.net.forward(second.output_layers[0]);
  const Map want = conv(x, k6, 5, 5, 3, 1, true, nullptr);
  for (int y = 0; y < H; ++y)
    for (int xx = 0; xx < W; ++xx)
      for (int k = 0; k < 3; ++k) EXPECT_NEAR(dw.ptr<float>()[(k * H + y) * W + xx], want.at(y, xx, k), 1e-3) << y << "," << xx << "," << k;
}

TEST(GraphImport, UnsupportedOpsAndMissingInputsAreNamedErrors) {
  photoatlas::testing::TempDir dir;
  GraphWriter g(1);
  g.node("images", "Placeholder", {}, {{"shape", {{"shape", {{"dim", {{{"size", "1"}}, {{"size", "4"}}, {{"size", "4"}}, {{"size", "3"}}}}}}}}});
  g.node("odd", "Softplus", {"images"});
  g.node("dangling", "Relu", {"nowhere"});
  g.node("second", "Relu", {"images:1"});
  g.write(dir.path());
  const GraphModel model = load_graph_model(dir / "g.json");
  const auto message = [&](const std::string& output) {
    try {
      build_graph_net(model, {output});
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("odd").find("'odd' (Softplus): unsupported op"), std::string::npos) << message("odd");
  EXPECT_NE(message("dangling").find("'nowhere' not found"), std::string::npos) << message("dangling");
  EXPECT_NE(message("second").find("only first outputs"), std::string::npos) << message("second");
  EXPECT_NE(message("images").find("is the input itself"), std::string::npos) << message("images");
  // a layers-model file is not a graph model
  std::ofstream(dir / "layers.json") << R"({"format": "layers-model", "modelTopology": {}})";
  EXPECT_THROW(load_graph_model(dir / "layers.json"), std::runtime_error);
}
