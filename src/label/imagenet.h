// The 1000 ImageNet-1k classes, as shipped in data/imagenet_classes.txt: what a 1000-way
// classifier's output index means.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace photoatlas::label {

struct ImageNetClass {
  std::string wnid;  // WordNet 3.0 noun synset, "n07920052"
  std::string name;  // short name, "espresso" ('_' for spaces; not unique: two "crane"s, two "maillot"s)
};

// Reads "wnid name" lines in class-index order ('#' lines and blank lines skipped). Throws
// std::runtime_error when the file cannot be read or a line is not "nXXXXXXXX name".
std::vector<ImageNetClass> load_imagenet_classes(const std::filesystem::path& file);

}  // namespace photoatlas::label
