// Categories from object labels (data/ontologies/coco.json): the approximate route to the study's
// categories when no ImageNet classifier ran. A label maps to one category; a photo takes the first
// category in file order that any of its object labels maps to, else "Misc".
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "label/ontology.h"

namespace photoatlas::label {

class LabelOntology {
 public:
  // JSON: {"name", "description"?, "approximate"?, "categories": [{"name", "labels": [...]}]}. Throws
  // std::invalid_argument naming the problem for a label outside `known_labels`, a label listed twice,
  // or a missing / duplicate category name.
  static LabelOntology parse(std::string_view json, const std::vector<std::string>& known_labels,
                             const std::string& source = "ontology");
  // <data_dir>/ontologies/<name>.json, or a path (anything containing '/' or ending in .json).
  static LabelOntology load_named(std::string_view name_or_path, const std::vector<std::string>& known_labels,
                                  const std::filesystem::path& data_dir = default_data_dir());

  const std::string& name() const { return name_; }
  bool approximate() const { return approximate_; }
  // Category names in file order, then "Misc" (the legend's order).
  const std::vector<std::string>& categories() const { return categories_; }
  // The category of one label; "Misc" when none claims it.
  std::string category_of(std::string_view label) const;
  // The category of a photo from its labels: the first in file order that any label maps to.
  std::string category_of_labels(const std::vector<std::string>& labels) const;

 private:
  std::string name_;
  bool approximate_ = false;
  std::vector<std::string> categories_;
  std::unordered_map<std::string, int> category_index_;  // label -> index into categories_
};

}  // namespace photoatlas::label
