// WordNet 3.0 noun synsets, read lazily from the database files of Debian's wordnet-base.
//
// An ImageNet wnid "n07920052" is the byte offset 7920052 of the synset's line in data.noun, so a
// synset is one seek and one line away: nothing is parsed until it is asked for, and every parsed
// synset is kept (a hypernym walk revisits the same few hundred upper synsets over and over).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace photoatlas::label {

// One noun synset as data.noun states it.
struct Synset {
  std::uint32_t offset = 0;               // byte offset in data.noun, the number in its wnid
  std::vector<std::string> lemmas;        // WordNet's spelling: "coffee_mug", "French_loaf"
  std::vector<std::uint32_t> hypernyms;   // '@' (hypernym) and '@i' (instance hypernym) noun pointers, file order
  std::string gloss;                      // the definition and examples after '|'
};

// A synset reached by walking hypernyms up from a start synset, with the fewest edges it takes.
struct Ancestor {
  std::uint32_t offset = 0;
  int distance = 0;  // 0 = the start synset itself
};

// "n07920052" -> 7920052; nullopt unless it is 'n' followed by exactly eight digits.
std::optional<std::uint32_t> parse_wnid(std::string_view wnid);
// 7920052 -> "n07920052".
std::string format_wnid(std::uint32_t offset);

// The folder holding data.noun: $WNSEARCHDIR (WordNet's own variable) when it has one, else the
// places distributions install it (/usr/share/wordnet for Debian's wordnet-base). nullopt if none.
std::optional<std::filesystem::path> find_wordnet_dir();

class WordNet {
 public:
  // `dir` holds data.noun (required) and index.noun (needed only for "lemma.n.NN" names).
  // Throws std::runtime_error when data.noun cannot be opened.
  explicit WordNet(const std::filesystem::path& dir);

  // The WordNet of find_wordnet_dir(); throws std::runtime_error saying what to install when absent.
  static std::shared_ptr<const WordNet> open_default();

  const std::filesystem::path& dir() const { return dir_; }

  // The synset whose line starts at `offset`, or nullptr when no noun synset starts there (an
  // offset into the licence header or the middle of a line). The pointer lives as long as this
  // object. Thread-safe. Throws std::runtime_error for a line that starts right but is malformed.
  const Synset* synset(std::uint32_t offset) const;
  const Synset* synset(std::string_view wnid) const;

  // The first lemma in readable form ("coffee mug"); nullopt for an unknown wnid.
  std::optional<std::string> lemma(std::string_view wnid) const;

  // wnids from the synset itself up to the root (entity), following the first hypernym at each
  // step: the path WordNet browsers show. Empty for an unknown wnid.
  std::vector<std::string> hypernym_path(std::string_view wnid) const;

  // Every synset above `offset` (itself included, distance 0) by breadth-first search over all
  // hypernyms, so a synset reachable along two paths gets the shorter one. Ordered by distance,
  // then by discovery. Empty when `offset` is not a synset.
  std::vector<Ancestor> ancestors(std::uint32_t offset) const;

  // Resolves a readable synset name: a wnid ("n07929519") or NLTK-style "coffee.n.01", the first
  // sense of the lemma in index.noun (lemmas are matched case-insensitively, spaces as '_').
  // nullopt when there is no such synset.
  std::optional<std::uint32_t> resolve(std::string_view name) const;

 private:
  const Synset* load_locked(std::uint32_t offset) const;
  void load_index_locked() const;

  std::filesystem::path dir_;
  mutable std::mutex mutex_;
  mutable std::ifstream data_;
  std::uint64_t data_size_ = 0;
  mutable std::unordered_map<std::uint32_t, std::unique_ptr<Synset>> cache_;  // nullptr: no synset there
  mutable bool index_loaded_ = false;
  mutable std::unordered_map<std::string, std::vector<std::uint32_t>> index_;  // lemma -> offsets, sense order
};

}  // namespace photoatlas::label
