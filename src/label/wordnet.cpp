#include "label/wordnet.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <stdexcept>
#include <unordered_set>

namespace photoatlas::label {
namespace {

// Splits the part of a data.noun line before the gloss into whitespace-separated tokens.
std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string lower_underscored(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Parses one data.noun line (format in wndb(5WN)):
//   offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] | gloss
// with w_cnt two hex digits, p_cnt three decimal digits and each pointer
//   pointer_symbol synset_offset pos source/target.
// Returns nullopt when the line does not start with `offset` and ss_type 'n' (then no synset
// starts at that offset); throws when it does but the rest is malformed.
std::optional<Synset> parse_line(std::string_view line, std::uint32_t offset) {
  const std::size_t bar = line.find(" | ");
  const std::vector<std::string_view> t = tokens(line.substr(0, bar));
  std::uint32_t first = 0;
  if (t.size() < 4 || t[0].size() != 8 || !parse_number(t[0], first) || first != offset || t[2] != "n") {
    return std::nullopt;
  }
  const auto malformed = [&](const char* what) {
    return std::runtime_error("WordNet data.noun: malformed synset " + format_wnid(offset) + " (" + what + ")");
  };
  Synset s;
  s.offset = offset;
  unsigned words = 0;
  if (!parse_number(t[3], words, 16) || words == 0) throw malformed("word count");
  std::size_t i = 4;
  if (t.size() < i + 2 * words + 1) throw malformed("words");
  for (unsigned w = 0; w < words; ++w, i += 2) s.lemmas.emplace_back(t[i]);
  unsigned pointers = 0;
  if (!parse_number(t[i], pointers)) throw malformed("pointer count");
  ++i;
  if (t.size() < i + 4 * std::size_t{pointers}) throw malformed("pointers");
  for (unsigned p = 0; p < pointers; ++p, i += 4) {
    if ((t[i] == "@" || t[i] == "@i") && t[i + 2] == "n") {
      std::uint32_t target = 0;
      if (!parse_number(t[i + 1], target)) throw malformed("pointer offset");
      s.hypernyms.push_back(target);
    }
  }
  if (bar != std::string_view::npos) {
    std::string_view gloss = line.substr(bar + 3);
    while (!gloss.empty() && (gloss.back() == ' ' || gloss.back() == '\r')) gloss.remove_suffix(1);
    s.gloss = std::string(gloss);
  }
  return s;
}

}  // namespace

std::optional<std::uint32_t> parse_wnid(std::string_view wnid) {
  if (wnid.size() != 9 || wnid[0] != 'n') return std::nullopt;
  std::uint32_t v = 0;
  if (!std::all_of(wnid.begin() + 1, wnid.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  if (!parse_number(wnid.substr(1), v)) return std::nullopt;
  return v;
}

std::string format_wnid(std::uint32_t offset) {
  std::string digits = std::to_string(offset);
  if (digits.size() < 8) digits.insert(0, 8 - digits.size(), '0');
  return "n" + digits;
}

std::optional<std::filesystem::path> find_wordnet_dir() {
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("WNSEARCHDIR"); env && *env) candidates.emplace_back(env);
  // Debian/Ubuntu's wordnet-base, the layout of WordNet's own tarball, and Homebrew-style prefixes.
  for (const char* p : {"/usr/share/wordnet", "/usr/share/wordnet/dict", "/usr/local/WordNet-3.0/dict",
                        "/usr/local/share/wordnet", "/opt/homebrew/share/wordnet"}) {
    candidates.emplace_back(p);
  }
  std::error_code ec;
  for (const auto& dir : candidates) {
    if (std::filesystem::is_regular_file(dir / "data.noun", ec)) return dir;
  }
  return std::nullopt;
}

WordNet::WordNet(const std::filesystem::path& dir) : dir_(dir) {
  const auto file = dir / "data.noun";
  data_.open(file, std::ios::binary);
  if (!data_) throw std::runtime_error("cannot open WordNet file " + file.string());
  data_.seekg(0, std::ios::end);
  data_size_ = static_cast<std::uint64_t>(data_.tellg());
}

std::shared_ptr<const WordNet> WordNet::open_default() {
  const auto dir = find_wordnet_dir();
  if (!dir) {
    throw std::runtime_error(
        "WordNet 3.0 not found (looked in $WNSEARCHDIR and /usr/share/wordnet); install Debian's wordnet-base");
  }
  return std::make_shared<const WordNet>(*dir);
}

const Synset* WordNet::load_locked(std::uint32_t offset) const {
  if (const auto it = cache_.find(offset); it != cache_.end()) return it->second.get();
  std::unique_ptr<Synset> parsed;
  if (offset < data_size_) {
    data_.clear();
    data_.seekg(offset);
    std::string line;
    if (std::getline(data_, line)) {
      if (auto s = parse_line(line, offset)) parsed = std::make_unique<Synset>(std::move(*s));
    }
  }
  const Synset* out = parsed.get();
  cache_.emplace(offset, std::move(parsed));
  return out;
}

const Synset* WordNet::synset(std::uint32_t offset) const {
  std::lock_guard lock(mutex_);
  return load_locked(offset);
}

const Synset* WordNet::synset(std::string_view wnid) const {
  const auto offset = parse_wnid(wnid);
  return offset ? synset(*offset) : nullptr;
}

std::optional<std::string> WordNet::lemma(std::string_view wnid) const {
  const Synset* s = synset(wnid);
  if (!s) return std::nullopt;
  std::string out = s->lemmas.front();
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::vector<std::string> WordNet::hypernym_path(std::string_view wnid) const {
  std::vector<std::string> out;
  const Synset* s = synset(wnid);
  std::unordered_set<std::uint32_t> seen;  // a corrupt file with a cycle must not loop forever
  while (s && seen.insert(s->offset).second) {
    out.push_back(format_wnid(s->offset));
    s = s->hypernyms.empty() ? nullptr : synset(s->hypernyms.front());
  }
  return out;
}

std::vector<Ancestor> WordNet::ancestors(std::uint32_t offset) const {
  std::lock_guard lock(mutex_);
  std::vector<Ancestor> out;
  if (!load_locked(offset)) return out;
  std::unordered_set<std::uint32_t> seen{offset};
  out.push_back({offset, 0});
  // `out` doubles as the BFS queue: entries are appended in order of distance.
  for (std::size_t head = 0; head < out.size(); ++head) {
    const Ancestor current = out[head];
    const Synset* s = load_locked(current.offset);
    if (!s) continue;  // a pointer to nowhere: keep the synset, stop the walk there
    for (std::uint32_t h : s->hypernyms) {
      if (seen.insert(h).second) out.push_back({h, current.distance + 1});
    }
  }
  // Drop pointers that led nowhere, so every returned offset is a synset.
  std::erase_if(out, [&](const Ancestor& a) { return load_locked(a.offset) == nullptr; });
  return out;
}

void WordNet::load_index_locked() const {
  if (index_loaded_) return;
  index_loaded_ = true;
  const auto file = dir_ / "index.noun";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open WordNet file " + file.string() + " (needed for lemma.n.NN names)");
  // index.noun: lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
  // The offsets are the last synset_cnt tokens, in sense order. Licence lines start with spaces.
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ') continue;
    const auto t = tokens(line);
    unsigned count = 0;
    if (t.size() < 4 || !parse_number(t[2], count) || count == 0 || t.size() < count + 4) continue;
    std::vector<std::uint32_t> offsets;
    for (std::size_t i = t.size() - count; i < t.size(); ++i) {
      std::uint32_t o = 0;
      if (parse_number(t[i], o)) offsets.push_back(o);
    }
    index_.emplace(std::string(t[0]), std::move(offsets));
  }
}

std::optional<std::uint32_t> WordNet::resolve(std::string_view name) const {
  if (const auto offset = parse_wnid(name)) {
    return synset(*offset) ? offset : std::nullopt;
  }
  // lemma.n.NN
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot < 3 || name.substr(dot - 2, 3) != ".n.") return std::nullopt;
  unsigned sense = 0;
  if (!parse_number(name.substr(dot + 1), sense) || sense == 0) return std::nullopt;
  const std::string key = lower_underscored(name.substr(0, dot - 2));
  std::lock_guard lock(mutex_);
  load_index_locked();
  const auto it = index_.find(key);
  if (it == index_.end() || sense > it->second.size()) return std::nullopt;
  const std::uint32_t offset = it->second[sense - 1];
  return load_locked(offset) ? std::optional(offset) : std::nullopt;
}

}  // namespace photoatlas::label
