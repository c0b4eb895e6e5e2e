// Compact binary arrays for data/atlas.json version 2: a layout's x / y as float32 and its cluster
// labels as uint16 (uint32 when there are 65536 clusters or more), each a raw little-endian file
// under data/, referenced from the JSON as {"file", "dtype", "count"} (docs/atlas-format.md).
// 1M points load as 12 MB of typed arrays instead of ~40 MB of JSON numbers to parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/matrix.h"

namespace photoatlas::atlas {

// Writes `values` to atlas_dir/<relative_file> and returns its reference {"file", "dtype": "float32", "count"}.
nlohmann::json write_float32_array(const std::filesystem::path& atlas_dir, const std::string& relative_file,
                                   const std::vector<float>& values);

// Labels (all >= 0) as uint16 when every value fits, else uint32. Returns the reference; the file
// name gets the suffix ".u16" or ".u32" appended to `relative_stem`.
nlohmann::json write_label_array(const std::filesystem::path& atlas_dir, const std::string& relative_stem,
                                 const std::vector<int>& labels);

// A file stem safe in a URL and on every file system, from a layout id: [A-Za-z0-9_-] kept, the
// rest replaced by '_', prefixed with the layout's position so two ids never collide.
std::string layout_file_stem(std::size_t layout_index, const std::string& layout_id);

// The "x", "y" and "cluster" members of a version-2 layout: writes data/<stem>.x.f32,
// data/<stem>.y.f32 and data/<stem>.cluster.u16 (or .u32). `xy` is images x 2, already normalised.
nlohmann::json write_layout_arrays(const std::filesystem::path& atlas_dir, std::size_t layout_index,
                                   const std::string& layout_id, const FloatMatrix& xy, const std::vector<int>& cluster);

}  // namespace photoatlas::atlas
