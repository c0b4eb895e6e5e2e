#include "pipeline/shards.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "features/compute.h"
#include "ingest/discover.h"
#include "pipeline/extractors.h"
#include "store/shard_manifest.h"
#include "store/sqlite_cache.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace photoatlas::pipeline {

namespace {

// The options that decide what a shard holds: merge makes the same extractors from them.
json feature_settings(const RunOptions& options) {
  return {{"raw_size", options.raw_size},       {"thumbnail_size", options.thumbnail_size},
          {"cnn_model", options.cnn_model},     {"cnn_layer", options.cnn_layer},
          {"cnn_l2", options.cnn_l2},           {"cnn_input_size", options.cnn_input_size},
          {"cnn_mean", options.cnn_mean},       {"cnn_std", options.cnn_std},
          {"cnn_normalization", options.cnn_normalization}, {"cnn_pooling", options.cnn_pooling},
          {"cnn_input_range", options.cnn_input_range}, {"objects", options.objects}};
}

void apply_feature_settings(const json& settings, RunOptions& options) {
  options.raw_size = settings.at("raw_size").get<int>();
  options.thumbnail_size = settings.at("thumbnail_size").get<int>();
  options.cnn_model = settings.at("cnn_model").get<std::string>();
  options.cnn_layer = settings.at("cnn_layer").get<std::string>();
  options.cnn_l2 = settings.at("cnn_l2").get<bool>();
  options.cnn_input_size = settings.at("cnn_input_size").get<int>();
  options.cnn_mean = settings.at("cnn_mean").get<std::vector<float>>();
  options.cnn_std = settings.at("cnn_std").get<std::vector<float>>();
  options.cnn_normalization = settings.at("cnn_normalization").get<std::string>();
  options.cnn_pooling = settings.at("cnn_pooling").get<std::string>();
  options.cnn_input_range = settings.value("cnn_input_range", std::string());  // absent in older shards
  options.objects = settings.at("objects").get<bool>();
}

void note(const RunObserver& observer, const std::string& message) {
  if (observer.note) observer.note(message);
}

std::string shard_name(const ShardSpec& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

// The shards read as one cache: each photo's results are in the shard its hash names. Read-only:
// a finished shard is never changed by a merge.
class ShardSetCache final : public features::ImageCache {
 public:
  explicit ShardSetCache(std::vector<std::unique_ptr<store::SqliteCache>> shards) : shards_(std::move(shards)) {}
  std::optional<features::ImageProducts> load_products(std::uint64_t hash, int thumbnail_size) override {
    return shard(hash).load_products(hash, thumbnail_size);
  }
  bool load_features(std::uint64_t hash, const features::Extractor& extractor, std::span<float> out) override {
    return shard(hash).load_features(hash, extractor, out);
  }
  void save_products(std::uint64_t, int, const features::ImageProducts&) override {}
  void save_features(std::uint64_t, const features::Extractor&, std::span<const float>) override {}
  void flush() override {}

 private:
  store::SqliteCache& shard(std::uint64_t hash) { return *shards_[hash % shards_.size()]; }
  std::vector<std::unique_ptr<store::SqliteCache>> shards_;
};

}  // namespace

ShardSpec parse_shard_spec(const std::string& text) {
  const auto slash = text.find('/');
  ShardSpec shard;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("");
    std::size_t used = 0;
    shard.index = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("");
    const std::string count = text.substr(slash + 1);
    shard.count = std::stoi(count, &used);
    if (used != count.size()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw std::invalid_argument("--shard takes i/N (e.g. 0/8), not '" + text + "'");
  }
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
    throw std::invalid_argument("--shard " + text + ": i must be in 0..N-1");
  return shard;
}

bool in_shard(std::uint64_t content_hash, const ShardSpec& shard) {
  // xxHash3 spreads its values evenly, so the remainder alone gives shards of equal size.
  return content_hash % static_cast<std::uint64_t>(shard.count) == static_cast<std::uint64_t>(shard.index);
}

std::string shard_file_name(const ShardSpec& shard) {
  return "shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".sqlite";
}

bool shard_is_complete(const fs::path& shard_file, const ShardSpec& shard) {
  const auto done = store::read_shard_manifest(shard_file);
  return done && done->index == shard.index && done->count == shard.count;
}

ShardSummary compute_shard(const RunOptions& options, const ShardSpec& shard, const fs::path& shard_file,
                           const RunObserver& observer, const Collection* discovered) {
  ShardSummary summary;
  const auto timed = [&](const std::string& stage, auto&& work) {
    if (observer.stage_started) observer.stage_started(stage, 0);
    const auto start = std::chrono::steady_clock::now();
    work();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.timings.push_back({stage, seconds});
    if (observer.stage_finished) observer.stage_finished(stage, seconds);
  };
  const std::string settings = feature_settings(options).dump();

  if (const auto done = store::read_shard_manifest(shard_file)) {
    if (done->index != shard.index || done->count != shard.count)
      throw std::runtime_error(shard_file.string() + " holds shard " + std::to_string(done->index) + "/" +
                               std::to_string(done->count) + ", not " + shard_name(shard));
    if (done->feature_settings != settings)
      throw std::runtime_error(shard_file.string() + " was made with other feature settings (" +
                               done->feature_settings + "); remove it to recompute");
    summary.already_complete = true;
    summary.photos = done->images.size();
    summary.usable = done->images.size();
    summary.failures = done->failures;
    note(observer, "shard " + shard_name(shard) + " is complete in " + shard_file.string() + ": nothing to do");
    return summary;
  }

  Collection all;
  if (discovered) {
    all = *discovered;
  } else {
    timed("discover", [&] {
      ingest::DiscoverOptions discover_options;
      discover_options.num_threads = options.num_threads;
      all = ingest::discover(options.inputs, discover_options);
    });
  }
  if (all.images.empty()) throw NothingUsableError("no image files found in the inputs", all.failures);

  // This shard's photos, and where each sits in the whole collection (the atlas keeps that order).
  Collection mine;
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < all.images.size(); ++i) {
    if (!in_shard(all.images[i].content_hash, shard)) continue;
    mine.images.push_back(all.images[i]);
    positions.push_back(i);
  }
  summary.photos = mine.images.size();

  store::ShardManifest manifest;
  manifest.index = shard.index;
  manifest.count = shard.count;
  manifest.feature_settings = settings;
  manifest.posts = all.posts;
  manifest.videos_skipped = all.videos_skipped;
  // Inputs discovery could not use belong to no shard by hash: shard 0 reports them, once.
  if (shard.index == 0) manifest.failures = all.failures;
  {
    const Extractors made = make_extractors(options, observer);
    store::SqliteCache cache(shard_file);
    features::ComputedFeatures computed;
    timed("decode + features", [&] {
      features::ComputeOptions compute_options;
      compute_options.thumbnail_size = options.thumbnail_size;
      compute_options.num_threads = options.num_threads;
      compute_options.cache = &cache;
      computed = features::compute_features(mine, made.all(), compute_options, {}, [&](std::size_t done, std::size_t total) {
        if (observer.stage_progress) observer.stage_progress("decode + features", done, total);
      });
    });
    summary.decoded = computed.decoded;
    summary.usable = computed.image_index.size();
    for (std::size_t index : computed.image_index) manifest.images.push_back({positions[index], mine.images[index]});
    manifest.failures.insert(manifest.failures.end(), computed.failures.begin(), computed.failures.end());
  }  // the cache is flushed and closed before the manifest marks the shard complete
  store::write_shard_manifest(shard_file, manifest);
  summary.failures = manifest.failures;
  note(observer, "shard " + shard_name(shard) + ": " + std::to_string(summary.decoded) + " of " +
                     std::to_string(summary.photos) + " images decoded, " + std::to_string(summary.usable) +
                     " usable, written to " + shard_file.string());
  return summary;
}

RunOptions with_shard_settings(const RunOptions& options, const store::ShardManifest& manifest) {
  RunOptions out = options;
  apply_feature_settings(json::parse(manifest.feature_settings), out);
  out.cache_file.clear();
  return out;
}

OpenShards open_shards(const std::vector<fs::path>& shard_files, const RunOptions& options) {
  if (shard_files.empty()) throw std::runtime_error("merge needs the shard files");

  std::vector<std::string> problems;
  std::map<int, std::pair<fs::path, store::ShardManifest>> shards;  // by index
  int count = 0;
  for (const fs::path& file : shard_files) {
    std::optional<store::ShardManifest> manifest;
    if (!fs::is_regular_file(file)) {
      problems.push_back(file.string() + ": no such file");
      continue;
    }
    try {
      manifest = store::read_shard_manifest(file);
    } catch (const std::exception& e) {
      problems.push_back(e.what());
      continue;
    }
    if (!manifest) {
      problems.push_back(file.string() + ": incomplete (its `photoatlas features` run has not finished; re-run it)");
      continue;
    }
    if (count == 0) count = manifest->count;
    if (manifest->count != count) {
      problems.push_back(file.string() + ": shard " + std::to_string(manifest->index) + "/" +
                         std::to_string(manifest->count) + " of another split than " + std::to_string(count));
      continue;
    }
    if (shards.count(manifest->index)) {
      problems.push_back(file.string() + ": shard " + std::to_string(manifest->index) + " given twice (also " +
                         shards[manifest->index].first.string() + ")");
      continue;
    }
    shards[manifest->index] = {file, std::move(*manifest)};
  }
  for (int i = 0; count > 0 && i < count; ++i)
    if (!shards.count(i) && problems.empty())
      problems.push_back("shard " + std::to_string(i) + "/" + std::to_string(count) +
                         " is missing (run `photoatlas features --shard " + std::to_string(i) + "/" +
                         std::to_string(count) + "`)");
  if (problems.empty()) {
    for (const auto& [index, entry] : shards)
      if (entry.second.feature_settings != shards.begin()->second.second.feature_settings)
        problems.push_back(entry.first.string() + ": made with other feature settings than " +
                           shards.begin()->second.first.string());
  }
  if (!problems.empty()) {
    std::string message = "cannot merge:";
    for (const auto& p : problems) message += "\n  " + p;
    throw std::runtime_error(message);
  }

  OpenShards open;
  open.options = with_shard_settings(options, shards.begin()->second.second);

  // The photos in the order discovery found them, as `run` has them.
  std::vector<store::ShardImage> images;
  Collection& collection = open.collection;
  for (auto& [index, entry] : shards) {
    auto& manifest = entry.second;
    for (auto& image : manifest.images) images.push_back(std::move(image));
    collection.failures.insert(collection.failures.end(), manifest.failures.begin(), manifest.failures.end());
    collection.posts = manifest.posts;
    collection.videos_skipped = manifest.videos_skipped;
  }
  std::sort(images.begin(), images.end(), [](const auto& a, const auto& b) { return a.position < b.position; });
  for (std::size_t i = 1; i < images.size(); ++i)
    if (images[i].position == images[i - 1].position)
      throw std::runtime_error("cannot merge: the shards were made from different inputs (two photos at position " +
                               std::to_string(images[i].position) + ")");
  for (auto& image : images) {
    open.positions.push_back(image.position);
    collection.images.push_back(std::move(image.record));
  }

  std::vector<std::unique_ptr<store::SqliteCache>> caches;
  for (auto& [index, entry] : shards) caches.push_back(std::make_unique<store::SqliteCache>(entry.first));
  open.cache = std::make_unique<ShardSetCache>(std::move(caches));
  return open;
}

RunSummary merge_shards(const std::vector<fs::path>& shard_files, const RunOptions& options,
                        const RunObserver& observer) {
  check_run_options(options);
  OpenShards open = open_shards(shard_files, options);
  note(observer, "merging " + std::to_string(shard_files.size()) + " shards: " +
                     std::to_string(open.collection.images.size()) + " photos");
  return build_atlas(open.collection, open.cache.get(), open.options, observer);
}

}  // namespace photoatlas::pipeline
