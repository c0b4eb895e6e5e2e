// The image pass: decodes every image of a collection once and runs every extractor on it.
#pragma once

#include <functional>
#include <vector>

#include "core/collection.h"
#include "core/features.h"
#include "core/progress.h"
#include "features/extractor.h"
#include "ingest/decode.h"

namespace photoatlas::features {

struct ComputeOptions {
  // Decode settings; min_short_side is raised to what the extractors need.
  ingest::DecodeOptions decode;
  int num_threads = 0;  // images decoded in parallel; 0 = all cores
};

struct ComputedFeatures {
  // One matrix per extractor, in the order given; row r belongs to collection.images[image_index[r]].
  std::vector<FeatureMatrix> matrices;
  std::vector<std::size_t> image_index;
  // Images that could not be decoded or whose features could not be computed.
  std::vector<Failure> failures;
};

// Called once for each image that decoded, from a worker thread (possibly concurrently): lets the
// caller derive more from the pixels (thumbnails, sizes) without decoding twice. An exception thrown
// here turns that image into a failure.
using DecodedImageHook = std::function<void(std::size_t image_index, const ingest::DecodedImage&)>;

ComputedFeatures compute_features(const Collection& collection, const std::vector<const Extractor*>& extractors,
                                  const ComputeOptions& options, const DecodedImageHook& on_decoded = {},
                                  const ProgressCallback& progress = {});

}  // namespace photoatlas::features
