// A tiny WordNet written by a test: data.noun with correct byte offsets (and index.noun), so the
// label stage's parsing and hypernym walks can be checked without wordnet-base installed.
#pragma once

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace photoatlas::testing {

struct FakeSynset {
  std::string key;                      // the test's handle, also the default lemma
  std::vector<std::string> lemmas;      // empty: {key}
  std::vector<std::string> hypernyms;   // keys reached by '@'
  std::vector<std::string> instance_of; // keys reached by '@i'
  std::string gloss = "a test synset";
};

// Writes `dir`/data.noun (a licence-like header of lines starting with two spaces, then one line
// per synset, in the given order) and `dir`/index.noun, and returns key -> wnid ("n00000123").
// Every synset line also carries pointers that are not noun hypernyms ('~' hyponym, '+' to a verb,
// '#p' part holonym) which the reader must skip. Offsets are 8-digit fields, so a line's length does not
// depend on the offsets it contains: a first pass lays lines out, a second writes them.
inline std::map<std::string, std::string> write_synthetic_wordnet(const std::filesystem::path& dir,
                                                                  const std::vector<FakeSynset>& synsets) {
  const std::string header =
      "  1 This software and database is being provided to you, the LICENSEE, by  \n"
      "  2 Princeton University under the following license.  \n";
  auto line_for = [&](const FakeSynset& s, const std::map<std::string, std::uint32_t>& at) {
    auto off = [&](const std::string& k) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08u", at.count(k) ? at.at(k) : 0u);
      return std::string(buf);
    };
    const auto lemmas = s.lemmas.empty() ? std::vector<std::string>{s.key} : s.lemmas;
    char count[8];
    std::snprintf(count, sizeof count, "%02x", static_cast<unsigned>(lemmas.size()));
    std::string line = off(s.key) + " 03 n " + count;
    for (const auto& l : lemmas) line += " " + l + " 0";
    std::vector<std::string> pointers;
    for (const auto& h : s.hypernyms) pointers.push_back("@ " + off(h) + " n 0000");
    for (const auto& h : s.instance_of) pointers.push_back("@i " + off(h) + " n 0000");
    pointers.push_back("~ " + off(s.key) + " n 0000");
    pointers.push_back("+ 01234567 v 0101");
    pointers.push_back("#p " + off(s.key) + " n 0000");
    std::snprintf(count, sizeof count, "%03u", static_cast<unsigned>(pointers.size()));
    line += std::string(" ") + count;
    for (const auto& p : pointers) line += " " + p;
    return line + " | " + s.gloss + "  \n";
  };
  std::map<std::string, std::uint32_t> at;
  std::uint32_t pos = static_cast<std::uint32_t>(header.size());
  for (const auto& s : synsets) {
    at[s.key] = pos;
    pos += static_cast<std::uint32_t>(line_for(s, at).size());
  }
  std::ofstream data(dir / "data.noun", std::ios::binary);
  data << header;
  for (const auto& s : synsets) data << line_for(s, at);

  // index.noun: lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offsets (sense order).
  std::map<std::string, std::vector<std::uint32_t>> senses;
  for (const auto& s : synsets)
    for (const auto& l : s.lemmas.empty() ? std::vector<std::string>{s.key} : s.lemmas) {
      std::string lower = l;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      senses[lower].push_back(at[s.key]);
    }
  std::ofstream index(dir / "index.noun", std::ios::binary);
  index << header;
  for (const auto& [lemma, offsets] : senses) {
    index << lemma << " n " << offsets.size() << " 1 @ " << offsets.size() << " 0";
    for (auto o : offsets) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08u", o);
      index << " " << buf;
    }
    index << "  \n";
  }
  std::map<std::string, std::string> wnids;
  for (const auto& [k, o] : at) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "n%08u", o);
    wnids[k] = buf;
  }
  return wnids;
}

// A FakeSynset with every field spelt out (keeps -Wmissing-field-initializers quiet at call sites).
inline FakeSynset fake(std::string key, std::vector<std::string> lemmas = {}, std::vector<std::string> hypernyms = {},
                       std::vector<std::string> instance_of = {}, std::string gloss = "a test synset") {
  return FakeSynset{std::move(key), std::move(lemmas), std::move(hypernyms), std::move(instance_of), std::move(gloss)};
}

// entity <- food <- beverage <- coffee <- espresso;  beverage <- alcohol <- wine;
// entity <- artifact <- vessel <- mug;  artifact <- structure <- tower <-@i eiffel_tower;
// cafe: two hypernyms (coffee_mug and structure), so artifact is 3 edges away one way and 2 the other.
inline std::vector<FakeSynset> small_noun_tree() {
  return {
      fake("entity", {}, {}, {}, "that which is perceived or known"),
      fake("food", {"food", "nutrient"}, {"entity"}),
      fake("beverage", {"beverage", "drink"}, {"food"}),
      fake("coffee", {"coffee", "java"}, {"beverage"}),
      fake("espresso", {}, {"coffee"}, {}, "strong black coffee; \"an espresso, please\""),
      fake("alcohol", {}, {"beverage"}),
      fake("wine", {"wine", "vino"}, {"alcohol"}),
      fake("artifact", {}, {"entity"}),
      fake("vessel", {}, {"artifact"}),
      fake("coffee_mug", {"coffee_mug"}, {"vessel"}),
      fake("structure", {}, {"artifact"}),
      fake("tower", {}, {"structure"}),
      fake("eiffel_tower", {"Eiffel_Tower"}, {}, {"tower"}),
      fake("cafe", {"cafe", "coffee"}, {"coffee_mug", "structure"}),
  };
}

}  // namespace photoatlas::testing
