#include "features/tfjs_layers.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace photoatlas::features::tfjs {

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// A recursive-descent reader for the subset of JavaScript that minified data modules use.
class JsLiteralParser {
 public:
  explicit JsLiteralParser(std::string_view text, std::size_t pos) : text_(text), pos_(pos) {}

  nlohmann::json value(int depth = 0) {
    // Bounded so a hostile file cannot overflow the stack.
    if (depth > 256) fail("nesting too deep");
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"' || c == '\'') return string();
    if (c == '!') {  // minifiers write true/false as !0/!1
      ++pos_;
      skip_space();
      const std::string_view token = word();
      if (token == "0") return true;
      if (token == "1") return false;
      fail("unsupported negation");
    }
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) return number();
    const std::string_view token = word();
    if (token == "true") return true;
    if (token == "false") return false;
    if (token == "null") return nullptr;
    if (token == "void") {  // "void 0" is undefined; JSON has only null for it
      skip_space();
      if (word() == "0") return nullptr;
    }
    fail("unsupported token '" + std::string(token) + "'");
  }

  std::size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("model module: " + what + " at offset " + std::to_string(pos_));
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  static bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  }

  std::string_view word() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && word_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  void expect(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  nlohmann::json object(int depth) {
    expect('{');
    nlohmann::json out = nlohmann::json::object();
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return out;
    }
    for (;;) {
      skip_space();
      if (pos_ >= text_.size()) fail("unexpected end in object");
      std::string key;
      if (text_[pos_] == '"' || text_[pos_] == '\'') {
        key = string();
      } else {
        key = std::string(word());
        if (key.empty()) fail("expected a key");
      }
      expect(':');
      out[key] = value(depth + 1);
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return out;
    }
  }

  nlohmann::json array(int depth) {
    expect('[');
    nlohmann::json out = nlohmann::json::array();
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return out;
    }
    for (;;) {
      out.push_back(value(depth + 1));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return out;
    }
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  unsigned hex_digits(int count) {
    if (pos_ + count > text_.size()) fail("truncated escape");
    unsigned code = 0;
    const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + count, code, 16);
    if (ec != std::errc() || end != text_.data() + pos_ + count) fail("bad escape");
    pos_ += count;
    return code;
  }

  std::string string() {
    const char quote = text_[pos_++];
    std::string out;
    for (;;) {
      // Copy the run up to the next quote or backslash in one go: shards are megabytes of base64.
      const std::size_t stop = text_.find_first_of(quote == '"' ? "\"\\" : "'\\", pos_);
      if (stop == std::string_view::npos) fail("unterminated string");
      out.append(text_.substr(pos_, stop - pos_));
      pos_ = stop + 1;
      if (text_[stop] == quote) return out;
      if (pos_ >= text_.size()) fail("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '0': out += '\0'; break;
        case 'x': append_utf8(out, hex_digits(2)); break;
        case 'u': append_utf8(out, hex_digits(4)); break;
        default: out += e;  // \" \' \\ \/ and JavaScript's identity escapes
      }
    }
  }

  nlohmann::json number() {
    const std::size_t start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      const bool exponent_sign = (c == '-' || c == '+') && pos_ > start &&
                                 (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E');
      if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || exponent_sign ||
          ((c == '-' || c == '+') && pos_ == start)) {
        ++pos_;
      } else {
        break;
      }
    }
    const std::string token(text_.substr(start, pos_ - start));
    if (token.find_first_of(".eE") == std::string::npos) {
      long long integer = 0;
      const char* first = token.data() + (token[0] == '+' ? 1 : 0);
      const auto [end, ec] = std::from_chars(first, token.data() + token.size(), integer);
      if (ec == std::errc() && end == token.data() + token.size()) return integer;
    }
    // strtod is locale-dependent only for the decimal point; the C locale is what every process starts in.
    char* end = nullptr;
    const double v = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size() || token.empty()) fail("bad number '" + token + "'");
    return v;
  }

  std::string_view text_;
  std::size_t pos_;
};

std::size_t element_bytes(const nlohmann::json& spec) {
  if (spec.contains("quantization")) {
    const std::string dtype = spec["quantization"].value("dtype", "");
    if (dtype == "uint8") return 1;
    if (dtype == "uint16" || dtype == "float16") return 2;
    throw std::runtime_error("weight " + spec.value("name", "?") + ": unsupported quantization " + dtype);
  }
  const std::string dtype = spec.value("dtype", "float32");
  if (dtype == "float32" || dtype == "int32") return 4;  // int32: shape and axis constants of graph models
  throw std::runtime_error("weight " + spec.value("name", "?") + ": unsupported dtype " + dtype);
}

float half_to_float(std::uint16_t h) {
  const unsigned sign = (h >> 15) & 1u, exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? std::nanf("") : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  return sign ? -magnitude : magnitude;
}

}  // namespace

namespace detail {

nlohmann::json parse_js_export(std::string_view module_text) {
  const std::size_t at = module_text.rfind("exports=");
  if (at == std::string_view::npos) throw std::runtime_error("model module: no 'exports=' found");
  JsLiteralParser parser(module_text, at + std::strlen("exports="));
  return parser.value();
}

std::vector<std::uint8_t> base64_decode(std::string_view text) {
  static const std::array<int, 256> table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
    return t;
  }();
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  unsigned buffer = 0;
  int bits = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] != '='; ++i) {
    const int v = table[static_cast<unsigned char>(text[i])];
    if (v < 0) throw std::runtime_error("base64: invalid character at offset " + std::to_string(i));
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((buffer >> bits) & 0xFFu));
    }
  }
  for (; i < text.size(); ++i)
    if (text[i] != '=') throw std::runtime_error("base64: data after padding");
  return out;
}

}  // namespace detail

std::map<std::string, Tensor> decode_weights(const nlohmann::json& manifest,
                                             const std::vector<std::vector<std::uint8_t>>& group_bytes) {
  if (!manifest.is_array() || manifest.size() != group_bytes.size())
    throw std::runtime_error("weights manifest does not match the weight data");
  std::map<std::string, Tensor> out;
  for (std::size_t g = 0; g < manifest.size(); ++g) {
    const std::vector<std::uint8_t>& bytes = group_bytes[g];
    std::size_t offset = 0;
    for (const nlohmann::json& spec : manifest[g].at("weights")) {
      const std::string name = spec.at("name").get<std::string>();
      Tensor tensor;
      tensor.shape = spec.at("shape").get<std::vector<int>>();
      std::size_t count = 1;
      for (int d : tensor.shape) {
        if (d < 0) throw std::runtime_error("weight " + name + ": negative dimension");
        count *= static_cast<std::size_t>(d);
      }
      const std::size_t width = element_bytes(spec);
      if (offset + count * width > bytes.size())
        throw std::runtime_error("weight " + name + ": the shards are shorter than the manifest says");
      const std::uint8_t* p = bytes.data() + offset;
      tensor.values.resize(count);
      if (spec.contains("quantization")) {
        const nlohmann::json& q = spec["quantization"];
        const std::string dtype = q.at("dtype").get<std::string>();
        if (dtype == "float16") {
          for (std::size_t i = 0; i < count; ++i)
            tensor.values[i] = half_to_float(static_cast<std::uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
        } else {
          // Affine quantisation; the product is formed in double as JavaScript does, then rounded once.
          const double scale = q.at("scale").get<double>();
          const double min = q.at("min").get<double>();
          for (std::size_t i = 0; i < count; ++i) {
            const unsigned v = width == 1 ? p[i] : static_cast<unsigned>(p[2 * i] | (p[2 * i + 1] << 8));
            tensor.values[i] = static_cast<float>(static_cast<double>(v) * scale + min);
          }
        }
      } else if (spec.value("dtype", "float32") == "int32") {
        for (std::size_t i = 0; i < count; ++i) {
          std::int32_t v;
          std::memcpy(&v, p + 4 * i, sizeof v);
          tensor.values[i] = static_cast<float>(v);
        }
      } else {
        std::memcpy(tensor.values.data(), p, count * sizeof(float));  // little-endian float32, as on x86/ARM
      }
      offset += count * width;
      if (!out.emplace(name, std::move(tensor)).second) throw std::runtime_error("weight " + name + " listed twice");
    }
    if (offset != bytes.size())
      throw std::runtime_error("weight data has " + std::to_string(bytes.size() - offset) + " bytes the manifest does not describe");
  }
  return out;
}

namespace {

// The Keras model config inside a modelTopology: Keras writes {keras_version, backend, model_config},
// some converters the config itself.
nlohmann::json model_config_of(const nlohmann::json& model_json) {
  const nlohmann::json& topology = model_json.at("modelTopology");
  if (topology.contains("model_config")) return topology["model_config"];
  if (topology.contains("class_name")) return topology;
  throw std::runtime_error("modelTopology holds no Keras model config");
}

template <typename ReadShard>
LayersModel assemble(const nlohmann::json& model_json, ReadShard read_shard) {
  if (model_json.contains("format") && model_json["format"] != "layers-model")
    throw std::runtime_error("not a TF.js layers model (format " + model_json["format"].dump() + ")");
  LayersModel model;
  model.model_config = model_config_of(model_json);
  const nlohmann::json& manifest = model_json.at("weightsManifest");
  std::vector<std::vector<std::uint8_t>> groups;
  for (const nlohmann::json& group : manifest) {
    std::vector<std::uint8_t> bytes;
    for (const nlohmann::json& path : group.at("paths")) {
      const std::vector<std::uint8_t> shard = read_shard(path.get<std::string>());
      bytes.insert(bytes.end(), shard.begin(), shard.end());
    }
    groups.push_back(std::move(bytes));
  }
  model.weights = decode_weights(manifest, groups);
  return model;
}

// Manifest paths are relative file names; refuse anything that would leave the model's folder.
std::filesystem::path shard_path(const std::filesystem::path& folder, const std::string& name) {
  const std::filesystem::path relative(name);
  if (name.empty() || relative.is_absolute() || name.find("..") != std::string::npos)
    throw std::runtime_error("weights manifest names an unsafe path: " + name);
  return folder / relative;
}

}  // namespace

LayersModel load_model_json(const std::filesystem::path& model_json) {
  const nlohmann::json json = nlohmann::json::parse(read_file(model_json));
  const std::filesystem::path folder = model_json.parent_path();
  return assemble(json, [&](const std::string& name) {
    const std::string bytes = read_file(shard_path(folder, name));
    return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
  });
}

LayersModel load_js_bundle(const std::filesystem::path& folder) {
  const nlohmann::json json = detail::parse_js_export(read_file(folder / "model.min.js"));
  return assemble(json, [&](const std::string& name) {
    const nlohmann::json shard = detail::parse_js_export(read_file(shard_path(folder, name + ".min.js")));
    if (!shard.is_string()) throw std::runtime_error(name + ".min.js does not export a base64 string");
    return detail::base64_decode(shard.get_ref<const std::string&>());
  });
}

}  // namespace photoatlas::features::tfjs
