#include "label/ontology.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#ifndef PHOTOATLAS_DATA_DIR
#define PHOTOATLAS_DATA_DIR "data"
#endif

namespace photoatlas::label {
namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// A rule string: "n07929519", "n07929519 coffee" (the lemma is checked) or "coffee.n.01".
std::uint32_t resolve_rule(const std::string& rule, const WordNet& wordnet, const std::string& where) {
  const std::string text = trim(rule);
  const auto space = text.find_first_of(" \t");
  const std::string head = text.substr(0, space);
  const auto offset = wordnet.resolve(head);
  if (!offset) throw std::invalid_argument(where + ": no WordNet noun synset \"" + head + "\"");
  if (space != std::string::npos) {
    std::string lemma = trim(std::string_view(text).substr(space));
    std::replace(lemma.begin(), lemma.end(), ' ', '_');
    const Synset* s = wordnet.synset(*offset);
    const bool found = std::any_of(s->lemmas.begin(), s->lemmas.end(), [&](const std::string& l) {
      return std::equal(l.begin(), l.end(), lemma.begin(), lemma.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                    std::tolower(static_cast<unsigned char>(b)); });
    });
    if (!found) {
      throw std::invalid_argument(where + ": \"" + lemma + "\" is not a lemma of " + format_wnid(*offset) + " (" +
                                  s->lemmas.front() + ")");
    }
  }
  return *offset;
}

// The YAML document as the JSON value the one validating reader takes. Scalars stay strings: every
// field of an ontology is text, and a category called "yes" or "2020" must not become a boolean or a number.
nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& entry : node) out[entry.first.as<std::string>()] = yaml_to_json(entry.second);
      return out;
    }
    case YAML::NodeType::Scalar:
      return node.as<std::string>();
    default:  // Null, Undefined
      return nullptr;
  }
}

}  // namespace

std::filesystem::path default_data_dir() {
  if (const char* env = std::getenv("PHOTOATLAS_DATA_DIR"); env && *env) return env;
  return PHOTOATLAS_DATA_DIR;
}

Ontology Ontology::parse(std::string_view json_text, std::shared_ptr<const WordNet> wordnet, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(source + ": not valid JSON (" + e.what() + ")");
  }
  return from_document(doc, std::move(wordnet), source);
}

Ontology Ontology::parse_yaml(std::string_view yaml_text, std::shared_ptr<const WordNet> wordnet,
                              const std::string& source) {
  nlohmann::json doc;
  try {
    doc = yaml_to_json(YAML::Load(std::string(yaml_text)));
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(source + ": not valid YAML (" + e.what() + ")");
  }
  return from_document(doc, std::move(wordnet), source);
}

Ontology Ontology::from_document(const nlohmann::json& doc, std::shared_ptr<const WordNet> wordnet,
                                 const std::string& source) {
  if (!wordnet) throw std::invalid_argument(source + ": no WordNet given");
  if (!doc.is_object() || !doc.contains("categories") || !doc["categories"].is_array()) {
    throw std::invalid_argument(source + ": expected an object with a \"categories\" array");
  }
  Ontology out;
  out.wordnet_ = std::move(wordnet);
  out.name_ = doc.value("name", std::string());
  out.description_ = doc.value("description", std::string());

  // First pass: category names, file order, Misc forced to the end of the legend.
  const auto& cats = doc["categories"];
  std::vector<std::string> file_names;
  for (std::size_t i = 0; i < cats.size(); ++i) {
    const auto& c = cats[i];
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || c["name"].get<std::string>().empty()) {
      throw std::invalid_argument(source + ": category " + std::to_string(i + 1) + " has no name");
    }
    const std::string name = c["name"].get<std::string>();
    if (std::find(file_names.begin(), file_names.end(), name) != file_names.end()) {
      throw std::invalid_argument(source + ": category \"" + name + "\" appears twice");
    }
    file_names.push_back(name);
    if (name != kMisc) out.categories_.push_back(name);
  }
  out.categories_.emplace_back(kMisc);

  for (std::size_t i = 0; i < cats.size(); ++i) {
    const std::string& name = file_names[i];
    const int category = static_cast<int>(
        std::find(out.categories_.begin(), out.categories_.end(), name) - out.categories_.begin());
    const auto& synsets = cats[i].value("synsets", nlohmann::json::array());
    if (!synsets.is_array()) throw std::invalid_argument(source + ": \"" + name + "\".synsets is not an array");
    for (const auto& rule : synsets) {
      if (!rule.is_string()) throw std::invalid_argument(source + ": \"" + name + "\" has a rule that is not a string");
      const std::string where = source + ": \"" + name + "\" rule \"" + rule.get<std::string>() + "\"";
      const std::uint32_t offset = resolve_rule(rule.get<std::string>(), *out.wordnet_, where);
      const auto [it, inserted] = out.rules_.emplace(offset, Rule{static_cast<int>(i), category});
      if (!inserted) {
        throw std::invalid_argument(where + ": " + format_wnid(offset) + " is already a rule of \"" +
                                    out.categories_[it->second.category] + "\"");
      }
    }
  }
  return out;
}

Ontology Ontology::load(const std::filesystem::path& file, std::shared_ptr<const WordNet> wordnet) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read ontology file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  const auto ext = file.extension().string();
  if (ext == ".yaml" || ext == ".yml") return parse_yaml(text.str(), std::move(wordnet), file.string());
  return parse(text.str(), std::move(wordnet), file.string());
}

Ontology Ontology::load_named(std::string_view name_or_path, std::shared_ptr<const WordNet> wordnet,
                              const std::filesystem::path& data_dir) {
  const std::string s(name_or_path);
  const bool is_path = s.find('/') != std::string::npos || std::filesystem::path(s).has_extension();
  const std::filesystem::path file = is_path ? std::filesystem::path(s) : data_dir / "ontologies" / (s + ".json");
  if (!is_path && !std::filesystem::exists(file)) {
    throw std::runtime_error("no built-in ontology \"" + s + "\" (looked for " + file.string() + ")");
  }
  return load(file, std::move(wordnet));
}

CategoryMatch Ontology::match(std::string_view wnid) const {
  CategoryMatch best;
  best.category = std::string(kMisc);
  const auto offset = parse_wnid(wnid);
  if (!offset) return best;
  int best_order = 0;
  // ancestors() is ordered by distance, so the first distance with a hit holds the winner;
  // among rules at that distance the category listed first in the file wins.
  for (const Ancestor& a : wordnet_->ancestors(*offset)) {
    if (best.distance >= 0 && a.distance > best.distance) break;
    const auto it = rules_.find(a.offset);
    if (it == rules_.end()) continue;
    if (best.distance < 0 || it->second.order < best_order) {
      best.category = categories_[it->second.category];
      best.rule = a.offset;
      best.distance = a.distance;
      best_order = it->second.order;
    }
  }
  return best;
}

std::string Ontology::category_of(std::string_view wnid) const { return match(wnid).category; }

}  // namespace photoatlas::label
