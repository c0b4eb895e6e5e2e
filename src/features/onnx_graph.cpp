#include "features/onnx_graph.h"

#include <fstream>
#include <stdexcept>

namespace photoatlas::features {

namespace {

// Protobuf wire format over a seekable stream: only what ModelProto / GraphProto need.
class Reader {
 public:
  Reader(std::istream& in, std::uint64_t end, const std::string& file) : in_(in), end_(end), file_(file) {}

  bool done() { return static_cast<std::uint64_t>(in_.tellg()) >= end_; }
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const int c = in_.get();
      if (c == EOF) fail("truncated varint");
      value |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if (!(c & 0x80)) return value;
    }
    fail("bad varint");
    return 0;
  }
  // Reads a field key; returns false at the end of the current message.
  bool next(int& field, int& wire) {
    if (done()) return false;
    const std::uint64_t key = varint();
    field = static_cast<int>(key >> 3);
    wire = static_cast<int>(key & 7);
    return true;
  }
  std::string bytes() {
    const std::uint64_t n = length();
    std::string s(n, '\0');
    in_.read(s.data(), static_cast<std::streamsize>(n));
    if (!in_) fail("truncated string");
    return s;
  }
  std::uint64_t length() {
    const std::uint64_t n = varint();
    if (static_cast<std::uint64_t>(in_.tellg()) + n > end_) fail("length past the end of its message");
    return n;
  }
  void skip(int wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: in_.seekg(8, std::ios::cur); break;
      case 2: in_.seekg(static_cast<std::streamoff>(length()), std::ios::cur); break;
      case 5: in_.seekg(4, std::ios::cur); break;
      default: fail("unsupported wire type " + std::to_string(wire));
    }
    if (!in_) fail("truncated field");
  }
  // Runs `body(field, wire)` for every field of a length-delimited sub-message.
  template <class F>
  void message(F&& body) {
    const std::uint64_t n = length();
    const std::uint64_t end = static_cast<std::uint64_t>(in_.tellg()) + n;
    const std::uint64_t saved = end_;
    end_ = end;
    int field, wire;
    while (next(field, wire)) body(field, wire);
    end_ = saved;
    in_.seekg(static_cast<std::streamoff>(end));
  }
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(file_ + ": not a readable ONNX model (" + what + ")");
  }

 private:
  std::istream& in_;
  std::uint64_t end_;
  std::string file_;
};

void read_value_info(Reader& r, std::string& name, std::vector<std::int64_t>& shape) {
  r.message([&](int f, int w) {
    if (f == 1 && w == 2) {
      name = r.bytes();
    } else if (f == 2 && w == 2) {                 // TypeProto
      r.message([&](int tf, int tw) {
        if (tf == 1 && tw == 2) {                   // tensor_type
          r.message([&](int sf, int sw) {
            if (sf == 2 && sw == 2) {               // shape
              r.message([&](int df, int dw) {
                if (df == 1 && dw == 2) {           // dim
                  std::int64_t value = -1;
                  r.message([&](int vf, int vw) {
                    if (vf == 1 && vw == 0) value = static_cast<std::int64_t>(r.varint());
                    else r.skip(vw);
                  });
                  shape.push_back(value);
                } else {
                  r.skip(dw);
                }
              });
            } else {
              r.skip(sw);
            }
          });
        } else {
          r.skip(tw);
        }
      });
    } else {
      r.skip(w);
    }
  });
}

}  // namespace

const OnnxNode* OnnxGraphInfo::producer_of(const std::string& tensor) const {
  for (const OnnxNode& node : nodes)
    for (const std::string& out : node.outputs)
      if (out == tensor) return &node;
  return nullptr;
}

std::vector<const OnnxNode*> OnnxGraphInfo::consumers_of(const std::string& tensor) const {
  std::vector<const OnnxNode*> result;
  for (const OnnxNode& node : nodes)
    for (const std::string& in : node.inputs)
      if (in == tensor) {
        result.push_back(&node);
        break;
      }
  return result;
}

bool OnnxGraphInfo::channels_first() const {
  return !(input_shape.size() == 4 && input_shape[3] == 3 && input_shape[1] != 3);
}

OnnxGraphInfo read_onnx_graph(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  Reader r(in, size, file.string());
  OnnxGraphInfo info;
  struct Input {
    std::string name;
    std::vector<std::int64_t> shape;
  };
  std::vector<Input> inputs;
  bool have_graph = false;
  int field, wire;
  while (r.next(field, wire)) {
    if (field == 1 && wire == 0) {
      info.ir_version = static_cast<std::int64_t>(r.varint());
    } else if (field == 2 && wire == 2) {
      info.producer = r.bytes();
    } else if (field == 7 && wire == 2) {  // GraphProto
      have_graph = true;
      r.message([&](int f, int w) {
        if (f == 1 && w == 2) {  // NodeProto
          OnnxNode node;
          r.message([&](int nf, int nw) {
            if (nf == 1 && nw == 2) node.inputs.push_back(r.bytes());
            else if (nf == 2 && nw == 2) node.outputs.push_back(r.bytes());
            else if (nf == 3 && nw == 2) node.name = r.bytes();
            else if (nf == 4 && nw == 2) node.op_type = r.bytes();
            else r.skip(nw);
          });
          info.nodes.push_back(std::move(node));
        } else if (f == 5 && w == 2) {  // initializer: only its name (field 8)
          std::string name;
          r.message([&](int tf, int tw) {
            if (tf == 8 && tw == 2) name = r.bytes();
            else r.skip(tw);
          });
          info.initializers.push_back(std::move(name));
        } else if (f == 11 && w == 2) {
          Input input;
          read_value_info(r, input.name, input.shape);
          inputs.push_back(std::move(input));
        } else if (f == 12 && w == 2) {
          std::string name;
          std::vector<std::int64_t> shape;
          read_value_info(r, name, shape);
          info.outputs.push_back(std::move(name));
        } else {
          r.skip(w);
        }
      });
    } else {
      r.skip(wire);
    }
  }
  if (!have_graph || info.nodes.empty()) r.fail("no graph");
  for (Input& input : inputs) {
    bool is_weight = false;
    for (const std::string& init : info.initializers)
      if (init == input.name) is_weight = true;
    if (!is_weight) {
      info.input_name = input.name;
      info.input_shape = input.shape;
      break;
    }
  }
  if (info.input_name.empty()) r.fail("no input");
  return info;
}

std::string resolve_onnx_layer(const OnnxGraphInfo& graph, const std::string& layer) {
  if (graph.producer_of(layer)) return layer;
  if (layer == "fc1") {
    for (const OnnxNode& node : graph.nodes) {
      if (node.op_type != "Gemm" && node.op_type != "MatMul") continue;
      const std::string out = node.outputs.at(0);
      const auto next = graph.consumers_of(out);
      // MatMul + Add (bias) then Relu, or Gemm then Relu.
      std::string result = out;
      auto after = next;
      if (node.op_type == "MatMul" && after.size() == 1 && after[0]->op_type == "Add") {
        result = after[0]->outputs.at(0);
        after = graph.consumers_of(result);
      }
      if (after.size() == 1 && after[0]->op_type == "Relu") result = after[0]->outputs.at(0);
      return result;
    }
    return {};
  }
  if (layer == "pool") {
    // The last global pooling of the graph: the pooled feature vector before the classifier
    // (ResNet: pool -> Flatten -> Gemm; MobileNetV2 from MXNet: pool -> 1x1 Conv -> Flatten).
    std::string result;
    for (const OnnxNode& node : graph.nodes) {
      if (node.op_type == "GlobalAveragePool" || node.op_type == "GlobalMaxPool" || node.op_type == "ReduceMean")
        result = node.outputs.at(0);
      else if (node.op_type == "AveragePool" && result.empty())
        for (const OnnxNode* next : graph.consumers_of(node.outputs.at(0)))
          if (next->op_type == "Flatten" || next->op_type == "Reshape") result = node.outputs.at(0);
    }
    return result;
  }
  return {};
}

}  // namespace photoatlas::features
