#include "label/imagenet.h"

#include <fstream>
#include <stdexcept>

#include "label/wordnet.h"

namespace photoatlas::label {

std::vector<ImageNetClass> load_imagenet_classes(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read ImageNet class list " + file.string());
  std::vector<ImageNetClass> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find(' ');
    const std::string wnid = line.substr(0, space);
    const std::string name = space == std::string::npos ? std::string() : line.substr(space + 1);
    if (!parse_wnid(wnid) || name.empty()) {
      throw std::runtime_error(file.string() + ":" + std::to_string(number) + ": expected \"nXXXXXXXX name\"");
    }
    out.push_back({wnid, name});
  }
  return out;
}

}  // namespace photoatlas::label
