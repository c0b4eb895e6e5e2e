#include "pipeline/pipeline.h"

#include <map>
#include <unordered_map>
#include <fstream>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <sstream>

#include "atlas/staging.h"
#include "atlas/writer.h"
#include "cluster/choose_k.h"
#include "core/csv.h"
#include "cluster/duplicates.h"
#include "cluster/hdbscan.h"
#include "cluster/kmeans.h"
#include "cluster/spectral.h"
#include "embed/pca.h"
#include "embed/similar.h"
#include "embed/tsne.h"
#include "features/cnn_extractor.h"
#include "features/model_registry.h"
#include "features/classes.h"
#include "features/compute.h"
#include "features/onnx_model.h"
#include "features/phash.h"
#include "features/raw_pixels.h"
#include "detect/objects.h"
#include "ingest/discover.h"
#include "label/cluster_names.h"
#include "label/object_categories.h"
#include "label/ontology.h"
#include "label/wordnet.h"
#include "pipeline/extractors.h"
#include "store/sqlite_cache.h"

namespace photoatlas::pipeline {

namespace {

// Times one stage and forwards its progress to the observer.
class StageScope {
 public:
  StageScope(const RunObserver& observer, RunSummary& summary, std::string name, std::size_t total)
      : observer_(observer), summary_(summary), name_(std::move(name)), start_(std::chrono::steady_clock::now()) {
    if (observer_.stage_started) observer_.stage_started(name_, total);
  }
  ~StageScope() {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    summary_.timings.push_back({name_, seconds});
    if (observer_.stage_finished) observer_.stage_finished(name_, seconds);
  }
  ProgressCallback progress() const {
    return [this](std::size_t done, std::size_t total) {
      if (observer_.stage_progress) observer_.stage_progress(name_, done, total);
    };
  }

 private:
  const RunObserver& observer_;
  RunSummary& summary_;
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

std::optional<std::int64_t> file_time(const std::string& path) {
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(path, ec);
  if (ec) return std::nullopt;
  const auto system = std::chrono::file_clock::to_sys(time);
  return std::chrono::duration_cast<std::chrono::seconds>(system.time_since_epoch()).count();
}

void note(const RunObserver& observer, const std::string& message) {
  if (observer.note) observer.note(message);
}

// PCA → t-SNE → K-Means for one feature set, as one map of the atlas.
// Top-5 ImageNet classes of every image from the classifier's probabilities, and each top class's
// category in the chosen ontology (through WordNet). Returns the categories, one per image (empty
// when WordNet or the ontology is unavailable: the classes are still kept).
std::vector<std::string> assign_classes(const FloatMatrix& probabilities, const features::ClassifierExtractor& classifier,
                                        const RunOptions& options, const RunObserver& observer,
                                        atlas::AtlasContent& content) {
  std::optional<label::Ontology> ontology;
  try {
    ontology = label::Ontology::load_named(options.ontology, label::WordNet::open_default());
  } catch (const std::exception& e) {
    note(observer, std::string("warning: no categories: ") + e.what());
  }
  std::vector<std::string> categories;
  for (std::size_t i = 0; i < content.images.size(); ++i) {
    const auto top = features::top_classes(probabilities.row_span(i), classifier.labels(), 5);
    atlas::AtlasImage& image = content.images[i];
    for (const auto& c : top) image.top_classes.emplace_back(c.name, c.probability);
    if (!top.empty()) image.class_name = top.front().name;
    if (ontology && !top.empty()) {
      image.category = ontology->category_of(top.front().wnid);
      categories.push_back(image.category);
    }
  }
  if (!categories.empty()) {
    content.categories = ontology->categories();
    content.categories_source = "imagenet";
  }
  return categories;
}

// Object tags of every image from the detector's rows; when no classifier gave categories, each
// image's category from its object labels in the COCO ontology (approximate). Returns those
// categories (empty when a classifier ran or the ontology is unavailable) and fills `labels` with
// each image's object labels (for naming clusters).
std::vector<std::string> assign_objects(const FloatMatrix& rows, const detect::ObjectExtractor& extractor,
                                        bool classified, const RunOptions& options, const RunObserver& observer,
                                        atlas::AtlasContent& content, std::vector<std::vector<std::string>>& labels) {
  content.objects_model = extractor.id();
  content.objects_threshold = options.object_threshold;
  std::optional<label::LabelOntology> ontology;
  if (!classified) {
    try {
      ontology = label::LabelOntology::load_named(options.object_ontology, detect::coco_labels());
    } catch (const std::exception& e) {
      note(observer, std::string("warning: no categories from object tags: ") + e.what());
    }
  }
  std::vector<std::string> categories;
  std::size_t tagged = 0;
  for (std::size_t i = 0; i < content.images.size(); ++i) {
    const auto tags = detect::object_tags(detect::detections_from_row(rows.row_span(i)), options.object_threshold);
    std::vector<std::string> names;
    for (const auto& tag : tags) {
      content.images[i].objects.push_back({tag.label, tag.count, tag.best_score});
      names.push_back(tag.label);
    }
    tagged += !tags.empty();
    if (ontology) {
      content.images[i].category = ontology->category_of_labels(names);
      categories.push_back(content.images[i].category);
    }
    labels.push_back(std::move(names));
  }
  if (ontology) {
    content.categories = ontology->categories();
    content.categories_source = "objects";
  }
  std::ostringstream message;
  message << "object tags on " << tagged << " of " << content.images.size() << " photos (score >= "
          << options.object_threshold << ")";
  note(observer, message.str());
  return categories;
}

// Where each image (by id) sat in each layout of the previous atlas: layout id -> image id -> (x, y),
// the t-SNE coordinates as points.csv lists them. Empty when there is no readable previous atlas.
using PreviousLayouts = std::map<std::string, std::unordered_map<std::string, std::pair<float, float>>>;

PreviousLayouts read_previous_layouts(const std::filesystem::path& atlas_dir) {
  PreviousLayouts previous;
  std::ifstream in(atlas_dir / "points.csv", std::ios::binary);
  if (!in) return previous;
  std::stringstream text;
  text << in.rdbuf();
  const auto rows = parse_csv(text.str());
  if (rows.empty()) return previous;
  const auto& header = rows[0];
  const auto column = [&](const std::string& name) -> std::ptrdiff_t {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : it - header.begin();
  };
  const std::ptrdiff_t id_column = column("id");
  if (id_column < 0) return previous;
  for (const std::string layout : {"raw", "cnn"}) {
    const std::ptrdiff_t x = column(layout + "_x"), y = column(layout + "_y");
    if (x < 0 || y < 0) continue;
    auto& positions = previous[layout];
    for (std::size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      if (static_cast<std::size_t>(std::max({id_column, x, y})) >= row.size()) continue;
      try {
        positions[row[id_column]] = {std::stof(row[x]), std::stof(row[y])};
      } catch (const std::exception&) {
        // A row someone edited by hand: that photo is placed afresh.
      }
    }
  }
  return previous;
}

// The 2-D map: t-SNE from scratch, or, when `previous` knows where most photos were, those photos
// kept in place and the others placed among them (openTSNE-style transform).
FloatMatrix embed_layout(const FloatMatrix& reduced, const std::vector<std::string>& ids,
                         const std::unordered_map<std::string, std::pair<float, float>>* previous,
                         const RunOptions& options, const RunObserver& observer, RunSummary& summary,
                         const std::string& id) {
  std::vector<std::size_t> kept, added;
  if (previous) {
    for (std::size_t i = 0; i < ids.size(); ++i) (previous->count(ids[i]) ? kept : added).push_back(i);
  }
  // Too few old photos to hold a map (or none at all): lay everything out afresh.
  if (kept.size() < 5) {
    embed::TsneOptions tsne_options;
    tsne_options.perplexity = options.perplexity;
    tsne_options.iterations = options.tsne_iterations;
    tsne_options.seed = options.seed;
    tsne_options.num_threads = options.num_threads;
    StageScope stage(observer, summary, id + ": t-SNE", static_cast<std::size_t>(tsne_options.iterations));
    embed::TsneResult tsne = embed::tsne(reduced, tsne_options, stage.progress());
    std::ostringstream message;
    message.precision(4);
    message << id << ": t-SNE KL divergence " << tsne.kl_divergence;
    note(observer, message.str());
    return std::move(tsne.embedding);
  }
  StageScope stage(observer, summary, id + ": t-SNE (keep layout)", 1);
  FloatMatrix xy(ids.size(), 2);
  FloatMatrix reference(kept.size(), reduced.cols), reference_xy(kept.size(), 2), fresh(added.size(), reduced.cols);
  for (std::size_t r = 0; r < kept.size(); ++r) {
    const auto [x, y] = previous->at(ids[kept[r]]);
    xy.at(kept[r], 0) = reference_xy.at(r, 0) = x;
    xy.at(kept[r], 1) = reference_xy.at(r, 1) = y;
    std::copy_n(reduced.row(kept[r]), reduced.cols, reference.row(r));
  }
  for (std::size_t r = 0; r < added.size(); ++r) std::copy_n(reduced.row(added[r]), reduced.cols, fresh.row(r));
  if (!added.empty()) {
    embed::TsneTransformOptions transform_options;
    transform_options.num_threads = options.num_threads;
    const FloatMatrix placed = embed::tsne_transform(reference, reference_xy, fresh, transform_options);
    for (std::size_t r = 0; r < added.size(); ++r) {
      xy.at(added[r], 0) = placed.at(r, 0);
      xy.at(added[r], 1) = placed.at(r, 1);
    }
  }
  note(observer, id + ": kept the previous map for " + std::to_string(kept.size()) + " photos, placed " +
                     std::to_string(added.size()) + " new ones among them");
  return xy;
}

// `tags` holds each image's hashtags and `categories` each image's category (empty without a
// classifier), for naming clusters. The PCA-reduced features are left in `reduced` for the stages
// that follow (similar images).
atlas::Layout build_layout(const FeatureMatrix& features, const std::string& id, const std::string& name,
                           const std::vector<std::vector<std::string>>& tags,
                           const std::vector<std::string>& categories, const std::vector<std::string>& classes,
                           const std::vector<std::vector<std::string>>& objects,
                           const std::unordered_map<std::string, std::pair<float, float>>* previous,
                           const RunOptions& options, const RunObserver& observer, RunSummary& summary,
                           FloatMatrix& reduced, double variance_kept_before = -1.0) {
  const std::size_t n = features.values.rows;
  {
    StageScope stage(observer, summary, id + ": PCA", 1);
    embed::PcaOptions pca_options;
    pca_options.components = options.pca_components;
    pca_options.seed = options.seed;
    pca_options.num_threads = options.num_threads;
    embed::PcaResult pca = embed::pca(features.values, pca_options, stage.progress());
    double kept = 0;
    for (double v : pca.explained_variance) kept += v;
    std::ostringstream message;
    message.precision(3);
    // Input already reduced (distributed PCA): this PCA only rotates it; the variance kept is the reduction's.
    const double fraction = variance_kept_before >= 0 ? variance_kept_before * (pca.total_variance > 0 ? kept / pca.total_variance : 1.0)
                                                      : (pca.total_variance > 0 ? kept / pca.total_variance : 1.0);
    message << id << ": PCA to " << pca.projected.cols << " dimensions keeps " << 100.0 * fraction
            << "% of the variance" << (variance_kept_before >= 0 ? " (distributed over the ranks)" : "");
    note(observer, message.str());
    reduced = std::move(pca.projected);
  }

  atlas::Layout layout;
  layout.id = id;
  layout.name = name;
  layout.features = features.extractor_id;
  layout.xy = embed_layout(reduced, features.ids, previous, options, observer, summary, id);
  int clusters = 1;
  if (options.clusterer == "hdbscan") {
    cluster::HdbscanOptions hdbscan_options;
    hdbscan_options.min_cluster_size = options.hdbscan_min_cluster_size;
    hdbscan_options.num_threads = options.num_threads;
    StageScope stage(observer, summary, id + ": HDBSCAN", n);
    cluster::HdbscanResult found = cluster::hdbscan(layout.xy, hdbscan_options, stage.progress());
    layout.cluster = std::move(found.labels);
    clusters = found.clusters;
    note(observer, id + ": HDBSCAN found " + std::to_string(found.clusters) + " clusters, " +
                       std::to_string(found.noise) + " photos in none");
  } else {
    int k = options.k;
    if (k <= 0) {
      cluster::ChooseKOptions choose_options;
      choose_options.k_min = options.k_auto_min;
      choose_options.k_max = options.k_auto_max;
      choose_options.seed = options.seed;
      choose_options.num_threads = options.num_threads;
      StageScope stage(observer, summary, id + ": choose k", 0);
      const cluster::ChooseKResult chosen = cluster::choose_k(reduced, choose_options, stage.progress());
      k = std::max(1, chosen.best_k);
      std::ostringstream curve;
      curve.precision(3);
      curve << id << ": k = " << k << " by silhouette (";
      for (std::size_t i = 0; i < chosen.curve.size(); ++i)
        curve << (i ? ", " : "") << chosen.curve[i].k << ":" << chosen.curve[i].silhouette;
      curve << ")";
      note(observer, curve.str());
      for (const auto& score : chosen.curve) layout.k_curve.emplace_back(score.k, score.silhouette);
    }
    if (options.clusterer == "spectral") {
      cluster::SpectralOptions spectral_options;
      spectral_options.k = k;
      spectral_options.restarts = options.kmeans_restarts;
      spectral_options.seed = options.seed;
      spectral_options.num_threads = options.num_threads;
      StageScope stage(observer, summary, id + ": spectral clustering", 3);
      cluster::SpectralResult found = cluster::spectral_clustering(reduced, spectral_options, stage.progress());
      layout.cluster = std::move(found.labels);
      clusters = std::max(1, found.k);
    } else {
      cluster::KMeansOptions kmeans_options;
      kmeans_options.k = k;
      kmeans_options.restarts = options.kmeans_restarts;
      kmeans_options.seed = options.seed;
      kmeans_options.num_threads = options.num_threads;
      StageScope stage(observer, summary, id + ": K-Means", static_cast<std::size_t>(kmeans_options.restarts));
      cluster::Clustering clustering = cluster::kmeans(reduced, kmeans_options, stage.progress());
      layout.cluster = std::move(clustering.labels);
      clusters = std::max(1, clustering.k);
    }
    layout.cluster.resize(n, 0);
  }
  {
    // Names: the members' dominant categories (or classes) when a classifier ran, else their
    // dominant hashtags when captions have them, else their dominant object labels, else a number.
    const auto by_category = categories.empty() ? std::vector<label::ClusterName>{}
                                                : label::name_clusters(layout.cluster, categories, classes);
    const auto by_tags = label::name_clusters_by_tags(layout.cluster, tags);
    const auto by_objects = objects.empty() ? std::vector<label::ClusterName>{}
                                            : label::name_clusters_by_tags(layout.cluster, objects, 0.3, "");
    for (int c = 0; c < clusters; ++c) {
      const auto i = static_cast<std::size_t>(c);
      if (i < by_category.size() && !by_category[i].name.empty() && by_category[i].name != "Mixed" &&
          by_category[i].name != "Misc")
        layout.cluster_names.push_back(by_category[i].name);
      else if (i < by_tags.size() && !by_tags[i].name.empty())
        layout.cluster_names.push_back(by_tags[i].name);
      else if (i < by_objects.size() && !by_objects[i].name.empty())
        layout.cluster_names.push_back(by_objects[i].name);
      else
        layout.cluster_names.push_back("Cluster " + std::to_string(c + 1));
    }
    label::MedoidOptions medoid_options;
    medoid_options.seed = options.seed;
    medoid_options.num_threads = options.num_threads;
    layout.cluster_medoids = label::cluster_medoids(reduced, layout.cluster, medoid_options);
    layout.cluster_medoids.resize(clusters, -1);
    // Density-based noise (-1) becomes one more group, last, so every photo has a legend entry and
    // the viewer's ids stay 0..groups-1. It has no representative photo: it is no motif.
    if (std::find(layout.cluster.begin(), layout.cluster.end(), -1) != layout.cluster.end()) {
      for (int& c : layout.cluster)
        if (c < 0) c = clusters;
      layout.cluster_names.push_back("Unclustered");
      layout.cluster_medoids.push_back(-1);
      layout.unclustered = clusters;
    }
  }
  return layout;
}

}  // namespace

void check_run_options(const RunOptions& options) {
  if (!options.viewer_dir.empty() && !std::filesystem::is_regular_file(options.viewer_dir / "index.html"))
    throw std::runtime_error("the viewer is not built (no index.html in " + options.viewer_dir.string() +
                             "); run scripts/build or pass --viewer-dir");
}

RunSummary run(const RunOptions& options, const RunObserver& observer) {
  RunSummary summary;
  // Fail before any work, not after an hour of it.
  check_run_options(options);

  Collection collection;
  {
    StageScope stage(observer, summary, "discover", 0);
    ingest::DiscoverOptions discover_options;
    discover_options.num_threads = options.num_threads;
    collection = ingest::discover(options.inputs, discover_options, stage.progress());
  }
  std::unique_ptr<store::SqliteCache> cache;
  if (!options.cache_file.empty()) {
    cache = std::make_unique<store::SqliteCache>(options.cache_file);
  }
  return build_atlas(collection, cache.get(), options, observer, std::move(summary));
}

RunSummary build_atlas(const Collection& collection, features::ImageCache* cache, const RunOptions& options,
                       const RunObserver& observer, RunSummary summary, const ReducedFeatures* reduced) {
  summary.output = options.output;
  summary.failures.insert(summary.failures.end(), collection.failures.begin(), collection.failures.end());
  if (collection.posts > 0 || collection.videos_skipped > 0) {
    note(observer, "Instagram export: " + std::to_string(collection.posts) + " posts, " +
                       std::to_string(collection.videos_skipped) + " videos skipped");
  }
  if (collection.images.empty()) {
    throw NothingUsableError("no image files found in the inputs", summary.failures);
  }

  atlas::StagingDir staging(options.output);
  atlas::AtlasContent content;
  content.title = options.title;

  const Extractors made = make_extractors(options, observer);
  const features::CnnExtractor* cnn = made.cnn.get();
  const features::ClassifierExtractor* classifier = made.classifier.get();
  const detect::ObjectExtractor* objects = made.objects.get();
  const std::vector<const features::Extractor*> extractors = made.all();
  const std::size_t objects_matrix = made.objects_index();
  features::ComputedFeatures computed;
  std::vector<std::uint64_t> phashes(collection.images.size(), 0);
  {
    StageScope stage(observer, summary, "decode + features", collection.images.size());
    features::ComputeOptions compute_options;
    compute_options.thumbnail_size = options.thumbnail_size;
    compute_options.num_threads = options.num_threads;
    compute_options.cache = cache;
    // Reduced features given: only thumbnails and metadata are read, no full-width feature matrix is made.
    computed = features::compute_features(
        collection, reduced ? std::vector<const features::Extractor*>{} : extractors, compute_options,
        [&](std::size_t index, const features::ImageProducts& products) {
          atlas::write_thumbnail_file(staging.path(), collection.images[index].id, products.thumbnail_jpeg);
          // The perceptual hash from the thumbnail: cheap, and identical on cached re-runs.
          phashes[index] = features::perceptual_hash(
              ingest::decode_buffer(products.thumbnail_jpeg, collection.images[index].path, {}).image);
        },
        stage.progress());
  }
  summary.decoded = computed.decoded;
  summary.failures.insert(summary.failures.end(), computed.failures.begin(), computed.failures.end());
  if (reduced) {
    if (reduced->matrices.size() != extractors.size())
      throw std::runtime_error("reduced features: " + std::to_string(reduced->matrices.size()) + " matrices for " +
                               std::to_string(extractors.size()) + " extractors");
    for (const FeatureMatrix& given : reduced->matrices) {
      FeatureMatrix kept;
      kept.extractor_id = given.extractor_id;
      kept.values = FloatMatrix(computed.image_index.size(), given.values.cols);
      for (std::size_t r = 0; r < computed.image_index.size(); ++r) {
        const std::size_t i = computed.image_index[r];
        kept.ids.push_back(given.ids.at(i));
        std::copy_n(given.values.row(i), given.values.cols, kept.values.row(r));
      }
      computed.matrices.push_back(std::move(kept));
    }
  }
  if (computed.image_index.empty()) {
    throw NothingUsableError("none of the " + std::to_string(collection.images.size()) + " image files could be read",
                             summary.failures);
  }
  if (cache) {
    note(observer, std::to_string(computed.decoded) + " of " + std::to_string(collection.images.size()) +
                       " images decoded, the rest taken from the cache " +
                       (options.cache_file.empty() ? std::string("(the shards)") : options.cache_file.string()));
  }
  for (std::size_t r = 0; r < computed.image_index.size(); ++r) {
    const features::ImageInfo& info = computed.info[r];
    atlas::AtlasImage image;
    image.record = collection.images[computed.image_index[r]];
    image.width = info.width;
    image.height = info.height;
    image.camera = info.camera;
    image.latitude = info.latitude;
    image.longitude = info.longitude;
    // The date a person expects: the export's post date, else EXIF, else the file's time.
    if (!image.record.taken_at) image.record.taken_at = info.taken_at;
    if (!image.record.taken_at && image.record.archive.empty()) image.record.taken_at = file_time(image.record.path);
    content.images.push_back(std::move(image));
  }
  summary.images = content.images.size();

  std::vector<std::string> categories;  // per image, when a classifier ran
  if (classifier) categories = assign_classes(computed.matrices[2].values, *classifier, options, observer, content);
  std::vector<std::vector<std::string>> object_labels;  // per image, when the detector ran
  if (objects) {
    std::vector<std::string> object_categories = assign_objects(
        computed.matrices[objects_matrix].values, *objects, classifier != nullptr, options, observer, content, object_labels);
    if (!classifier) categories = std::move(object_categories);
  }
  std::vector<std::vector<std::string>> tags;
  std::vector<std::string> classes;
  for (const auto& image : content.images) {
    tags.push_back(image.record.hashtags);
    if (classifier) classes.push_back(image.class_name);
  }
  // --keep-layout: the maps of the atlas about to be replaced.
  const PreviousLayouts previous = options.keep_layout ? read_previous_layouts(options.output) : PreviousLayouts{};
  if (options.keep_layout && previous.empty())
    note(observer, "no previous atlas in " + options.output.string() + ": laying out a new map");
  const auto previous_of = [&](const std::string& layout) {
    const auto it = previous.find(layout);
    return it == previous.end() ? nullptr : &it->second;
  };
  FloatMatrix raw_reduced, cnn_reduced;
  content.layouts.push_back(
      build_layout(computed.matrices[0], "raw", "Raw pixels", tags, classifier ? categories : std::vector<std::string>{},
                   classes, object_labels, previous_of("raw"), options,
                   observer, summary, raw_reduced, reduced ? reduced->variance_kept.at(0) : -1.0));
  if (cnn) {
    // The model as the user named it (a file by its name); the layout's features id has the details.
    const std::string name = "CNN (" + std::filesystem::path(options.cnn_model).filename().string() + " " + cnn->layer() + ")";
    content.layouts.push_back(
        build_layout(computed.matrices[1], "cnn", name, tags, classifier ? categories : std::vector<std::string>{},
                     classes, object_labels, previous_of("cnn"), options,
                     observer, summary, cnn_reduced, reduced ? reduced->variance_kept.at(1) : -1.0));
  }
  {
    // Similar images by the features that mean the most: the CNN's when present.
    StageScope stage(observer, summary, "similar images", content.images.size());
    embed::SimilarOptions similar_options;
    similar_options.k = options.similar_k;
    similar_options.num_threads = options.num_threads;
    content.similar_features = cnn ? "cnn" : "raw";
    content.similar_k = static_cast<int>(
        std::min<std::size_t>(static_cast<std::size_t>(options.similar_k), content.images.size() - 1));
    content.similar = embed::similar_images(cnn ? cnn_reduced : raw_reduced, similar_options, stage.progress());
  }
  {
    StageScope stage(observer, summary, "near-duplicates", 1);
    std::vector<std::uint64_t> hashes;
    for (std::size_t index : computed.image_index) hashes.push_back(phashes[index]);
    cluster::DuplicateOptions duplicate_options;
    duplicate_options.num_threads = options.num_threads;
    content.duplicate_groups =
        cluster::find_duplicate_groups(hashes, cnn ? cnn_reduced : raw_reduced, duplicate_options);
    std::size_t photos = 0;
    for (const auto& group : content.duplicate_groups) photos += group.size();
    if (!content.duplicate_groups.empty())
      note(observer, std::to_string(content.duplicate_groups.size()) + " groups of near-duplicates (" +
                         std::to_string(photos) + " photos), listed in duplicates.csv");
  }
  content.failures = summary.failures;

  {
    StageScope stage(observer, summary, "write atlas", 1);
    atlas::AtlasOptions atlas_options;
    atlas_options.viewer_dir = options.viewer_dir;
    atlas_options.num_threads = options.num_threads;
    atlas::write_atlas(content, staging.path(), atlas_options);
    staging.commit();
  }
  return summary;
}

}  // namespace photoatlas::pipeline
