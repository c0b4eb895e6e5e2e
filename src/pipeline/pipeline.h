// The whole run, wired from the stages: ingest → features → embed → cluster → atlas.
// Holds no algorithm of its own; the CLI is a thin layer over this.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/collection.h"
#include "core/features.h"

namespace photoatlas::features {
class ImageCache;
}

namespace photoatlas::pipeline {

struct RunOptions {
  std::vector<std::filesystem::path> inputs;  // files and folders
  std::filesystem::path output;               // atlas folder (replaced atomically)
  int raw_size = 150;                         // raw-pixel features: raw_size x raw_size x 3 (the study)
  int pca_components = 50;                    // PCA before t-SNE and K-Means (the study)
  double perplexity = 30.0;                   // t-SNE perplexity (the study)
  int tsne_iterations = 1000;
  int k = 10;                                 // K-Means clusters (the study); 0 = choose by silhouette
  int k_auto_min = 2;                         // range searched when k = 0
  int k_auto_max = 30;
  int kmeans_restarts = 10;
  // "spectral" (K-Means on the leading eigenvectors of the PCA-reduced features' 10-nearest-neighbour
  // graph, k above: cluster/spectral.h), "kmeans" (on the PCA-reduced features, as the study) or
  // "hdbscan" (density-based, on each 2-D map, as PixPlot does; points in no dense group form one
  // extra "Unclustered" group, listed last). Spectral is the default: K-Means NMI against the
  // labels, CNN map / raw map, intel_scenes 0.50 -> 0.57 / 0.15 -> 0.17, imagenet_sample (13
  // groups) 0.20 -> 0.22 / 0.05 -> 0.06, MNIST digits (raw, PCA-50) 0.50 -> 0.75
  // (bench/results/cnn_quality.md).
  std::string clusterer = "spectral";
  int hdbscan_min_cluster_size = 15;          // smallest HDBSCAN cluster
  int thumbnail_size = 256;                   // longest side of the viewer's thumbnails
  int similar_k = 12;                         // "similar images" listed per photo
  // Keep the map of the atlas already in `output`: photos it shows stay where they are, new ones
  // are placed among them (t-SNE transform), deleted ones leave. Without a previous atlas: a new map.
  bool keep_layout = false;
  // When the CNN is an ImageNet classifier: how its classes are grouped into categories, a built-in
  // ontology ("general", "study") or a JSON or YAML file (docs in data/ontologies/README.md).
  std::string ontology = "general";
  std::uint64_t seed = 0;                     // every random choice derives from it
  int num_threads = 0;                        // 0 = all cores
  std::filesystem::path viewer_dir;           // built viewer to copy; empty = data files only
  std::filesystem::path cache_file;           // SQLite result cache; empty = no cache
  // CNN features for the second map: an nsfwjs model ("inception_v3", "mobilenet_v2"), an ONNX preset
  // or registered name (features/model_registry.h), a path to a .onnx file, or "none".
  std::string cnn_model = "inception_v3";
  std::string cnn_layer;                      // empty = the model's default; "a+b" fuses layers (features/cnn_extractor.h)
  bool cnn_l2 = false;                        // L2-normalise CNN vectors (= cnn_normalization "l2")
  std::string cnn_normalization;              // "none", "l2", "sqrt-l2"; empty = the default features' own
  std::string cnn_pooling;                    // "gap", "quad"; empty = the default features' own
  std::string cnn_input_range;                // "01", "pm1"; empty = the default features' own
  std::filesystem::path nsfwjs_dir;           // the installed nsfwjs package (models/nsfwjs/node_modules/nsfwjs)
  int cnn_input_size = 0;                     // ONNX models: input side; 0 = the preset's / the model's
  std::vector<float> cnn_mean, cnn_std;       // ONNX models: 3 values each to override the normalisation
  std::filesystem::path models_dir;           // `photoatlas models` folder; empty = the default
  // COCO object tags from the CenterNet detector (models/human-models): on by default, skipped with a
  // note when the model files are absent unless `objects_required` (the user asked for them).
  bool objects = true;
  bool objects_required = false;
  float object_threshold = 0.3f;              // a tag needs a detection scoring at least this
  std::filesystem::path object_model_dir;     // folder with centernet.json + .bin
  std::string object_ontology = "coco";       // COCO labels -> categories when no ImageNet classifier ran
  std::string title = "photoatlas";
};

struct StageTiming {
  std::string stage;
  double seconds = 0.0;
};

struct RunSummary {
  std::size_t images = 0;            // images in the atlas
  std::size_t decoded = 0;           // images decoded in this run (the rest came from the cache)
  std::vector<Failure> failures;     // inputs left out, with reasons
  std::vector<StageTiming> timings;  // in run order
  std::filesystem::path output;
};

// How the run tells the outside world what it is doing. All members optional.
struct RunObserver {
  std::function<void(const std::string& stage, std::size_t total)> stage_started;
  std::function<void(const std::string& stage, std::size_t done, std::size_t total)> stage_progress;
  std::function<void(const std::string& stage, double seconds)> stage_finished;
  std::function<void(const std::string& message)> note;  // e.g. "PCA kept 41% of the variance"
};

// Thrown when no input yields a usable image (the caller exits non-zero); failures are kept.
class NothingUsableError : public std::runtime_error {
 public:
  NothingUsableError(const std::string& what, std::vector<Failure> failures)
      : std::runtime_error(what), failures(std::move(failures)) {}
  std::vector<Failure> failures;
};

// discover(options.inputs) → build_atlas.
RunSummary run(const RunOptions& options, const RunObserver& observer = {});

// Throws std::runtime_error for what would fail only after the work (an unbuilt viewer).
void check_run_options(const RunOptions& options);

// Features reduced before build_atlas, by the distributed PCA of an MPI run (pipeline/mpi_pca.h):
// one matrix per extractor of the run, in order (raw, cnn, classifier), one row per photo of the
// collection; each a PCA projection except the classifier's probabilities, which are kept whole.
struct ReducedFeatures {
  std::vector<FeatureMatrix> matrices;
  std::vector<double> variance_kept;  // per matrix: fraction of the variance its projection kept (-1: not reduced)
};

// Everything after discovery: decode + features of `collection` (taken from `cache` where it has
// them; null = compute all), the maps, clusters, and the atlas in options.output. `summary` holds
// what came before (timings) and is completed. `merge` of shards calls this with a cache over the shards.
// With `reduced`, the cache must hold every photo's thumbnail and metadata; features come from `reduced`.
RunSummary build_atlas(const Collection& collection, features::ImageCache* cache, const RunOptions& options,
                       const RunObserver& observer = {}, RunSummary summary = {},
                       const ReducedFeatures* reduced = nullptr);

}  // namespace photoatlas::pipeline
