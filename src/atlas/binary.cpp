#include "atlas/binary.h"

#include <algorithm>
#include <bit>
#include <fstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace photoatlas::atlas {

static_assert(std::endian::native == std::endian::little,
              "atlas binary files are little-endian; add a byte swap for this platform");

namespace {

template <typename T>
void write_array(const fs::path& file, const std::vector<T>& values) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace

nlohmann::json write_float32_array(const fs::path& atlas_dir, const std::string& relative_file,
                                   const std::vector<float>& values) {
  write_array(atlas_dir / relative_file, values);
  return {{"file", relative_file}, {"dtype", "float32"}, {"count", values.size()}};
}

nlohmann::json write_label_array(const fs::path& atlas_dir, const std::string& relative_stem,
                                 const std::vector<int>& labels) {
  int top = 0;
  for (int v : labels) {
    if (v < 0) throw std::invalid_argument("negative label in " + relative_stem);
    top = std::max(top, v);
  }
  if (top <= 0xFFFF) {
    std::vector<std::uint16_t> narrow(labels.begin(), labels.end());
    const std::string file = relative_stem + ".u16";
    write_array(atlas_dir / file, narrow);
    return {{"file", file}, {"dtype", "uint16"}, {"count", labels.size()}};
  }
  std::vector<std::uint32_t> wide(labels.begin(), labels.end());
  const std::string file = relative_stem + ".u32";
  write_array(atlas_dir / file, wide);
  return {{"file", file}, {"dtype", "uint32"}, {"count", labels.size()}};
}

std::string layout_file_stem(std::size_t layout_index, const std::string& layout_id) {
  std::string stem = "layout" + std::to_string(layout_index) + "-";
  for (char c : layout_id.substr(0, 40)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    stem += ok ? c : '_';
  }
  return stem;
}

nlohmann::json write_layout_arrays(const fs::path& atlas_dir, std::size_t layout_index, const std::string& layout_id,
                                   const FloatMatrix& xy, const std::vector<int>& cluster) {
  if (xy.cols != 2 || cluster.size() != xy.rows)
    throw std::invalid_argument("layout " + layout_id + ": xy must be images x 2 with one label per image");
  const std::string stem = "data/" + layout_file_stem(layout_index, layout_id);
  std::vector<float> x(xy.rows), y(xy.rows);
  for (std::size_t i = 0; i < xy.rows; ++i) {
    x[i] = xy.at(i, 0);
    y[i] = xy.at(i, 1);
  }
  return {{"x", write_float32_array(atlas_dir, stem + ".x.f32", x)},
          {"y", write_float32_array(atlas_dir, stem + ".y.f32", y)},
          {"cluster", write_label_array(atlas_dir, stem + ".cluster", cluster)}};
}

}  // namespace photoatlas::atlas
