#include "label/object_categories.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace photoatlas::label {

LabelOntology LabelOntology::parse(std::string_view text, const std::vector<std::string>& known_labels,
                                   const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw std::invalid_argument(source + ": not valid JSON: " + e.what());
  }
  LabelOntology out;
  out.name_ = doc.value("name", "");
  out.approximate_ = doc.value("approximate", false);
  if (!doc.contains("categories") || !doc["categories"].is_array())
    throw std::invalid_argument(source + ": no \"categories\" list");
  for (const auto& category : doc["categories"]) {
    const std::string name = category.value("name", "");
    if (name.empty()) throw std::invalid_argument(source + ": a category without a name");
    if (name == kMisc) throw std::invalid_argument(source + ": \"Misc\" is implicit (labels no category claims)");
    if (std::find(out.categories_.begin(), out.categories_.end(), name) != out.categories_.end())
      throw std::invalid_argument(source + ": category '" + name + "' listed twice");
    const int index = static_cast<int>(out.categories_.size());
    out.categories_.push_back(name);
    for (const auto& label_json : category.value("labels", nlohmann::json::array())) {
      const std::string label = label_json.get<std::string>();
      if (std::find(known_labels.begin(), known_labels.end(), label) == known_labels.end())
        throw std::invalid_argument(source + ": category '" + name + "': unknown label '" + label + "'");
      if (!out.category_index_.emplace(label, index).second)
        throw std::invalid_argument(source + ": label '" + label + "' belongs to two categories");
    }
  }
  out.categories_.emplace_back(kMisc);
  return out;
}

LabelOntology LabelOntology::load_named(std::string_view name_or_path, const std::vector<std::string>& known_labels,
                                        const std::filesystem::path& data_dir) {
  const std::string spec(name_or_path);
  const bool is_path = spec.find('/') != std::string::npos || spec.ends_with(".json");
  const std::filesystem::path file = is_path ? std::filesystem::path(spec) : data_dir / "ontologies" / (spec + ".json");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the ontology " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), known_labels, file.string());
}

std::string LabelOntology::category_of(std::string_view label) const {
  const auto it = category_index_.find(std::string(label));
  return it == category_index_.end() ? std::string(kMisc) : categories_[it->second];
}

std::string LabelOntology::category_of_labels(const std::vector<std::string>& labels) const {
  int best = -1;
  for (const std::string& label : labels) {
    const auto it = category_index_.find(label);
    if (it != category_index_.end() && (best < 0 || it->second < best)) best = it->second;
  }
  return best < 0 ? std::string(kMisc) : categories_[best];
}

}  // namespace photoatlas::label
