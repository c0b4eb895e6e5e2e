#include "features/compute.h"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "core/parallel.h"
#include "ingest/source.h"

namespace photoatlas::features {

ComputedFeatures compute_features(const Collection& collection, const std::vector<const Extractor*>& extractors,
                                  const ComputeOptions& options, const DecodedImageHook& on_decoded,
                                  const ProgressCallback& progress) {
  ingest::DecodeOptions decode = options.decode;
  for (const Extractor* extractor : extractors)
    decode.min_short_side = std::max(decode.min_short_side, extractor->min_input_side());

  const std::size_t n = collection.images.size();
  // Features are written straight into full-size buffers; rows of failed images are dropped at the end.
  std::vector<std::vector<float>> buffers(extractors.size());
  for (std::size_t e = 0; e < extractors.size(); ++e) buffers[e].assign(n * extractors[e]->dims(), 0.0f);
  std::vector<std::string> errors(n);

  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  parallel_for_dynamic(n, options.num_threads, [&](std::size_t i) {
    const ImageRecord& record = collection.images[i];
    try {
      ingest::DecodedImage decoded = ingest::decode_record(record, decode);
      for (std::size_t e = 0; e < extractors.size(); ++e) {
        const std::size_t dims = extractors[e]->dims();
        extractors[e]->extract(decoded.image, std::span<float>(buffers[e].data() + i * dims, dims));
      }
      if (on_decoded) on_decoded(i, decoded);
    } catch (const std::exception& e) {
      errors[i] = e.what();
      if (errors[i].empty()) errors[i] = "unknown error";
    }
    const std::size_t now = ++done;
    std::lock_guard lock(progress_mutex);
    report(progress, now, n);
  });

  ComputedFeatures out;
  for (std::size_t i = 0; i < n; ++i) {
    if (errors[i].empty()) {
      out.image_index.push_back(i);
    } else {
      out.failures.push_back({collection.images[i].path, errors[i]});
    }
  }
  for (std::size_t e = 0; e < extractors.size(); ++e) {
    const std::size_t dims = extractors[e]->dims();
    // Compact in place (row r <= i), so peak memory stays at one buffer per extractor.
    std::vector<float>& buffer = buffers[e];
    FeatureMatrix matrix;
    matrix.extractor_id = extractors[e]->id();
    for (std::size_t r = 0; r < out.image_index.size(); ++r) {
      const std::size_t i = out.image_index[r];
      if (r != i) std::copy_n(buffer.data() + i * dims, dims, buffer.data() + r * dims);
      matrix.ids.push_back(collection.images[i].id);
    }
    buffer.resize(out.image_index.size() * dims);
    matrix.values.rows = out.image_index.size();
    matrix.values.cols = dims;
    matrix.values.values = std::move(buffer);
    out.matrices.push_back(std::move(matrix));
  }
  return out;
}

}  // namespace photoatlas::features
