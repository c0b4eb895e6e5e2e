#include "features/keras_graph.h"

#include "features/conv_geometry.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <set>
#include <stdexcept>

namespace photoatlas::features {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& layer, const std::string& what) {
  throw std::runtime_error("Keras layer '" + layer + "': " + what);
}

std::pair<int, int> pair_of(const json& value, const std::string& layer, const char* field) {
  if (value.is_number_integer()) return {value.get<int>(), value.get<int>()};
  if (value.is_array() && value.size() == 2) return {value[0].get<int>(), value[1].get<int>()};
  fail(layer, std::string("bad ") + field);
}

// One spatial axis of a window (conv_geometry.h) for a layer's 'valid' / 'same' padding.
ConvAxis axis_geometry(int in, int kernel, int stride, int dilation, const std::string& padding,
                       const std::string& layer) {
  if (padding != "valid" && padding != "same") fail(layer, "unsupported padding '" + padding + "'");
  const auto axis =
      conv_axis(in, kernel, stride, dilation, padding == "same" ? WindowPadding::Same : WindowPadding::Valid);
  if (!axis) fail(layer, "input smaller than the kernel");
  return *axis;
}

class Builder {
 public:
  explicit Builder(const tfjs::LayersModel& model) : model_(model) {}

  KerasNet build() {
    const json& config = model_.model_config;
    const std::string cls = config.value("class_name", "");
    if (cls != "Model" && cls != "Functional")
      throw std::runtime_error("only functional Keras models are supported (found '" + cls + "')");
    const json& layers = config.at("config").at("layers");
    for (const json& layer : layers) add_layer(layer);

    const json& outputs = config.at("config").at("output_layers");
    if (outputs.size() != 1) throw std::runtime_error("models with several outputs are not supported");
    out_.final_layer = outputs[0][0].get<std::string>();
    if (!out_.outputs.count(out_.final_layer)) throw std::runtime_error("output layer not found: " + out_.final_layer);

    // A weight that no layer used means a layer was misread; better to stop than to run without it.
    for (const auto& [name, tensor] : model_.weights)
      if (!used_weights_.count(name)) throw std::runtime_error("weight '" + name + "' belongs to no supported layer");
    return std::move(out_);
  }

 private:
  struct Node {
    int id;
    std::vector<int> shape;
  };

  const tfjs::Tensor& weight(const std::string& layer, const std::string& param, std::size_t rank) {
    const std::string name = layer + "/" + param;
    const auto it = model_.weights.find(name);
    if (it == model_.weights.end()) fail(layer, "weight '" + name + "' missing");
    if (it->second.shape.size() != rank) fail(layer, "weight '" + name + "' has the wrong rank");
    used_weights_.insert(name);
    return it->second;
  }

  std::vector<Node> inputs_of(const json& layer, const std::string& name) {
    const json& nodes = layer.at("inbound_nodes");
    if (nodes.size() != 1) fail(name, "layers called more than once (shared layers) are not supported");
    std::vector<Node> inputs;
    for (const json& ref : nodes[0]) {
      const std::string source = ref.at(0).get<std::string>();
      if (ref.at(1).get<int>() != 0 || ref.at(2).get<int>() != 0) fail(name, "only first outputs can be inputs");
      const auto it = nodes_.find(source);
      if (it == nodes_.end()) fail(name, "input '" + source + "' is not defined before it");
      inputs.push_back(it->second);
    }
    return inputs;
  }

  int add(const std::string& cv_name, const std::string& type, cv::dnn::LayerParams params,
          const std::vector<Node>& inputs) {
    params.name = cv_name;
    params.type = type;
    const int id = out_.net.addLayer(cv_name, type, params);
    if (id < 0) throw std::runtime_error("OpenCV could not create layer " + cv_name + " of type " + type);
    for (std::size_t i = 0; i < inputs.size(); ++i) out_.net.connect(inputs[i].id, 0, id, static_cast<int>(i));
    cv_names_[id] = cv_name;
    return id;
  }

  void define(const std::string& name, int id, std::vector<int> shape) {
    nodes_[name] = {id, shape};
    out_.outputs[name] = {cv_names_.at(id), std::move(shape)};
    out_.layer_order.push_back(name);
  }

  // Adds the activation `activation` after `input` and returns the node holding the result.
  Node activation(const std::string& cv_name, const std::string& activation, const Node& input,
                  const std::string& layer) {
    if (activation == "linear") return input;
    cv::dnn::LayerParams params;
    std::string type;
    if (activation == "relu") {
      type = "ReLU";
    } else if (activation == "sigmoid") {
      type = "Sigmoid";
    } else if (activation == "tanh") {
      type = "TanH";
    } else if (activation == "softmax") {
      if (input.shape.size() != 1) fail(layer, "softmax is supported on vectors only");
      type = "Softmax";
      params.set("axis", 1);
    } else {
      fail(layer, "unsupported activation '" + activation + "'");
    }
    return {add(cv_name, type, params, {input}), input.shape};
  }

  static const Node& single(const std::vector<Node>& inputs, const std::string& name) {
    if (inputs.size() != 1) fail(name, "expects one input");
    return inputs[0];
  }

  static const std::vector<int>& spatial(const Node& input, const std::string& name) {
    if (input.shape.size() != 3) fail(name, "expects an H x W x C input");
    return input.shape;
  }

  void add_layer(const json& layer) {
    const std::string cls = layer.at("class_name").get<std::string>();
    const json& config = layer.at("config");
    const std::string name = layer.contains("name") ? layer["name"].get<std::string>() : config.at("name").get<std::string>();
    if (name.find('/') != std::string::npos) fail(name, "layer names with '/' are not supported");
    if (config.value("data_format", "channels_last") != "channels_last") fail(name, "only channels_last is supported");

    if (cls == "InputLayer") {
      const json& shape = config.at("batch_input_shape");
      if (shape.size() != 4 || shape[1].is_null() || shape[2].is_null() || shape[3].is_null())
        fail(name, "the input must be a fixed-size image (batch, H, W, C)");
      if (!out_.input_name.empty()) throw std::runtime_error("models with several inputs are not supported");
      out_.input_name = name;
      out_.input_height = shape[1].get<int>();
      out_.input_width = shape[2].get<int>();
      out_.input_channels = shape[3].get<int>();
      out_.net.setInputsNames({name});
      cv_names_[0] = "_input";
      define(name, 0, {out_.input_height, out_.input_width, out_.input_channels});
      return;
    }

    const std::vector<Node> inputs = inputs_of(layer, name);

    if (cls == "Conv2D" || cls == "DepthwiseConv2D") {
      const Node& input = single(inputs, name);
      const auto& in_shape = spatial(input, name);
      const bool depthwise = cls == "DepthwiseConv2D";
      const tfjs::Tensor& kernel = weight(name, depthwise ? "depthwise_kernel" : "kernel", 4);
      const int kh = kernel.shape[0], kw = kernel.shape[1], cin = kernel.shape[2], k3 = kernel.shape[3];
      if (cin != in_shape[2]) fail(name, "kernel input channels do not match the input");
      const int cout = depthwise ? cin * k3 : k3;
      const auto [sh, sw] = pair_of(config.at("strides"), name, "strides");
      const auto [dh, dw] = pair_of(config.value("dilation_rate", json(1)), name, "dilation_rate");
      const std::string padding = config.at("padding").get<std::string>();
      const ConvAxis gy = axis_geometry(in_shape[0], kh, sh, dh, padding, name);
      const ConvAxis gx = axis_geometry(in_shape[1], kw, sw, dw, padding, name);

      // Keras [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier], output channel = in * mult + m)
      // -> OpenCV [out, in / group, kh, kw].
      const int per_group = depthwise ? 1 : cin;
      cv::Mat w({cout, per_group, kh, kw}, CV_32F);
      float* dst = w.ptr<float>();
      for (int o = 0; o < cout; ++o)
        for (int i = 0; i < per_group; ++i)
          for (int y = 0; y < kh; ++y)
            for (int x = 0; x < kw; ++x) {
              const std::size_t src = depthwise ? ((static_cast<std::size_t>(y) * kw + x) * cin + o / k3) * k3 + o % k3
                                                : ((static_cast<std::size_t>(y) * kw + x) * cin + i) * cout + o;
              *dst++ = kernel.values[src];
            }
      cv::dnn::LayerParams params;
      params.set("kernel_h", kh);
      params.set("kernel_w", kw);
      params.set("stride_h", sh);
      params.set("stride_w", sw);
      params.set("dilation_h", dh);
      params.set("dilation_w", dw);
      // OpenCV's convolution pads symmetrically only; TF's 'same' puts an odd cell at the end, so
      // an uneven padding becomes an explicit zero-padding layer in front of an unpadded convolution.
      std::vector<Node> conv_inputs = inputs;
      if (auto pad = convolution_padding(params, gy, gx))
        conv_inputs = {{add(name + "/pad", "Padding", *pad, inputs),
                        {in_shape[0] + gy.pad_before + gy.pad_after, in_shape[1] + gx.pad_before + gx.pad_after, cin}}};
      params.set("num_output", cout);
      params.set("group", depthwise ? cin : 1);
      const bool bias = config.value("use_bias", true);
      params.set("bias_term", bias);
      params.blobs.push_back(w);
      if (bias) {
        const tfjs::Tensor& b = weight(name, "bias", 1);
        if (b.shape[0] != cout) fail(name, "bias length does not match the filters");
        params.blobs.push_back(row_blob(b.values));
      }
      const std::vector<int> shape{gy.out, gx.out, cout};
      const int conv = add(name, "Convolution", params, conv_inputs);
      const Node out = activation(name + "/activation", config.value("activation", "linear"), {conv, shape}, name);
      define(name, out.id, shape);
      return;
    }

    if (cls == "BatchNormalization") {
      const Node& input = single(inputs, name);
      const int rank = static_cast<int>(input.shape.size());
      const json& axis = config.at("axis");
      const int a = axis.is_array() ? (axis.size() == 1 ? axis[0].get<int>() : -99) : axis.get<int>();
      if (a != -1 && a != rank) fail(name, "only normalisation over the channel axis is supported");
      const int channels = input.shape.back();
      const tfjs::Tensor& mean = weight(name, "moving_mean", 1);
      const tfjs::Tensor& var = weight(name, "moving_variance", 1);
      // Keras omits gamma when scale=false and beta when center=false.
      const std::vector<float> gamma = config.value("scale", true) ? weight(name, "gamma", 1).values
                                                                   : std::vector<float>(channels, 1.0f);
      const std::vector<float> beta = config.value("center", true) ? weight(name, "beta", 1).values
                                                                   : std::vector<float>(channels, 0.0f);
      if (mean.size() != static_cast<std::size_t>(channels) || var.size() != mean.size() ||
          gamma.size() != mean.size() || beta.size() != mean.size())
        fail(name, "statistics do not match the channels");
      cv::dnn::LayerParams params;
      params.set("has_weight", true);
      params.set("has_bias", true);
      params.set("eps", config.value("epsilon", 1e-3));
      params.blobs = {row_blob(mean.values), row_blob(var.values), row_blob(gamma), row_blob(beta)};
      define(name, add(name, "BatchNorm", params, inputs), input.shape);
      return;
    }

    if (cls == "Activation") {
      const Node& input = single(inputs, name);
      const Node out = activation(name, config.at("activation").get<std::string>(), input, name);
      define(name, out.id, out.shape);
      return;
    }

    if (cls == "ReLU") {
      const Node& input = single(inputs, name);
      if (config.value("threshold", 0.0) != 0.0) fail(name, "ReLU with a threshold is not supported");
      const double slope = config.value("negative_slope", 0.0);
      cv::dnn::LayerParams params;
      if (config.contains("max_value") && !config["max_value"].is_null()) {
        if (slope != 0.0) fail(name, "ReLU with both max_value and negative_slope is not supported");
        params.set("min_value", 0.0f);
        params.set("max_value", config["max_value"].get<float>());
        define(name, add(name, "ReLU6", params, inputs), input.shape);
      } else {
        params.set("negative_slope", static_cast<float>(slope));
        define(name, add(name, "ReLU", params, inputs), input.shape);
      }
      return;
    }

    if (cls == "ZeroPadding2D") {
      const Node& input = single(inputs, name);
      const auto& in_shape = spatial(input, name);
      const json& p = config.at("padding");
      int top, bottom, left, right;
      if (p.is_number_integer()) {
        top = bottom = left = right = p.get<int>();
      } else if (p.size() == 2 && p[0].is_number_integer()) {
        top = bottom = p[0].get<int>();
        left = right = p[1].get<int>();
      } else if (p.size() == 2 && p[0].size() == 2 && p[1].size() == 2) {
        top = p[0][0].get<int>(), bottom = p[0][1].get<int>();
        left = p[1][0].get<int>(), right = p[1][1].get<int>();
      } else {
        fail(name, "bad padding");
      }
      cv::dnn::LayerParams params;
      const int paddings[] = {0, 0, 0, 0, top, bottom, left, right};  // NCHW: (before, after) per axis
      params.set("paddings", cv::dnn::DictValue::arrayInt(paddings, 8));
      params.set("value", 0.0f);
      define(name, add(name, "Padding", params, inputs),
             {in_shape[0] + top + bottom, in_shape[1] + left + right, in_shape[2]});
      return;
    }

    if (cls == "MaxPooling2D" || cls == "AveragePooling2D") {
      const Node& input = single(inputs, name);
      const auto& in_shape = spatial(input, name);
      const auto [kh, kw] = pair_of(config.at("pool_size"), name, "pool_size");
      const auto [sh, sw] = config.contains("strides") && !config["strides"].is_null()
                                ? pair_of(config["strides"], name, "strides")
                                : std::pair<int, int>{kh, kw};
      const std::string padding = config.at("padding").get<std::string>();
      const ConvAxis gy = axis_geometry(in_shape[0], kh, sh, 1, padding, name);
      const ConvAxis gx = axis_geometry(in_shape[1], kw, sw, 1, padding, name);
      cv::dnn::LayerParams params;
      params.set("pool", cls == "MaxPooling2D" ? "max" : "ave");
      params.set("kernel_h", kh);
      params.set("kernel_w", kw);
      params.set("stride_h", sh);
      params.set("stride_w", sw);
      set_window_padding(params, gy, gx);
      params.set("ceil_mode", false);            // TensorFlow rounds output sizes down
      params.set("ave_pool_padded_area", false);  // and averages over the cells inside the image only
      define(name, add(name, "Pooling", params, inputs), {gy.out, gx.out, in_shape[2]});
      return;
    }

    if (cls == "GlobalAveragePooling2D" || cls == "GlobalMaxPooling2D") {
      const Node& input = single(inputs, name);
      const auto& in_shape = spatial(input, name);
      cv::dnn::LayerParams pool;
      pool.set("pool", cls == "GlobalMaxPooling2D" ? "max" : "ave");
      pool.set("global_pooling", true);
      const int pooled = add(name + "/pool", "Pooling", pool, inputs);
      define(name, add(name, "Flatten", {}, {{pooled, {1, 1, in_shape[2]}}}), {in_shape[2]});
      return;
    }

    if (cls == "Concatenate") {
      if (inputs.size() < 2) fail(name, "expects at least two inputs");
      const int rank = static_cast<int>(inputs[0].shape.size());
      int axis = config.value("axis", -1);
      if (axis < 0) axis += rank + 1;  // Keras counts the batch axis
      if (axis < 1 || axis > rank) fail(name, "bad axis");
      std::vector<int> shape = inputs[0].shape;
      shape[axis - 1] = 0;
      for (const Node& in : inputs) {
        if (static_cast<int>(in.shape.size()) != rank) fail(name, "inputs of different rank");
        for (int d = 0; d < rank; ++d)
          if (d != axis - 1 && in.shape[d] != inputs[0].shape[d]) fail(name, "inputs of different shape");
        shape[axis - 1] += in.shape[axis - 1];
      }
      // NHWC axis -> NCHW axis: H 1 -> 2, W 2 -> 3, C 3 -> 1; for vectors the axis stays 1.
      const int cv_axis = rank == 3 ? (axis == 3 ? 1 : axis + 1) : axis;
      cv::dnn::LayerParams params;
      params.set("axis", cv_axis);
      define(name, add(name, "Concat", params, inputs), shape);
      return;
    }

    if (cls == "Add") {
      if (inputs.size() < 2) fail(name, "expects at least two inputs");
      for (const Node& in : inputs)
        if (in.shape != inputs[0].shape) fail(name, "inputs of different shape");
      cv::dnn::LayerParams params;
      params.set("operation", "sum");
      define(name, add(name, "Eltwise", params, inputs), inputs[0].shape);
      return;
    }

    if (cls == "Flatten") {
      const Node& input = single(inputs, name);
      const int total = std::accumulate(input.shape.begin(), input.shape.end(), 1, std::multiplies<int>());
      Node source = input;
      if (input.shape.size() == 3 && input.shape[0] * input.shape[1] > 1) {
        // Keras flattens in (H, W, C) order; OpenCV's blob is (C, H, W), so move channels last first.
        cv::dnn::LayerParams permute;
        const int order[] = {0, 2, 3, 1};
        permute.set("order", cv::dnn::DictValue::arrayInt(order, 4));
        source = {add(name + "/nhwc", "Permute", permute, inputs), input.shape};
      }
      define(name, add(name, "Flatten", {}, {source}), {total});
      return;
    }

    if (cls == "Dense") {
      const Node& input = single(inputs, name);
      if (input.shape.size() != 1) fail(name, "Dense is supported on vectors only (add a Flatten)");
      const tfjs::Tensor& kernel = weight(name, "kernel", 2);
      const int in = kernel.shape[0], units = kernel.shape[1];
      if (in != input.shape[0]) fail(name, "kernel does not match the input length");
      cv::Mat w(units, in, CV_32F);  // Keras [in, out] -> OpenCV [out, in]
      for (int o = 0; o < units; ++o)
        for (int i = 0; i < in; ++i) w.at<float>(o, i) = kernel.values[static_cast<std::size_t>(i) * units + o];
      const bool bias = config.value("use_bias", true);
      cv::dnn::LayerParams params;
      params.set("num_output", units);
      params.set("bias_term", bias);
      params.set("axis", 1);
      params.blobs.push_back(w);
      if (bias) {
        const tfjs::Tensor& b = weight(name, "bias", 1);
        if (b.shape[0] != units) fail(name, "bias length does not match the units");
        params.blobs.push_back(row_blob(b.values));
      }
      const int dense = add(name, "InnerProduct", params, inputs);
      const Node out = activation(name + "/activation", config.value("activation", "linear"), {dense, {units}}, name);
      define(name, out.id, {units});
      return;
    }

    if (cls == "Dropout" || cls == "SpatialDropout2D") {  // identity at inference time
      const Node& input = single(inputs, name);
      define(name, input.id, input.shape);
      return;
    }

    fail(name, "unsupported layer class " + cls);
  }

  const tfjs::LayersModel& model_;
  KerasNet out_;
  std::map<std::string, Node> nodes_;
  std::map<int, std::string> cv_names_;
  std::set<std::string> used_weights_;
};

}  // namespace

KerasNet build_keras_net(const tfjs::LayersModel& model) {
  KerasNet net = Builder(model).build();
  if (net.input_name.empty()) throw std::runtime_error("the model has no InputLayer");
  return net;
}

}  // namespace photoatlas::features
