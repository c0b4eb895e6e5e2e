// Ontologies: named categories defined by WordNet noun synsets, mapping any ImageNet class (or
// any other noun synset) to a category by walking its hypernyms.
//
// File format (JSON, or the same structure in YAML), e.g. data/ontologies/study.json:
//   { "name": "study", "description": "...",
//     "categories": [ {"name": "Coffee", "synsets": ["n07929519 coffee", "coffee_maker.n.01", ...]}, ... ] }
// A rule is a wnid, optionally followed by a lemma of that synset (checked on load, so a typo in
// the number is caught), or an NLTK-style name "lemma.n.NN" (sense NN of the lemma in index.noun).
// A category named "Misc" may list exceptions: synsets that stay uncategorised although an
// ancestor of theirs is claimed by another category.
//
// Which rule wins: the MOST SPECIFIC one. A class belongs to the category of the rule synset that
// is nearest to it in the hypernym graph (fewest edges, over all hypernym paths); a tie between
// rules at the same distance goes to the category listed first in the file. Most-specific lets a
// file state broad rules and carve exceptions without ordering tricks (Food = food, Coffee = coffee:
// espresso -> coffee is 1 edge, espresso -> food 3, so espresso is Coffee wherever the two
// categories are listed). A class no rule reaches is "Misc".
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "label/wordnet.h"

namespace photoatlas::label {

inline constexpr std::string_view kMisc = "Misc";

// Folder of the data files shipped with photoatlas (ontologies, ImageNet class list):
// $PHOTOATLAS_DATA_DIR when set, else the source tree's data/ folder recorded at build time.
std::filesystem::path default_data_dir();

// Why a class got its category.
struct CategoryMatch {
  std::string category;   // "Misc" when no rule reached the class
  std::uint32_t rule = 0; // the winning rule's synset (0 when none)
  int distance = -1;      // hypernym edges from the class to that synset (-1 when none)
};

class Ontology {
 public:
  // Parses an ontology from JSON text. Every rule is resolved against `wordnet`; throws
  // std::invalid_argument naming the offending rule for an unknown synset, a lemma that does not
  // belong to the wnid, a synset listed twice, or a missing/duplicate category name.
  static Ontology parse(std::string_view json, std::shared_ptr<const WordNet> wordnet,
                        const std::string& source = "ontology");

  // The same from YAML text (the structure above in YAML syntax; every scalar is read as a string).
  static Ontology parse_yaml(std::string_view yaml, std::shared_ptr<const WordNet> wordnet,
                             const std::string& source = "ontology");

  // Reads a file: YAML when it ends in .yaml or .yml, else JSON (throws std::runtime_error when it
  // cannot be read, std::invalid_argument when its content is wrong).
  static Ontology load(const std::filesystem::path& file, std::shared_ptr<const WordNet> wordnet);

  // A built-in ontology by name ("study", "general": <data_dir>/ontologies/<name>.json) or a path
  // to a user's file (anything containing '/' or with an extension: .json, .yaml, .yml).
  static Ontology load_named(std::string_view name_or_path, std::shared_ptr<const WordNet> wordnet,
                             const std::filesystem::path& data_dir = default_data_dir());

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }

  // Category names in file order, then "Misc" (always present, always last): the legend's order.
  const std::vector<std::string>& categories() const { return categories_; }

  // The category of a wnid ("n07920052" -> "Coffee"); "Misc" when no rule reaches it or the wnid
  // is not a WordNet noun synset.
  std::string category_of(std::string_view wnid) const;
  CategoryMatch match(std::string_view wnid) const;

  const WordNet& wordnet() const { return *wordnet_; }

 private:
  static Ontology from_document(const nlohmann::json& doc, std::shared_ptr<const WordNet> wordnet,
                                const std::string& source);

  std::string name_;
  std::string description_;
  std::vector<std::string> categories_;
  struct Rule {
    int order = 0;     // position of the rule's category in the file: breaks ties between rules
    int category = 0;  // index into categories_
  };
  std::unordered_map<std::uint32_t, Rule> rules_;
  std::shared_ptr<const WordNet> wordnet_;
};

}  // namespace photoatlas::label
