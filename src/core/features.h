// Feature vectors for a set of images, as produced by one extractor.
#pragma once

#include <string>
#include <vector>

#include "core/matrix.h"

namespace photoatlas {

struct FeatureMatrix {
  std::string extractor_id;      // e.g. "raw150" or "inception_v3/mixed5"
  std::vector<std::string> ids;  // ImageRecord::id per row
  FloatMatrix values;            // ids.size() x dims
};

}  // namespace photoatlas
