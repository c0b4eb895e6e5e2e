#include "app/shared_options.h"

namespace photoatlas::app {

namespace {

std::string check_k(const std::string& value) {
  if (value == "auto") return "";
  try {
    const int k = std::stoi(value);
    if (k >= 1 && k <= 1000 && std::to_string(k) == value) return "";
  } catch (...) {
  }
  return "-k takes a number from 1 to 1000 or 'auto', not '" + value + "'";
}

}  // namespace

void add_feature_options(CLI::App& app, pipeline::RunOptions& options, ObjectFlags& objects) {
  const pipeline::RunOptions defaults;
  app.add_option("--raw-size", options.raw_size, "Raw-pixel features: photos resized to N x N x 3")
      ->default_val(defaults.raw_size)
      ->check(CLI::Range(4, 1024));
  app.add_option("--model", options.cnn_model,
                 "CNN for the second map: inception_v3, mobilenet_v2 (from the nsfwjs package), a model from "
                 "`photoatlas models list`, an .onnx file, or none")
      ->default_val(defaults.cnn_model);
  app.add_option("--layer", options.cnn_layer,
                 "CNN layer whose (pooled) output is the feature vector; several joined by '+' are fused "
                 "(default for inception_v3: mixed6+mixed7, quad, sqrt-l2)");
  app.add_flag("--l2", options.cnn_l2, "L2-normalise the CNN feature vectors");
  app.add_option("--normalize", options.cnn_normalization,
                 "CNN vectors: none, l2 or sqrt-l2 (signed square root, then L2; the default features' own)")
      ->check(CLI::IsMember({"none", "l2", "sqrt-l2"}));
  app.add_option("--pooling", options.cnn_pooling,
                 "CNN layers: gap (global average) or quad (average of each quadrant, 4x the dimensions; the "
                 "default features' own)")
      ->check(CLI::IsMember({"gap", "quad"}));
  app.add_option("--input-range", options.cnn_input_range,
                 "Pixels fed to the CNN: 01 (bytes / 255, as nsfwjs) or pm1 (bytes / 127.5 - 1, as Keras' ImageNet "
                 "training; default: the default features' own)")
      ->check(CLI::IsMember({"01", "pm1"}));
  app.add_flag("--objects", objects.on,
               "COCO object tags from the CenterNet detector; an error when its model files are missing "
               "(default: on when they are installed)");
  app.add_flag("--no-objects", objects.off, "No object tags")->excludes("--objects");
}

void add_map_options(CLI::App& app, pipeline::RunOptions& options, std::string& k_text) {
  const pipeline::RunOptions defaults;
  k_text = "10";
  app.add_option("-k,--clusters", k_text, "Number of clusters, or 'auto' to choose it by silhouette")
      ->default_val("10")
      ->check(check_k);
  app.add_option("--clusterer", options.clusterer,
                 "spectral (K-Means on the eigenvectors of the features' 10-neighbour graph, -k), kmeans "
                 "(on the features, -k) or hdbscan (density-based groups on each 2-D map; photos in none "
                 "are 'Unclustered')")
      ->default_val(defaults.clusterer)
      ->check(CLI::IsMember({"spectral", "kmeans", "hdbscan"}));
  app.add_option("--min-cluster-size", options.hdbscan_min_cluster_size, "Smallest HDBSCAN cluster")
      ->default_val(defaults.hdbscan_min_cluster_size)
      ->check(CLI::Range(2, 1000000));
  app.add_option("--perplexity", options.perplexity, "t-SNE perplexity")
      ->default_val(defaults.perplexity)
      ->check(CLI::Range(1.0, 500.0));
  app.add_option("--iterations", options.tsne_iterations, "t-SNE iterations")
      ->default_val(defaults.tsne_iterations)
      ->check(CLI::Range(50, 100000));
  app.add_option("--pca", options.pca_components, "PCA dimensions before t-SNE and K-Means")
      ->default_val(defaults.pca_components)
      ->check(CLI::Range(2, 4096));
  app.add_option("--seed", options.seed, "Seed for every random choice")->default_val(defaults.seed);
  app.add_option("--threads", options.num_threads, "Worker threads (0 = all cores)")
      ->default_val(0)
      ->check(CLI::Range(0, 1024));
  app.add_option("--title", options.title, "Title shown in the atlas")->default_val(defaults.title);
  app.add_flag("--keep-layout", options.keep_layout,
               "Keep the map of the atlas already in OUT: its photos stay put, new photos are placed among them");
  app.add_option("--ontology", options.ontology,
                 "How an ImageNet classifier's classes are grouped: general, study, or a JSON or YAML file")
      ->default_val(defaults.ontology);
  app.add_option("--object-threshold", options.object_threshold, "Score an object tag needs")
      ->default_val(defaults.object_threshold)
      ->check(CLI::Range(0.0, 1.0));
}

void apply_map_options(const std::string& k_text, pipeline::RunOptions& options) {
  options.k = k_text == "auto" ? 0 : std::stoi(k_text);
}

void apply_object_flags(const ObjectFlags& objects, pipeline::RunOptions& options) {
  options.objects = !objects.off;
  options.objects_required = objects.on;
}

}  // namespace photoatlas::app
