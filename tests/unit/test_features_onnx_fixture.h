// Small ONNX models written byte by byte (protobuf wire format), so the tests need neither Python
// nor the onnx package: a 3x3 Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm (fc1) -> Relu ->
// Gemm -> [Softmax], plus a plain C++ forward pass of the same network to check OpenCV against.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ingest/image.h"

namespace photoatlas::testing::onnx {

// ---- protobuf wire format ----
inline void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
inline void key(std::string& out, int field, int wire) { varint(out, static_cast<std::uint64_t>(field) << 3 | wire); }
inline void int_field(std::string& out, int field, std::int64_t v) {
  key(out, field, 0);
  varint(out, static_cast<std::uint64_t>(v));
}
inline void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}

inline std::string tensor(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
  std::string t;
  for (std::int64_t d : dims) int_field(t, 1, d);
  int_field(t, 2, 1);  // FLOAT
  bytes_field(t, 8, name);
  std::string raw(values.size() * 4, '\0');
  std::memcpy(raw.data(), values.data(), raw.size());  // little-endian host
  bytes_field(t, 9, raw);
  return t;
}
inline std::string attr_int(const std::string& name, std::int64_t v) {
  std::string a;
  bytes_field(a, 1, name);
  int_field(a, 3, v);
  int_field(a, 20, 2);  // INT
  return a;
}
inline std::string attr_ints(const std::string& name, const std::vector<std::int64_t>& v) {
  std::string a;
  bytes_field(a, 1, name);
  for (std::int64_t x : v) int_field(a, 8, x);
  int_field(a, 20, 7);  // INTS
  return a;
}
inline std::string node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                        const std::string& output, const std::vector<std::string>& attributes = {}) {
  std::string n;
  for (const std::string& in : inputs) bytes_field(n, 1, in);
  bytes_field(n, 2, output);
  bytes_field(n, 3, name);
  bytes_field(n, 4, op);
  for (const std::string& a : attributes) bytes_field(n, 5, a);
  return n;
}
inline std::string value_info(const std::string& name, const std::vector<std::int64_t>& dims) {
  std::string shape;
  for (std::int64_t d : dims) {
    std::string dim;
    int_field(dim, 1, d);
    bytes_field(shape, 1, dim);
  }
  std::string tensor_type;
  int_field(tensor_type, 1, 1);  // FLOAT
  bytes_field(tensor_type, 2, shape);
  std::string type;
  bytes_field(type, 1, tensor_type);
  std::string v;
  bytes_field(v, 1, name);
  bytes_field(v, 2, type);
  return v;
}

// ---- the test network ----
struct TinyNet {
  int size = 8;          // input side
  int channels = 4;      // conv filters
  int hidden = 8;        // fc1 width
  int classes = 1000;
  bool softmax = true;
  std::vector<float> conv_w, conv_b, fc1_w, fc1_b, fc2_w, fc2_b;

  explicit TinyNet(int size_ = 8, int classes_ = 1000, bool softmax_ = true)
      : size(size_), classes(classes_), softmax(softmax_) {
    auto fill = [](std::vector<float>& v, std::size_t n, double phase, double scale) {
      v.resize(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(scale * std::sin(1.7 * i + phase));
    };
    fill(conv_w, static_cast<std::size_t>(channels) * 3 * 3 * 3, 0.3, 0.5);
    fill(conv_b, channels, 1.1, 0.2);
    fill(fc1_w, static_cast<std::size_t>(hidden) * channels, 2.0, 0.8);
    fill(fc1_b, hidden, 0.7, 0.1);
    fill(fc2_w, static_cast<std::size_t>(classes) * hidden, 0.4, 1.0);
    fill(fc2_b, classes, 0.9, 0.3);
  }

  std::string output_name() const { return softmax ? "prob" : "logits"; }

  std::string bytes() const {
    std::string graph;
    auto add_node = [&](const std::string& n) { bytes_field(graph, 1, n); };
    add_node(node("Conv", "conv_node", {"image", "conv_w", "conv_b"}, "conv_out",
                  {attr_ints("kernel_shape", {3, 3}), attr_ints("pads", {1, 1, 1, 1}), attr_ints("strides", {1, 1})}));
    add_node(node("Relu", "relu_node", {"conv_out"}, "relu_out"));
    add_node(node("GlobalAveragePool", "gap_node", {"relu_out"}, "gap_out"));
    add_node(node("Flatten", "flatten_node", {"gap_out"}, "flat_out", {attr_int("axis", 1)}));
    add_node(node("Gemm", "fc1_node", {"flat_out", "fc1_w", "fc1_b"}, "fc1_out", {attr_int("transB", 1)}));
    add_node(node("Relu", "fc1_relu_node", {"fc1_out"}, "fc1_relu"));
    add_node(node("Gemm", "fc2_node", {"fc1_relu", "fc2_w", "fc2_b"}, "logits", {attr_int("transB", 1)}));
    if (softmax) add_node(node("Softmax", "softmax_node", {"logits"}, "prob", {attr_int("axis", 1)}));
    bytes_field(graph, 2, "tiny");
    bytes_field(graph, 5, tensor("conv_w", {channels, 3, 3, 3}, conv_w));
    bytes_field(graph, 5, tensor("conv_b", {channels}, conv_b));
    bytes_field(graph, 5, tensor("fc1_w", {hidden, channels}, fc1_w));
    bytes_field(graph, 5, tensor("fc1_b", {hidden}, fc1_b));
    bytes_field(graph, 5, tensor("fc2_w", {classes, hidden}, fc2_w));
    bytes_field(graph, 5, tensor("fc2_b", {classes}, fc2_b));
    bytes_field(graph, 11, value_info("image", {1, 3, size, size}));
    bytes_field(graph, 12, value_info(output_name(), {1, classes}));
    std::string model;
    int_field(model, 1, 7);  // IR version
    bytes_field(model, 2, "photoatlas-tests");
    bytes_field(model, 7, graph);
    std::string opset;
    bytes_field(opset, 1, "");
    int_field(opset, 2, 11);
    bytes_field(model, 8, opset);
    return model;
  }

  void write(const std::filesystem::path& file) const {
    std::ofstream out(file, std::ios::binary);
    const std::string b = bytes();
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
  }

  // Reference forward pass in double on an image of exactly size x size, normalised as
  // (q / 255 - mean) / std. Fills the pooled conv output (before ReLU), the GAP, fc1 (after ReLU)
  // and the logits.
  struct Outputs {
    std::vector<double> conv_gap, gap, fc1, logits;
  };
  Outputs forward(const ingest::RgbImage& image, const float mean[3], const float stdev[3]) const {
    const int n = size;
    std::vector<double> x(3 * n * n);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < n; ++y)
        for (int xx = 0; xx < n; ++xx)
          x[(c * n + y) * n + xx] = (image.at(xx, y)[c] / 255.0 - mean[c]) / stdev[c];
    Outputs o;
    o.conv_gap.assign(channels, 0.0);
    o.gap.assign(channels, 0.0);
    for (int k = 0; k < channels; ++k)
      for (int y = 0; y < n; ++y)
        for (int xx = 0; xx < n; ++xx) {
          double sum = conv_b[k];
          for (int c = 0; c < 3; ++c)
            for (int dy = -1; dy <= 1; ++dy)
              for (int dx = -1; dx <= 1; ++dx) {
                const int yy = y + dy, xq = xx + dx;
                if (yy < 0 || yy >= n || xq < 0 || xq >= n) continue;
                sum += conv_w[((k * 3 + c) * 3 + dy + 1) * 3 + dx + 1] * x[(c * n + yy) * n + xq];
              }
          o.conv_gap[k] += sum / (n * n);
          o.gap[k] += std::max(0.0, sum) / (n * n);
        }
    o.fc1.assign(hidden, 0.0);
    for (int h = 0; h < hidden; ++h) {
      double sum = fc1_b[h];
      for (int k = 0; k < channels; ++k) sum += fc1_w[h * channels + k] * o.gap[k];
      o.fc1[h] = std::max(0.0, sum);
    }
    o.logits.assign(classes, 0.0);
    for (int c = 0; c < classes; ++c) {
      double sum = fc2_b[c];
      for (int h = 0; h < hidden; ++h) sum += fc2_w[c * hidden + h] * o.fc1[h];
      o.logits[c] = sum;
    }
    return o;
  }
};

inline ingest::RgbImage pattern_image(int size, unsigned seed) {
  ingest::RgbImage image;
  image.width = image.height = size;
  image.pixels.resize(static_cast<std::size_t>(size) * size * 3);
  std::uint32_t state = seed * 2654435761u + 12345u;
  for (auto& p : image.pixels) {
    state = state * 1664525u + 1013904223u;
    p = static_cast<std::uint8_t>(state >> 24);
  }
  return image;
}

}  // namespace photoatlas::testing::onnx
