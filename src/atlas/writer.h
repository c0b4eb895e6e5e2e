// The atlas writer: data files, thumbnails and the viewer bundle of an output folder
// (format: docs/atlas-format.md).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/collection.h"
#include "core/matrix.h"

namespace photoatlas::atlas {

// One 2-D map of the images (e.g. raw-pixel t-SNE) with its clustering.
struct Layout {
  std::string id;        // column prefix and layout id: "raw", "cnn"
  std::string name;      // shown to the person: "Raw pixels"
  std::string features;  // extractor id the layout was computed from
  FloatMatrix xy;        // images x 2, any scale (the writer normalises)
  std::vector<int> cluster;                // per image
  std::vector<std::string> cluster_names;  // per cluster id
  std::vector<std::ptrdiff_t> cluster_medoids;  // per cluster id: image index of its most central member, -1 none
  int unclustered = -1;  // id of the group of images in no cluster (density clustering's noise), -1 none
  std::vector<std::pair<int, double>> k_curve;  // when k was chosen automatically: (k, silhouette) tried
};

// One object label found in an image (detect::ObjectTag): how many times, and the best score.
struct ObjectTagEntry {
  std::string label;
  int count = 0;
  float score = 0;
};

// An image as the atlas lists it: its record plus what decoding learned.
struct AtlasImage {
  ImageRecord record;
  int width = 0;   // original size after EXIF orientation
  int height = 0;
  std::string camera;                // from EXIF
  std::optional<double> latitude;    // from EXIF GPS, degrees
  std::optional<double> longitude;
  // When an ImageNet classifier ran: its most probable class, that class's category, and the top 5.
  std::string class_name;
  std::string category;
  std::vector<std::pair<std::string, float>> top_classes;
  // When the object detector ran: its labels above the threshold, best score first.
  std::vector<ObjectTagEntry> objects;
};

struct AtlasContent {
  std::string title = "photoatlas";
  std::vector<AtlasImage> images;  // index = point index in every layout
  std::vector<Layout> layouts;
  std::vector<Failure> failures;
  // Similar images: images x similar_k indices, most similar first (embed::similar_images).
  std::vector<std::uint32_t> similar;
  int similar_k = 0;
  std::string similar_features;    // the layout id whose features were compared
  std::vector<std::vector<std::size_t>> duplicate_groups;  // near-duplicates, image indices
  std::vector<std::string> categories;  // the ontology's categories in legend order, when classified
  // Where the categories come from: "imagenet" (a classifier) or "objects" (COCO labels, approximate).
  std::string categories_source;
  // When the object detector ran: its features id and the score threshold of the tags (else empty).
  std::string objects_model;
  float objects_threshold = 0;
};

struct AtlasOptions {
  std::filesystem::path viewer_dir;  // built viewer (index.html + assets/); empty = data files only
  bool sprites = true;               // pack small thumbnails into sprite sheets for the map
  int num_threads = 0;               // for the sprite sheets; 0 = all cores
};

// Relative path of an image's thumbnail inside the atlas folder.
std::string thumbnail_path(const std::string& image_id);

// Writes an image's thumbnail (JPEG bytes made by the image pass) into `atlas_dir`. Thread-safe.
void write_thumbnail_file(const std::filesystem::path& atlas_dir, const std::string& image_id,
                          const std::string& jpeg_bytes);

// Scales a layout into [-1, 1] keeping its aspect ratio, centred on the bounding box.
FloatMatrix normalise_layout(const FloatMatrix& xy);

// Writes points.csv, clusters.csv, duplicates.csv, failures.csv, data/atlas.json and copies the viewer into `atlas_dir`.
// Throws std::runtime_error naming the file when something cannot be written.
void write_atlas(const AtlasContent& content, const std::filesystem::path& atlas_dir, const AtlasOptions& options);

}  // namespace photoatlas::atlas
