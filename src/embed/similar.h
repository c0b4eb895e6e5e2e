// "Similar images": each image's nearest neighbours by cosine similarity of its feature vector.
#pragma once

#include <cstdint>
#include <vector>

#include "core/matrix.h"
#include "core/progress.h"

namespace photoatlas::embed {

struct SimilarOptions {
  int k = 12;            // neighbours per image (fewer when the collection is smaller)
  int num_threads = 0;   // 0 = all cores
};

// Row i holds the indices of the k rows most similar to row i (itself excluded), most similar
// first; ties go to the smaller index. Rows with no direction (all zeros) are least similar to all.
// Exact: blocks of rows against all rows with a matrix product, so pass reduced features (PCA-50)
// for large collections. Returns an N x k matrix of indices as std::uint32_t.
std::vector<std::uint32_t> similar_images(const FloatMatrix& features, const SimilarOptions& options,
                                          const ProgressCallback& progress = {});

}  // namespace photoatlas::embed
