// The image pass: decodes every image of a collection once, makes its thumbnail and runs every
// extractor on it — or takes all of that from a cache, so a re-run decodes only new photos.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/collection.h"
#include "core/features.h"
#include "core/progress.h"
#include "features/extractor.h"
#include "ingest/decode.h"

namespace photoatlas::features {

// What decoding learns about an image, beyond its features.
struct ImageInfo {
  int width = 0;   // original size after EXIF orientation
  int height = 0;
  std::optional<std::int64_t> taken_at;  // EXIF date
  std::string camera;
  std::optional<double> latitude;
  std::optional<double> longitude;
};

// Everything the image pass makes of one image, apart from features.
struct ImageProducts {
  ImageInfo info;
  std::string thumbnail_jpeg;  // longest side ComputeOptions::thumbnail_size
};

// A store of earlier results keyed by content hash (implemented over SQLite in src/store).
// Implementations must be safe to call from several threads at once.
class ImageCache {
 public:
  virtual ~ImageCache() = default;
  virtual std::optional<ImageProducts> load_products(std::uint64_t hash, int thumbnail_size) = 0;
  // Fills `out` (dims floats) and returns true when cached under this extractor id.
  virtual bool load_features(std::uint64_t hash, const Extractor& extractor, std::span<float> out) = 0;
  virtual void save_products(std::uint64_t hash, int thumbnail_size, const ImageProducts& products) = 0;
  virtual void save_features(std::uint64_t hash, const Extractor& extractor, std::span<const float> values) = 0;
  // Makes everything saved so far durable.
  virtual void flush() = 0;
};

struct ComputeOptions {
  // Decode settings; min_short_side is raised to what the extractors and thumbnails need.
  ingest::DecodeOptions decode;
  int thumbnail_size = 256;      // longest side of the thumbnail JPEG made for each image
  int num_threads = 0;           // images decoded in parallel; 0 = all cores
  ImageCache* cache = nullptr;   // optional: reuse and record results by content hash
};

struct ComputedFeatures {
  // One matrix per extractor, in the order given; row r belongs to collection.images[image_index[r]].
  std::vector<FeatureMatrix> matrices;
  std::vector<std::size_t> image_index;
  std::vector<ImageInfo> info;   // per row
  // Images that could not be decoded or whose features could not be computed.
  std::vector<Failure> failures;
  std::size_t decoded = 0;       // images decoded in this pass (the rest came from the cache)
};

// Called once for each usable image with its products, from a worker thread (possibly
// concurrently, never twice for one index): the caller writes the thumbnail where it belongs.
// An exception thrown here turns that image into a failure.
using ImageHook = std::function<void(std::size_t image_index, const ImageProducts&)>;

ComputedFeatures compute_features(const Collection& collection, const std::vector<const Extractor*>& extractors,
                                  const ComputeOptions& options, const ImageHook& on_image = {},
                                  const ProgressCallback& progress = {});

}  // namespace photoatlas::features
