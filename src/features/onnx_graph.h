// What photoatlas needs to know about an ONNX file before OpenCV loads it: the image input's
// name and shape, and the graph's nodes (op type, inputs, outputs). A small protobuf reader that
// seeks past the weights, so a 500 MB VGG19 is inspected without reading it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace photoatlas::features {

struct OnnxNode {
  std::string op_type;              // "Conv", "Gemm", "Relu", ...
  std::string name;                 // may be empty
  std::vector<std::string> inputs;  // tensor names
  std::vector<std::string> outputs;
};

struct OnnxGraphInfo {
  std::int64_t ir_version = 0;
  std::string producer;
  std::string input_name;             // the first graph input that is not an initializer
  std::vector<std::int64_t> input_shape;  // its dims; -1 where symbolic or unknown
  std::vector<std::string> outputs;   // graph output names
  std::vector<OnnxNode> nodes;        // in file (topological) order
  std::vector<std::string> initializers;

  // The node producing a tensor (null for graph inputs and initializers).
  const OnnxNode* producer_of(const std::string& tensor) const;
  // Nodes reading a tensor.
  std::vector<const OnnxNode*> consumers_of(const std::string& tensor) const;
  // True when the input looks like NCHW with 3 channels ([N,3,H,W]); false for NHWC ([N,H,W,3]).
  bool channels_first() const;
};

// Throws std::runtime_error naming the file when it cannot be read or is not an ONNX model.
OnnxGraphInfo read_onnx_graph(const std::filesystem::path& file);

// Resolves a layer name the user or a preset gave to a tensor name of the graph:
//  - an existing node output is returned unchanged;
//  - "fc1" (when no tensor has that name): the first fully-connected layer (Gemm / MatMul), after
//    its activation when a Relu alone follows it — the study's VGG19 "fc1", whatever the exporter
//    called it;
//  - "pool": the input of the first Flatten / Reshape / Gemm fed by a global pooling, i.e. the
//    pooled feature vector before the classifier (ResNet, MobileNet).
// Returns an empty string when nothing matches.
std::string resolve_onnx_layer(const OnnxGraphInfo& graph, const std::string& layer);

}  // namespace photoatlas::features
