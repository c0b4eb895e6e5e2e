// TensorFlow.js "graph models" (a frozen TensorFlow GraphDef written as JSON, plus the weights manifest
// and binary shards) rebuilt as an OpenCV DNN network, op by op.
//
// OpenCV's own TensorFlow importer reads binary GraphDefs, but not the ops the TF.js converter's
// grappler pass leaves behind (_FusedConv2D, FusedDepthwiseConv2dNative), so the graph is walked here
// the way features/keras_graph.cpp walks Keras layers: NHWC weights transposed to NCHW, TF's
// asymmetric 'SAME' padding made explicit, and every op either mapped exactly or refused with its name.
//
// Supported ops: Placeholder, Const, Identity, Conv2D, _FusedConv2D (BiasAdd [+ Relu | Relu6]),
// DepthwiseConv2dNative, FusedDepthwiseConv2dNative (same fusions), Relu, Relu6, Sigmoid, Add/AddV2 and
// Mul (tensor with tensor of the same shape, tensor with a scalar constant, tensor with a 1x1xC
// tensor), Mean over H and W with keep_dims, ConcatV2 over channels, ResizeBilinear (both TF modes).
// Depthwise convolutions and the h-swish pattern Mul(Mul(c, x), Relu6(Add(x, s))) run on the two
// layers of detect/dnn_layers.h; everything else on OpenCV's own layers.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>

#include "features/tfjs_layers.h"

namespace photoatlas::detect {

struct GraphNode {
  std::string name;
  std::string op;
  std::vector<std::string> inputs;  // node names, possibly with ":k" (output k) or "^" (control)
  nlohmann::json attr;              // the GraphDef attr map as JSON (strings base64-encoded)
};

struct GraphModel {
  std::map<std::string, GraphNode> nodes;                 // by name
  std::map<std::string, features::tfjs::Tensor> weights;  // the Const nodes' values, by node name
};

// model.json (format "graph-model") and the shards its manifest names, from the same folder.
GraphModel load_graph_model(const std::filesystem::path& model_json);

struct GraphNet {
  cv::dnn::Net net;
  std::string input_name;
  int input_height = 0, input_width = 0, input_channels = 0;
  std::vector<std::string> output_layers;    // OpenCV layer names, one per requested graph output
  std::vector<std::vector<int>> output_shapes;  // NHWC without the batch axis, one per requested output
};

// Builds the part of the graph that `outputs` (node names) depend on. Throws on any op outside the
// supported list, naming the node.
GraphNet build_graph_net(const GraphModel& model, const std::vector<std::string>& outputs);

}  // namespace photoatlas::detect
