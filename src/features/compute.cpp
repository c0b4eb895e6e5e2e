#include "features/compute.h"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "core/parallel.h"
#include "ingest/source.h"

namespace photoatlas::features {

namespace {

ImageProducts products_of(const ingest::DecodedImage& decoded, int thumbnail_size) {
  ImageProducts products;
  products.info.width = decoded.original_width;
  products.info.height = decoded.original_height;
  products.info.taken_at = decoded.taken_at;
  products.info.camera = decoded.camera;
  products.info.latitude = decoded.latitude;
  products.info.longitude = decoded.longitude;
  products.thumbnail_jpeg = ingest::encode_jpeg(ingest::resize_to_fit(decoded.image, thumbnail_size));
  return products;
}

}  // namespace

ComputedFeatures compute_features(const Collection& collection, const std::vector<const Extractor*>& extractors,
                                  const ComputeOptions& options, const ImageHook& on_image,
                                  const ProgressCallback& progress) {
  ingest::DecodeOptions decode = options.decode;
  decode.min_short_side = std::max(decode.min_short_side, options.thumbnail_size);
  for (const Extractor* extractor : extractors)
    decode.min_short_side = std::max(decode.min_short_side, extractor->min_input_side());

  const std::size_t n = collection.images.size();
  // Features are written straight into full-size buffers; rows of failed images are dropped at the end.
  std::vector<std::vector<float>> buffers(extractors.size());
  for (std::size_t e = 0; e < extractors.size(); ++e) buffers[e].assign(n * extractors[e]->dims(), 0.0f);
  std::vector<std::string> errors(n);
  std::vector<ImageInfo> infos(n);

  std::atomic<std::size_t> done{0}, decoded_count{0};
  std::mutex progress_mutex;
  ImageCache* cache = options.cache;
  parallel_for_dynamic(n, options.num_threads, [&](std::size_t i) {
    const ImageRecord& record = collection.images[i];
    try {
      auto row = [&](std::size_t e) {
        const std::size_t dims = extractors[e]->dims();
        return std::span<float>(buffers[e].data() + i * dims, dims);
      };
      std::optional<ImageProducts> products;
      std::vector<bool> have(extractors.size(), false);
      bool complete = false;
      if (cache) {
        products = cache->load_products(record.content_hash, options.thumbnail_size);
        complete = products.has_value();
        for (std::size_t e = 0; e < extractors.size(); ++e) {
          have[e] = cache->load_features(record.content_hash, *extractors[e], row(e));
          complete = complete && have[e];
        }
      }
      if (!complete) {
        const ingest::DecodedImage image = ingest::decode_record(record, decode);
        ++decoded_count;
        if (!products) {
          products = products_of(image, options.thumbnail_size);
          if (cache) cache->save_products(record.content_hash, options.thumbnail_size, *products);
        }
        for (std::size_t e = 0; e < extractors.size(); ++e) {
          if (have[e]) continue;
          extractors[e]->extract(image.image, row(e));
          if (cache) cache->save_features(record.content_hash, *extractors[e], row(e));
        }
      }
      infos[i] = products->info;
      if (on_image) on_image(i, *products);
    } catch (const std::exception& e) {
      errors[i] = e.what();
      if (errors[i].empty()) errors[i] = "unknown error";
    }
    const std::size_t now = ++done;
    std::lock_guard lock(progress_mutex);
    report(progress, now, n);
  });
  if (cache) cache->flush();

  ComputedFeatures out;
  out.decoded = decoded_count.load();
  for (std::size_t i = 0; i < n; ++i) {
    if (errors[i].empty()) {
      out.image_index.push_back(i);
      out.info.push_back(std::move(infos[i]));
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
