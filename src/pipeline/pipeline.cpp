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
#include "cluster/kmeans.h"
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
#include "ingest/discover.h"
#include "label/cluster_names.h"
#include "label/ontology.h"
#include "label/wordnet.h"
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
  if (!categories.empty()) content.categories = ontology->categories();
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
                           const std::unordered_map<std::string, std::pair<float, float>>* previous,
                           const RunOptions& options, const RunObserver& observer, RunSummary& summary,
                           FloatMatrix& reduced) {
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
    message << id << ": PCA to " << pca.projected.cols << " dimensions keeps "
            << (pca.total_variance > 0 ? 100.0 * kept / pca.total_variance : 100.0) << "% of the variance";
    note(observer, message.str());
    reduced = std::move(pca.projected);
  }

  atlas::Layout layout;
  layout.id = id;
  layout.name = name;
  layout.features = features.extractor_id;
  layout.xy = embed_layout(reduced, features.ids, previous, options, observer, summary, id);
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
  {
    cluster::KMeansOptions kmeans_options;
    kmeans_options.k = k;
    kmeans_options.restarts = options.kmeans_restarts;
    kmeans_options.seed = options.seed;
    kmeans_options.num_threads = options.num_threads;
    StageScope stage(observer, summary, id + ": K-Means", static_cast<std::size_t>(kmeans_options.restarts));
    cluster::Clustering clustering = cluster::kmeans(reduced, kmeans_options, stage.progress());
    layout.cluster = std::move(clustering.labels);
    layout.cluster.resize(n, 0);
    const int clusters = std::max(1, clustering.k);
    // Names: the members' dominant categories (or classes) when a classifier ran, else their
    // dominant hashtags when captions have them, else a number.
    const auto by_category = categories.empty() ? std::vector<label::ClusterName>{}
                                                : label::name_clusters(layout.cluster, categories, classes);
    const auto by_tags = label::name_clusters_by_tags(layout.cluster, tags);
    for (int c = 0; c < clusters; ++c) {
      const auto i = static_cast<std::size_t>(c);
      if (i < by_category.size() && !by_category[i].name.empty() && by_category[i].name != "Mixed" &&
          by_category[i].name != "Misc")
        layout.cluster_names.push_back(by_category[i].name);
      else if (i < by_tags.size() && !by_tags[i].name.empty())
        layout.cluster_names.push_back(by_tags[i].name);
      else
        layout.cluster_names.push_back("Cluster " + std::to_string(c + 1));
    }
    label::MedoidOptions medoid_options;
    medoid_options.seed = options.seed;
    medoid_options.num_threads = options.num_threads;
    layout.cluster_medoids = label::cluster_medoids(reduced, layout.cluster, medoid_options);
    layout.cluster_medoids.resize(clusters, -1);
  }
  return layout;
}

}  // namespace

RunSummary run(const RunOptions& options, const RunObserver& observer) {
  RunSummary summary;
  summary.output = options.output;
  // Fail before any work, not after an hour of it.
  if (!options.viewer_dir.empty() && !std::filesystem::is_regular_file(options.viewer_dir / "index.html"))
    throw std::runtime_error("the viewer is not built (no index.html in " + options.viewer_dir.string() +
                             "); run scripts/build or pass --viewer-dir");

  Collection collection;
  {
    StageScope stage(observer, summary, "discover", 0);
    ingest::DiscoverOptions discover_options;
    discover_options.num_threads = options.num_threads;
    collection = ingest::discover(options.inputs, discover_options, stage.progress());
  }
  summary.failures = collection.failures;
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
  std::unique_ptr<store::SqliteCache> cache;
  if (!options.cache_file.empty()) {
    cache = std::make_unique<store::SqliteCache>(options.cache_file);
  }

  features::RawPixelExtractor raw({options.raw_size});
  std::vector<const features::Extractor*> extractors = {&raw};
  std::unique_ptr<features::CnnExtractor> cnn;
  std::unique_ptr<features::ClassifierExtractor> classifier;
  if (options.cnn_model != "none" && !options.cnn_model.empty()) {
    // A missing model costs the CNN map, not the run: the raw-pixel atlas is still worth having.
    try {
      features::CnnExtractorOptions cnn_options;
      cnn_options.layer = options.cnn_layer;
      if (options.cnn_l2) cnn_options.normalization = features::CnnNormalization::L2;
      for (const auto n : {features::CnnNormalization::None, features::CnnNormalization::L2,
                           features::CnnNormalization::SignedSqrtL2})
        if (options.cnn_normalization == features::to_string(n)) cnn_options.normalization = n;
      if (!options.cnn_normalization.empty() && !cnn_options.normalization)
        throw std::invalid_argument("unknown CNN normalisation '" + options.cnn_normalization +
                                    "' (none, l2 or sqrt-l2)");
      for (const auto p : {features::Pooling::Average, features::Pooling::Quadrants})
        if (options.cnn_pooling == features::to_string(p)) cnn_options.pooling = p;
      if (!options.cnn_pooling.empty() && !cnn_options.pooling)
        throw std::invalid_argument("unknown CNN pooling '" + options.cnn_pooling + "' (gap or quad)");
      features::NetworkSpec spec;
      spec.model = options.cnn_model;
      spec.nsfwjs_dir = options.nsfwjs_dir;
      spec.models_dir = options.models_dir;
      spec.input_size = options.cnn_input_size;
      if (options.cnn_mean.size() == 3) spec.mean = {options.cnn_mean[0], options.cnn_mean[1], options.cnn_mean[2]};
      if (options.cnn_std.size() == 3) spec.std = {options.cnn_std[0], options.cnn_std[1], options.cnn_std[2]};
      const std::shared_ptr<features::Network> network = features::load_network(spec);
      cnn = std::make_unique<features::CnnExtractor>(network, cnn_options);
      extractors.push_back(cnn.get());
      note(observer, "CNN features: " + cnn->id() + " (" + std::to_string(cnn->dims()) + " dimensions)");
      // An ImageNet classifier also names what is in each photo; one forward pass serves both.
      auto onnx = std::dynamic_pointer_cast<features::OnnxModel>(network);
      if (onnx && !onnx->class_layer().empty() && !onnx->labels().empty()) {
        onnx->share_layers({cnn->layer(), onnx->class_layer()});
        classifier = std::make_unique<features::ClassifierExtractor>(onnx);
        extractors.push_back(classifier.get());
        note(observer, "ImageNet classes from " + onnx->class_layer() + " (" +
                           std::to_string(onnx->labels().size()) + " labels)");
      }
    } catch (const std::exception& e) {
      if (!options.cnn_layer.empty() || options.cnn_model != "inception_v3") throw;  // asked for explicitly
      note(observer, std::string("warning: no CNN map: ") + e.what());
    }
  }
  features::ComputedFeatures computed;
  std::vector<std::uint64_t> phashes(collection.images.size(), 0);
  {
    StageScope stage(observer, summary, "decode + features", collection.images.size());
    features::ComputeOptions compute_options;
    compute_options.thumbnail_size = options.thumbnail_size;
    compute_options.num_threads = options.num_threads;
    compute_options.cache = cache.get();
    computed = features::compute_features(
        collection, extractors, compute_options,
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
  if (computed.image_index.empty()) {
    throw NothingUsableError("none of the " + std::to_string(collection.images.size()) + " image files could be read",
                             summary.failures);
  }
  if (cache) {
    note(observer, std::to_string(computed.decoded) + " of " + std::to_string(collection.images.size()) +
                       " images decoded, the rest taken from the cache " + options.cache_file.string());
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
      build_layout(computed.matrices[0], "raw", "Raw pixels", tags, categories, classes, previous_of("raw"), options,
                   observer, summary, raw_reduced));
  if (cnn) {
    // The model as the user named it (a file by its name); the layout's features id has the details.
    const std::string name = "CNN (" + std::filesystem::path(options.cnn_model).filename().string() + " " + cnn->layer() + ")";
    content.layouts.push_back(
        build_layout(computed.matrices[1], "cnn", name, tags, categories, classes, previous_of("cnn"), options,
                     observer, summary, cnn_reduced));
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
