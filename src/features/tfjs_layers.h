// Reading TensorFlow.js "layers" models: the model JSON (Keras topology + weights manifest) and the
// weight bytes, dequantised into float32 tensors addressed by name ("conv2d_1/kernel").
//
// Two on-disk forms are read:
//  - the standard one: model.json + the binary shard files its manifest names;
//  - the nsfwjs bundle: model.min.js and group1-shardNofM.min.js, UMD JavaScript modules whose
//    export is the model JSON as a JavaScript object literal and each shard as a base64 string.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace photoatlas::features::tfjs {

struct Tensor {
  std::vector<int> shape;     // as in the manifest; Keras layout (Conv2D kernel [kh, kw, in, out], ...)
  std::vector<float> values;  // row-major over shape
  std::size_t size() const { return values.size(); }
};

struct LayersModel {
  // The Keras model config: {"class_name": "Model"|"Functional", "config": {"layers": [...], ...}}.
  nlohmann::json model_config;
  std::map<std::string, Tensor> weights;
};

// Decodes the weights of a manifest group list ([{paths, weights: [{name, shape, dtype,
// quantization?}]}]) given each group's bytes (its shards concatenated, in `paths` order).
// Quantised values are dequantised as float32(double(q) * scale + min), which is what
// tf.io.decodeWeights does; float16 quantisation, plain float32 and int32 (as floats) are read too.
std::map<std::string, Tensor> decode_weights(const nlohmann::json& manifest,
                                             const std::vector<std::vector<std::uint8_t>>& group_bytes);

// model.json (+ shards next to it).
LayersModel load_model_json(const std::filesystem::path& model_json);

// A folder holding model.min.js and the shard modules it names (nsfwjs's dist/models/<name>).
LayersModel load_js_bundle(const std::filesystem::path& folder);

namespace detail {
// Parses the JavaScript value that follows the last "exports=" in a minified UMD module: object
// and array literals, unquoted or quoted keys, strings, numbers (".5", "1e-3"), !0/!1, true, false,
// null. Anything else (code, functions) is an error: the module is data, never evaluated.
nlohmann::json parse_js_export(std::string_view module_text);
std::vector<std::uint8_t> base64_decode(std::string_view text);
}  // namespace detail

}  // namespace photoatlas::features::tfjs
