#include "detect/tf_graph.h"

#include "features/conv_geometry.h"

#include "detect/dnn_layers.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <set>
#include <stdexcept>

namespace photoatlas::detect {

namespace {

using nlohmann::json;
namespace tfjs = features::tfjs;

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

[[noreturn]] void fail(const GraphNode& node, const std::string& what) {
  throw std::runtime_error("graph node '" + node.name + "' (" + node.op + "): " + what);
}

// GraphDef attrs as the TF.js converter writes them: {"i": "2"}, {"b": true}, {"s": base64},
// {"list": {"i": [...]}} or {"list": {"s": [...]}}; int64 values are JSON strings.
std::string attr_string(const GraphNode& node, const std::string& key, const std::string& fallback = "") {
  if (!node.attr.contains(key) || !node.attr[key].contains("s")) return fallback;
  const std::vector<std::uint8_t> bytes = tfjs::detail::base64_decode(node.attr[key]["s"].get<std::string>());
  return std::string(bytes.begin(), bytes.end());
}

bool attr_bool(const GraphNode& node, const std::string& key) {
  return node.attr.contains(key) && node.attr[key].value("b", false);
}

std::vector<int> attr_ints(const GraphNode& node, const std::string& key) {
  std::vector<int> out;
  if (!node.attr.contains(key)) return out;
  const json& list = node.attr[key].at("list");
  if (!list.contains("i")) return out;
  for (const json& v : list["i"]) out.push_back(v.is_string() ? std::stoi(v.get<std::string>()) : v.get<int>());
  return out;
}

std::vector<std::string> attr_strings(const GraphNode& node, const std::string& key) {
  std::vector<std::string> out;
  if (!node.attr.contains(key)) return out;
  const json& list = node.attr[key].at("list");
  if (!list.contains("s")) return out;
  for (const json& v : list["s"]) {
    const std::vector<std::uint8_t> bytes = tfjs::detail::base64_decode(v.get<std::string>());
    out.emplace_back(bytes.begin(), bytes.end());
  }
  return out;
}

// One spatial axis of a window (features::conv_axis) for a node's 'VALID' / 'SAME' padding attribute.
features::ConvAxis axis_geometry(int in, int kernel, int stride, int dilation, const std::string& padding,
                                 const GraphNode& node) {
  if (padding != "VALID" && padding != "SAME") fail(node, "unsupported padding '" + padding + "'");
  const auto axis = features::conv_axis(in, kernel, stride, dilation,
                                        padding == "SAME" ? features::WindowPadding::Same
                                                          : features::WindowPadding::Valid);
  if (!axis) fail(node, "input smaller than the kernel");
  return *axis;
}

using features::row_blob;

class Builder {
 public:
  explicit Builder(const GraphModel& model) : model_(model) {}

  GraphNet build(const std::vector<std::string>& outputs) {
    for (const std::string& name : outputs) {
      const Value& v = value(name);
      if (v.constant) throw std::runtime_error("graph output '" + name + "' is a constant");
      if (v.id == 0) throw std::runtime_error("graph output '" + name + "' is the input itself");
      out_.output_layers.push_back(cv_names_.at(v.id));
      out_.output_shapes.push_back(v.shape);
    }
    if (out_.input_name.empty()) throw std::runtime_error("the outputs do not depend on any Placeholder");
    return std::move(out_);
  }

 private:
  struct Value {
    bool constant = false;
    int id = -1;             // OpenCV layer id (tensors)
    std::vector<int> shape;  // tensors: {H, W, C}
    const tfjs::Tensor* tensor = nullptr;  // constants
  };

  const GraphNode& node(const std::string& name) const {
    const auto it = model_.nodes.find(name);
    if (it == model_.nodes.end()) throw std::runtime_error("graph node '" + name + "' not found");
    return it->second;
  }

  // The data inputs of a node (control inputs "^x" dropped); only first outputs ("x" or "x:0").
  std::vector<std::string> data_inputs(const GraphNode& n) const {
    std::vector<std::string> inputs;
    for (const std::string& in : n.inputs) {
      if (!in.empty() && in[0] == '^') continue;
      const auto colon = in.rfind(':');
      if (colon != std::string::npos) {
        if (in.substr(colon + 1) != "0") fail(n, "uses output " + in + ", only first outputs are supported");
        inputs.push_back(in.substr(0, colon));
      } else {
        inputs.push_back(in);
      }
    }
    return inputs;
  }

  const Value& value(const std::string& name) {
    if (const auto it = values_.find(name); it != values_.end()) return it->second;
    if (building_.count(name)) throw std::runtime_error("graph node '" + name + "' is part of a cycle");
    building_.insert(name);
    Value v = make(node(name));
    building_.erase(name);
    return values_.emplace(name, std::move(v)).first->second;
  }

  const Value& tensor_input(const GraphNode& n, const std::string& name) {
    const Value& v = value(name);
    if (v.constant) fail(n, "input '" + name + "' is a constant where a tensor is expected");
    if (v.shape.size() != 3) fail(n, "input '" + name + "' is not an H x W x C tensor");
    return v;
  }

  const tfjs::Tensor& const_input(const GraphNode& n, const std::string& name) {
    const Value& v = value(name);
    if (!v.constant) fail(n, "input '" + name + "' must be a constant");
    return *v.tensor;
  }

  int add(const std::string& cv_name, const std::string& type, cv::dnn::LayerParams params, const std::vector<int>& inputs) {
    params.name = cv_name;
    params.type = type;
    const int id = out_.net.addLayer(cv_name, type, params);
    if (id < 0) throw std::runtime_error("OpenCV could not create layer " + cv_name + " of type " + type);
    for (std::size_t i = 0; i < inputs.size(); ++i) out_.net.connect(inputs[i], 0, id, static_cast<int>(i));
    cv_names_[id] = cv_name;
    return id;
  }

  Value tensor(int id, std::vector<int> shape) {
    Value v;
    v.id = id;
    v.shape = std::move(shape);
    return v;
  }

  void check_nhwc(const GraphNode& n) {
    const std::string format = attr_string(n, "data_format", "NHWC");
    if (format != "NHWC") fail(n, "only NHWC is supported (found " + format + ")");
  }

  Value make(const GraphNode& n) {
    const std::vector<std::string> in = data_inputs(n);
    if (n.op == "Const") {
      const auto it = model_.weights.find(n.name);
      if (it == model_.weights.end()) fail(n, "no value in the weights manifest");
      Value v;
      v.constant = true;
      v.tensor = &it->second;
      return v;
    }
    if (n.op == "Placeholder") {
      if (!out_.input_name.empty()) fail(n, "models with several inputs are not supported");
      std::vector<int> dims;
      if (n.attr.contains("shape"))
        for (const json& d : n.attr["shape"]["shape"].value("dim", json::array()))
          dims.push_back(std::stoi(d.value("size", std::string("-1"))));
      if (dims.size() != 4 || dims[1] <= 0 || dims[2] <= 0 || dims[3] <= 0)
        fail(n, "the input must be a fixed-size NHWC image");
      out_.input_name = n.name;
      out_.input_height = dims[1];
      out_.input_width = dims[2];
      out_.input_channels = dims[3];
      out_.net.setInputsNames({n.name});
      cv_names_[0] = "_input";
      return tensor(0, {dims[1], dims[2], dims[3]});
    }
    if (n.op == "Identity") {
      if (in.size() != 1) fail(n, "expects one input");
      return value(in[0]);
    }
    if (n.op == "Conv2D" || n.op == "_FusedConv2D" || n.op == "DepthwiseConv2dNative" ||
        n.op == "FusedDepthwiseConv2dNative")
      return convolution(n, in);
    if (n.op == "Relu" || n.op == "Relu6" || n.op == "Sigmoid") {
      if (in.size() != 1) fail(n, "expects one input");
      const Value& x = tensor_input(n, in[0]);
      cv::dnn::LayerParams params;
      std::string type = n.op == "Relu" ? "ReLU" : n.op == "Sigmoid" ? "Sigmoid" : "ReLU6";
      if (n.op == "Relu6") {
        params.set("min_value", 0.0f);
        params.set("max_value", 6.0f);
      }
      return tensor(add(n.name, type, params, {x.id}), x.shape);
    }
    if (n.op == "Add" || n.op == "AddV2" || n.op == "Mul") return binary(n, in);
    if (n.op == "Mean") {
      if (in.size() != 2) fail(n, "expects two inputs");
      const Value& x = tensor_input(n, in[0]);
      std::vector<float> axes = const_input(n, in[1]).values;
      std::sort(axes.begin(), axes.end());
      if (axes != std::vector<float>{1, 2} || !attr_bool(n, "keep_dims"))
        fail(n, "only the mean over H and W with keep_dims is supported");
      cv::dnn::LayerParams params;
      params.set("pool", "ave");
      params.set("global_pooling", true);
      return tensor(add(n.name, "Pooling", params, {x.id}), {1, 1, x.shape[2]});
    }
    if (n.op == "ConcatV2") {
      if (in.size() < 3) fail(n, "expects at least two tensors and an axis");
      const std::vector<float>& axis = const_input(n, in.back()).values;
      if (axis.size() != 1 || (axis[0] != 3 && axis[0] != -1)) fail(n, "only concatenation over channels is supported");
      std::vector<int> ids;
      std::vector<int> shape;
      for (std::size_t i = 0; i + 1 < in.size(); ++i) {
        const Value& x = tensor_input(n, in[i]);
        if (shape.empty()) {
          shape = x.shape;
        } else {
          if (x.shape[0] != shape[0] || x.shape[1] != shape[1]) fail(n, "inputs of different H x W");
          shape[2] += x.shape[2];
        }
        ids.push_back(x.id);
      }
      cv::dnn::LayerParams params;
      params.set("axis", 1);  // NHWC channels are NCHW axis 1
      return tensor(add(n.name, "Concat", params, ids), shape);
    }
    if (n.op == "ResizeBilinear") {
      if (in.size() != 2) fail(n, "expects two inputs");
      const Value& x = tensor_input(n, in[0]);
      const std::vector<float>& size = const_input(n, in[1]).values;
      if (size.size() != 2 || size[0] < 1 || size[1] < 1) fail(n, "bad size");
      const bool align_corners = attr_bool(n, "align_corners"), half_pixel = attr_bool(n, "half_pixel_centers");
      if (align_corners) fail(n, "align_corners=true is not supported");
      // OpenCV's "bilinear" resize samples at dst * in / out without the half-pixel shift unless asked:
      // the legacy TF1 mode (tests/unit/test_detect_graph.cpp checks it against a direct implementation).
      cv::dnn::LayerParams params;
      params.set("interpolation", "bilinear");
      params.set("height", static_cast<int>(size[0]));
      params.set("width", static_cast<int>(size[1]));
      params.set("align_corners", false);
      params.set("half_pixel_centers", half_pixel);
      return tensor(add(n.name, "Resize", params, {x.id}),
                    {static_cast<int>(size[0]), static_cast<int>(size[1]), x.shape[2]});
    }
    fail(n, "unsupported op");
  }

  // Add / Mul: tensor (op) scalar constant -> Power; tensor (op) tensor of the same shape -> Eltwise;
  // H x W x C tensor * 1 x 1 x C tensor (squeeze-excite) -> Scale with the second input as weights.
  // The scalar constant among a node's two inputs and the other input's name, when there is one.
  bool scalar_and_other(const GraphNode& n, float& scalar, std::string& other) {
    const std::vector<std::string> in = data_inputs(n);
    if (in.size() != 2) return false;
    for (int k = 0; k < 2; ++k) {
      const GraphNode& c = node(in[k]);
      if (c.op != "Const") continue;
      const auto it = model_.weights.find(c.name);
      if (it == model_.weights.end() || it->second.size() != 1) return false;
      scalar = it->second.values[0];
      other = in[1 - k];
      return true;
    }
    return false;
  }

  // h-swish as TF spells it: Mul(Mul(c, x), Relu6(Add(x, s))), either operand order.
  bool is_hard_swish(const std::vector<std::string>& in, std::string& x, float& c, float& s) {
    for (int k = 0; k < 2; ++k) {
      const GraphNode& scaled = node(in[k]);
      const GraphNode& relu6 = node(in[1 - k]);
      if (scaled.op != "Mul" || relu6.op != "Relu6") continue;
      const std::vector<std::string> r = data_inputs(relu6);
      if (r.size() != 1) continue;
      const GraphNode& shifted = node(r[0]);
      if (shifted.op != "Add" && shifted.op != "AddV2") continue;
      std::string x1, x2;
      if (scalar_and_other(scaled, c, x1) && scalar_and_other(shifted, s, x2) && x1 == x2 && node(x1).op != "Const") {
        x = x1;
        return true;
      }
    }
    return false;
  }

  Value binary(const GraphNode& n, const std::vector<std::string>& in) {
    if (in.size() != 2) fail(n, "expects two inputs");
    const bool mul = n.op == "Mul";
    std::string hs_input;
    float hs_scale = 0, hs_shift = 0;
    if (mul && is_hard_swish(in, hs_input, hs_scale, hs_shift)) {
      const Value& x = tensor_input(n, hs_input);
      cv::dnn::LayerParams params;
      params.set("scale", hs_scale);
      params.set("shift", hs_shift);
      return tensor(add(n.name, "PhotoatlasHardSwish", params, {x.id}), x.shape);
    }
    const Value& a = value(in[0]);
    const Value& b = value(in[1]);
    if (a.constant && b.constant) fail(n, "constant folding is not supported");
    if (a.constant || b.constant) {
      const Value& t = a.constant ? b : a;
      const tfjs::Tensor& c = *(a.constant ? a : b).tensor;
      if (c.size() != 1) fail(n, "only scalar constants are supported");
      if (t.shape.size() != 3) fail(n, "expects an H x W x C tensor");
      cv::dnn::LayerParams params;
      params.set("power", 1.0f);
      params.set("scale", mul ? c.values[0] : 1.0f);
      params.set("shift", mul ? 0.0f : c.values[0]);
      return tensor(add(n.name, "Power", params, {t.id}), t.shape);
    }
    if (a.shape == b.shape) {
      cv::dnn::LayerParams params;
      params.set("operation", mul ? "prod" : "sum");
      return tensor(add(n.name, "Eltwise", params, {a.id, b.id}), a.shape);
    }
    const bool a_small = a.shape[0] == 1 && a.shape[1] == 1, b_small = b.shape[0] == 1 && b.shape[1] == 1;
    if (mul && a.shape[2] == b.shape[2] && a_small != b_small) {
      const Value& big = a_small ? b : a;
      const Value& small = a_small ? a : b;
      cv::dnn::LayerParams params;
      params.set("axis", 1);
      params.set("bias_term", false);
      return tensor(add(n.name, "Scale", params, {big.id, small.id}), big.shape);
    }
    fail(n, "inputs of incompatible shapes");
  }

  Value convolution(const GraphNode& n, const std::vector<std::string>& in) {
    check_nhwc(n);
    const bool depthwise = n.op.find("Depthwise") != std::string::npos;
    const bool fused = n.op[0] == '_' || n.op.rfind("Fused", 0) == 0;
    std::string activation;
    if (fused) {
      const std::vector<std::string> ops = attr_strings(n, "fused_ops");
      if (ops.empty() || ops[0] != "BiasAdd" || ops.size() > 2) fail(n, "only BiasAdd [+ activation] fusions are supported");
      if (ops.size() == 2) {
        activation = ops[1];
        if (activation != "Relu" && activation != "Relu6") fail(n, "unsupported fused activation " + activation);
      }
      if (in.size() != 3) fail(n, "expects input, filter and bias");
    } else if (in.size() != 2) {
      fail(n, "expects input and filter");
    }
    const Value& x = tensor_input(n, in[0]);
    const tfjs::Tensor& kernel = const_input(n, in[1]);
    if (kernel.shape.size() != 4) fail(n, "the filter must be 4-D");
    const int kh = kernel.shape[0], kw = kernel.shape[1], cin = kernel.shape[2], k3 = kernel.shape[3];
    if (cin != x.shape[2]) fail(n, "filter input channels do not match the input");
    const int cout = depthwise ? cin * k3 : k3;
    const std::vector<int> strides = attr_ints(n, "strides"), dilations = attr_ints(n, "dilations");
    if (strides.size() != 4 || strides[0] != 1 || strides[3] != 1) fail(n, "bad strides");
    const int dh = dilations.size() == 4 ? dilations[1] : 1, dw = dilations.size() == 4 ? dilations[2] : 1;
    const std::string padding = attr_string(n, "padding");
    const features::ConvAxis gy = axis_geometry(x.shape[0], kh, strides[1], dh, padding, n);
    const features::ConvAxis gx = axis_geometry(x.shape[1], kw, strides[2], dw, padding, n);

    // TF [kh, kw, in, out] (depthwise [kh, kw, in, multiplier], output channel in * mult + m)
    // -> OpenCV [out, in / group, kh, kw].
    const int per_group = depthwise ? 1 : cin;
    cv::Mat w({cout, per_group, kh, kw}, CV_32F);
    float* dst = w.ptr<float>();
    for (int o = 0; o < cout; ++o)
      for (int i = 0; i < per_group; ++i)
        for (int y = 0; y < kh; ++y)
          for (int xx = 0; xx < kw; ++xx) {
            const std::size_t src = depthwise ? ((static_cast<std::size_t>(y) * kw + xx) * cin + o / k3) * k3 + o % k3
                                              : ((static_cast<std::size_t>(y) * kw + xx) * cin + i) * cout + o;
            *dst++ = kernel.values[src];
          }
    const bool opencv_fast_path = kh == 3 && kw == 3 && strides[1] == 1 && strides[2] == 1;
    if (depthwise && k3 == 1 && dh == 1 && dw == 1 && !opencv_fast_path) {
      // Our own depthwise layer (detect/dnn_layers.h): any kernel, TF's uneven padding, fused bias +
      // activation. OpenCV keeps the 3x3 stride-1 case, where its vectorised path is ~10x faster.
      cv::dnn::LayerParams params;
      params.set("kernel_h", kh);
      params.set("kernel_w", kw);
      params.set("stride_h", strides[1]);
      params.set("stride_w", strides[2]);
      features::set_window_padding(params, gy, gx);
      params.set("activation", activation == "Relu" ? "relu" : activation == "Relu6" ? "relu6" : "");
      cv::Mat weights({cin, 1, kh, kw}, CV_32F);
      for (int c = 0; c < cin; ++c)
        for (int y = 0; y < kh; ++y)
          for (int xx = 0; xx < kw; ++xx)
            weights.ptr<float>()[(static_cast<std::size_t>(c) * kh + y) * kw + xx] =
                kernel.values[(static_cast<std::size_t>(y) * kw + xx) * cin + c];
      std::vector<float> bias(cin, 0.0f);
      if (fused) {
        const tfjs::Tensor& b = const_input(n, in[2]);
        if (b.size() != static_cast<std::size_t>(cin)) fail(n, "bias length does not match the filters");
        bias = b.values;
      }
      params.blobs = {weights, row_blob(bias)};
      return tensor(add(n.name, "PhotoatlasDepthwise", params, {x.id}), {gy.out, gx.out, cin});
    }
    cv::dnn::LayerParams params;
    params.set("kernel_h", kh);
    params.set("kernel_w", kw);
    params.set("stride_h", strides[1]);
    params.set("stride_w", strides[2]);
    params.set("dilation_h", dh);
    params.set("dilation_w", dw);
    // OpenCV's convolution pads symmetrically only; an uneven 'SAME' padding (stride 2 on an even
    // side) becomes an explicit zero-padding layer in front of an unpadded convolution.
    int source = x.id;
    if (auto pad = features::convolution_padding(params, gy, gx)) source = add(n.name + "#pad", "Padding", *pad, {x.id});
    params.set("num_output", cout);
    params.set("group", depthwise ? cin : 1);
    params.set("bias_term", fused);
    params.blobs.push_back(w);
    if (fused) {
      const tfjs::Tensor& bias = const_input(n, in[2]);
      if (bias.size() != static_cast<std::size_t>(cout)) fail(n, "bias length does not match the filters");
      params.blobs.push_back(row_blob(bias.values));
    }
    const std::vector<int> shape{gy.out, gx.out, cout};
    int id = add(n.name, "Convolution", params, {source});
    if (!activation.empty()) {
      cv::dnn::LayerParams act;
      if (activation == "Relu6") {
        act.set("min_value", 0.0f);
        act.set("max_value", 6.0f);
      }
      id = add(n.name + "#" + activation, activation == "Relu" ? "ReLU" : "ReLU6", act, {id});
    }
    return tensor(id, shape);
  }

  const GraphModel& model_;
  GraphNet out_;
  std::map<std::string, Value> values_;
  std::set<std::string> building_;
  std::map<int, std::string> cv_names_;
};

}  // namespace

GraphModel load_graph_model(const std::filesystem::path& model_json) {
  const json doc = json::parse(read_file(model_json));
  if (doc.value("format", "") != "graph-model")
    throw std::runtime_error(model_json.string() + ": not a TF.js graph model (format " + doc.value("format", "?") + ")");
  GraphModel model;
  for (const json& n : doc.at("modelTopology").at("node")) {
    GraphNode node;
    node.name = n.at("name").get<std::string>();
    node.op = n.at("op").get<std::string>();
    if (n.contains("input")) node.inputs = n["input"].get<std::vector<std::string>>();
    node.attr = n.value("attr", json::object());
    const std::string name = node.name;
    if (!model.nodes.emplace(name, std::move(node)).second)
      throw std::runtime_error(model_json.string() + ": node '" + name + "' defined twice");
  }
  const json& manifest = doc.at("weightsManifest");
  std::vector<std::vector<std::uint8_t>> groups;
  for (const json& group : manifest) {
    std::vector<std::uint8_t> bytes;
    for (const json& path : group.at("paths")) {
      const std::string name = path.get<std::string>();
      if (name.empty() || std::filesystem::path(name).is_absolute() || name.find("..") != std::string::npos)
        throw std::runtime_error(model_json.string() + ": the weights manifest names an unsafe path: " + name);
      const std::string shard = read_file(model_json.parent_path() / name);
      bytes.insert(bytes.end(), shard.begin(), shard.end());
    }
    groups.push_back(std::move(bytes));
  }
  try {
    model.weights = tfjs::decode_weights(manifest, groups);
  } catch (const std::exception& e) {
    throw std::runtime_error(model_json.string() + ": " + e.what());
  }
  return model;
}

GraphNet build_graph_net(const GraphModel& model, const std::vector<std::string>& outputs) {
  register_detect_layers();
  return Builder(model).build(outputs);
}

}  // namespace photoatlas::detect
